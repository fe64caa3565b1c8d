#!/usr/bin/env bash
# Per-trial ask+tell overhead: hyperscape vs Optuna, both run here, side by side.
# Usage: scripts/bench-overhead.sh [SIZES] [STORAGES]   (defaults: 1000,10000 memory,sqlite)
# Installs Optuna into .venv-bench (PyPI) on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${1:-1000,10000}
STORAGES=${2:-memory,sqlite}
OPTUNA_VERSION=${OPTUNA_VERSION:-5.0.0}
if [ ! -x .venv-bench/bin/python ]; then
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install --quiet "optuna==${OPTUNA_VERSION}"
fi
cargo build --release -p hyperscape-core --bench ask_tell >/dev/null 2>&1 || cargo build --release -p hyperscape-core --bench ask_tell
out=$(mktemp)
cargo bench -q -p hyperscape-core --bench ask_tell -- --json --sizes "$SIZES" --storages "$STORAGES" | tee -a "$out"
.venv-bench/bin/python bench/overhead/optuna_overhead.py --sizes "$SIZES" --storages "$STORAGES" | tee -a "$out"
echo
python3 bench/overhead/compare.py < "$out"
rm -f "$out"

#!/usr/bin/env bash
# Per-trial ask+suggest+tell overhead of model-based samplers: hyperscape vs Optuna,
# both run here, side by side.
# Usage: scripts/bench-samplers.sh [SIZES] [OPTUNA_SIZES]
#   SIZES (default 1000,10000) for hyperscape; OPTUNA_SIZES defaults to SIZES.
# Installs Optuna and cmaes into .venv-bench (PyPI) on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${1:-1000,10000}
OPTUNA_SIZES=${2:-$SIZES}
OPTUNA_VERSION=${OPTUNA_VERSION:-5.0.0}
if [ ! -x .venv-bench/bin/python ]; then
  python3 -m venv .venv-bench
fi
.venv-bench/bin/python -c "import optuna, cmaes" 2>/dev/null \
  || .venv-bench/bin/pip install --quiet "optuna==${OPTUNA_VERSION}" cmaes
out=$(mktemp)
# CMA-ES
cargo bench -q -p hyperscape-core --bench cmaes -- --json --sizes "$SIZES" | tee -a "$out"
.venv-bench/bin/python bench/samplers/optuna_cmaes_overhead.py --sizes "$OPTUNA_SIZES" | tee -a "$out"
echo
python3 bench/samplers/compare.py < "$out"
rm -f "$out"

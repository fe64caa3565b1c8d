#!/usr/bin/env bash
# GraphFLA 0.4.0 vs `hyperscape landscape analyze` on the shared XGBoost landscape.
# Creates .venv-landscape (git-ignored) with graphfla from PyPI, builds the release
# binary, and prints both tools' values and times side by side.
# Usage: scripts/bench-landscape.sh [CSV] [--fitness COL]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
csv="${1:-$root/../shared/data/xgboost_landscape.csv}"
shift || true
if [ ! -f "$csv" ]; then
  echo "skipping: $csv not found (shared data absent)" >&2
  exit 0
fi
if [ ! -x .venv-landscape/bin/python ]; then
  python3 -m venv .venv-landscape
fi
.venv-landscape/bin/python -c "import graphfla" 2>/dev/null \
  || .venv-landscape/bin/pip install -q "graphfla==0.4.0"
cargo build --release -q -p hyperscape-cli
.venv-landscape/bin/python bench/landscape/graphfla_compare.py "$csv" target/release/hyperscape "$@"

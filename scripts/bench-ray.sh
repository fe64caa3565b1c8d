#!/usr/bin/env bash
# hyperscape's ASHA and median pruner against Ray Tune's ASHAScheduler and
# MedianStoppingRule on the same workload (issue 6; docs/pruning.md, "Against Ray
# Tune's ASHAScheduler and MedianStoppingRule"). Ray drives `hyperscape train` through
# bench/pruning/ray_side.py.
#
#   scripts/bench-ray.sh [SEEDS] [OUT]        # defaults: 0-9 bench-out/ray-SEEDS
#
# Installs ray[tune] into .venv-ray (once), builds the release binary unless
# HYPERSCAPE_BIN is set, runs bench/pruning/seeds.py one job at a time with one thread
# per training, and prints bench/pruning/ray_report.py's tables.
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${1:-0-9}
OUT=${2:-bench-out/ray-$SEEDS}

VENV=.venv-ray
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import ray.tune" 2>/dev/null; then
    "$VENV/bin/pip" install --quiet "ray[tune]==${RAY_VERSION:-2.60.0}"
fi
BIN=${HYPERSCAPE_BIN:-target/release/hyperscape}
if [ -z "${HYPERSCAPE_BIN:-}" ]; then
    nice -n 10 cargo build --release --quiet -p hyperscape-cli
fi
scripts/fetch-datasets.sh >/dev/null
export RAYON_NUM_THREADS=1 OMP_NUM_THREADS=1
python3 bench/pruning/seeds.py --hyperscape "$BIN" --out "$OUT" --seeds "$SEEDS" \
    --methods random,asha,median,run-asha,ray-asha,ray-median --parallel 1 \
    --ray-python "$VENV/bin/python"
python3 bench/pruning/ray_report.py "$OUT/results.json"

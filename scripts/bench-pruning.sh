#!/usr/bin/env bash
# Pruning / multi-fidelity benchmark of issue 6 on a real training workload: the zoo
# MLP on Fashion-MNIST, epochs as the fidelity; hyperscape's full-budget random search,
# random + median pruner, Hyperband, ASHA, BOHB, DEHB and PBT against Optuna's MedianPruner
# and HyperbandPruner driving `hyperscape train` (same space, seed and split), in one
# run. See docs/pruning.md ("Benchmark on Fashion-MNIST") for the figures.
#
#   scripts/bench-pruning.sh [--quick] [driver options...]
#
# Installs Optuna into .venv-prune (once), builds the release binary, runs
# bench/pruning/driver.py under `nice -n 10` (NICE=n: another niceness) with one thread
# per training, two methods at a time. Results: bench-out/pruning/results.json (or the
# driver's --out) and the table on stdout; bench/pruning/summarize.py tabulates several
# seeds.
# --quick: a tiny smoke run (2k samples, budgets 1..9) to check the pieces.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-prune
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import optuna" 2>/dev/null; then
    "$VENV/bin/pip" install --quiet "optuna>=4,<6"
fi

# HYPERSCAPE_BIN=path skips the build (a binary built already).
BIN=${HYPERSCAPE_BIN:-target/release/hyperscape}
if [ -z "${HYPERSCAPE_BIN:-}" ]; then
    nice -n 10 cargo build --release --quiet -p hyperscape-cli
fi

OUT=bench-out/pruning
ARGS=()
if [ "${1:-}" = "--quick" ]; then
    shift
    OUT=bench-out/pruning-quick
    ARGS=(--subsample 2000 --min-budget 1 --max-budget 9 --random-trials 6
          --hyperband-trials 13 --asha-trials 12 --population 4 --perturb-interval 3
          --optuna-hyperband-trials 6)
fi
# One thread per training (candle's pool and BLAS). NICE=n sets the niceness (10).
export RAYON_NUM_THREADS=1 OMP_NUM_THREADS=1
exec nice -n "${NICE:-10}" "$VENV/bin/python" bench/pruning/driver.py \
    --hyperscape "$BIN" --out "$OUT" "${ARGS[@]}" "$@"

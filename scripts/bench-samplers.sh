#!/usr/bin/env bash
# Per-trial cost of model-based samplers, hyperscape vs Optuna, both run here side by side.
# Usage:
#   scripts/bench-samplers.sh cmaes [SIZES] [OPTUNA_SIZES]
#       CMA-ES on a 10-D continuous space (default SIZES 1000,10000; OPTUNA_SIZES = SIZES).
#       Installs optuna and cmaes into .venv-bench.
#   scripts/bench-samplers.sh tpe [SIZES]
#       TPE on a 10-D mixed space (default SIZES 100,1000), against Optuna's TPESampler
#       and Rustuna's (Optuna's Rust port). Installs optuna and rustuna into .venv-bench.
#   scripts/bench-samplers.sh gp [SIZES]
#       GP on Hartmann-6 (6 floats), seed 0 (default SIZES 100,300; hyperscape also runs
#       1000). Installs optuna, scipy, torch and greenlet into .venv-bench; the PyPI torch
#       wheel is large (CUDA libraries) and runs on CPU with one thread. Compare the
#       CPU-time figures on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
WHICH=${1:?usage: scripts/bench-samplers.sh cmaes|tpe|gp [SIZES] [OPTUNA_SIZES]}
OPTUNA_VERSION=${OPTUNA_VERSION:-5.0.0}
if [ ! -x .venv-bench/bin/python ]; then
  python3 -m venv .venv-bench
fi
case "$WHICH" in
  cmaes)
    SIZES=${2:-1000,10000}
    OPTUNA_SIZES=${3:-$SIZES}
    .venv-bench/bin/python -c "import optuna, cmaes" 2>/dev/null \
      || .venv-bench/bin/pip install --quiet "optuna==${OPTUNA_VERSION}" cmaes
    out=$(mktemp)
    cargo bench -q -p hyperscape-core --bench cmaes -- --json --sizes "$SIZES" | tee -a "$out"
    .venv-bench/bin/python bench/samplers/optuna_cmaes_overhead.py --sizes "$OPTUNA_SIZES" | tee -a "$out"
    echo
    python3 bench/samplers/compare.py < "$out"
    rm -f "$out"
    ;;
  tpe)
    SIZES=${2:-100,1000}
    .venv-bench/bin/python -c "import optuna, rustuna" 2>/dev/null \
      || .venv-bench/bin/pip install --quiet "optuna==${OPTUNA_VERSION}" "rustuna==0.2.0"
    echo "hyperscape (default TPE, as the peers, median µs per trial [last 10%]):"
    cargo bench -q -p hyperscape-core --bench tpe -- --json --modes default --sizes "$SIZES"
    .venv-bench/bin/python bench/samplers/peer_tpe_overhead.py --tool optuna --sizes "$SIZES"
    .venv-bench/bin/python bench/samplers/peer_tpe_overhead.py --tool rustuna --sizes "$SIZES"
    ;;
  gp)
    SIZES=${2:-100,300}
    .venv-bench/bin/python -c "import optuna, scipy, torch, greenlet" 2>/dev/null \
      || .venv-bench/bin/pip install --quiet "optuna==${OPTUNA_VERSION}" scipy torch greenlet
    cargo bench -q -p hyperscape-core --bench gp -- --json --sizes "${SIZES},1000"
    .venv-bench/bin/python bench/samplers/optuna_gp_overhead.py --sizes "$SIZES"
    ;;
  *)
    echo "unknown sampler benchmark \`$WHICH\` (expected cmaes, tpe or gp)" >&2
    exit 2
    ;;
esac

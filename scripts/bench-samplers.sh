#!/usr/bin/env bash
# Per-trial cost of model-based samplers: hyperscape's GP sampler vs Optuna's GPSampler,
# both run here on Hartmann-6 (6 floats), seed 0.
# Usage: scripts/bench-samplers.sh [SIZES]   (default 100,300; hyperscape also runs 1000)
# Installs Optuna, scipy, torch and greenlet into .venv-bench (PyPI) on first use. The
# PyPI torch wheel is large (it brings CUDA libraries); the benchmark runs it on CPU with
# one thread. Compare the CPU-time figures on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${1:-100,300}
OPTUNA_VERSION=${OPTUNA_VERSION:-5.0.0}
if [ ! -x .venv-bench/bin/python ]; then
  python3 -m venv .venv-bench
fi
.venv-bench/bin/python -c "import optuna, scipy, torch, greenlet" 2>/dev/null \
  || .venv-bench/bin/pip install --quiet "optuna==${OPTUNA_VERSION}" scipy torch greenlet
cargo bench -q -p hyperscape-core --bench gp -- --json --sizes "${SIZES},1000"
.venv-bench/bin/python bench/samplers/optuna_gp_overhead.py --sizes "$SIZES"

#!/usr/bin/env bash
# Optimisation quality of hyperscape's samplers against Optuna (TPE, GP, CMA-ES, random),
# Rustuna (TPE), Hyperopt (TPE) and scikit-optimize (GP) on the same problems, budget
# and seeds, side by side in one run. Installs the peers into .venv-bench (pinned) and
# the tabular benchmarks (scripts/fetch-hpo-tables.sh). Prints Markdown tables: regret at
# 10/25/50/100 trials (median and spread over seeds), ranks, and rank-sum tests.
# Usage: scripts/bench-quality-peers.sh [PROBLEMS] [BUDGET] [SEEDS] [PEERS]
# Env: SAMPLERS (hyperscape's), PEER_SEEDS (fewer seeds for slow peers, default
# skopt-gp=3), INSTALL_TORCH (default 1: install PyPI's torch wheel, several GB, when
# optuna-gp is among the peers; 0 skips optuna-gp instead), PEER_CACHE (default .bench-cache/peers; peers' results are
# reused from there across runs, since they do not depend on hyperscape's code; set it
# empty to recompute).
set -euo pipefail
cd "$(dirname "$0")/.."
PROBLEMS=${1:-branin,hartmann6,rosenbrock-5d,ackley-10d,hpobench/australian,hpobench/kc1,hpolib/naval_propulsion,nasbench201/cifar10}
BUDGET=${2:-100}
SEEDS=${3:-10}
PEERS=${4:-optuna-tpe,optuna-gp,optuna-cmaes,optuna-random,rustuna-tpe,hyperopt-tpe,skopt-gp}
SAMPLERS=${SAMPLERS:-random,tpe,gp,cmaes,auto}
PEER_SEEDS=${PEER_SEEDS-skopt-gp=3}
INSTALL_TORCH=${INSTALL_TORCH:-1}
PEER_CACHE=${PEER_CACHE-.bench-cache/peers}
scripts/fetch-hpo-tables.sh
if [ ! -x .venv-bench/bin/python ]; then
  python3 -m venv .venv-bench
fi
pip_quiet() { .venv-bench/bin/python -m pip install --quiet --disable-pip-version-check "$@"; }
.venv-bench/bin/python -c "import optuna, rustuna, hyperopt, cmaes, scipy" 2>/dev/null \
  || pip_quiet "optuna==${OPTUNA_VERSION:-5.0.0}" "rustuna==0.2.0" "hyperopt==0.3.0" \
       "cmaes==0.13.1" "scipy==1.17.1"
# Optional peers: a failed install is reported (and the peer skipped by
# peer_quality.py), not fatal.
.venv-bench/bin/python -c "import skopt" 2>/dev/null || pip_quiet "scikit-optimize==0.10.2" \
  || echo "note: scikit-optimize 0.10.2 did not install on $(.venv-bench/bin/python -V); skopt-gp is skipped" >&2
case ",$PEERS," in *,optuna-gp,*)
  # Optuna's GPSampler needs PyTorch. PyPI's default Linux wheel bundles CUDA (several
  # GB); it runs on the CPU, held to one thread by peer_quality.py.
  if ! .venv-bench/bin/python -c "import torch" 2>/dev/null; then
    if [ "$INSTALL_TORCH" = 1 ]; then
      pip_quiet "torch" "greenlet" \
        || echo "note: torch did not install; optuna-gp is skipped" >&2
    else
      echo "note: INSTALL_TORCH=0 and no torch in .venv-bench; optuna-gp is skipped" >&2
    fi
  fi
esac
cargo build -q --release -p hyperscape-cli
out=$(mktemp)
trap 'rm -f "$out"' EXIT
IFS=, read -ra probs <<< "$PROBLEMS"
for p in "${probs[@]}"; do
  echo "hyperscape on $p" >&2
  target/release/hyperscape bench quality --problem "$p" --sampler "$SAMPLERS" \
    --budget "$BUDGET" --seeds "$SEEDS" --jobs 2 --format json >> "$out"
done
.venv-bench/bin/python bench/samplers/peer_quality.py --problems "$PROBLEMS" --budget "$BUDGET" \
  --seeds "$SEEDS" --peers "$PEERS" --peer-seeds "$PEER_SEEDS" --cache "$PEER_CACHE" >> "$out"
.venv-bench/bin/python bench/samplers/compare_quality.py < "$out"

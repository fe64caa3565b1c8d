#!/usr/bin/env bash
# Optimisation quality of hyperscape's samplers against Optuna (TPE, CMA-ES, random),
# Rustuna (TPE), Hyperopt (TPE) and scikit-optimize (GP) on the same problems, budget
# and seeds, side by side in one run. Installs the peers into .venv-bench and the
# tabular benchmarks (scripts/fetch-hpo-tables.sh). Prints Markdown tables: regret at
# 10/25/50/100 trials (median over seeds), ranks, and rank-sum tests.
# Usage: scripts/bench-quality-peers.sh [PROBLEMS] [BUDGET] [SEEDS] [PEERS]
set -euo pipefail
cd "$(dirname "$0")/.."
PROBLEMS=${1:-branin,hartmann6,rosenbrock-5d,ackley-10d,hpobench/australian,hpobench/kc1,hpolib/naval_propulsion,nasbench201/cifar10}
BUDGET=${2:-100}
SEEDS=${3:-5}
PEERS=${4:-optuna-tpe,optuna-cmaes,optuna-random,rustuna-tpe,hyperopt-tpe,skopt-gp}
SAMPLERS=${SAMPLERS:-random,tpe,gp,cmaes,auto}
scripts/fetch-hpo-tables.sh
if [ ! -x .venv-bench/bin/python ]; then
  python3 -m venv .venv-bench
fi
.venv-bench/bin/python -c "import optuna, rustuna, hyperopt, skopt, cmaes, scipy" 2>/dev/null \
  || .venv-bench/bin/pip install --quiet "optuna==${OPTUNA_VERSION:-5.0.0}" "rustuna==0.2.0" \
       "hyperopt==0.2.7" "scikit-optimize==0.10.2" cmaes scipy
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
  --seeds "$SEEDS" --peers "$PEERS" >> "$out"
.venv-bench/bin/python bench/samplers/compare_quality.py < "$out"

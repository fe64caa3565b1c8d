#!/usr/bin/env bash
# Reproduction benchmark of the bilevel method (docs/bilevel.md): GBHO and IFT against
# grid, random, GP-BO, TPE and Hyperband searches built on hyperscape's own samplers, all training
# with the same lower-level code (full-batch Adam to convergence, at most MAX_EPOCHS),
# MLP 784-100-10, per-layer λ in [-10, 0]^2, the paper's splits (subset 60/40
# train/validation; MNIST test = the unused digits of the 10,000).
#
# Usage: scripts/bench-bilevel.sh [DATASET] [SUBSET] [GRID_PER_DIM] [TRIALS] [SEED]
#   defaults: mnist 1000 30 30 0 (the paper's 30×30 grid: 900 trainings; pass e.g. 6)
# Environment: METHODS (default "gbho ift random gp tpe hyperband grid"; also gbho-local,
#   gbho-lhs, gbho-joint, see examples/bench_bilevel.rs), MAX_EPOCHS (400),
#   OUTER (GBHO outer iterations, 8), PROFILE (release; "dev" reuses the test build,
#   whose dependencies are optimised too), JOBS (methods run at once, default 1).
# Writes one JSON per method to bench/bilevel/<dataset>-<subset>/ and prints tables.
# Needs the dataset installed (scripts/fetch-datasets.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
dataset="${1:-mnist}"
subset="${2:-1000}"
grid="${3:-30}"
trials="${4:-30}"
seed="${5:-0}"
methods="${METHODS:-gbho ift random gp tpe hyperband grid}"
max_epochs="${MAX_EPOCHS:-400}"
outer="${OUTER:-8}"
profile="${PROFILE:-release}"
jobs="${JOBS:-1}"
out="bench/bilevel/${dataset}-${subset}"
mkdir -p "$out"
if [ "$profile" = release ]; then
  cargo build --release -q -p hyperscape-ml --features neural --example bench_bilevel
  bin=target/release/examples/bench_bilevel
else
  cargo build -q -p hyperscape-ml --features neural --example bench_bilevel
  bin=target/debug/examples/bench_bilevel
fi
running=0
for m in $methods; do
  echo "== $m" >&2
  "$bin" "$m" "$dataset" "$subset" "$grid" "$trials" "$seed" "$max_epochs" "$outer" \
    > "$out/$m.json" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait
printf '| method | λ | train CE | val CE | test CE | test acc | epochs | wall s |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for m in $methods; do
  jq -r --arg m "$m" '"| \($m) | \(.lambda | map(. * 100 | round / 100) | join(", ")) | \(.train.cross_entropy * 1000 | round / 1000) | \(.validation.cross_entropy * 1000 | round / 1000) | \(.test.cross_entropy * 1000 | round / 1000) | \(.test.accuracy * 1000 | round / 1000) | \(.epochs) | \(.wall_seconds * 10 | round / 10) |"' \
    "$out/$m.json"
done
if [ -s "$out/gbho.json" ]; then
  printf '\nGBHO trajectory\n\n| k | λ | F(w_k) | c_k | μ | inner | stop | F(w*(λ_k)) |\n|---|---|---|---|---|---|---|---|\n'
  jq -r '.trajectory[] | "| \(.k) | \(.lambda | map(. * 100 | round / 100) | join(", ")) | \(.upper * 1000 | round / 1000) | \(.c * 10000 | round / 10000) | \(.mu * 1000 | round / 1000) | \(.inner_iters) | \(.stop) | \(.retrained_validation * 1000 | round / 1000) |"' "$out/gbho.json"
  printf '\nGBHO global steps\n\n| k | λ | F(w*(λ)) | accepted | epochs |\n|---|---|---|---|---|\n'
  jq -r '.global[]? | "| \(.k) | \(.lambda | map(. * 100 | round / 100) | join(", ")) | \(.retrained_validation * 1000 | round / 1000) | \(.accepted) | \(.epochs) |"' "$out/gbho.json"
  jq -r '"\nauthors'"'"' rule (joint iterate, w trained against F too): λ = \(.joint_lambda | map(. * 100 | round / 100) | join(", ")), val CE \(.joint.validation.cross_entropy * 1000 | round / 1000), test CE \(.joint.test.cross_entropy * 1000 | round / 1000), test acc \(.joint.test.accuracy * 1000 | round / 1000)"' "$out/gbho.json"
fi

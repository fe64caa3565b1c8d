#!/usr/bin/env bash
# Reproduction benchmark of the bilevel method (docs/bilevel.md): GBHO and IFT against
# grid, random, GP-BO and TPE searches built on hyperscape's own samplers, all training
# with the same lower-level code (full-batch Adam to convergence), MLP 784-100-10,
# per-layer λ in [-10, 0]^2.
#
# Usage: scripts/bench-bilevel.sh [DATASET] [SUBSET] [GRID_PER_DIM] [TRIALS] [SEED]
#   defaults: mnist 1000 30 30 0   (the paper's 30×30 grid; pass e.g. 6 for a coarse one)
# Writes one JSON per method to bench/bilevel/<dataset>-<subset>/ and prints a table.
# Needs the dataset installed (scripts/fetch-datasets.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
dataset="${1:-mnist}"
subset="${2:-1000}"
grid="${3:-30}"
trials="${4:-30}"
seed="${5:-0}"
methods="${METHODS:-gbho ift random gp tpe grid}"
out="bench/bilevel/${dataset}-${subset}"
mkdir -p "$out"
cargo build --release -q -p hyperscape-cli
bin=target/release/hyperscape
for m in $methods; do
  echo "== $m" >&2
  "$bin" bilevel --model mlp --dataset "$dataset" --subset "$subset" --hp per-layer-l2 \
    --method "$m" --grid "$grid" --trials "$trials" --seed "$seed" --format json \
    > "$out/$m.json"
done
printf '| method | λ | train CE | val CE | test CE | test acc | epochs | wall s |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for m in $methods; do
  jq -r --arg m "$m" '"| \($m) | \(.lambda | map(. * 100 | round / 100) | join(", ")) | \(.train.cross_entropy * 1000 | round / 1000) | \(.validation.cross_entropy * 1000 | round / 1000) | \(.test.cross_entropy * 1000 | round / 1000) | \(.test.accuracy * 1000 | round / 1000) | \(.epochs) | \(.wall_seconds * 10 | round / 10) |"' \
    "$out/$m.json"
done

#!/usr/bin/env bash
# Multi-objective quality: hypervolume gap to the true front at 25/50/100 trials of the
# GP sampler with log-EHVI (`gp`, the default) and with ParEGO (`gp-parego`), NSGA-II
# (`nsga2`), MOTPE (`tpe` with several objectives) and random search, on ZDT1, ZDT2
# (two objectives) and DTLZ2 (three), six variables each, same seeds side by side.
# Usage: scripts/bench-mo.sh [PROBLEMS] [BUDGET] [SEEDS]
# Env: SAMPLERS (default gp,gp-parego,nsga2,tpe,random), JOBS (parallel seeds, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
PROBLEMS=${1:-zdt1-6d,zdt2-6d,dtlz2-6d}
BUDGET=${2:-100}
SEEDS=${3:-5}
SAMPLERS=${SAMPLERS:-gp,gp-parego,nsga2,tpe,random}
JOBS=${JOBS:-2}
cargo build -q --release -p hyperscape-cli
out=$(mktemp)
trap 'rm -f "$out"' EXIT
IFS=, read -ra probs <<< "$PROBLEMS"
for p in "${probs[@]}"; do
  echo "bench quality on $p" >&2
  target/release/hyperscape bench quality --problem "$p" --sampler "$SAMPLERS" \
    --budget "$BUDGET" --seeds "$SEEDS" --jobs "$JOBS" --format json >> "$out"
done
python3 bench/samplers/mo_quality.py < "$out"

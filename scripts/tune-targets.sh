#!/usr/bin/env bash
# The held-out test accuracies issue 3 asks `hyperscape tune` to reach, one study each
# in a throwaway SQLite file, with wall times. Needs scripts/fetch-datasets.sh for
# Fashion-MNIST. Usage: scripts/tune-targets.sh [svm|mlp-digits|mlp-fashion|lenet-fashion ...]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release -p hyperscape-cli
bin=target/release/hyperscape
db=$(mktemp -d)/targets.db
trap 'rm -rf "$(dirname "$db")"' EXIT
run() {
  local name=$1 target=$2
  shift 2
  local start end acc
  start=$(date +%s.%N)
  # --sampler tpe-optuna: the sampler these figures were measured with (the default was
  # tpe then, with Optuna's settings, which tpe-optuna pins; the default is auto now).
  out=$("$bin" tune --storage "sqlite://$db" --study "$name" --format json --sampler tpe-optuna "$@")
  end=$(date +%s.%N)
  acc=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["test"]["accuracy"])' "$out")
  printf '%-14s test accuracy %.4f (target %s)  wall %.0f s  %s\n' "$name" "$acc" "$target" \
    "$(python3 -c "print($end - $start)")" "hyperscape tune --sampler tpe-optuna $*"
}
for which in "${@:-svm mlp-digits mlp-fashion lenet-fashion}"; do
  for w in $which; do
    case "$w" in
      svm) run svm 0.97 --model svm --dataset breast_cancer --trials 40 --cv 5 --seed 0 ;;
      mlp-digits) run mlp-digits 0.97 --model mlp --dataset digits --trials 30 --seed 0 --pruner median ;;
      mlp-fashion) run mlp-fashion 0.88 --model mlp --dataset fashion-mnist --trials 20 --seed 0 --pruner median ;;
      lenet-fashion) run lenet-fashion 0.90 --model lenet --dataset fashion-mnist --trials 6 --seed 0 ;;
      *) echo "unknown target $w" >&2; exit 2 ;;
    esac
  done
done

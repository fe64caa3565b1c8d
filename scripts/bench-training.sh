#!/usr/bin/env bash
# Training speed: hyperscape (candle, CPU) vs PyTorch CPU, same networks, data, batch
# size and threads, in one run. MLP 784-256-128-10 ReLU and LeNet-5, Adam, batch 128.
# Usage: scripts/bench-training.sh [THREADS] [EPOCHS] [ROWS]   (defaults: 1,2 3 60000)
# Data: Fashion-MNIST's 60,000 training images when scripts/fetch-datasets.sh has put
# them under ${HYPERSCAPE_DATA_DIR:-.datasets}/fashion-mnist; otherwise synthetic 28x28
# images of the same size (the output says which).
# Installs torch (PyPI) into .venv-bench on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-1,2}
EPOCHS=${2:-3}
ROWS=${3:-60000}
TORCH_VERSION=${TORCH_VERSION:-2.15.0}
if [ ! -x .venv-bench/bin/python ]; then
  python3 -m venv .venv-bench
fi
if ! .venv-bench/bin/python -c "import torch" 2>/dev/null; then
  .venv-bench/bin/pip install --quiet "torch==${TORCH_VERSION}"
fi
data_args=()
fm="${HYPERSCAPE_DATA_DIR:-.datasets}/fashion-mnist"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -f "$fm/train-images-idx3-ubyte.gz" ] && [ -f "$fm/train-labels-idx1-ubyte.gz" ]; then
  for f in train-images-idx3-ubyte train-labels-idx1-ubyte; do
    gunzip -c "$fm/$f.gz" > "$tmp/$f"
  done
  data_args=(--data "$tmp")
else
  echo "Fashion-MNIST not found under $fm (scripts/fetch-datasets.sh): using SYNTHETIC 28x28 data" >&2
fi
cargo build --release -q -p hyperscape-ml --bench training
# candle's element-wise kernels run on their own pool of spinning workers
# (CANDLE_NUM_THREADS, default RAYON_NUM_THREADS); on a loaded machine the spinning
# competes with the matrix products for the cores, so keep them on the calling thread.
export CANDLE_NUM_THREADS=${CANDLE_NUM_THREADS:-1}
out="$tmp/results.jsonl"
# Alternate the two sides model by model, so a change in machine load hits both.
for model in mlp lenet; do
  for t in ${THREADS//,/ }; do
    cargo bench -q -p hyperscape-ml --bench training -- "${data_args[@]}" \
      --rows "$ROWS" --epochs "$EPOCHS" --threads "$t" --models "$model" | tee -a "$out"
    .venv-bench/bin/python -W ignore bench/torch_training.py "${data_args[@]}" \
      --rows "$ROWS" --epochs "$EPOCHS" --threads "$t" --models "$model" | tee -a "$out"
  done
done
echo
python3 bench/training_compare.py < "$out"

"""PyTorch CPU side of the training-speed benchmark (scripts/bench-training.sh).

The same networks, optimiser, batch size, data and thread counts as
crates/hyperscape-ml/benches/training.rs: an MLP 784-256-128-10 (ReLU) and LeNet-5
(conv 5x5 "same" 6 ch, ReLU, max-pool 2, conv 5x5 16 ch, ReLU, max-pool 2, dense 120,
84, 10), Adam lr 1e-3, batch 128, a seeded shuffle per epoch, a forward pass over 16
validation rows after each epoch (as the Rust side's per-epoch callback). Prints one
JSON object per (model, threads) with the epoch times and their median.
"""

import argparse
import json
import statistics
import struct
import time
from pathlib import Path

import torch
from torch import nn


def read_idx(path: Path) -> torch.Tensor:
    data = path.read_bytes()
    if data[:3] != b"\x00\x00\x08":
        raise SystemExit(f"{path}: not an unsigned-byte IDX file")
    rank = data[3]
    dims = struct.unpack(">" + "I" * rank, data[4 : 4 + 4 * rank])
    body = bytearray(data[4 + 4 * rank :])
    return torch.frombuffer(body, dtype=torch.uint8).reshape(dims)


def load(args):
    if args.data:
        d = Path(args.data)
        x = read_idx(d / "train-images-idx3-ubyte")[: args.rows]
        y = read_idx(d / "train-labels-idx1-ubyte")[: args.rows]
        n = x.shape[0]
        return x.reshape(n, 784).float() / 255.0, y.long(), f"fashion-mnist ({n} rows)"
    g = torch.Generator().manual_seed(0)
    n = args.rows
    x = torch.rand(n, 784, generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    return x, y, f"synthetic 28x28 ({n} rows)"


def mlp():
    return nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)
    )


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, 10),
        )

    def forward(self, x):
        return self.head(self.features(x.reshape(-1, 1, 28, 28)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data")
    p.add_argument("--rows", type=int, default=60000)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--models", default="mlp,lenet")
    p.add_argument("--batch", type=int, default=128)
    args = p.parse_args()
    x, y, what = load(args)
    torch.set_num_interop_threads(1)
    for model in args.models.split(","):
        for threads in [int(t) for t in args.threads.split(",")]:
            torch.set_num_threads(threads)
            torch.manual_seed(0)
            net = mlp() if model == "mlp" else LeNet()
            opt = torch.optim.Adam(net.parameters(), lr=1e-3)
            loss_fn = nn.CrossEntropyLoss()
            g = torch.Generator().manual_seed(0)
            times, loss = [], float("nan")
            for _ in range(args.epochs):
                start = time.perf_counter()
                net.train()
                total, batches = 0.0, 0
                for idx in torch.randperm(x.shape[0], generator=g).split(args.batch):
                    out = net(x[idx])
                    l = loss_fn(out, y[idx])
                    opt.zero_grad(set_to_none=True)
                    l.backward()
                    opt.step()
                    total += l.item()
                    batches += 1
                net.eval()
                with torch.no_grad():
                    net(x[:16]).softmax(-1)
                times.append(time.perf_counter() - start)
                loss = total / batches
            print(json.dumps({
                "framework": "pytorch",
                "torch_version": torch.__version__,
                "model": model,
                "threads": threads,
                "batch": args.batch,
                "data": what,
                "epoch_seconds": times,
                "median_seconds": round(statistics.median(times), 4),
                "final_train_loss": round(loss, 4),
            }), flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A small training script used as an external objective (no dependencies).

It trains logistic regression by minibatch SGD on a seeded synthetic two-class dataset
and prints the validation log-loss as its last line. hyperscape passes the
hyperparameters as {placeholders} in the arguments, and also in the environment
(HYPERSCAPE_PARAMS as JSON, HYPERSCAPE_PARAM_<NAME> one by one).

    hyperscape run --study logreg --space examples/external/space.toml --trials 20 \
        -- python3 examples/external/train.py --lr {lr} --l2 {l2} --epochs {epochs} --batch {batch}
"""
import argparse
import json
import math
import os
import random
import sys


def make_data(n, seed=0):
    rng = random.Random(seed)
    xs, ys = [], []
    for _ in range(n):
        y = rng.random() < 0.5
        mu = 1.0 if y else -1.0
        x = [rng.gauss(mu * 0.8, 1.0), rng.gauss(-mu * 0.5, 1.0), rng.gauss(0.0, 1.0)]
        xs.append(x)
        ys.append(1.0 if y else 0.0)
    return xs, ys


def logloss(w, b, xs, ys):
    total = 0.0
    for x, y in zip(xs, ys):
        z = sum(wi * xi for wi, xi in zip(w, x)) + b
        p = 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))
        p = min(max(p, 1e-12), 1 - 1e-12)
        total -= y * math.log(p) + (1 - y) * math.log(1 - p)
    return total / len(xs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lr", type=float, required=True)
    ap.add_argument("--l2", type=float, default=0.0)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    env = json.loads(os.environ.get("HYPERSCAPE_PARAMS", "{}"))
    if env and abs(env.get("lr", a.lr) - a.lr) > 1e-12 * max(1.0, a.lr):
        print("placeholder and HYPERSCAPE_PARAMS disagree", file=sys.stderr)
        sys.exit(3)

    xs, ys = make_data(600, seed=1)
    train_x, train_y, val_x, val_y = xs[:400], ys[:400], xs[400:], ys[400:]
    rng = random.Random(a.seed)
    w, b = [0.0, 0.0, 0.0], 0.0
    idx = list(range(len(train_x)))
    for epoch in range(a.epochs):
        rng.shuffle(idx)
        for s in range(0, len(idx), a.batch):
            gw, gb = [0.0, 0.0, 0.0], 0.0
            batch = idx[s:s + a.batch]
            for i in batch:
                x, y = train_x[i], train_y[i]
                z = sum(wi * xi for wi, xi in zip(w, x)) + b
                p = 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))
                for j in range(3):
                    gw[j] += (p - y) * x[j]
                gb += p - y
            for j in range(3):
                w[j] -= a.lr * (gw[j] / len(batch) + a.l2 * w[j])
            b -= a.lr * gb / len(batch)
        # Intermediate progress, one JSON line per epoch (for pruners).
        print(json.dumps({"step": epoch, "value": logloss(w, b, val_x, val_y)}))
    print(logloss(w, b, val_x, val_y))


if __name__ == "__main__":
    main()

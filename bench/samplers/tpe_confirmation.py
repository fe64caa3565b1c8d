"""TPE confirmation against Optuna's TPE: per seed block, per sampler, the median final
regret, the two-sided rank-sum p (as compare_quality.py) and Holm's step-down adjusted p
over the problems.

Usage: python bench/samplers/tpe_confirmation.py \
         bench/samplers/tpe-confirmation-hyperscape-seeds10-49.json \
         bench/samplers/tpe-confirmation-optuna-seeds10-49.json [BLOCKS]

BLOCKS: seed blocks as `lo-hi` (hi exclusive), comma-separated; default `10-30,30-50`.
Either file may hold `bench quality --format json` output as printed, or be gzipped;
only Optuna's TPE lines of the second file are used.
"""
import gzip
import json
import sys

import numpy as np
from compare_quality import read
from scipy.stats import mannwhitneyu


def load(path):
    """JSON objects of a file: one per line, or `bench quality`'s (pretty-printed)
    arrays, one after another; `.gz` files are read compressed."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        return read(f)


def finals(r, lo, hi):
    first = r.get("first_seed", 0)
    final = r.get("final") or [c[-1] for c in r["curves"]]
    return np.array([v - r["optimum"] for k, v in enumerate(final) if lo <= k + first < hi])


def holm(ps):
    order, out, run = np.argsort(ps), np.empty(len(ps)), 0.0
    for k, i in enumerate(order):
        run = max(run, min(1.0, (len(ps) - k) * ps[i]))
        out[i] = run
    return out


def main():
    ours = [r for r in load(sys.argv[1]) if r.get("tool", "hyperscape") == "hyperscape"]
    peer = load(sys.argv[2])
    optuna = {r["problem"]: r for r in peer if r.get("tool") == "optuna" and r.get("sampler") == "tpe"}
    spec = sys.argv[3] if len(sys.argv) > 3 else "10-30,30-50"
    blocks = [tuple(int(v) for v in b.split("-")) for b in spec.split(",")]
    for lo, hi in blocks:
        for sampler in dict.fromkeys(r["sampler"] for r in ours):
            rows = []
            for r in (r for r in ours if r["sampler"] == sampler):
                x, o = finals(r, lo, hi), finals(optuna[r["problem"]], lo, hi)
                p = mannwhitneyu(x, o, alternative="two-sided").pvalue if not np.allclose(np.r_[x, o], x[0]) else 1.0
                rows.append((r["problem"], np.median(o), np.median(x), p))
            adj = holm(np.array([r[3] for r in rows]))
            print(f"\nseeds {lo}-{hi - 1}: hyperscape {sampler} vs Optuna TPE ({len(rows)} problems)")
            print("| problem | Optuna 5 TPE | hyperscape | p | Holm p | ours is |")
            for (prob, mo, mx, p), h in zip(rows, adj):
                v = "better" if mx < mo else ("worse" if mx > mo else "tie")
                print(f"| {prob} | {mo:.3g} | {mx:.3g} | {p:.3g} | {h:.3g} | {v if p < 0.05 else v + ' (n.s.)'} |")


if __name__ == "__main__":
    main()

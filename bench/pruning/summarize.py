#!/usr/bin/env python3
"""Per-seed and median tables of several runs of bench/pruning/driver.py.

Usage: summarize.py results-seed0.json results-seed1.json ...

Prints, as Markdown: for each method and seed its epochs, best validation accuracy at
the max budget, that configuration's test accuracy and its epochs to target; then the
median over the seeds; then, per seed, whether the targets of issue 6 hold:
- Hyperband / ASHA: best validation accuracy within 0.5 pp of full-budget random
  search's best, with at most a third of its epochs;
- BOHB: reaches that target with fewer epochs (epochs to target) than Hyperband.
"""

import json
import statistics
import sys


def load(path):
    with open(path) as f:
        r = json.load(f)
    return r["settings"]["seed"], r["results"]


def fmt(x, digits=4):
    if x is None:
        return "n/r"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def main(paths):
    runs = sorted(load(p) for p in paths)
    methods = ["random (full budget)", "random + median pruner", "hyperband", "asha", "bohb",
               "dehb", "pbt", "optuna random + MedianPruner",
               "optuna random + HyperbandPruner"]
    methods = [m for m in methods if any(m in res for _, res in runs)]
    for _, res in runs:
        for k in res:
            if k not in methods:
                methods.append(k)
    seeds = [s for s, _ in runs]
    print("| method | seed | epochs | best valid acc. | its test acc. | epochs to target |")
    print("|---|---:|---:|---:|---:|---:|")
    for m in methods:
        for s, res in runs:
            r = res.get(m)
            if not r:
                print(f"| {m} | {s} | not run | | | |")
                continue
            if "error" in r:
                print(f"| {m} | {s} | failed | | | |")
                continue
            print(f"| {m} | {s} | {r['epochs']} | {fmt(r['best_valid'])} | "
                  f"{fmt(r['test'])} | {fmt(r.get('epochs_to_target'))} |")
    print()
    print(f"Median over seeds {', '.join(map(str, seeds))} "
          "(epochs to target: over the seeds that reached it):")
    print()
    print("| method | epochs | best valid acc. | its test acc. | epochs to target |")
    print("|---|---:|---:|---:|---:|")
    for m in methods:
        rs = [res[m] for _, res in runs if m in res and "error" not in res[m]]
        if not rs:
            continue
        print(f"| {m} | {fmt(median([r['epochs'] for r in rs]), 1)} | "
              f"{fmt(median([r['best_valid'] for r in rs]))} | "
              f"{fmt(median([r['test'] for r in rs]))} | "
              f"{fmt(median([r.get('epochs_to_target') for r in rs]), 1)} |")
    print()
    for s, res in runs:
        base = res.get("random (full budget)")
        if not base or "error" in base:
            continue
        target = base["best_valid"] - 0.005
        third = base["epochs"] / 3
        line = [f"seed {s}: target {target:.4f}, a third of the epochs {third:.0f}"]
        for m in ("hyperband", "asha"):
            r = res.get(m)
            if r and "error" not in r:
                ok = r["best_valid"] >= target - 1e-12 and r["epochs"] <= third
                line.append(f"{m} {'met' if ok else 'not met'} "
                            f"({r['best_valid']:.4f} at {r['epochs']} epochs)")
        hb, bo = res.get("hyperband"), res.get("bohb")
        if hb and bo and "error" not in hb and "error" not in bo:
            a, b = bo.get("epochs_to_target"), hb.get("epochs_to_target")
            ok = a is not None and (b is None or a < b)
            line.append(f"bohb before hyperband {'met' if ok else 'not met'} "
                        f"({fmt(a)} vs {fmt(b)} epochs to target)")
        print("- " + "; ".join(line))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

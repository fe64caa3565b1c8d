"""Per-seed and aggregate comparison of bilevel methods run by `bench_bilevel` on
several seeds (files `METHOD-seedS.json` in one directory).

For each method: test and validation cross-entropy, test accuracy, epochs and wall
seconds per seed; then medians, means and, against a reference method (GP-BO by
default), paired two-sided Wilcoxon signed-rank tests on test and validation CE over
the seeds both ran, with win/loss counts and the median ratio of epochs and of wall
time.

Usage: python bench/bilevel/summarize_seeds.py bench/bilevel/mnist-1000-warm \
          [--methods gbho,gbho-warm2,gp,tpe,random] [--reference gp] [--markdown]
"""

import argparse
import glob
import json
import os
import re
import statistics as st

from scipy.stats import wilcoxon


def load(directory):
    runs = {}
    for path in glob.glob(os.path.join(directory, "*-seed*.json")):
        m = re.match(r"(.+)-seed(\d+)\.json$", os.path.basename(path))
        if not m:
            continue
        with open(path) as f:
            r = json.load(f)
        runs.setdefault(m.group(1), {})[int(m.group(2))] = r
    return runs


def paired(a, b):
    """Two-sided Wilcoxon p of a - b (1.0 when every difference is zero)."""
    d = [x - y for x, y in zip(a, b)]
    if all(abs(v) < 1e-12 for v in d):
        return 1.0
    return wilcoxon(a, b, zero_method="zsplit").pvalue


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("directory")
    ap.add_argument("--methods", default="")
    ap.add_argument("--reference", default="gp")
    a = ap.parse_args()
    runs = load(a.directory)
    methods = [m for m in a.methods.split(",") if m] or sorted(runs)
    seeds = sorted({s for m in methods for s in runs.get(m, {})})
    print("| seed | " + " | ".join(methods) + " |")
    print("|---:|" + "---|" * len(methods))
    for s in seeds:
        cells = []
        for m in methods:
            r = runs.get(m, {}).get(s)
            cells.append(
                f"{r['test']['cross_entropy']:.4f} / {r['validation']['cross_entropy']:.4f} / {r['epochs']}"
                if r
                else "—"
            )
        print(f"| {s} | " + " | ".join(cells) + " |")
    print("\n(cells: test CE / validation CE / epochs)\n")
    ref = runs.get(a.reference, {})
    print("| method | seeds | median test CE | mean test CE | mean test acc. | median epochs | "
          f"test CE vs {a.reference}: wins-losses, p | validation CE: wins-losses, p | "
          f"epochs / {a.reference} (median) | wall / {a.reference} (median) |")
    print("|---|---:|---:|---:|---:|---:|---|---|---:|---:|")
    for m in methods:
        rs = runs.get(m, {})
        ss = sorted(rs)
        if not ss:
            continue
        test = [rs[s]["test"]["cross_entropy"] for s in ss]
        acc = [rs[s]["test"]["accuracy"] for s in ss]
        ep = [rs[s]["epochs"] for s in ss]
        row = f"| {m} | {len(ss)} | {st.median(test):.4f} | {st.mean(test):.4f} | {st.mean(acc):.4f} | {st.median(ep):.0f} |"
        both = [s for s in ss if s in ref]
        if m != a.reference and both:
            cmp = []
            for key in ("test", "validation"):
                x = [rs[s][key]["cross_entropy"] for s in both]
                y = [ref[s][key]["cross_entropy"] for s in both]
                w = sum(u < v for u, v in zip(x, y))
                l = sum(u > v for u, v in zip(x, y))
                cmp.append(f"{w}-{l}, p = {paired(x, y):.3g}")
            er = st.median(rs[s]["epochs"] / ref[s]["epochs"] for s in both)
            wr = st.median(rs[s]["wall_seconds"] / ref[s]["wall_seconds"] for s in both)
            row += f" {cmp[0]} | {cmp[1]} | {er:.2f} | {wr:.2f} |"
        else:
            row += " — | — | — | — |"
        print(row)


if __name__ == "__main__":
    main()

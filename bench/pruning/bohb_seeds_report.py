#!/usr/bin/env python3
"""Tables of a bench/pruning/seeds.py run: BOHB against Hyperband over many seeds.

Usage: bohb_seeds_report.py results.json [more.json ...] [--compare-bohb other-results.json]
           [--methods random,hyperband,bohb] [--json out.json]

Several results files are merged by seed (e.g. seeds 0-9 and 10-19 of two runs).

Prints, as Markdown:
- per seed: each method's best validation accuracy at the max budget and its epochs to
  two targets: (A) full-budget random search's best - 0.5 pp, (B) Hyperband's final
  best (both per seed); "n/r" = not reached within the run;
- the anytime curve: the best validation accuracy at the max budget after E epochs
  spent (trials in order; a trial counts once finished), median and mean over seeds;
- paired tests of BOHB against Hyperband on epochs to each target: the sign test
  (exact, two-sided, ties dropped) and the Wilcoxon signed-rank test (exact
  two-sided, zero differences dropped; a target not reached counts as the run's
  epochs + 1, i.e. worse than any reached one).

--compare-bohb: a second results file whose `bohb` runs (same seeds, same settings)
are added as the method `bohb (after)`, e.g. a re-run after a change to BOHB.
"""

import argparse
import json
import math
import statistics
import sys


def curve(trace):
    """(epochs spent, best full-budget value so far) after each trial."""
    spent, best, out = 0, None, []
    for t in trace:
        spent += t["epochs"]
        if t["full"] and t["value"] is not None:
            best = t["value"] if best is None else max(best, t["value"])
        out.append((spent, best))
    return out


def best_at(trace, budget):
    b = None
    for spent, best in curve(trace):
        if spent > budget:
            break
        b = best
    return b


def to_target(trace, target):
    for spent, best in curve(trace):
        if best is not None and best >= target - 1e-12:
            return spent
    return None


def sign_test(pairs):
    """Exact two-sided sign test on (a, b) pairs, ties dropped: (wins a, wins b, p)."""
    a = sum(1 for x, y in pairs if x < y)
    b = sum(1 for x, y in pairs if x > y)
    n = a + b
    if n == 0:
        return a, b, 1.0
    k = min(a, b)
    p = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return a, b, min(1.0, 2 * p)


def wilcoxon(pairs):
    """Exact two-sided signed-rank test (average ranks for ties): (W+, W-, n, p)."""
    d = [x - y for x, y in pairs if x != y]
    n = len(d)
    if n == 0:
        return 0.0, 0.0, 0, 1.0
    order = sorted(range(n), key=lambda i: abs(d[i]))
    ranks = [0.0] * n
    i = 0
    while i < n:
        j = i
        while j + 1 < n and abs(d[order[j + 1]]) == abs(d[order[i]]):
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    w_plus = sum(r for r, x in zip(ranks, d) if x > 0)
    w_minus = sum(r for r, x in zip(ranks, d) if x < 0)
    obs = min(w_plus, w_minus)
    # Exact null distribution of W+ by counting subsets per rank sum (ranks are
    # multiples of 1/2, so doubled they are integers): O(n * sum), not 2^n.
    scaled = [int(round(2 * r)) for r in ranks]
    total = sum(scaled)
    counts = [0] * (total + 1)
    counts[0] = 1
    for r in scaled:
        for s in range(total, r - 1, -1):
            counts[s] += counts[s - r]
    count = sum(c for s, c in enumerate(counts) if min(s, total - s) <= 2 * obs + 1e-9)
    return w_plus, w_minus, n, count / 2**n


def fmt(x, digits=4):
    if x is None:
        return "n/r"
    if isinstance(x, float) and x.is_integer() and digits == 4 and x > 1:
        return str(int(x))
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results", nargs="+")
    ap.add_argument("--methods", default="",
                    help="comma-separated methods to report (default: every one found)")
    ap.add_argument("--compare-bohb")
    ap.add_argument("--json")
    a = ap.parse_args()
    res = {}
    for path in a.results:
        with open(path) as f:
            for s, ms in json.load(f)["results"].items():
                res.setdefault(s, {}).update(ms)
    if a.compare_bohb:
        with open(a.compare_bohb) as f:
            other = json.load(f)["results"]
        for s, ms in other.items():
            if s in res and "bohb" in ms and "error" not in ms["bohb"]:
                res[s]["bohb (after)"] = ms["bohb"]
    methods = [m for m in ["random", "hyperband", "bohb", "bohb (after)", "dehb"]
               if any(m in r for r in res.values())]
    if a.methods:
        keep = a.methods.split(",")
        methods = [m for m in methods if m in keep]
    seeds = sorted(
        (s for s, r in res.items()
         if all(m in r and "error" not in r[m] for m in methods)),
        key=int)
    summary = {"seeds": [int(s) for s in seeds], "per_seed": {}, "tests": {},
               "anytime": {}}

    print(f"Seeds with every method finished: {len(seeds)} ({', '.join(seeds)})\n")
    print("| seed | target A | target B | " + " | ".join(
        f"{m}: best / to A / to B" for m in methods) + " |")
    print("|---|---:|---:|" + "---|" * len(methods))
    ett = {m: {"A": [], "B": []} for m in methods}
    for s in seeds:
        r = res[s]
        ta = r["random"]["best_valid"] - 0.005
        tb = r["hyperband"]["best_valid"]
        row = [s, fmt(ta), fmt(tb)]
        ps = {"target_A": ta, "target_B": tb}
        for m in methods:
            tr = r[m]["trace"]
            xa, xb = to_target(tr, ta), to_target(tr, tb)
            ett[m]["A"].append((xa, r[m]["epochs"]))
            ett[m]["B"].append((xb, r[m]["epochs"]))
            row.append(f"{r[m]['best_valid']:.4f} / {fmt(xa)} / {fmt(xb)}")
            ps[m] = {"epochs": r[m]["epochs"], "best_valid": r[m]["best_valid"],
                     "test": r[m]["test"], "to_A": xa, "to_B": xb}
        summary["per_seed"][s] = ps
        print("| " + " | ".join(str(x) for x in row) + " |")

    print("\nMedians over the seeds (epochs to target: seeds that reached it; n/r counted):\n")
    print("| method | epochs | best valid | test | to A (median, reached) | to B (median, reached) |")
    print("|---|---:|---:|---:|---:|---:|")
    for m in methods:
        ep = statistics.median(res[s][m]["epochs"] for s in seeds)
        bv = statistics.median(res[s][m]["best_valid"] for s in seeds)
        te = statistics.median(res[s][m]["test"] for s in seeds)
        cells = []
        for t in "AB":
            reached = [x for x, _ in ett[m][t] if x is not None]
            # Median with "not reached" as +inf (worse than any reached).
            vals = sorted(x if x is not None else math.inf for x, _ in ett[m][t])
            med = statistics.median(vals) if vals else None
            cells.append(f"{fmt(med) if med != math.inf else 'n/r'} ({len(reached)}/{len(vals)})")
        print(f"| {m} | {fmt(ep)} | {bv:.4f} | {te:.4f} | {cells[0]} | {cells[1]} |")

    grid = list(range(25, 251, 25))
    print("\nAnytime: best validation accuracy at the max budget after E epochs "
          "(median over seeds; mean in brackets; '-' = no full-budget trial yet in "
          "some seed):\n")
    print("| method | " + " | ".join(f"{e}" for e in grid) + " |")
    print("|---|" + "---:|" * len(grid))
    for m in methods:
        cells = []
        summary["anytime"][m] = {}
        for e in grid:
            vals = [best_at(res[s][m]["trace"], e) for s in seeds]
            if any(v is None for v in vals):
                cells.append("-")
                summary["anytime"][m][e] = None
                continue
            med, mean = statistics.median(vals), statistics.mean(vals)
            summary["anytime"][m][e] = {"median": med, "mean": mean}
            cells.append(f"{med:.4f} ({mean:.4f})")
        print(f"| {m} | " + " | ".join(cells) + " |")

    print("\nPaired tests, BOHB against Hyperband (epochs to target: fewer is better):\n")
    for other in [m for m in methods if m.startswith("bohb")]:
        for t in "AB":
            pairs = []
            for (xb, eb), (xh, eh) in zip(ett[other][t], ett["hyperband"][t]):
                pairs.append((xb if xb is not None else eb + 1,
                              xh if xh is not None else eh + 1))
            wb, wh, p = sign_test(pairs)
            ties = len(pairs) - wb - wh
            wp, wm, n, pw = wilcoxon(pairs)
            summary["tests"][f"{other} vs hyperband, target {t}"] = {
                "pairs": pairs, "bohb_fewer": wb, "hyperband_fewer": wh, "ties": ties,
                "sign_p": p, "wilcoxon_w_plus": wp, "wilcoxon_w_minus": wm,
                "wilcoxon_n": n, "wilcoxon_p": pw}
            print(f"- {other} vs hyperband, target {t}: {other} fewer epochs on {wb}, "
                  f"hyperband on {wh}, ties {ties}; sign test p = {p:.3f}; Wilcoxon "
                  f"(differences {other} - hyperband) W+ = {wp:g}, W- = {wm:g} "
                  f"(n = {n}), p = {pw:.3f}")
        # Final best validation accuracy (higher is better): negate for the tests.
        pairs = [(-res[s][other]["best_valid"], -res[s]["hyperband"]["best_valid"])
                 for s in seeds]
        wb, wh, p = sign_test(pairs)
        wp, wm, n, pw = wilcoxon(pairs)
        summary["tests"][f"{other} vs hyperband, final best"] = {
            "bohb_higher": wb, "hyperband_higher": wh, "ties": len(pairs) - wb - wh,
            "sign_p": p, "wilcoxon_p": pw}
        print(f"- {other} vs hyperband, final best validation accuracy: {other} higher on "
              f"{wb}, hyperband on {wh}, ties {len(pairs) - wb - wh}; sign test p = {p:.3f}; "
              f"Wilcoxon p = {pw:.3f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(summary, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

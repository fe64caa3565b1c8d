#!/usr/bin/env python3
"""Basin counts and tests for two samplers' `bench quality --format json` output.

Usage: startup_test.py FILE [--from K] [--to K] [--threshold T]

FILE is the JSON array `hyperscape bench quality --sampler A,B --format json` prints
(one object per sampler with `optimum` and `curves`, one curve per seed 0..N). Seeds
before --from (and from --to on) are left out. A study reaches the basin when its final
regret is below --threshold (0.01). Prints, per sampler, the basin count and the median
final regret, then the two-sided Fisher exact test on the counts and the two-sided
Mann-Whitney rank-sum test of final regrets (scipy).
"""
import argparse
import json
import statistics

from scipy.stats import fisher_exact, mannwhitneyu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--from", dest="lo", type=int, default=0)
    ap.add_argument("--to", dest="hi", type=int, default=None)
    ap.add_argument("--threshold", type=float, default=0.01)
    a = ap.parse_args()
    runs = json.load(open(a.file))
    if isinstance(runs, dict):
        runs = [runs]
    if len(runs) != 2:
        raise SystemExit(f"{a.file}: expected two samplers, found {len(runs)}")
    rows = []
    for r in runs:
        curves = r["curves"][a.lo:a.hi]
        # Minimisation: regret = best value - optimum.
        regrets = [c[-1] - r["optimum"] for c in curves]
        k = sum(x < a.threshold for x in regrets)
        rows.append((r.get("sampler", "?"), len(regrets), k, regrets))
        print(f"{r.get('sampler', '?'):>18}: seeds {a.lo}-{a.lo + len(regrets) - 1}, "
              f"basins {k}/{len(regrets)}, median final regret {statistics.median(regrets):.3g}")
    (_, n0, k0, r0), (_, n1, k1, r1) = rows
    print(f"Fisher exact (two-sided): p = {fisher_exact([[k0, n0 - k0], [k1, n1 - k1]]).pvalue:.3g}")
    print(f"rank-sum (two-sided): p = {mannwhitneyu(r0, r1, alternative='two-sided').pvalue:.3g}")


if __name__ == "__main__":
    main()

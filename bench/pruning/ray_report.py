#!/usr/bin/env python3
"""Tables of a seeds.py run with Ray Tune's schedulers: hyperscape's ASHA against Ray
Tune's ASHAScheduler, and the median pruner against Ray's MedianStoppingRule.

Usage: ray_report.py results.json [more.json ...] [--json out.json]

Several files are merged by seed; a method in a later file replaces the same method of
an earlier one (e.g. a rerun of ray-median).

Per seed and pair (hyperscape method, Ray method):
- the epochs each spent, and E = the smaller of the two;
- the best validation accuracy among full-budget trials finished within E epochs
  (trials in their order; "at equal epochs"), and each run's final best;
- epochs to target A (full-budget random search's best - 0.5 pp);
- wall seconds and, for Ray, the seconds spent outside `hyperscape train` processes.
Paired exact two-sided sign tests (ties dropped) and Wilcoxon signed-rank tests on the
accuracy at equal epochs (primary for ASHA) and on epochs to target A (a target not
reached counts as the run's epochs + 1).
"""

import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bohb_seeds_report import best_at, curve, sign_test, to_target, wilcoxon  # noqa: E402

PAIRS = [("asha", "ray-asha"), ("run-asha", "ray-asha"), ("median", "ray-median")]


def f4(x):
    return "n/r" if x is None else f"{x:.4f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+")
    ap.add_argument("--json")
    a = ap.parse_args()
    runs = {}
    for path in a.results:
        with open(path) as f:
            for seed, methods in json.load(f)["results"].items():
                runs.setdefault(seed, {}).update(methods)
    seeds = sorted(runs, key=int)
    summary = {}
    for hs, ray in PAIRS:
        rows = []
        for s in seeds:
            r = runs[s]
            if any(m not in r or "error" in r[m] for m in (hs, ray, "random")):
                continue
            h, y = r[hs], r[ray]
            e = min(h["epochs"], y["epochs"])
            target = r["random"]["best_valid"] - 0.005
            th, ty = to_target(h["trace"], target), to_target(y["trace"], target)
            rows.append({
                "seed": int(s), "epochs": (h["epochs"], y["epochs"]), "equal_epochs": e,
                "at_equal": (best_at(h["trace"], e), best_at(y["trace"], e)),
                "final": (h["best_valid"], y["best_valid"]),
                "test": (h["test"], y["test"]),
                "to_target": (th, ty),
                "to_target_scored": (th if th is not None else h["epochs"] + 1,
                                     ty if ty is not None else y["epochs"] + 1),
                "trials": (h["trials"], y["trials"]),
                "wall": (h["wall"], y["wall"]), "ray_overhead": y.get("overhead"),
            })
        if not rows:
            continue
        print(f"\n## {hs} (hyperscape) against {ray} (Ray Tune)\n")
        print("| seed | epochs | E | best valid within E | final best valid | test acc. | "
              "epochs to target A | trials | wall s | Ray overhead s |")
        print("|---:|---|---:|---|---|---|---|---|---|---:|")
        for w in rows:
            print(f"| {w['seed']} | {w['epochs'][0]} / {w['epochs'][1]} | {w['equal_epochs']} | "
                  f"{f4(w['at_equal'][0])} / {f4(w['at_equal'][1])} | "
                  f"{f4(w['final'][0])} / {f4(w['final'][1])} | "
                  f"{f4(w['test'][0])} / {f4(w['test'][1])} | "
                  f"{w['to_target'][0] or 'n/r'} / {w['to_target'][1] or 'n/r'} | "
                  f"{w['trials'][0]} / {w['trials'][1]} | "
                  f"{w['wall'][0]:.0f} / {w['wall'][1]:.0f} | {w['ray_overhead']:.0f} |")
        neg = lambda p: [(-x if x is not None else 1.0, -y if y is not None else 1.0)
                         for x, y in p]  # noqa: E731 (higher accuracy = a "win")
        acc = [w["at_equal"] for w in rows]
        fin = [w["final"] for w in rows]
        ett = [w["to_target_scored"] for w in rows]
        tests = {
            "best valid within E": (sign_test(neg(acc)), wilcoxon(neg(acc))),
            "final best valid": (sign_test(neg(fin)), wilcoxon(neg(fin))),
            "epochs to target A": (sign_test(ett), wilcoxon(ett)),
        }
        print(f"\n| {hs} against {ray} | hyperscape better | Ray better | ties | "
              "sign p | Wilcoxon p |")
        print("|---|---:|---:|---:|---:|---:|")
        for k, ((wa, wb, p), (_, _, _, pw)) in tests.items():
            print(f"| {k} | {wa} | {wb} | {len(rows) - wa - wb} | {p:.3g} | {pw:.3g} |")
        med = statistics.median
        ratio_epochs = med([w["epochs"][0] / w["epochs"][1] for w in rows])
        ratio_wall = med([w["wall"][0] / w["wall"][1] for w in rows])
        per_trial = med([w["ray_overhead"] / w["trials"][1] for w in rows])
        print(f"\nmedians over {len(rows)} seeds: epochs {med([w['epochs'][0] for w in rows])}"
              f" / {med([w['epochs'][1] for w in rows])} (ratio {ratio_epochs:.2f}); "
              f"wall ratio {ratio_wall:.2f}; Ray's overhead per trial {per_trial:.2f} s")
        summary[f"{hs} vs {ray}"] = {
            "rows": rows,
            "tests": {k: {"sign": v[0], "wilcoxon_p": v[1][3]} for k, v in tests.items()},
            "median_epoch_ratio": ratio_epochs, "median_wall_ratio": ratio_wall,
            "median_ray_overhead_per_trial": per_trial,
        }
    if a.json:
        with open(a.json, "w") as f:
            json.dump(summary, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

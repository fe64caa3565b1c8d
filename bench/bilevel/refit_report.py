"""Tables of `bilevel_refit` outputs (one JSON line per refit; see
crates/hyperscape-ml/examples/bilevel_refit.rs): per seed, each method's test CE as
run (model trained on the training split only), after refitting its λ on train ∪
validation, and GBHO's joint iterate (the authors' rule); then, for a pair of methods,
the paired two-sided sign test on refit test CE and the means.

Usage: python bench/bilevel/refit_report.py FILE.jsonl [--pair gbho-warm2,gp]
  Methods are named by their result file: `gp-seed20.json` is `gp`,
  `gbho-warm2-seed20.json` is `gbho-warm2`, `bench/bilevel/mnist-5000/tpe.json` is
  `tpe`, and a file under a `-box8` directory gets the suffix `@box8`.
"""

import argparse
import json
import os
import re
import statistics as st

from scipy.stats import binomtest


def name_of(path):
    base = re.sub(r"-seed\d+\.json$|\.json$", "", os.path.basename(path))
    return base + ("@box8" if "-box8" in path else "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--pair", default="")
    a = ap.parse_args()
    rows = [json.loads(line) for line in open(a.file) if line.strip()]
    by = {}
    for r in rows:
        by.setdefault(name_of(r["file"]), {})[r["seed"]] = r
    methods = sorted(by)
    print("| method | seed | λ | test CE as run | refit test CE | refit test acc | joint iterate test CE |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for m in methods:
        for s, r in sorted(by[m].items()):
            lam = ", ".join(f"{v:.2f}" for v in r["lambda"])
            joint = r.get("joint_test")
            print(
                f"| {m} | {s} | {lam} | {r['test']['cross_entropy']:.4f} | "
                f"{r['refit_test']['cross_entropy']:.4f} | {r['refit_test']['accuracy']:.4f} | "
                + (f"{joint['cross_entropy']:.4f}" if joint else "") + " |"
            )
    print()
    print("| method | seeds | mean test CE as run | mean refit test CE | mean joint iterate test CE |")
    print("|---|---:|---:|---:|---:|")
    for m in methods:
        rs = list(by[m].values())
        joints = [r["joint_test"]["cross_entropy"] for r in rs if r.get("joint_test")]
        print(
            f"| {m} | {len(rs)} | {st.mean(r['test']['cross_entropy'] for r in rs):.4f} | "
            f"{st.mean(r['refit_test']['cross_entropy'] for r in rs):.4f} | "
            + (f"{st.mean(joints):.4f}" if joints else "") + " |"
        )
    if a.pair:
        x, y = a.pair.split(",")
        seeds = sorted(set(by.get(x, {})) & set(by.get(y, {})))
        for key, label in (("refit_test", "refit"), ("test", "as run")):
            d = [by[x][s][key]["cross_entropy"] - by[y][s][key]["cross_entropy"] for s in seeds]
            wins = sum(v < 0 for v in d)
            losses = sum(v > 0 for v in d)
            p = binomtest(wins, wins + losses).pvalue if wins + losses else 1.0
            print(
                f"\n{x} against {y}, test CE {label}, seeds {seeds[0]}-{seeds[-1]}: "
                f"lower on {wins}, higher on {losses}, equal on {len(d) - wins - losses}; "
                f"sign test p = {p:.3g}; mean difference {st.mean(d):+.4f}"
            )


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Does BOHB's model propose better configurations than random draws? (diagnostic)

Usage: bohb_model_check.py <seeds.py out dir> [--method bohb]

Reads the studies' SQLite files (<dir>/seed*/bohb.db, hyperband.db) and prints, per
budget, the mean and median validation accuracy of new configurations (rung 0 of a
bracket, i.e. not promotions) drawn by BOHB's model, by the sampler inside BOHB, and by
Hyperband (all random), pooled over the seeds, and how many of them there were.
"""

import argparse
import glob
import json
import os
import sqlite3
import statistics
import sys


def new_configs(db):
    con = sqlite3.connect(db)
    out = []
    for state, vals, sa in con.execute("select state, vals, system_attrs from trials"):
        sa = json.loads(sa)
        if state != "complete" or sa.get("rung") != 0:
            continue
        out.append((sa["budget"], "model" if "bohb_model_budget" in sa else "random",
                    json.loads(vals)[0]))
    return out


def main(d, method="bohb"):
    groups = {}
    for seed_dir in sorted(glob.glob(os.path.join(d, "seed*"))):
        for name, label in ((method, method), ("hyperband", "hyperband")):
            db = os.path.join(seed_dir, f"{name}.db")
            if not os.path.exists(db):
                continue
            for budget, origin, v in new_configs(db):
                key = (budget, f"{label} {origin}" if label == method else label)
                groups.setdefault(key, []).append(v)
    print("| budget | drawn by | n | mean valid acc | median |")
    print("|---:|---|---:|---:|---:|")
    for (b, who), vs in sorted(groups.items()):
        print(f"| {b} | {who} | {len(vs)} | {statistics.mean(vs):.4f} | "
              f"{statistics.median(vs):.4f} |")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--method", default="bohb")
    a = ap.parse_args()
    sys.exit(main(a.dir, a.method))

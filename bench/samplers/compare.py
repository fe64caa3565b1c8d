"""Reads the JSON lines of the sampler benches (hyperscape and Optuna) on stdin and
prints them side by side per (sampler family, trials), with Optuna / hyperscape."""
import json
import sys

rows = [json.loads(line) for line in sys.stdin if line.startswith("{")]
ours = {(r["sampler"].split("-")[0], r["trials"]): r for r in rows if r["tool"] == "hyperscape"}
theirs = {}
for r in rows:
    if r["tool"] != "hyperscape":
        family = {"CmaEsSampler": "cmaes"}.get(r["sampler"], r["sampler"].lower())
        theirs[(family, r["trials"])] = r
print(f"{'sampler':<8} {'trials':>7} {'hyperscape µs':>14} {'optuna µs':>12} {'ratio':>8}   (median per trial; last 10% in brackets)")
for key in sorted(set(ours) | set(theirs)):
    h, o = ours.get(key), theirs.get(key)
    hs = f"{h['median_us']:.1f} [{h['tail_median_us']:.1f}]" if h else "-"
    os_ = f"{o['median_us']:.0f} [{o['tail_median_us']:.0f}]" if o else "-"
    ratio = f"{o['median_us'] / h['median_us']:.0f}x" if h and o else "-"
    print(f"{key[0]:<8} {key[1]:>7} {hs:>14} {os_:>12} {ratio:>8}")

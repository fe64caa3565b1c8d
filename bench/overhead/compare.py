"""Reads JSON lines from both tools on stdin and prints a side-by-side table."""
import json
import sys

rows = [json.loads(l) for l in sys.stdin if l.strip().startswith("{")]
ours = {(r["storage"], r["trials"]): r for r in rows if r["tool"] == "hyperscape"}
theirs = {(r["storage"], r["trials"]): r for r in rows if r["tool"] != "hyperscape"}
name = next((r["tool"] for r in rows if r["tool"] != "hyperscape"), "optuna")
print(f"| storage | trials | hyperscape median µs/trial | {name} median µs/trial | speed-up (median) | hyperscape last-10% median | {name} last-10% median |")
print("|---|---:|---:|---:|---:|---:|---:|")
for key in sorted(ours, key=lambda k: (k[0], k[1])):
    o = ours[key]
    t = theirs.get(key)
    if t is None:
        print(f"| {key[0]} | {key[1]} | {o['median_us']} | – | – | {o['tail_median_us']} | – |")
        continue
    print(f"| {key[0]} | {key[1]} | {o['median_us']} | {t['median_us']} | {t['median_us'] / o['median_us']:.1f}× "
          f"| {o['tail_median_us']} | {t['tail_median_us']} |")

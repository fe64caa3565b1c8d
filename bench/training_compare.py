"""Reads the JSON lines of scripts/bench-training.sh and prints a Markdown table:
median epoch time of each side and the throughput ratio hyperscape / PyTorch
(= PyTorch's epoch time / hyperscape's)."""

import json
import sys

rows = {}
data = set()
for line in sys.stdin:
    line = line.strip()
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    rows[(r["model"], r["threads"], r["framework"])] = r
    data.add(r["data"])
print(f"data: {', '.join(sorted(data))}")
print()
print("| model | threads | hyperscape s/epoch | PyTorch s/epoch | throughput ratio hyperscape/PyTorch |")
print("|---|---:|---:|---:|---:|")
for (model, threads, fw) in sorted(rows):
    if fw != "hyperscape":
        continue
    h = rows[(model, threads, "hyperscape")]["median_seconds"]
    t = rows.get((model, threads, "pytorch"), {}).get("median_seconds")
    ratio = f"{t / h:.2f}" if t else "n/a"
    print(f"| {model} | {threads} | {h:.2f} | {t if t is None else f'{t:.2f}'} | {ratio} |")

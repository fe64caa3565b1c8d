#!/usr/bin/env python3
"""Summarises `hyperscape bench quality --format json` runs on multi-objective problems.

Reads JSON objects or arrays (one `bench quality` output after another) on stdin and
prints a Markdown table per problem: the hypervolume gap to the true front (the
`optimum` minus the hypervolume of the trials so far) at 25, 50 and 100 trials, median
over the seeds with the min-max range, and the wall seconds of all seeds. Standard
library only.
"""
import json
import statistics
import sys

AT = (25, 50, 100)


def objects(text):
    dec = json.JSONDecoder()
    i = 0
    while i < len(text):
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            break
        obj, i = dec.raw_decode(text, i)
        if isinstance(obj, list):
            yield from obj
        else:
            yield obj


def main():
    rows = {}
    for r in objects(sys.stdin.read()):
        rows.setdefault(r["problem"], []).append(r)
    for problem, runs in rows.items():
        budget = max(r["budget"] for r in runs)
        at = [k for k in AT if k <= budget]
        seeds = runs[0]["seeds"]
        print(f"\n**{problem}** (hypervolume of the true front {runs[0]['optimum']:.4g}; "
              f"gap = front's hypervolume − found, lower is better; median [min, max] of {seeds} seeds)\n")
        print("| sampler | " + " | ".join(f"gap@{k}" for k in at) + " | seconds |")
        print("|---|" + "---|" * (len(at) + 1))
        for r in runs:
            cells = []
            for k in at:
                gaps = [r["optimum"] - (c[k - 1] if c[k - 1] is not None else 0.0) for c in r["curves"]]
                cells.append(f"{statistics.median(gaps):.4g} [{min(gaps):.3g}, {max(gaps):.3g}]")
            print(f"| {r['sampler']} | " + " | ".join(cells) + f" | {r['seconds']:.1f} |")


if __name__ == "__main__":
    main()

"""Compare best-so-far curves of hyperscape's samplers and peer tools.

Reads JSON objects (one per line, or arrays of them) from stdin: hyperscape's
`bench quality --format json` output and `peer_quality.py` output. Prints, per
problem, the median regret at 10/25/50/100 trials of every (tool, sampler) over the
seeds, the rank of each by final median regret, then the mean rank over problems and,
for hyperscape's best sampler on each problem, a two-sided Mann-Whitney rank-sum test
of its final regrets against each peer's (scipy).
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict

import numpy as np
from scipy.stats import mannwhitneyu, rankdata


def read(stream):
    text = stream.read()
    dec, i, out = json.JSONDecoder(), 0, []
    while i < len(text):
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            break
        try:
            obj, i = dec.raw_decode(text, i)
        except json.JSONDecodeError:
            # Skip a non-JSON line (progress output).
            j = text.find("\n", i)
            i = len(text) if j < 0 else j + 1
            continue
        out.extend(obj if isinstance(obj, list) else [obj])
    return out


def main():
    runs = defaultdict(dict)
    for r in read(sys.stdin):
        if "curves" not in r:
            continue
        tool = r.get("tool", "hyperscape")
        regrets = np.array([[v - r["optimum"] for v in c] for c in r["curves"]])
        runs[r["problem"]][f"{tool}:{r['sampler']}"] = regrets
    checkpoints = [10, 25, 50, 100]
    all_ranks = defaultdict(list)
    print("| problem | tool:sampler | " + " | ".join(f"regret@{c}" for c in checkpoints) + " | rank |")
    print("|---|---|" + "---|" * (len(checkpoints) + 1))
    tests = []
    for problem, entries in runs.items():
        names = sorted(entries)
        finals = [np.median(entries[n][:, -1]) for n in names]
        ranks = rankdata(finals)
        for n, rk in zip(names, ranks):
            all_ranks[n].append(rk)
            cells = []
            for c in checkpoints:
                m = entries[n]
                cells.append(f"{np.median(m[:, c - 1]):.4g}" if m.shape[1] >= c else "")
            print(f"| {problem} | {n} | " + " | ".join(cells) + f" | {rk:g} |")
        ours = [n for n in names if n.startswith("hyperscape:")]
        if not ours:
            continue
        best = min(ours, key=lambda n: (np.median(entries[n][:, -1]), np.mean(entries[n][:, -1])))
        for n in names:
            if n.startswith("hyperscape:"):
                continue
            a, b = entries[best][:, -1], entries[n][:, -1]
            p = mannwhitneyu(a, b, alternative="two-sided").pvalue if not np.allclose(np.r_[a, b], a[0]) else 1.0
            verdict = "better" if np.median(a) < np.median(b) else ("worse" if np.median(a) > np.median(b) else "tie")
            tests.append((problem, best, n, np.median(a), np.median(b), p, verdict))
    print()
    print("| tool:sampler | mean rank | problems |")
    print("|---|---|---|")
    for n, rk in sorted(all_ranks.items(), key=lambda kv: np.mean(kv[1])):
        print(f"| {n} | {np.mean(rk):.2f} | {len(rk)} |")
    print()
    print("| problem | hyperscape best | peer | median final regret (ours / peer) | rank-sum p | ours is |")
    print("|---|---|---|---|---|---|")
    for problem, best, n, ma, mb, p, verdict in tests:
        sig = verdict if p < 0.05 else f"{verdict} (n.s.)"
        print(f"| {problem} | {best} | {n} | {ma:.4g} / {mb:.4g} | {p:.3f} | {sig} |")


if __name__ == "__main__":
    main()

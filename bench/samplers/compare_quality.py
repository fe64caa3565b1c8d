"""Compare best-so-far curves of hyperscape's samplers and peer tools.

Reads JSON objects (one per line, or arrays of them) from stdin: hyperscape's
`bench quality --format json` output and `peer_quality.py` output. Prints, per
problem:
- the normalised regret at 10/25/50/100 trials of every (tool, sampler), as mean ± sd
  over its seeds. Normalised regret is the regret divided by the problem's scale, the
  median regret of the first trial over every run of the problem (the regret of one
  random point), so 1 is "no better than a first random guess" and 0 is the optimum;
- the rank of each by median final regret within the problem (ties share a rank),
  then the mean rank over problems;
- two-sided Mann-Whitney rank-sum tests (scipy) of final regrets: hyperscape's TPE
  against each peer TPE, hyperscape's GP against each peer GP, and hyperscape's best
  sampler on the problem against every peer.
"""
from __future__ import annotations

import argparse
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


def test(a, b):
    """Two-sided rank-sum p-value and the direction of the medians (lower is better)."""
    p = mannwhitneyu(a, b, alternative="two-sided").pvalue if not np.allclose(np.r_[a, b], a[0]) else 1.0
    verdict = "better" if np.median(a) < np.median(b) else ("worse" if np.median(a) > np.median(b) else "tie")
    return p, (verdict if p < 0.05 else f"{verdict} (n.s.)")


def main():
    ap = argparse.ArgumentParser(description="Compare best-so-far curves read from stdin.")
    ap.add_argument("--seeds", help="keep only the curves of seeds A-B (inclusive, 0-based), e.g. 10-19")
    ap.add_argument("--exclude", default="", help="comma-separated tool:sampler names to leave out")
    a = ap.parse_args()
    keep = None
    if a.seeds:
        lo, hi = (int(v) for v in a.seeds.split("-"))
        keep = slice(lo, hi + 1)
    excluded = {e for e in a.exclude.split(",") if e}
    runs = defaultdict(dict)
    for r in read(sys.stdin):
        if "curves" not in r:
            continue
        tool = r.get("tool", "hyperscape")
        if f"{tool}:{r['sampler']}" in excluded:
            continue
        if keep is not None:
            r = dict(r, curves=r["curves"][keep])
            if not r["curves"]:
                continue
        regrets = np.array([[v - r["optimum"] for v in c] for c in r["curves"]])
        runs[r["problem"]][f"{tool}:{r['sampler']}"] = regrets
    checkpoints = [10, 25, 50, 100]
    all_ranks = defaultdict(list)
    print("| problem | tool:sampler | seeds | " + " | ".join(f"regret@{c}" for c in checkpoints) + " | rank |")
    print("|---|---|---|" + "---|" * (len(checkpoints) + 1))
    tests, pairs = [], []
    for problem, entries in runs.items():
        names = sorted(entries)
        scale = float(np.median(np.concatenate([entries[n][:, 0] for n in names])))
        scale = scale if scale > 0 else 1.0
        finals = [np.median(entries[n][:, -1]) for n in names]
        ranks = rankdata(finals)
        for n, rk in zip(names, ranks):
            all_ranks[n].append(rk)
            m = entries[n] / scale
            cells = [f"{m[:, c - 1].mean():.3g} ± {m[:, c - 1].std():.2g}" if m.shape[1] >= c else "" for c in checkpoints]
            print(f"| {problem} | {n} | {m.shape[0]} | " + " | ".join(cells) + f" | {rk:g} |")
        for ours, peers in (("hyperscape:tpe", ("optuna:tpe", "rustuna:tpe", "hyperopt:tpe")), ("hyperscape:gp", ("optuna:gp", "skopt:gp"))):
            for peer in peers:
                if ours in entries and peer in entries:
                    a, b = entries[ours][:, -1], entries[peer][:, -1]
                    p, sig = test(a, b)
                    pairs.append((problem, ours, peer, np.median(a) / scale, np.median(b) / scale, len(a), len(b), p, sig))
        ours = [n for n in names if n.startswith("hyperscape:")]
        if not ours:
            continue
        best = min(ours, key=lambda n: (np.median(entries[n][:, -1]), np.mean(entries[n][:, -1])))
        for n in names:
            if n.startswith("hyperscape:"):
                continue
            a, b = entries[best][:, -1], entries[n][:, -1]
            p, sig = test(a, b)
            tests.append((problem, best, n, np.median(a) / scale, np.median(b) / scale, p, sig))
    print()
    print("| tool:sampler | mean rank | problems |")
    print("|---|---|---|")
    for n, rk in sorted(all_ranks.items(), key=lambda kv: np.mean(kv[1])):
        print(f"| {n} | {np.mean(rk):.2f} | {len(rk)} |")
    print()
    print("| problem | ours | peer | median final normalised regret (ours / peer) | seeds | rank-sum p | ours is |")
    print("|---|---|---|---|---|---|---|")
    for problem, ours, peer, ma, mb, na, nb, p, sig in pairs:
        print(f"| {problem} | {ours} | {peer} | {ma:.3g} / {mb:.3g} | {na} / {nb} | {p:.3f} | {sig} |")
    print()
    print("| problem | hyperscape best | peer | median final normalised regret (ours / peer) | rank-sum p | ours is |")
    print("|---|---|---|---|---|---|")
    for problem, best, n, ma, mb, p, sig in tests:
        print(f"| {problem} | {best} | {n} | {ma:.3g} / {mb:.3g} | {p:.3f} | {sig} |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Validation of the landscape-aware recommendation against the sampler benchmarks.

Usage (scripts/validate-recommendation.sh runs it):
  summarize.py --work DIR --maps MAPS_DIR --fidelity-json JSON_DIR --out MD --json JSON

Reads from DIR the files the script writes: `analyze.<landscape>.json` (`hyperscape
landscape analyze --format json`: metrics and `recommendation`) and
`quality.<landscape>.json` (`hyperscape bench quality --format json`: best-so-far
curves per sampler and seed, exact regret). Writes the Markdown report and a compact
JSON of the per-seed figures it is computed from.

Sampler part, per landscape and budget b (50 and 100):
- the regret of a run at b is its best-so-far value after b trials minus the optimum;
- the mean rank of a sampler: rank the samplers within each seed (mid-ranks for ties,
  lower regret first), average over the seeds; the best sampler has the lowest mean
  rank (ties: lower mean regret);
- the top group: the best sampler and every sampler whose regrets are not
  significantly worse than the best's by a one-sided Mann-Whitney rank-sum test
  (exact permutation p-value with ties, alpha = 0.05);
- agreement: the recommendation's first sampler is in the top group.
The same with the area under the regret curve (the mean regret over trials 1..b) in
place of the final regret gives the "AUC" columns.

Fidelity part: the tables of `hyperscape bench quality` are single-fidelity, and
bench quality has no multi-fidelity mode, so the fidelity advice is checked on the
mapped landscapes of docs/landscape-study (MAPS_DIR, 3 fidelity levels each) with a
simulation written here: successive halving (eta = 3, 27 -> 9 -> 3 configurations over
the three levels) against random search at full fidelity with the same cost (cost of
an evaluation proportional to its fidelity level), 2,000 replicas each with explicit
seeds. "Multi-fidelity helps" when successive halving's full-fidelity validation regret
is significantly lower (one-sided rank-sum test, normal approximation, alpha = 0.05). The rule's verdict
"low fidelity is a safe proxy" (Spearman >= 0.7 and top-10% IoU >= 0.5 between the
lowest and the full fidelity) is read from compare.fidelity.*.json in JSON_DIR.

Only the Python standard library is used.
"""
from __future__ import annotations

import argparse
import csv
import glob
import json
import math
import os
import random
import statistics
import sys

ALPHA = 0.05
BUDGETS = (50, 100)
SAMPLERS = ("random", "tpe", "gp", "cmaes", "auto")


# ---------------------------------------------------------------- statistics


def midranks(xs):
    """Ranks 1..n of xs (ascending), ties sharing their mean rank."""
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    ranks = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def ranksum_greater(x, y):
    """One-sided exact p-value that x is stochastically greater than y (rank-sum
    test, conditional on the observed ties: permutation distribution of the rank sum
    of x, counted exactly over all splits of the pooled mid-ranks)."""
    pooled = list(x) + list(y)
    if len(set(pooled)) == 1:
        return 1.0
    r2 = [int(round(2 * r)) for r in midranks(pooled)]  # mid-ranks are multiples of 1/2
    m = len(x)
    observed = sum(r2[:m])
    # ways[k][s]: subsets of size k with doubled rank sum s
    total = sum(r2)
    ways = [[0] * (total + 1) for _ in range(m + 1)]
    ways[0][0] = 1
    for r in r2:
        for k in range(m, 0, -1):
            row, prev = ways[k], ways[k - 1]
            for s in range(total, r - 1, -1):
                if prev[s - r]:
                    row[s] += prev[s - r]
    count = sum(ways[m][observed:])
    return count / math.comb(len(pooled), m)


def ranksum_greater_normal(x, y):
    """One-sided rank-sum p-value (x greater than y), normal approximation with the
    tie correction, for samples too large for the exact count."""
    pooled = list(x) + list(y)
    n1, n2 = len(x), len(y)
    n = n1 + n2
    ranks = midranks(pooled)
    u = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    ties = {}
    for v in pooled:
        ties[v] = ties.get(v, 0) + 1
    t = sum(c**3 - c for c in ties.values())
    var = n1 * n2 / 12 * ((n + 1) - t / (n * (n - 1)))
    if var <= 0:
        return 1.0
    z = (u - n1 * n2 / 2 - 0.5) / math.sqrt(var)  # continuity correction
    return 0.5 * math.erfc(z / math.sqrt(2))


def rank_table(values):
    """values[sampler] = list over seeds -> mean rank per sampler."""
    names = list(values)
    n_seeds = len(values[names[0]])
    sums = {s: 0.0 for s in names}
    for k in range(n_seeds):
        for s, r in zip(names, midranks([values[s][k] for s in names])):
            sums[s] += r
    return {s: sums[s] / n_seeds for s in names}


def best_and_top(values):
    """(best, top group, mean ranks, p-values against the best)."""
    ranks = rank_table(values)
    best = min(values, key=lambda s: (ranks[s], statistics.fmean(values[s])))
    p = {s: (1.0 if s == best else ranksum_greater(values[s], values[best])) for s in values}
    top = [s for s in sorted(values, key=lambda s: ranks[s]) if p[s] >= ALPHA]
    return best, top, ranks, p


# ---------------------------------------------------------------- inputs


def load(path):
    with open(path) as f:
        return json.load(f)


def aligned_fdc(r):
    v = r["fdc"].get("spearman")
    if v is None:
        return None
    return -v if r.get("maximize") else v


def fmt(x, nd=3):
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.{nd}f}"
    return str(x)


def regret_runs(quality, budget):
    """sampler -> (final regrets per seed, AUC per seed) at `budget` trials."""
    out = {}
    for q in quality:
        opt = q["optimum"]
        finals, aucs = [], []
        for curve in q["curves"]:
            reg = [math.inf if v is None else max(v - opt, 0.0) for v in curve[:budget]]
            finals.append(reg[-1])
            aucs.append(statistics.fmean(reg))
        out[q["sampler"]] = (finals, aucs)
    return out


def check_prefix(work):
    """Compares budget-50 runs with the first 50 trials of the budget-100 runs."""
    path = os.path.join(work, "check50.hpobench.australian.json")
    full = os.path.join(work, "quality.hpobench.australian.json")
    if not (os.path.exists(path) and os.path.exists(full)):
        return None
    short = {q["sampler"]: q["curves"] for q in load(path)}
    long = {q["sampler"]: q["curves"] for q in load(full)}
    out = {}
    for s, curves in short.items():
        lc = long.get(s, [])
        out[s] = [sum(int(k < len(lc) and lc[k][:50] == c) for k, c in enumerate(curves)), len(curves)]
    return out


# ---------------------------------------------------------------- fidelity simulation


def read_map(path, column_of):
    """(configurations, {level: [value per configuration]}) of a landscape map."""
    with open(path) as f:
        rows = list(csv.DictReader(f))
    levels = {}
    for col in rows[0]:
        lv = column_of(col)
        if lv is not None:
            levels[lv] = [float(r[col]) for r in rows]
    return len(rows), levels


def successive_halving(rng, n, vals, levels, maximize):
    """27 -> 9 -> 3 over the three levels; returns the chosen index and the cost."""
    sign = -1.0 if maximize else 1.0
    n0 = min(27, n)
    alive = rng.sample(range(n), n0)
    cost = 0.0
    for i, lv in enumerate(levels):
        cost += len(alive) * lv
        alive.sort(key=lambda c: (sign * vals[lv][c], c))
        if i + 1 < len(levels):
            alive = alive[: max(1, len(alive) // 3)]
    return alive[0], cost


def fidelity_part(maps_dir, json_dir, replicas=2000):
    rows = []
    for path in sorted(glob.glob(os.path.join(maps_dir, "*.csv"))):
        model, dataset = os.path.basename(path)[:-4].split("-", 1)
        measure = "val_acc" if model == "svm" else "val_loss"
        maximize = model == "svm"

        def column_of(col, measure=measure):
            if col.startswith(measure + "@"):
                return float(col.split("=", 1)[1])
            return None

        n, vals = read_map(path, column_of)
        levels = sorted(vals)
        if len(levels) != 3:
            continue
        lo, full = levels[0], levels[-1]
        best = (max if maximize else min)(vals[full])

        def regret(c):
            return abs(vals[full][c] - best)

        label = f"{lo:g}".rstrip(".")
        cmp_path = glob.glob(os.path.join(json_dir, f"compare.fidelity.{model}.{dataset}.*={label}.json"))
        if not cmp_path:
            continue
        cmp = load(cmp_path[0])
        iou10 = next((g["iou"] for g in cmp["gamma_sets"] if abs(g["gamma"] - 0.1) < 1e-9), None)
        def is_safe(t):
            return cmp["spearman"] is not None and iou10 is not None and cmp["spearman"] >= t[0] and iou10 >= t[1]

        safe = is_safe(RULE_PROXY)
        safe_before = is_safe(PREVIOUS_PROXY)
        rng = random.Random(f"{model}-{dataset}")
        sh, rs = [], []
        cost = None
        for _ in range(replicas):
            c, cost = successive_halving(rng, n, vals, levels, maximize)
            sh.append(regret(c))
            k = max(1, int(cost // full))
            picks = rng.sample(range(n), min(k, n))
            rs.append(min(regret(c) for c in picks))
        p = ranksum_greater_normal(rs, sh)
        helps = p < ALPHA
        rows.append(
            {
                "landscape": f"{model} / {dataset}",
                "levels": levels,
                "spearman": cmp["spearman"],
                "iou10": iou10,
                "safe_proxy": safe,
                "safe_proxy_before": safe_before,
                "agree_before": safe_before == helps,
                "rs_evals": max(1, int(cost // full)),
                "sh_mean_regret": statistics.fmean(sh),
                "rs_mean_regret": statistics.fmean(rs),
                "p_sh_better": p,
                "sh_helps": helps,
                "agree": safe == helps,
            }
        )
    return rows


SPEARMAN_GRID = (0.5, 0.6, 0.7, 0.8, 0.9)
IOU_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
PREVIOUS_PROXY = (0.7, 0.5)  # (Spearman, top-10% IoU) before this validation
RULE_PROXY = (0.7, 0.2)  # recommend::PROXY_MIN_SPEARMAN, PROXY_MIN_TOP10_IOU


def proxy_rule_fit(rows):
    """Thresholds (Spearman, IoU) agreeing most with "SH helps" on rows; ties go to
    the smallest change from the previous (0.7, 0.5)."""

    def score(t):
        agree = sum((r["spearman"] >= t[0] and r["iou10"] >= t[1]) == r["sh_helps"] for r in rows)
        change = abs(t[0] - PREVIOUS_PROXY[0]) + abs(t[1] - PREVIOUS_PROXY[1])
        return (-agree, change)

    return min(((ts, ti) for ts in SPEARMAN_GRID for ti in IOU_GRID), key=score)


def proxy_loo(rows):
    """Leave-one-out: fit the thresholds on all but one landscape, predict it."""
    hits, picks = 0, []
    for i, r in enumerate(rows):
        t = proxy_rule_fit(rows[:i] + rows[i + 1:])
        picks.append(t)
        hits += int((r["spearman"] >= t[0] and r["iou10"] >= t[1]) == r["sh_helps"])
    return hits, picks


# ---------------------------------------------------------------- report


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", required=True)
    ap.add_argument("--maps", required=True)
    ap.add_argument("--fidelity-json", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--json", required=True)
    a = ap.parse_args()

    landscapes = []
    for path in sorted(glob.glob(os.path.join(a.work, "quality.*.json"))):
        key = os.path.basename(path)[len("quality."):-len(".json")]
        apath = os.path.join(a.work, f"analyze.{key}.json")
        if not os.path.exists(apath):
            print(f"skip {key}: no analyze JSON", file=sys.stderr)
            continue
        landscapes.append((key.replace(".", "/", 1) if key != "xgboost" else key, load(apath), load(path)))
    if not landscapes:
        sys.exit(f"no results in {a.work}: run scripts/validate-recommendation.sh bench first")

    records = []
    for name, rep, quality in landscapes:
        rec = rep["recommendation"]
        row = {
            "landscape": name,
            "n_configs": rep["n_configs"],
            "fdc_aligned": aligned_fdc(rep),
            "local_optima_ratio": rep["local_optima_ratio"],
            "n_local_optima": rep["n_local_optima"],
            "neutrality": rep["neutrality"].get("mean"),
            "class": rec["class"],
            "recommended": rec["samplers"],
            "seeds": len(quality[0]["curves"]),
            "budgets": {},
        }
        for b in BUDGETS:
            runs = regret_runs(quality, b)
            entry = {"final": {s: runs[s][0] for s in runs}, "auc": {s: runs[s][1] for s in runs}}
            for kind in ("final", "auc"):
                best, top, ranks, p = best_and_top(entry[kind])
                entry[f"{kind}_best"] = best
                entry[f"{kind}_top"] = top
                entry[f"{kind}_mean_rank"] = ranks
                entry[f"{kind}_p_vs_best"] = p
                entry[f"{kind}_agree"] = rec["samplers"][0] in top
            row["budgets"][str(b)] = entry
        records.append(row)

    fid = fidelity_part(a.maps, a.fidelity_json)
    prefix = check_prefix(a.work)

    with open(a.json, "w") as f:
        json.dump({"landscapes": records, "fidelity": fid, "prefix_check": prefix}, f, indent=1, sort_keys=True)
        f.write("\n")
    write_between_markers(a.out, render(records, fid, prefix))


BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def write_between_markers(path, body):
    """Replaces the text between the markers of `path` (the hand-written discussion
    around them stays), or writes the results alone when the file has no markers."""
    text = open(path).read() if os.path.exists(path) else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = f"{head}{BEGIN}\n{body}{END}{tail}"
    else:
        text = f"# Validating the landscape-aware recommendation\n\n{BEGIN}\n{body}{END}\n"
    with open(path, "w") as f:
        f.write(text)


RULE_SAMPLERS = ("random", "tpe", "gp", "cmaes")  # the names the rule can recommend


def previous_first_choice(r):
    """The first sampler of the rule before this validation: gp when smooth, else tpe."""
    return "gp" if r["class"] == "smooth" else "tpe"


def first_choice_loo(records, budget, kind, by_class):
    """Leave-one-out agreement of a first choice fitted on the other landscapes: the
    sampler (of RULE_SAMPLERS) in the top group most often, over all of them or (with
    by_class) over those of the held-out landscape's class; ties go to the first
    choice of the rule as it was before this validation (fixed, so the result does
    not feed back into its own tie-break), then to the order of RULE_SAMPLERS."""
    hits, picks = 0, []
    for i, r in enumerate(records):
        rest = [x for j, x in enumerate(records) if j != i]
        if by_class and any(x["class"] == r["class"] for x in rest):
            rest = [x for x in rest if x["class"] == r["class"]]
        current = previous_first_choice(r)

        def score(s, rest=rest, current=current):
            n = sum(s in x["budgets"][budget][f"{kind}_top"] for x in rest)
            return (-n, s != current, RULE_SAMPLERS.index(s))

        pick = min(RULE_SAMPLERS, key=score)
        picks.append(pick)
        hits += int(pick in r["budgets"][budget][f"{kind}_top"])
    return hits, picks


def rate(xs):
    return f"{sum(xs)}/{len(xs)}"


def render(records, fid, prefix):
    out = []
    w = out.append
    samplers = [s for s in SAMPLERS if all(s in r["budgets"]["100"]["final"] for r in records)]
    seeds = sorted({r["seeds"] for r in records})
    w("<!-- Generated by bench/recommendation/summarize.py (scripts/validate-recommendation.sh); edit outside the markers. -->\n")
    w("## Results (generated)\n")
    w(f"{len(records)} tabular landscapes, samplers {', '.join(samplers)}, budget 100 "
      f"(regret at 50 read off the same curves), {', '.join(map(str, seeds))} seeds. "
      "Metrics from `landscape analyze --epsilon 1%`: aligned FDC (Spearman, positive = fitness "
      "improves towards the optimum), local-optima ratio, mean neutrality. Best = lowest mean rank "
      "of the final regret over seeds; top group = not significantly worse than the best "
      f"(one-sided exact rank-sum test, α = {ALPHA}); agree = the recommendation's first sampler "
      "is in the top group.\n")
    if prefix is not None:
        w("Budget-50 check (budget-50 runs on hpobench/australian equal to the first 50 trials of the "
          "budget-100 runs of the same sampler and seed): "
          + ", ".join(f"`{s}` {a}/{b}" for s, (a, b) in prefix.items())
          + ". Only `auto` is told the budget (its Sobol start-up is min(10, budget/10) trials), so its "
          "@50 columns are `auto` planned for 100 trials, stopped at 50.\n")
    w("| landscape | n | FDC | LO ratio | neutrality | class | recommended | best @50 | top group @50 | agree @50 | best @100 | top group @100 | agree @100 | best by AUC @100 | agree (AUC) |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in records:
        b50, b100 = r["budgets"]["50"], r["budgets"]["100"]
        yn = lambda x: "yes" if x else "**no**"  # noqa: E731
        w(
            f"| {r['landscape']} | {r['n_configs']} | {fmt(r['fdc_aligned'], 2)} | "
            f"{fmt(r['local_optima_ratio'], 3)} | {fmt(r['neutrality'], 2)} | {r['class']} | "
            f"{', '.join(r['recommended'])} | {b50['final_best']} | {', '.join(b50['final_top'])} | "
            f"{yn(b50['final_agree'])} | {b100['final_best']} | {', '.join(b100['final_top'])} | "
            f"{yn(b100['final_agree'])} | {b100['auc_best']} | {yn(b100['auc_agree'])} |"
        )
    w("")
    w("### Agreement, and what a fixed choice would score\n")
    w("Share of landscapes where the sampler is in the top group (final regret; AUC at 100 in the last column). "
      "The rule is only useful if it beats the best fixed choice.\n")
    w("| choice | @50 | @100 | AUC @100 |")
    w("|---|---|---|---|")
    for label, pick in [
        ("**the rule's first choice**", lambda r: r["recommended"][0]),
        ("the rule before this validation (`tpe`, `gp` when smooth)", previous_first_choice),
    ] + [
        (f"always `{s}`", (lambda s: lambda r: s)(s)) for s in samplers
    ]:
        cells = [
            rate([pick(r) in r["budgets"][b][f"{k}_top"] for r in records])
            for b, k in (("50", "final"), ("100", "final"), ("100", "auc"))
        ]
        w(f"| {label} | " + " | ".join(cells) + " |")
    w("")
    w("### Leave-one-out: is the landscape class worth anything?\n")
    w("A first choice fitted on 15 landscapes (the sampler of random/tpe/gp/cmaes in the top group "
      "most often), checked on the one left out; \"per class\" fits it on the landscapes of the "
      "held-out one's class only (ties go to the first choice of the rule before this validation). "
      "If per class does not beat global, the class adds nothing.\n")
    w("| fitted first choice | @50 | @100 | AUC @100 | picks (@100) |")
    w("|---|---|---|---|---|")
    for label, by_class in (("global", False), ("per class", True)):
        cells, picks100 = [], None
        for b, k in (("50", "final"), ("100", "final"), ("100", "auc")):
            hits, picks = first_choice_loo(records, b, k, by_class)
            cells.append(f"{hits}/{len(records)}")
            if (b, k) == ("100", "final"):
                picks100 = picks
        counts = {p: picks100.count(p) for p in RULE_SAMPLERS if p in picks100}
        w(f"| {label} | " + " | ".join(cells) + " | " + ", ".join(f"{p} × {c}" for p, c in counts.items()) + " |")
    w("")
    w("### Mean rank per sampler (final regret at 100; 1 = best of the five)\n")
    w("| landscape | " + " | ".join(samplers) + " |")
    w("|---|" + "---|" * len(samplers))
    for r in records:
        mr = r["budgets"]["100"]["final_mean_rank"]
        w(f"| {r['landscape']} | " + " | ".join(f"{mr[s]:.2f}" for s in samplers) + " |")
    allr = {s: statistics.fmean(r["budgets"]["100"]["final_mean_rank"][s] for r in records) for s in samplers}
    w("| **mean** | " + " | ".join(f"**{allr[s]:.2f}**" for s in samplers) + " |")
    w("")
    w("### Mean final regret (budget 100, mean over seeds)\n")
    w("| landscape | " + " | ".join(samplers) + " |")
    w("|---|" + "---|" * len(samplers))
    for r in records:
        fin = r["budgets"]["100"]["final"]
        w(f"| {r['landscape']} | " + " | ".join(f"{statistics.fmean(fin[s]):.4g}" for s in samplers) + " |")
    w("")
    if fid:
        w("### Fidelity advice against a simulated successive halving\n")
        w("Mapped landscapes of docs/landscape-study (3 fidelity levels). Safe = the rule's test "
          f"on the lowest against the full fidelity: Spearman ≥ {RULE_PROXY[0]} and top-10 % IoU ≥ {RULE_PROXY[1]} "
          f"(the rule now), or ≥ {PREVIOUS_PROXY[1]} (before this validation). SH = successive "
          "halving 27 → 9 → 3 over the three levels (η = 3); RS = random search at full fidelity with the "
          "same cost (evaluations); regret = full-fidelity validation regret of the pick, mean over 2,000 "
          "seeded replicas; SH helps = one-sided rank-sum p < 0.05 (normal approximation) over the replicas.\n")
        w(f"| landscape | levels | Spearman | IoU top-10 % | safe (IoU ≥ {PREVIOUS_PROXY[1]}) | safe (IoU ≥ {RULE_PROXY[1]}) "
          "| RS evals | SH regret | RS regret | p | SH helps | agree (before) | agree (now) |")
        w("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for x in fid:
            w(
                f"| {x['landscape']} | {', '.join(f'{v:g}' for v in x['levels'])} | {fmt(x['spearman'], 2)} | "
                f"{fmt(x['iou10'], 2)} | {'yes' if x['safe_proxy_before'] else 'no'} | "
                f"{'yes' if x['safe_proxy'] else 'no'} | {x['rs_evals']} | "
                f"{x['sh_mean_regret']:.4g} | {x['rs_mean_regret']:.4g} | {x['p_sh_better']:.3g} | "
                f"{'yes' if x['sh_helps'] else 'no'} | {'yes' if x['agree_before'] else '**no**'} | "
                f"{'yes' if x['agree'] else '**no**'} |"
            )
        w("")
        for label, key, agree in (("before", "safe_proxy_before", "agree_before"), ("now", "safe_proxy", "agree")):
            safe = [x for x in fid if x[key]]
            unsafe = [x for x in fid if not x[key]]
            w(f"Agreement {label}: {rate([x[agree] for x in fid])}. Where the rule says safe, SH helps in "
              f"{rate([x['sh_helps'] for x in safe])}; where it says not safe, SH helps in "
              f"{rate([x['sh_helps'] for x in unsafe])}.\n")
        usable = [x for x in fid if x["spearman"] is not None and x["iou10"] is not None]
        fit = proxy_rule_fit(usable)
        in_sample = sum((x["spearman"] >= fit[0] and x["iou10"] >= fit[1]) == x["sh_helps"] for x in usable)
        hits, picks = proxy_loo(usable)
        w(f"Thresholds (Spearman ≥ s, IoU ≥ i) over s ∈ {{{', '.join(map(str, SPEARMAN_GRID))}}}, "
          f"i ∈ {{{', '.join(map(str, IOU_GRID))}}}, fitted to agree most with \"SH helps\" "
          f"(ties: nearest the previous {PREVIOUS_PROXY}): s = {fit[0]}, i = {fit[1]}, in-sample "
          f"{in_sample}/{len(usable)}. Leave-one-out (fit on {len(usable) - 1}, predict the one left "
          f"out): {hits}/{len(usable)}; fitted thresholds per fold: "
          + ", ".join(f"({a}, {b})" for a, b in sorted(set(picks)))
          + ".\n")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()

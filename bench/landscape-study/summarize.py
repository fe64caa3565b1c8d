#!/usr/bin/env python3
"""Summary tables (Markdown) of the landscape study's JSON outputs.

Usage: summarize.py JSON_DIR > summary.md

Reads the files scripts/landscape-study.sh writes: analyze.<model>.<dataset>.<split>.<level>.json,
compare.fidelity.<model>.<dataset>.<level>.json, compare.split.<model>.<dataset>.<split>.json,
compare.dataset.<model>.<a>.<b>.json, hpobench.*.json and xgboost.*.json.
"""
from __future__ import annotations

import glob
import json
import os
import statistics
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def lag1(r):
    lags = r.get("autocorrelation", {}).get("lags", [])
    return lags[0].get("pooled") if lags else None


def fmt(x, nd=3):
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.{nd}f}"
    return str(x)


def iou(c, gamma=0.1):
    for g in c.get("gamma_sets", []):
        if abs(g["gamma"] - gamma) < 1e-9:
            return g["iou"]
    return None


def fdc(r):
    """FDC signed so that positive means the fitness improves towards the optimum."""
    v = r["fdc"].get("spearman")
    if v is None:
        return None
    return -v if r.get("maximize") else v


def profile_row(label, r):
    return (
        f"| {label} | {r['n_configs']} | {fmt(r['local_optima_ratio'])} | "
        f"{fmt(fdc(r))} | {fmt(r['neutrality'].get('mean'))} | "
        f"{fmt(lag1(r))} | {fmt(r['basins'].get('global_basin_share'))} |"
    )


PROFILE_HEAD = (
    "| landscape | n | local optima ratio | aligned FDC (Spearman) | neutrality (ε = 1 %) | "
    "autocorrelation lag 1 | global basin share |\n|---|---|---|---|---|---|---|"
)
SIM_HEAD = "| {} | Spearman | Kendall τ-b | top-10 % IoU | top-25 % IoU |\n|---|---|---|---|---|"


def sim_row(label, c):
    return (
        f"| {label} | {fmt(c.get('spearman'))} | {fmt(c.get('kendall_tau_b'))} | "
        f"{fmt(iou(c, 0.1))} | {fmt(iou(c, 0.25))} |"
    )


def parts(path, prefix):
    return os.path.basename(path)[len(prefix):-len(".json")]


def main(d):
    out = []
    # Profiles of the mapped landscapes.
    profiles = sorted(glob.glob(os.path.join(d, "analyze.*.json")))
    if profiles:
        out.append("### Mapped landscapes: profiles\n")
        out.append(PROFILE_HEAD)
        by_level = {}
        for p in profiles:
            model, dataset, split, level = parts(p, "analyze.").split(".", 3)
            r = load(p)
            out.append(profile_row(f"{model} / {dataset} / {split} @ {level}", r))
            if split == "val":
                by_level.setdefault((model, level), []).append(r)
        out.append("")
        out.append("### Mapped landscapes: means over the 4 datasets, per model and fidelity\n")
        out.append(PROFILE_HEAD.replace("| n |", "| landscapes |"))
        for (model, level), rs in sorted(by_level.items()):
            def m(f):
                v = [f(r) for r in rs if f(r) is not None]
                return statistics.mean(v) if v else None
            out.append(
                f"| {model} @ {level} | {len(rs)} | {fmt(m(lambda r: r['local_optima_ratio']))} | "
                f"{fmt(m(fdc))} | {fmt(m(lambda r: r['neutrality'].get('mean')))} | "
                f"{fmt(m(lag1))} | {fmt(m(lambda r: r['basins'].get('global_basin_share')))} |"
            )
        out.append("")

    fid = sorted(glob.glob(os.path.join(d, "compare.fidelity.*.json")))
    if fid:
        out.append("### Low against full fidelity (validation landscapes)\n")
        out.append(SIM_HEAD.format("model / dataset / low fidelity"))
        for p in fid:
            model, dataset, level = parts(p, "compare.fidelity.").split(".", 2)
            out.append(sim_row(f"{model} / {dataset} / {level}", load(p)))
        out.append("")

    ds = sorted(glob.glob(os.path.join(d, "compare.dataset.*.json")))
    if ds:
        out.append("### Across datasets (validation, full fidelity, same grid)\n")
        out.append(SIM_HEAD.format("model / datasets"))
        for p in ds:
            model, a, b = parts(p, "compare.dataset.").split(".", 2)
            out.append(sim_row(f"{model} / {a} – {b}", load(p)))
        out.append("")

    sp = sorted(glob.glob(os.path.join(d, "compare.split.*.json")))
    if sp:
        out.append("### Train and validation against test (full fidelity)\n")
        out.append(SIM_HEAD.format("model / dataset / landscape vs test"))
        for p in sp:
            model, dataset, split = parts(p, "compare.split.").split(".", 2)
            out.append(sim_row(f"{model} / {dataset} / {split}", load(p)))
        out.append("")

    hp = sorted(glob.glob(os.path.join(d, "hpobench.analyze.*.json")))
    if hp:
        out.append("### HPOBench MLP tables (validation accuracy)\n")
        out.append(PROFILE_HEAD)
        for p in hp:
            out.append(profile_row(f"hpobench / {parts(p, 'hpobench.analyze.')}", load(p)))
        out.append("")
        out.append(SIM_HEAD.format("HPOBench dataset: seed 0 vs seed 1"))
        for p in sorted(glob.glob(os.path.join(d, "hpobench.seeds.*.json"))):
            out.append(sim_row(parts(p, "hpobench.seeds."), load(p)))
        out.append("")
        pairs = [load(p) for p in sorted(glob.glob(os.path.join(d, "hpobench.dataset.*.json")))]
        if pairs:
            sp_ = [c["spearman"] for c in pairs if c.get("spearman") is not None]
            io_ = [iou(c) for c in pairs if iou(c) is not None]
            out.append(
                f"HPOBench across datasets ({len(pairs)} pairs): Spearman mean {statistics.mean(sp_):.3f} "
                f"(min {min(sp_):.3f}, max {max(sp_):.3f}); top-10 % IoU mean {statistics.mean(io_):.3f} "
                f"(min {min(io_):.3f}, max {max(io_):.3f}).\n"
            )

    xa = os.path.join(d, "xgboost.analyze.json")
    if os.path.exists(xa):
        out.append("### Shared XGBoost landscape (test accuracy)\n")
        out.append(PROFILE_HEAD)
        out.append(profile_row("xgboost / acc_test", load(xa)))
        out.append("")
        xs = os.path.join(d, "xgboost.split.json")
        if os.path.exists(xs):
            out.append(SIM_HEAD.format("xgboost"))
            out.append(sim_row("acc_train vs acc_test", load(xs)))
            out.append("")
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/landscape-study/json")

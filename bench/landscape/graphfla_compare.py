"""GraphFLA vs `hyperscape landscape analyze` on one landscape CSV, side by side.

Usage: python graphfla_compare.py CSV HYPERSCAPE_BIN [--fitness acc_test]
Prints each metric from both tools and the wall-clock time of each (GraphFLA: build
plus metrics; hyperscape: the whole CLI process, load included).
"""

import argparse
import json
import math
import statistics
import subprocess
import time
import warnings

import pandas as pd

PARAMS = ["learning_rate", "max_bin", "max_depth", "n_estimators", "subsample"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("hyperscape")
    ap.add_argument("--fitness", default="acc_test")
    ap.add_argument("--walks", type=int, default=200)
    ap.add_argument("--walk-length", type=int, default=100)
    a = ap.parse_args()

    warnings.filterwarnings("ignore")
    from graphfla.analysis import (
        autocorrelation,
        basin_fitness_correlation,
        fdc,
        fitness_flattening_index,
        local_optima_ratio,
        neutrality,
    )
    from graphfla.landscape import OrdinalLandscape

    t0 = time.perf_counter()
    df = pd.read_csv(a.csv, index_col=0)
    land = OrdinalLandscape(maximize=True).build_from_data(
        df[PARAMS], df[a.fitness], verbose=False
    )
    t_build = time.perf_counter() - t0
    g = {}
    times = {}

    def timed(name, fn):
        t = time.perf_counter()
        try:
            g[name] = fn()
        except Exception as e:  # a metric failing should not hide the others
            g[name] = f"error: {e}"
        times[name] = time.perf_counter() - t

    timed("n_configs", lambda: land.n_configs)
    timed("n_edges (graph)", lambda: land.n_edges)
    timed("n_local_optima", lambda: land.n_lo)
    timed("n_local_optima members", lambda: land.n_lo_members)
    timed("local_optima_ratio", lambda: local_optima_ratio(land))
    timed("fdc spearman", lambda: fdc(land, method="spearman"))
    timed("fdc pearson", lambda: fdc(land, method="pearson"))
    timed("neutrality (edge share, eps 0)", lambda: neutrality(land, threshold=0.0))
    timed("neutrality (edge share, eps 0.01)", lambda: neutrality(land, threshold=0.01))
    timed(
        "autocorrelation lag 1 (pooled)",
        lambda: autocorrelation(
            land, walk_length=a.walk_length, walk_times=a.walks, lag=1, seed=0
        ),
    )
    timed("basin size-fitness spearman", lambda: basin_fitness_correlation(land))
    timed("ffi (paths)", lambda: fitness_flattening_index(land))
    t_graphfla = t_build + sum(times.values())

    def run_hs(eps, extra=()):
        t = time.perf_counter()
        out = subprocess.run(
            [a.hyperscape, "landscape", "analyze", a.csv, "--fitness", a.fitness,
             "--maximize", "--params", ",".join(PARAMS), "--epsilon", str(eps),
             "--walks", str(a.walks), "--walk-length", str(a.walk_length),
             "--format", "json", *extra],
            check=True, capture_output=True, text=True,
        ).stdout
        return json.loads(out), time.perf_counter() - t

    # Like for like: GraphFLA computes no hyperparameter importance, so the timed
    # hyperscape run leaves out the random-forest fANOVA (--forest-trees 0); the full
    # default profile (forest included) is timed too. Median of 3 whole CLI runs each.
    runs = [run_hs(0, ["--forest-trees", "0"]) for _ in range(3)]
    r = runs[0][0]
    t_hs = statistics.median(t for _, t in runs)
    t_full = statistics.median(run_hs(0)[1] for _ in range(3))
    r01, _ = run_hs(0.01)
    lag1 = r["autocorrelation"]["lags"][0]
    # GraphFLA's FFI is signed by direction: under maximisation it is the
    # negative of hyperscape's (which is positive when the optimum is flatter).
    ffi = r["ffi"]["paths"]
    h = {
        "n_configs": r["n_configs"],
        "n_edges (graph)": f'{r["n_edges"]} undirected, {r["n_improving_edges"]} improving',
        "n_local_optima": f'{r["n_local_optima_plateaus"]} plateau-aware, {r["n_local_optima"]} strict',
        "n_local_optima members": r["n_local_optima_plateau_members"],
        "local_optima_ratio": r["local_optima_ratio"],
        "fdc spearman": r["fdc"]["spearman"],
        "fdc pearson": r["fdc"]["pearson"],
        "neutrality (edge share, eps 0)": r["neutrality"]["edge_share"],
        "neutrality (edge share, eps 0.01)": r01["neutrality"]["edge_share"],
        "autocorrelation lag 1 (pooled)": lag1["pooled"],
        "basin size-fitness spearman": r["basins"]["size_fitness_spearman"],
        "ffi (paths)": None if ffi is None else -ffi,
    }

    def fmt(v):
        if isinstance(v, float):
            return "nan" if math.isnan(v) else f"{v:.4f}"
        if isinstance(v, tuple):
            return fmt(v[0])
        return str(v)

    print(f"{'metric':<38} {'GraphFLA 0.4.0':>22} {'hyperscape':>34}")
    for k in h:
        print(f"{k:<38} {fmt(g.get(k)):>22} {fmt(h[k]):>34}")
    print(f"{'time (s), same metrics':<38} {t_graphfla:>22.3f} {t_hs:>34.3f}")
    print(f"{'hyperscape, full profile (s)':<38} {'':>22} {t_full:>34.3f}")
    print(f"  ratio GraphFLA / hyperscape: {t_graphfla / t_hs:.0f}x on the same metrics, "
          f"{t_graphfla / t_full:.0f}x against the full profile (forest fANOVA included)")
    print(f"  GraphFLA build {t_build:.3f} s; metrics: "
          + ", ".join(f"{k} {v:.3f}" for k, v in times.items() if v > 0.01))


if __name__ == "__main__":
    main()

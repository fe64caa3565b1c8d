"""Optuna's per-trial ask+suggest+tell overhead, measured the same way as
crates/hyperscape-core/benches/ask_tell.rs (random sampler, 2 floats, 1 int, 1
categorical per trial). Prints one JSON line per (storage, trials)."""
import argparse
import json
import os
import statistics
import tempfile
import time

import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)


def run(storage_kind: str, n: int):
    with tempfile.TemporaryDirectory() as d:
        storage = None if storage_kind == "memory" else f"sqlite:///{os.path.join(d, 'bench.db')}"
        study = optuna.create_study(storage=storage, sampler=optuna.samplers.RandomSampler(seed=0))
        per_trial = []
        start = time.perf_counter()
        for _ in range(n):
            t0 = time.perf_counter()
            t = study.ask()
            x = t.suggest_float("x", -5.0, 5.0)
            y = t.suggest_float("y", 1e-5, 1.0, log=True)
            k = t.suggest_int("k", 1, 10)
            c = t.suggest_categorical("c", ["a", "b", "c"])
            study.tell(t, x * x + y + k + len(c))
            per_trial.append((time.perf_counter() - t0) * 1e6)
        mean = (time.perf_counter() - start) * 1e6 / n
        tail = per_trial[n - n // 10:]
        return mean, statistics.median(per_trial), statistics.median(tail)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="1000,10000")
    p.add_argument("--storages", default="memory,sqlite")
    a = p.parse_args()
    for storage in a.storages.split(","):
        for n in map(int, a.sizes.split(",")):
            mean, med, tail = run(storage, n)
            print(json.dumps({"tool": f"optuna {optuna.__version__}", "storage": storage, "trials": n,
                              "mean_us": round(mean, 1), "median_us": round(med, 1),
                              "tail_median_us": round(tail, 1)}), flush=True)


if __name__ == "__main__":
    main()

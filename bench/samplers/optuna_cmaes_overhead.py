"""Optuna's per-trial ask+suggest+tell overhead with CmaEsSampler, measured the same way
as crates/hyperscape-core/benches/cmaes.rs (10 floats in [-5, 5], shifted sphere, in
memory, seed 0). Prints one JSON line per trial count."""
import argparse
import json
import statistics
import time
import warnings

import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)
warnings.filterwarnings("ignore")

DIM = 10


def run(n: int):
    study = optuna.create_study(sampler=optuna.samplers.CmaEsSampler(seed=0))
    names = [f"x{i}" for i in range(DIM)]
    per_trial = []
    for _ in range(n):
        t0 = time.perf_counter()
        t = study.ask()
        v = sum((t.suggest_float(name, -5.0, 5.0) - 1.5) ** 2 for name in names)
        study.tell(t, v)
        per_trial.append((time.perf_counter() - t0) * 1e6)
    tail = per_trial[n - n // 10:]
    return statistics.median(per_trial), statistics.median(tail)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="1000,10000")
    a = p.parse_args()
    for n in map(int, a.sizes.split(",")):
        med, tail = run(n)
        print(json.dumps({"tool": f"optuna {optuna.__version__}", "sampler": "CmaEsSampler",
                          "trials": n, "median_us": round(med, 1),
                          "tail_median_us": round(tail, 1)}), flush=True)


if __name__ == "__main__":
    main()

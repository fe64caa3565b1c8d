"""Per-trial cost of Optuna's GPSampler on Hartmann-6 over [0, 1]^6 (seed 0, CPU,
in memory), measured like crates/hyperscape-core/benches/gp.rs: for each size n, the
median and mean time of ask + 6 suggests + tell over trials [0.9n, n), both in CPU
time of the process (the figure to compare on a shared machine; torch is held to one
thread) and in wall time. Prints one JSON line per size. Needs optuna, scipy, torch
(and greenlet, without which Optuna 5 falls back to a slower sequential L-BFGS-B)."""
import argparse
import json
import math
import statistics
import time

import optuna
import torch

optuna.logging.set_verbosity(optuna.logging.WARNING)

ALPHA = [1.0, 1.2, 3.0, 3.2]
A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
     [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
P = [[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
     [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
     [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
     [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]]


def hartmann6(x):
    return -sum(ALPHA[i] * math.exp(-sum(A[i][j] * (x[j] - P[i][j]) ** 2 for j in range(6)))
                for i in range(4))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="300")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    sizes = [int(s) for s in a.sizes.split(",")]
    study = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=0))
    wall, cpu = [], []
    for _ in range(max(sizes)):
        t0, c0 = time.perf_counter(), time.process_time()
        t = study.ask()
        x = [t.suggest_float(f"x{i}", 0.0, 1.0) for i in range(6)]
        study.tell(t, hartmann6(x))
        wall.append((time.perf_counter() - t0) * 1e6)
        cpu.append((time.process_time() - c0) * 1e6)
    for n in sizes:
        w, c = wall[n - n // 10:n], cpu[n - n // 10:n]
        best = min(t.value for t in study.trials[:n])
        print(json.dumps({"tool": f"optuna {optuna.__version__} GPSampler (torch {torch.__version__}, "
                                  f"{a.threads} thread)", "trials": n,
                          "cpu_tail_median_us": round(statistics.median(c), 1),
                          "cpu_tail_mean_us": round(sum(c) / len(c), 1),
                          "wall_tail_median_us": round(statistics.median(w), 1),
                          "best": round(best, 5)}),
              flush=True)


if __name__ == "__main__":
    main()

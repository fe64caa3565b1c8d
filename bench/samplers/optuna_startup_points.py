"""Print the ten startup points Optuna 5's GPSampler(seed=s) evaluates on a 6-D unit cube.

GPSampler draws its first ten trials with RandomSampler(seed=s), one uniform number per
parameter in suggestion order, i.e. numpy's RandomState(s).rand(10, 6). The points match
the first ten values of the committed Optuna curves in
bench/samplers/gp-vs-optuna-hartmann6-20seeds-2026-12-07.json. Output: `SEED x0 .. x5`
per line, for crates/hyperscape-core/examples/gp_fixed_startup.rs.

Usage: python bench/samplers/optuna_startup_points.py [N_SEEDS]   (numpy only)
"""
import sys

import numpy as np

n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
for seed in range(n):
    for x in np.random.RandomState(seed).rand(10, 6):
        print(seed, *(repr(float(v)) for v in x))

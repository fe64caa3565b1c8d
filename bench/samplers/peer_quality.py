"""Best-so-far curves of peer HPO tools on hyperscape's benchmark problems.

Runs Optuna (TPE, GP, CMA-ES, random), Rustuna (TPE), Hyperopt (TPE) and scikit-optimize
(GP, `gp_minimize`) on the same problems as `hyperscape bench quality`, with the same
spaces, budget and seeds, and prints one JSON object per (tool, sampler, problem) with
the per-seed best-so-far curves: the format `compare_quality.py` reads.

Problems: the synthetic functions (same definitions as hyperscape-core's `functions.rs`)
and the tabular tables converted by `scripts/fetch-hpo-tables.sh`, evaluated with the
same rule as `hyperscape_core::tabular` (numeric columns are floats, log-scaled when
their positive levels span more than 20x, snapped to the nearest level).

Usage: python peer_quality.py --problems branin,hpobench/australian --budget 100 --seeds 10
       [--peers optuna-tpe,optuna-cmaes,optuna-random,rustuna-tpe,hyperopt-tpe,skopt-gp]
       [--peer-seeds skopt-gp=3] [--cache .bench-cache/peers]

A peer whose package does not import is reported on stderr and skipped, so one that
fails to install does not stop the run. With `--cache`, each (peer, problem, budget,
seeds) result is stored in its own file and reused by later runs (peers' results do
not depend on hyperscape's code).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")

# ---------------------------------------------------------------- problems


def branin(x):
    x1, x2 = x["x1"], x["x2"]
    b, c, r, s, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 6, 10, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - r) ** 2 + s * (1 - t) * math.cos(x1) + s


H6_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
H6_P = 1e-4 * np.array(
    [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991], [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]
)
H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def vec(x, n):
    return np.array([x[f"x{i}"] for i in range(n)])


def hartmann6(x):
    v = vec(x, 6)
    return -float(np.sum(H6_ALPHA * np.exp(-np.sum(H6_A * (v - H6_P) ** 2, axis=1))))


def rosenbrock(v):
    return float(np.sum(100 * (v[1:] - v[:-1] ** 2) ** 2 + (1 - v[:-1]) ** 2))


def ackley(v):
    n = len(v)
    return float(-20 * np.exp(-0.2 * np.sqrt(np.sum(v**2) / n)) - np.exp(np.sum(np.cos(2 * np.pi * v)) / n) + 20 + np.e)


def levy(v):
    w = 1 + (v - 1) / 4
    return float(
        np.sin(np.pi * w[0]) ** 2
        + np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(np.pi * w[:-1] + 1) ** 2))
        + (w[-1] - 1) ** 2 * (1 + np.sin(2 * np.pi * w[-1]) ** 2)
    )


def styblinski_tang(v):
    return float(0.5 * np.sum(v**4 - 16 * v**2 + 5 * v))


def cube(n, lo, hi, f, opt):
    return {"space": {f"x{i}": ("float", lo, hi, False) for i in range(n)}, "f": lambda x: f(vec(x, n)), "optimum": opt}


BRANIN_MIXED_OFFSETS = [0.0, 0.25, 0.275, 0.475, 0.5, 0.75]


def branin_mixed(x):
    return branin({"x1": x["x1"], "x2": x["x2_int"] + x["x2_offset"]})


def branin_conditional(x):
    base = branin(x)
    return base + 1.0 if x["branch"] == "plain" else base + 10.0 * (x["z"] - 0.3) ** 2


def jenatton(x):
    if x["x1"] == 0:
        return (x["x4"] ** 2 + 0.1 if x["x2"] == 0 else x["x5"] ** 2 + 0.2) + x["r8"]
    return (x["x6"] ** 2 + 0.3 if x["x3"] == 0 else x["x7"] ** 2 + 0.4) + x["r9"]


SYNTHETIC = {
    "branin": {"space": {"x1": ("float", -5.0, 10.0, False), "x2": ("float", 0.0, 15.0, False)}, "f": branin, "optimum": 0.397887357729738},
    "hartmann6": {"space": {f"x{i}": ("float", 0.0, 1.0, False) for i in range(6)}, "f": hartmann6, "optimum": -3.32236801141551},
    "rosenbrock-5d": cube(5, -5.0, 10.0, rosenbrock, 0.0),
    "ackley-10d": cube(10, -32.768, 32.768, ackley, 0.0),
    "levy-10d": cube(10, -10.0, 10.0, levy, 0.0),
    "styblinski-tang-10d": cube(10, -5.0, 5.0, styblinski_tang, -39.16616570377142 * 10),
    "sphere-20d": cube(20, -5.12, 5.12, lambda v: float(np.sum(v**2)), 0.0),
    # The mixed and conditional variants of hyperscape-core's problems.rs: x2 = an int plus
    # a categorical offset (Branin's minimisers stay reachable); a categorical branch with
    # a parameter z that exists only on the branch "tuned".
    "branin-mixed": {
        "space": {"x1": ("float", -5.0, 10.0, False), "x2_int": ("int", 0, 14), "x2_offset": ("cat", BRANIN_MIXED_OFFSETS)},
        "f": branin_mixed,
        "optimum": 0.397887357729738,
    },
    "branin-conditional": {
        "space": {
            "branch": ("cat", ["plain", "tuned"]),
            "x1": ("float", -5.0, 10.0, False),
            "x2": ("float", 0.0, 15.0, False),
            "z": ("float", 0.0, 1.0, False),
        },
        "conditions": {"z": ("branch", ["tuned"])},
        "f": branin_conditional,
        "optimum": 0.397887357729738,
    },
    # Jenatton et al. (2017), Ax's domain; conditions listed parents first.
    "jenatton": {
        "space": {
            "x1": ("cat", [0, 1]),
            "x2": ("cat", [0, 1]),
            "x3": ("cat", [0, 1]),
            **{p: ("float", 0.0, 1.0, False) for p in ("x4", "x5", "x6", "x7", "r8", "r9")},
        },
        "conditions": {
            "x2": ("x1", [0]),
            "x3": ("x1", [1]),
            "x4": ("x2", [0]),
            "x5": ("x2", [1]),
            "x6": ("x3", [0]),
            "x7": ("x3", [1]),
            "r8": ("x1", [0]),
            "r9": ("x1", [1]),
        },
        "f": jenatton,
        "optimum": 0.1,
    },
}

SUITES = {
    "hpobench": (["alpha", "batch_size", "depth", "learning_rate_init", "width"], "val_acc", lambda a: 1.0 - a),
    "hpolib": (
        ["activation_fn_1", "activation_fn_2", "batch_size", "dropout_1", "dropout_2", "init_lr", "lr_schedule", "n_units_1", "n_units_2"],
        "val_loss",
        lambda v: v,
    ),
    "nasbench201": ([f"Op{i}" for i in range(6)], "val_acc", lambda a: 1.0 - a / 100.0),
}


def level(text):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def tabular(name):
    suite, dataset = name.split("/")
    params, metric, transform = SUITES[suite]
    root = os.environ.get("HYPERSCAPE_DATA_DIR") or os.path.join(os.path.dirname(__file__), "..", "..", ".datasets")
    path = os.path.join(root, "hpo-tables", suite, f"{dataset}.csv")
    with open(path) as f:
        rows = list(csv.DictReader(f))
    space, snap = {}, {}
    for p in params:
        levels = sorted({level(r[p]) for r in rows}, key=lambda v: (isinstance(v, str), v))
        if all(isinstance(v, (int, float)) for v in levels):
            log = levels[0] > 0 and levels[-1] / levels[0] > 20
            space[p] = ("float", float(levels[0]), float(levels[-1]), log)
            keys = np.log(levels) if log else np.array(levels, dtype=float)
            snap[p] = (levels, keys, log)
        else:
            space[p] = ("cat", levels)
            snap[p] = None
    table = {tuple(level(r[p]) for p in params): transform(float(r[metric])) for r in rows}

    def f(x):
        key = []
        for p in params:
            if snap[p] is None:
                key.append(x[p])
            else:
                levels, keys, log = snap[p]
                v = math.log(x[p]) if log else x[p]
                key.append(levels[int(np.argmin(np.abs(keys - v)))])
        return table[tuple(key)]

    return {"space": space, "f": f, "optimum": min(table.values())}


def problem(name):
    return SYNTHETIC[name] if name in SYNTHETIC else tabular(name)


# ---------------------------------------------------------------- peers


def run_optuna(module, sampler_name, prob, budget, seed):
    optuna = __import__(module)
    if module == "optuna":
        optuna.logging.set_verbosity(optuna.logging.WARNING)
    samplers = {
        "tpe": lambda: optuna.samplers.TPESampler(seed=seed),
        "cmaes": lambda: optuna.samplers.CmaEsSampler(seed=seed),
        "random": lambda: optuna.samplers.RandomSampler(seed=seed),
        "gp": lambda: optuna.samplers.GPSampler(seed=seed),
    }
    study = optuna.create_study(sampler=samplers[sampler_name]())

    conditions = prob.get("conditions", {})

    def objective(trial):
        # Define-by-run, in the space's order: a conditional parameter is suggested only
        # when its parent took one of the listed values.
        x = {}
        for p, spec in prob["space"].items():
            if p in conditions and x.get(conditions[p][0]) not in conditions[p][1]:
                continue
            if spec[0] == "float":
                x[p] = trial.suggest_float(p, spec[1], spec[2], log=spec[3])
            elif spec[0] == "int":
                x[p] = trial.suggest_int(p, spec[1], spec[2])
            else:
                x[p] = trial.suggest_categorical(p, spec[1])
        return prob["f"](x)

    study.optimize(objective, n_trials=budget)
    return [t.value for t in study.trials]


def run_hyperopt(prob, budget, seed):
    from hyperopt import Trials, fmin, hp, tpe

    def dim(p, spec):
        if spec[0] == "float":
            return hp.loguniform(p, math.log(spec[1]), math.log(spec[2])) if spec[3] else hp.uniform(p, spec[1], spec[2])
        if spec[0] == "int":
            return hp.uniformint(p, spec[1], spec[2])
        return hp.choice(p, spec[1])

    conditions = prob.get("conditions", {})
    parents = {c[0] for c in conditions.values()}

    def node(p):
        # Hyperopt's conditional form, nested: a parent is a choice among sub-spaces, one
        # per value, each holding the parameters active under that value.
        if p not in parents:
            return dim(p, prob["space"][p])
        options = []
        for value in prob["space"][p][1]:
            sub = {p: value}
            sub.update({f"{c}__node": node(c) for c, (q, vals) in conditions.items() if q == p and value in vals})
            options.append(sub)
        return hp.choice(p, options)

    space = {f"{p}__node": node(p) for p in prob["space"] if p not in conditions}

    def flat(x, out=None):
        out = {} if out is None else out
        for k, v in x.items():
            name = k[: -len("__node")] if k.endswith("__node") else k
            if isinstance(v, dict):
                flat(v, out)
            else:
                out[name] = int(v) if prob["space"][name][0] == "int" else v
        return out

    trials = Trials()
    fmin(lambda x: prob["f"](flat(x)), space, algo=tpe.suggest, max_evals=budget, trials=trials, rstate=np.random.default_rng(seed), show_progressbar=False)
    return [t["result"]["loss"] for t in trials.trials]


def run_skopt(prob, budget, seed):
    from skopt import gp_minimize
    from skopt.space import Categorical, Integer, Real

    names = list(prob["space"])
    dims = []
    for p in names:
        spec = prob["space"][p]
        if spec[0] == "float":
            dims.append(Real(spec[1], spec[2], prior="log-uniform" if spec[3] else "uniform", name=p))
        elif spec[0] == "int":
            dims.append(Integer(spec[1], spec[2], name=p))
        else:
            dims.append(Categorical(spec[1], name=p))
    res = gp_minimize(lambda v: prob["f"](dict(zip(names, v))), dims, n_calls=budget, random_state=seed, n_initial_points=min(10, budget))
    return list(res.func_vals)


def curve(values):
    best, out = math.inf, []
    for v in values:
        best = min(best, v)
        out.append(best)
    return out


def peer_available(peer):
    """Whether a peer's packages import; a missing one is reported, not fatal."""
    tool = peer.split("-", 1)[0]
    modules = [{"optuna": "optuna", "rustuna": "rustuna", "hyperopt": "hyperopt", "skopt": "skopt"}[tool]]
    if peer == "optuna-gp":
        modules.append("torch")  # Optuna's GPSampler needs PyTorch
    for module in modules:
        try:
            __import__(module)
        except Exception as e:  # noqa: BLE001 - any import failure means "not available"
            print(f"peer {peer} skipped: cannot import {module} ({e})", file=sys.stderr, flush=True)
            return False
    if peer == "optuna-gp":
        # One torch thread, like hyperscape's single-threaded studies (and fair on a shared
        # machine, where torch's OpenMP workers would otherwise busy-wait on busy cores).
        import torch

        torch.set_num_threads(1)
    return True


def seed_overrides(text):
    """`skopt-gp=3,optuna-cmaes=5` -> {peer: seeds}."""
    out = {}
    for item in filter(None, (text or "").split(",")):
        peer, n = item.split("=")
        out[peer] = int(n)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", required=True)
    ap.add_argument("--budget", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0, help="run seeds first-seed .. first-seed + seeds - 1")
    ap.add_argument("--peers", default="optuna-tpe,optuna-cmaes,optuna-random,rustuna-tpe,hyperopt-tpe,skopt-gp")
    ap.add_argument("--peer-seeds", default="", help="fewer seeds for slow peers, e.g. skopt-gp=3")
    ap.add_argument("--cache", default="", help="directory of cached results, one file per (peer, problem, budget, seeds)")
    a = ap.parse_args()
    fewer = seed_overrides(a.peer_seeds)
    usable = {}
    for name in a.problems.split(","):
        prob = problem(name)
        for peer in a.peers.split(","):
            tool, sampler = peer.split("-", 1)
            if peer not in usable:
                usable[peer] = peer_available(peer)
            if not usable[peer]:
                continue
            if sampler == "cmaes" and any(s[0] == "cat" for s in prob["space"].values()):
                # Optuna's CMA-ES falls back to random search for categoricals; skip it there.
                continue
            if tool == "skopt" and prob.get("conditions"):
                print(f"{peer} skipped on {name}: scikit-optimize has no conditional spaces", file=sys.stderr, flush=True)
                continue
            seeds = fewer.get(peer, a.seeds)
            cached = None
            if a.cache:
                os.makedirs(a.cache, exist_ok=True)
                first = f"__f{a.first_seed}" if a.first_seed else ""
                cached = os.path.join(a.cache, f"{peer}__{name.replace('/', '_')}__b{a.budget}__s{seeds}{first}.json")
                if os.path.exists(cached):
                    with open(cached) as f:
                        print(f.read().strip(), flush=True)
                    print(f"{peer} on {name}: cached ({cached})", file=sys.stderr, flush=True)
                    continue
            curves, start = [], time.perf_counter()
            for seed in range(a.first_seed, a.first_seed + seeds):
                if tool in ("optuna", "rustuna"):
                    vals = run_optuna(tool, sampler, prob, a.budget, seed)
                elif tool == "hyperopt":
                    vals = run_hyperopt(prob, a.budget, seed)
                else:
                    vals = run_skopt(prob, a.budget, seed)
                curves.append(curve(vals))
                print(f"{peer} on {name}: seed {seed} done at {time.perf_counter() - start:.1f}s, best {curves[-1][-1]:.6g}",
                      file=sys.stderr, flush=True)
            out = {"tool": tool, "sampler": sampler, "problem": name, "optimum": prob["optimum"], "budget": a.budget, "seeds": seeds,
                   "curves": curves, "seconds": time.perf_counter() - start}
            if a.first_seed:
                out["first_seed"] = a.first_seed
            line = json.dumps(out)
            print(line, flush=True)
            if cached:
                with open(cached, "w") as f:
                    f.write(line + "\n")
            print(f"{peer} on {name}: {seeds} seeds in {out['seconds']:.1f}s", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""BOHB against Hyperband over many seeds, with several Hyperband iterations (issue 6).

The workload of driver.py (the zoo MLP on a stratified Fashion-MNIST subset, epochs as
the fidelity, validation accuracy), cheaper: budgets 1..9 epochs, eta 3 (levels 1, 3,
9), so one Hyperband iteration is 22 trials (brackets 9@1 3@3 1@9, 5@3 1@9, 3@9) and 69
epochs when promotions resume from their parent's checkpoint. Each method runs the same
number of trials per seed (default 66: three iterations, so BOHB's model acts in the
second and third); full-budget random search runs --random-trials trials at 9 epochs.

Methods per seed (hyperscape tune, random sampler seeded by --seed, which also fixes the
subset and the train/validation split): random (full budget), hyperband, bohb, dehb,
asha, median (random search with the median pruner, --random-trials trials), run-asha
(ASHA through `hyperscape run` driving `hyperscape train` as an external command, one
process per trial, like the Ray side); and Ray Tune's ASHAScheduler and
MedianStoppingRule driving `hyperscape train` (ray-asha, ray-median; ray_side.py, in the
venv of --ray-python).
Jobs (one method of one seed each, one training thread) run --parallel at a time.

Usage:
  seeds.py --hyperscape target/debug/hyperscape --out bench-out/bohb-seeds \
      --seeds 0-9 [--subsample 4500] [--trials 66] [--random-trials 24] [--parallel 2]
      [--space bench/pruning/space-hard.toml]

Writes <out>/results.json (settings, and per seed and method: epochs, trials, best
validation accuracy at the max budget, test accuracy, the trial trace in trial order;
paths relative to the working directory). bohb_seeds_report.py tabulates it.
"""

import argparse
import concurrent.futures as cf
import json
import os
import subprocess
import sys
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from driver import Bench  # noqa: E402


def parse_seeds(text):
    out = []
    for part in text.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            out.extend(range(int(lo), int(hi) + 1))
        else:
            out.append(int(part))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hyperscape", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seeds", default="0-9")
    ap.add_argument("--subsample", type=int, default=4500)
    ap.add_argument("--valid-fraction", type=float, default=1 / 3)
    ap.add_argument("--min-budget", type=int, default=1)
    ap.add_argument("--max-budget", type=int, default=9)
    ap.add_argument("--eta", type=int, default=3)
    ap.add_argument("--trials", type=int, default=66,
                    help="trials (promotions included) of hyperband, bohb and dehb")
    ap.add_argument("--random-trials", type=int, default=24)
    ap.add_argument("--methods", default="random,hyperband,bohb,dehb")
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--space", default=None,
                    help="TOML space file for hyperscape's methods (default space.toml)")
    ap.add_argument("--ray-python", default=None,
                    help="python of a venv with ray[tune], for the ray-asha and ray-median "
                         "methods (bench/pruning/ray_side.py)")
    ap.add_argument("--ray-samples", type=int, default=50,
                    help="configurations of ray-asha (ray-median gets --random-trials)")
    ap.add_argument("--bohb-density", default=None,
                    help="passed to bohb as --bohb-density (parzen, kde)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    sched = ["--min-budget", str(a.min_budget), "--max-budget", str(a.max_budget),
             "--eta", str(a.eta)]
    seeds = parse_seeds(a.seeds)
    methods = [m.strip() for m in a.methods.split(",")]

    def job(seed, method):
        ns = types.SimpleNamespace(
            hyperscape=a.hyperscape, out=os.path.join(a.out, f"seed{seed}"), seed=seed,
            max_budget=a.max_budget, min_budget=a.min_budget, eta=a.eta,
            subsample=a.subsample, valid_fraction=a.valid_fraction, space=a.space)
        b = Bench(ns)
        if method == "random":
            return b.tune("random-full", ["--sampler", "random", "--trials",
                                          str(a.random_trials), "--epochs",
                                          str(a.max_budget)])
        if method == "median":
            return b.tune("random-median", [
                "--sampler", "random", "--trials", str(a.random_trials), "--epochs",
                str(a.max_budget), "--pruner", "median", "--pruner-startup-trials", "5",
                "--pruner-warmup-steps", str(a.min_budget - 1)])
        if method in ("ray-asha", "ray-median"):
            return ray_job(ns, method)
        if method == "run-asha":
            return run_job(b, ns)
        extra = []
        if method == "bohb" and a.bohb_density:
            extra = ["--bohb-density", a.bohb_density]
        return b.tune(method, ["--sampler", "random", "--trials", str(a.trials),
                               "--scheduler", method, *sched, *extra])

    def run_job(b, ns):
        """hyperscape run --scheduler asha driving `hyperscape train` as an external
        command (promotions resume from the trial's checkpoint directory): the same
        per-trial processes as the Ray side, so wall times compare like for like."""
        if ns.space:
            raise RuntimeError("run-asha declares only space.toml's parameters")
        db = os.path.join(b.out, "run-asha.db")
        for f in (db, db + "-wal", db + "-shm"):
            if os.path.exists(f):
                os.remove(f)
        names = ["n_layers", "n_units", "learning_rate", "optimizer", "batch_size",
                 "dropout"]
        train = [b.hs, "train", *b.data, *[x for n in names for x in
                                            ("--param", f"{n}={{{n}}}")],
                 "--epochs", "{budget}", "--checkpoint-dir", "{checkpoint_dir}",
                 "--resume-from", "{previous_budget}"]
        store = ["--storage", f"sqlite://{db}", "--study", "run-asha"]
        cmd = [b.hs, "run", *store, "--space", b.space, "--sampler", "random",
               "--seed", str(ns.seed), "--trials", str(a.trials), "--scheduler", "asha",
               *sched, "--checkpoint-root", os.path.join(b.out, "run-checkpoints"),
               "--", *train]
        t0 = time.time()
        p = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.time() - t0
        if p.returncode != 0:
            raise RuntimeError(f"run-asha: {' '.join(cmd)}\n{p.stderr[-3000:]}")
        q = subprocess.run([b.hs, "trials", *store, "--format", "json"],
                           capture_output=True, text=True, check=True)
        trials = sorted(json.loads(q.stdout), key=lambda t: t["number"])
        trace = [{"epochs": t["budget"] - (t.get("previous_budget") or 0),
                  "value": t["value"] if t["state"] == "complete" else None,
                  "full": t["state"] == "complete" and t["budget"] == ns.max_budget}
                 for t in trials]
        full = [t for t in trials if t["state"] == "complete"
                and t["budget"] == ns.max_budget]
        best = max(full, key=lambda t: t["value"])
        final = subprocess.run([b.hs, "train", *b.data, "--params", json.dumps(best["params"]),
                                "--epochs", str(ns.max_budget), "--final"],
                               capture_output=True, text=True, check=True)
        test = json.loads(final.stdout.strip().splitlines()[-1])["test"]["accuracy"]
        in_trials = sum(t["duration_seconds"] for t in trials)
        return {"method": "run-asha", "command": " ".join(cmd),
                "epochs": sum(t["epochs"] for t in trace), "trials": len(trials),
                "pruned": 0, "best_valid": best["value"], "test": test,
                "best_params": best["params"], "best_budget": ns.max_budget,
                "wall": wall, "train_seconds": in_trials, "overhead": wall - in_trials,
                "trace": trace}

    def ray_job(ns, method):
        if not a.ray_python:
            raise RuntimeError(f"{method} needs --ray-python")
        samples = a.ray_samples if method == "ray-asha" else a.random_trials
        cmd = [a.ray_python, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                          "ray_side.py"),
               "--hyperscape", ns.hyperscape, "--out", os.path.join(ns.out, method),
               "--scheduler", method[4:], "--samples", str(samples),
               "--seed", str(ns.seed), "--subsample", str(ns.subsample),
               "--valid-fraction", repr(ns.valid_fraction),
               "--min-budget", str(ns.min_budget), "--max-budget", str(ns.max_budget),
               "--eta", str(ns.eta)]
        if ns.space:
            raise RuntimeError("ray_side.py knows only space.toml's space")
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"{method}: {' '.join(cmd)}\n{p.stderr[-3000:]}")
        return json.loads(p.stdout.strip().splitlines()[-1])

    results = {}
    t0 = time.time()
    path = os.path.join(a.out, "results.json")

    def save():
        meta = dict(vars(a))
        meta["total_wall"] = time.time() - t0
        meta["load_average_at_save"] = os.getloadavg()
        text = json.dumps({"settings": meta, "results": results}, indent=1)
        text = text.replace(os.getcwd() + os.sep, "")
        with open(path, "w") as f:
            f.write(text)

    # Seed by seed, the methods of a seed side by side (same load for the pair).
    with cf.ThreadPoolExecutor(max_workers=a.parallel) as ex:
        futs = {ex.submit(job, s, m): (s, m) for s in seeds for m in methods}
        for fut in cf.as_completed(futs):
            s, m = futs[fut]
            try:
                r = fut.result()
                r["load_average"] = os.getloadavg()
                print(f"[{time.time() - t0:6.0f} s] seed {s} {m}: {r['epochs']} epochs, "
                      f"{r['trials']} trials, valid {r['best_valid']:.4f}, "
                      f"{r['wall']:.0f} s, load {os.getloadavg()[0]:.1f}", flush=True)
            except Exception as e:  # one job failing must not lose the others
                r = {"method": m, "error": str(e)}
                print(f"[{time.time() - t0:6.0f} s] seed {s} {m}: FAILED {e}", flush=True)
            results.setdefault(str(s), {})[m] = r
            save()
    save()
    print(f"total wall: {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

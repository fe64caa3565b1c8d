#!/usr/bin/env python3
"""Ray Tune's schedulers driving `hyperscape train` (issue 6: "better than Ray Tune's
schedulers"), the Ray side of driver.py and seeds.py.

One method per call, in its own process (Ray must own the main thread of its driver):
Ray Tune's random search (BasicVariantGenerator seeded by --seed, max_concurrent=1) over
the space of space.toml, one trial at a time (Ray gets one CPU, a trial asks for one),
with

  asha    ASHAScheduler(time_attr="training_iteration", max_t=max budget,
          grace_period=min budget, reduction_factor=eta): stop-based asynchronous
          successive halving (a trial runs on until a rung stops it);
  median  MedianStoppingRule(time_attr="training_iteration", grace_period=min budget,
          min_samples_required=5): Ray's median pruner.

--ray-defaults drops max_concurrent=1, as a user who keeps Ray's defaults would: every
configuration is then created PENDING up front, and the MedianStoppingRule pauses a
running trial to give a pending one its turn, which for a function trainable without
Ray checkpoints means starting it again from scratch (the restarts are counted).

Each trial is one `hyperscape train --epochs MAX` process on the same data, split and
seed as the hyperscape side; every epoch's validation accuracy (the `{"step", "value"}`
line) is reported to Ray as `acc`; when Ray stops the trial the process group gets the
documented stop protocol (SIGTERM, a grace period, SIGKILL). Epochs counted are all
epochs reported, restarts included, as on the Optuna side. The best trial's
configuration is refitted on train + validation and scored once on the test set
(`hyperscape train --final`).

Prints one JSON object in the format of driver.py's Bench.tune (method, command, epochs,
trials, pruned, best_valid, test, best_params, wall, trace in trial order) and, beside
it, `overhead`: the wall time not spent inside `hyperscape train` processes.

  ray_side.py --hyperscape target/release/hyperscape --out DIR --scheduler asha \
      --samples N [--seed S --subsample 4500 --valid-fraction 0.333 --min-budget 1 \
      --max-budget 9 --eta 3]
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def die_with_parent():
    """preexec_fn: the child gets SIGKILL when the thread that started it ends (Linux
    prctl PR_SET_PDEATHSIG), so a trial whose Ray actor is killed leaves no training
    behind."""
    import ctypes
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)


def stop_group(p):
    try:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout=5)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hyperscape", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--scheduler", choices=["asha", "median"], required=True)
    ap.add_argument("--samples", type=int, required=True,
                    help="configurations Ray samples (num_samples)")
    ap.add_argument("--ray-defaults", action="store_true",
                    help="BasicVariantGenerator without max_concurrent=1 (Ray's default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--subsample", type=int, default=4500)
    ap.add_argument("--valid-fraction", type=float, default=1 / 3)
    ap.add_argument("--min-budget", type=int, default=1)
    ap.add_argument("--max-budget", type=int, default=9)
    ap.add_argument("--eta", type=int, default=3)
    a = ap.parse_args()

    hs = os.path.abspath(a.hyperscape)
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    os.environ.setdefault("HYPERSCAPE_DATA_DIR", os.path.join(REPO, ".datasets"))
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    env = dict(os.environ)
    data = ["--model", "mlp", "--dataset", "fashion-mnist", "--subsample", str(a.subsample),
            "--valid-fraction", repr(a.valid_fraction), "--seed", str(a.seed),
            "--threads", "1"]

    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, MedianStoppingRule
    from ray.tune.search import BasicVariantGenerator

    # The space of space.toml (and of driver.py's optuna_space), in Ray's terms (upper
    # bounds of randint / lograndint are exclusive).
    space = {
        "n_layers": tune.randint(1, 4),
        "n_units": tune.lograndint(32, 257),
        "learning_rate": tune.loguniform(1e-4, 3e-2),
        "optimizer": tune.choice(["adam", "sgd"]),
        "batch_size": tune.choice([64, 128, 256]),
        "dropout": tune.uniform(0.0, 0.5),
    }

    def trainable(config):
        cmd = [hs, "train", *data, "--params", json.dumps(config),
               "--epochs", str(a.max_budget)]
        t0 = time.time()
        err = open(os.path.join(out, "trial-stderr.log"), "a")
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True,
                             start_new_session=True, preexec_fn=die_with_parent,
                             env=env)
        reported = 0
        try:
            for line in p.stdout:
                line = line.strip()
                if line.startswith("{"):
                    msg = json.loads(line)
                    if "step" in msg:
                        # Each report may be the last: Ray stops a trial by not
                        # resuming this function, and `finally` stops the process.
                        reported += 1
                        tune.report({"acc": msg["value"], "epoch": msg["step"],
                                     "train_seconds": time.time() - t0})
        finally:
            if p.poll() is None:
                stop_group(p)
            p.stdout.close()
            err.close()
        if reported == 0:
            raise RuntimeError(f"{' '.join(cmd)} reported no epoch (rc {p.wait()}); "
                               f"its stderr is in {out}/trial-stderr.log")

    if a.scheduler == "asha":
        scheduler = ASHAScheduler(time_attr="training_iteration", max_t=a.max_budget,
                                  grace_period=a.min_budget, reduction_factor=a.eta)
    else:
        scheduler = MedianStoppingRule(time_attr="training_iteration",
                                       grace_period=a.min_budget, min_samples_required=5)

    # address="local": always a fresh cluster of this process, never one that another
    # run started on this machine (ray.init() would join it).
    ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False,
             logging_level="ERROR", configure_logging=False)
    t0 = time.time()
    tuner = tune.Tuner(
        trainable,
        param_space=space,
        tune_config=tune.TuneConfig(
            metric="acc", mode="max", scheduler=scheduler, num_samples=a.samples,
            reuse_actors=True,
            # max_concurrent=1: the next configuration is created only when a trial
            # ends, so no trial is PENDING and the MedianStoppingRule never pauses
            # (restarts) a running one to give a pending one its turn.
            search_alg=BasicVariantGenerator(
                random_state=a.seed, max_concurrent=0 if a.ray_defaults else 1)),
        run_config=tune.RunConfig(name=f"ray-{a.scheduler}", storage_path=out, verbose=0),
    )
    grid = tuner.fit()
    wall = time.time() - t0

    trials = []
    for r in grid:
        # Every result the trial reported, in order, restarts included (a paused trial
        # without Ray checkpoints starts again at iteration 1).
        with open(os.path.join(r.path, "result.json")) as f:
            rows = [json.loads(line) for line in f if line.strip()]
        if not rows:
            raise RuntimeError(f"trial {r.path} reported nothing: {r.error}")
        # The training time of each run of the trial: its last row's train_seconds.
        runs = [rows[i]["train_seconds"] for i in range(len(rows))
                if i + 1 == len(rows) or rows[i + 1]["training_iteration"] == 1]
        n = int(rows[-1]["training_iteration"])
        trials.append({
            "start": float(rows[0]["timestamp"]), "end": float(rows[-1]["timestamp"]),
            "epochs": len(rows), "restarts": len(runs) - 1, "config": r.config,
            "last": float(rows[-1]["acc"]), "full": n >= a.max_budget,
            "train_seconds": float(sum(runs)),
        })
    trials.sort(key=lambda t: t["start"])
    starts = [round(t["start"] - trials[0]["start"], 1) for t in trials]
    # Where the time outside training went (report timestamps are whole seconds):
    # before the first report, and after the last one until fit() returned.
    before_first = trials[0]["start"] - t0
    after_last = t0 + wall - max(t["end"] for t in trials)
    trace = [{"epochs": t["epochs"], "value": t["last"] if t["full"] else None,
              "full": t["full"]} for t in trials]
    full = [t for t in trials if t["full"]]
    best = max(full, key=lambda t: t["last"]) if full else max(trials, key=lambda t: t["last"])
    final = subprocess.run([hs, "train", *data, "--params", json.dumps(best["config"]),
                            "--epochs", str(a.max_budget), "--final"],
                           capture_output=True, text=True, check=True)
    test = json.loads(final.stdout.strip().splitlines()[-1])["test"]["accuracy"]
    ray.shutdown()
    train_seconds = sum(t["train_seconds"] for t in trials)
    print(json.dumps({
        "method": f"ray-{a.scheduler}",
        "command": f"ray tune {type(scheduler).__name__} driving hyperscape train",
        "ray_version": ray.__version__,
        "epochs": sum(t["epochs"] for t in trials),
        "trials": len(trials),
        "pruned": len(trials) - len(full),
        "restarts": sum(t["restarts"] for t in trials),
        "best_valid": best["last"],
        "test": test,
        "best_params": best["config"],
        "best_budget": a.max_budget,
        "wall": wall,
        "train_seconds": train_seconds,
        "overhead": wall - train_seconds,
        "trial_starts": starts,
        "before_first_report": before_first,
        "after_last_report": after_last,
        "trace": trace,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())

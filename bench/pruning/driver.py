#!/usr/bin/env python3
"""Pruning and scheduling benchmark on a real training workload (issue 6).

Workload: the zoo MLP (`hyperscape train --model mlp`) on a fixed stratified subset of
Fashion-MNIST's training set (`--subsample`, split by tune's rules into train and
validation), epochs as the fidelity, scored on validation accuracy; the official 10k
test set is used once per method, for the best-by-validation configuration, refitted
on train + validation (tune's final evaluation; `hyperscape train --final`).

Methods, all on the space of bench/pruning/space.toml, with the same seed and split:
  hyperscape (`hyperscape tune`): full-budget random search, random + median pruner,
  Hyperband, ASHA, BOHB, DEHB, PBT; Optuna (this process, driving `hyperscape train` as an
  external command, one process per trial, stopped with SIGTERM when pruned):
  RandomSampler + MedianPruner, RandomSampler + HyperbandPruner.

Usage (scripts/bench-pruning.sh sets it up):
  driver.py --hyperscape target/release/hyperscape --out bench-out/pruning [--quick]

Writes <out>/results.json (every method's figures and trial traces; paths relative to
the working directory) and prints a Markdown table. Figures: epochs trained (a promotion that resumes from its parent's
checkpoint counts only its new epochs; a pruned trial counts the epochs it ran),
best validation accuracy at the max budget, its configuration's test accuracy, wall
time, and the epochs spent when a method first reached a configuration within 0.5 pp
of full-budget random search's best validation accuracy ("epochs to target").
"""

import argparse
import concurrent.futures as cf
import json
import os
import signal
import subprocess
import sys
import time

SPACE_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "space.toml")


def optuna_space(trial):
    """The space of space.toml, declared for Optuna."""
    return {
        "n_layers": trial.suggest_int("n_layers", 1, 3),
        "n_units": trial.suggest_int("n_units", 32, 256, log=True),
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 3e-2, log=True),
        "optimizer": trial.suggest_categorical("optimizer", ["adam", "sgd"]),
        "batch_size": trial.suggest_categorical("batch_size", [64, 128, 256]),
        "dropout": trial.suggest_float("dropout", 0.0, 0.5),
    }


class Bench:
    def __init__(self, a):
        self.hs = os.path.abspath(a.hyperscape)
        self.out = os.path.abspath(a.out)
        self.seed = a.seed
        self.max_budget = a.max_budget
        self.min_budget = a.min_budget
        self.eta = a.eta
        self.space = os.path.abspath(getattr(a, "space", None) or SPACE_FILE)
        self.data = [
            "--model", "mlp", "--dataset", "fashion-mnist",
            "--subsample", str(a.subsample),
            "--valid-fraction", repr(a.valid_fraction),
            "--seed", str(a.seed), "--threads", "1",
        ]
        os.makedirs(self.out, exist_ok=True)

    # ---- hyperscape tune -------------------------------------------------------
    def tune(self, name, extra):
        db = os.path.join(self.out, f"{name}.db")
        if os.path.exists(db):
            os.remove(db)
        cmd = [self.hs, "tune", *self.data, "--space", self.space,
               "--storage", f"sqlite://{db}", "--study", name, "--format", "json",
               *extra]
        if any(x == "--scheduler" for x in extra):
            cmd += ["--checkpoint-root", os.path.join(self.out, "checkpoints")]
        t0 = time.time()
        p = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.time() - t0
        if p.returncode != 0:
            raise RuntimeError(f"{name}: {' '.join(cmd)}\n{p.stderr[-3000:]}")
        r = json.loads(p.stdout)
        trace = [
            {
                "epochs": t.get("epochs_trained") or 0,
                "value": t["value"] if t["state"] == "complete" else None,
                "full": t["state"] == "complete" and t.get("last_step") == self.max_budget,
            }
            for t in r["trials"]
        ]
        return {
            "method": name,
            "command": " ".join(cmd),
            "epochs": r["epochs_spent"],
            "trials": r["n_trials"],
            "pruned": r["n_pruned"],
            "best_valid": r["validation"]["accuracy"],
            "test": r["test"]["accuracy"],
            "best_params": r["best_params"],
            "best_budget": r.get("best_budget"),
            "wall": wall,
            "trace": trace,
        }

    # ---- Optuna driving `hyperscape train` ---------------------------------------
    def optuna(self, name, pruner, n_trials):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        trace = []

        def objective(trial):
            params = optuna_space(trial)
            cmd = [self.hs, "train", *self.data, "--params", json.dumps(params),
                   "--epochs", str(self.max_budget)]
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 text=True, start_new_session=True)
            epochs, last, result = 0, None, None
            pruned = False
            for line in p.stdout:
                line = line.strip()
                if not line:
                    continue
                if line.startswith("{"):
                    msg = json.loads(line)
                    if "step" in msg:
                        epochs += 1
                        last = msg["value"]
                        trial.report(msg["value"], msg["step"])
                        if trial.should_prune():
                            pruned = True
                            # The documented stop protocol: SIGTERM to the group,
                            # a grace period, then SIGKILL.
                            os.killpg(p.pid, signal.SIGTERM)
                            try:
                                p.wait(timeout=5)
                            except subprocess.TimeoutExpired:
                                os.killpg(p.pid, signal.SIGKILL)
                            break
                        continue
                result = float(line)
            p.stdout.close()
            rc = p.wait()
            trace.append({"epochs": epochs, "value": None if pruned else result,
                          "full": not pruned and result is not None})
            if pruned:
                raise optuna.TrialPruned()
            if rc != 0 or result is None:
                raise RuntimeError(f"{name}: trial {trial.number} failed (rc {rc})")
            return result

        study = optuna.create_study(
            direction="maximize",
            sampler=optuna.samplers.RandomSampler(seed=self.seed),
            pruner=pruner,
        )
        t0 = time.time()
        study.optimize(objective, n_trials=n_trials)
        best = study.best_trial
        final = subprocess.run(
            [self.hs, "train", *self.data, "--params", json.dumps(best.params),
             "--epochs", str(self.max_budget), "--final"],
            capture_output=True, text=True, check=True)
        wall = time.time() - t0
        test = json.loads(final.stdout.strip().splitlines()[-1])["test"]["accuracy"]
        return {
            "method": name,
            "command": f"optuna {type(pruner).__name__} driving hyperscape train",
            "epochs": sum(t["epochs"] for t in trace),
            "trials": len(study.trials),
            "pruned": sum(1 for t in study.trials if t.state.name == "PRUNED"),
            "best_valid": best.value,
            "test": test,
            "best_params": best.params,
            "best_budget": self.max_budget,
            "wall": wall,
            "trace": trace,
        }


def epochs_to_target(trace, target):
    """Epochs spent (in trial order) when a full-budget trial first reached target."""
    spent = 0
    for t in trace:
        spent += t["epochs"]
        if t["full"] and t["value"] is not None and t["value"] >= target - 1e-12:
            return spent
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hyperscape", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--subsample", type=int, default=15000)
    ap.add_argument("--valid-fraction", type=float, default=1 / 3)
    ap.add_argument("--min-budget", type=int, default=3)
    ap.add_argument("--max-budget", type=int, default=27)
    ap.add_argument("--eta", type=int, default=3)
    ap.add_argument("--random-trials", type=int, default=24,
                    help="trials of full-budget random search and of the median pruners")
    ap.add_argument("--hyperband-trials", type=int, default=22,
                    help="trials (promotions included) of Hyperband and BOHB")
    ap.add_argument("--asha-trials", type=int, default=40)
    ap.add_argument("--dehb-trials", type=int, default=44,
                    help="trials of DEHB (default two Hyperband iterations of 3..27: "
                         "DE starts in the second)")
    ap.add_argument("--population", type=int, default=8)
    ap.add_argument("--perturb-interval", type=int, default=3)
    ap.add_argument("--optuna-hyperband-trials", type=int, default=24)
    ap.add_argument("--parallel", type=int, default=2,
                    help="methods run at the same time (each one trial at a time)")
    ap.add_argument("--only", default="", help="comma-separated method names")
    a = ap.parse_args()
    b = Bench(a)
    lo, hi, eta = str(a.min_budget), str(a.max_budget), str(a.eta)
    sched = ["--min-budget", lo, "--max-budget", hi, "--eta", eta]
    median = ["--pruner", "median", "--pruner-startup-trials", "5",
              "--pruner-warmup-steps", "3"]
    import optuna  # noqa: F401 (fail early when the venv lacks it)
    methods = {
        "random (full budget)": lambda: b.tune("random-full", [
            "--sampler", "random", "--trials", str(a.random_trials), "--epochs", hi]),
        "random + median pruner": lambda: b.tune("random-median", [
            "--sampler", "random", "--trials", str(a.random_trials), "--epochs", hi,
            *median]),
        "hyperband": lambda: b.tune("hyperband", [
            "--sampler", "random", "--trials", str(a.hyperband_trials),
            "--scheduler", "hyperband", *sched]),
        "asha": lambda: b.tune("asha", [
            "--sampler", "random", "--trials", str(a.asha_trials),
            "--scheduler", "asha", *sched]),
        "bohb": lambda: b.tune("bohb", [
            "--sampler", "random", "--trials", str(a.hyperband_trials),
            "--scheduler", "bohb", *sched]),
        "dehb": lambda: b.tune("dehb", [
            "--sampler", "random", "--trials", str(a.dehb_trials),
            "--scheduler", "dehb", *sched]),
        "pbt": lambda: b.tune("pbt", [
            "--sampler", "random",
            "--trials", str(a.population * (a.max_budget // a.perturb_interval + 1)),
            "--scheduler", "pbt", "--population", str(a.population),
            "--perturb-interval", str(a.perturb_interval), "--max-budget", hi]),
        "optuna random + MedianPruner": lambda: b.optuna(
            "optuna-median",
            __import__("optuna").pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=3),
            a.random_trials),
        "optuna random + HyperbandPruner": lambda: b.optuna(
            "optuna-hyperband",
            __import__("optuna").pruners.HyperbandPruner(
                min_resource=a.min_budget, max_resource=a.max_budget,
                reduction_factor=a.eta),
            a.optuna_hyperband_trials),
    }
    if a.only:
        keep = [m.strip() for m in a.only.split(",")]
        methods = {k: v for k, v in methods.items() if k in keep}
    results = {}
    t0 = time.time()

    def save():
        """results.json with the methods finished so far (a cut-off run keeps them)."""
        base = results.get("random (full budget)", {})
        target = base.get("best_valid")
        for r in results.values():
            if "error" not in r and target is not None:
                r["epochs_to_target"] = epochs_to_target(r["trace"], target - 0.005)
        meta = {k: v for k, v in vars(a).items()}
        meta["total_wall"] = time.time() - t0
        meta["finished"] = sorted(results)
        # Paths relative to the working directory (the repository root under
        # scripts/bench-pruning.sh), not this machine's.
        text = json.dumps({"settings": meta, "results": results}, indent=1)
        text = text.replace(os.getcwd() + os.sep, "")
        with open(os.path.join(b.out, "results.json"), "w") as f:
            f.write(text)

    with cf.ThreadPoolExecutor(max_workers=a.parallel) as ex:
        futs = {ex.submit(f): k for k, f in methods.items()}
        for fut in cf.as_completed(futs):
            k = futs[fut]
            try:
                results[k] = fut.result()
                r = results[k]
                print(f"[{time.time() - t0:7.0f} s] {k}: {r['epochs']} epochs, valid "
                      f"{r['best_valid']:.4f}, test {r['test']:.4f}, {r['wall']:.0f} s",
                      flush=True)
            except Exception as e:  # one method failing must not lose the others
                results[k] = {"method": k, "error": str(e)}
                print(f"[{time.time() - t0:7.0f} s] {k}: FAILED {e}", flush=True)
            save()
    save()
    base = results.get("random (full budget)", {})
    target = base.get("best_valid")

    print()
    print("| method | epochs | trials (pruned) | best valid acc. | its test acc. | "
          "epochs to target | wall (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for k in methods:
        r = results.get(k, {})
        if "error" in r or not r:
            print(f"| {k} | failed | | | | | |")
            continue
        ett = r.get("epochs_to_target")
        print(f"| {k} | {r['epochs']} | {r['trials']} ({r['pruned']}) | "
              f"{r['best_valid']:.4f} | {r['test']:.4f} | "
              f"{ett if ett is not None else 'not reached'} | {r['wall']:.0f} |")
    if target is not None:
        print(f"\ntarget: validation accuracy >= {target - 0.005:.4f} "
              f"(full-budget random search's best {target:.4f} - 0.5 pp); "
              f"1/3 of its epochs: {base['epochs'] / 3:.0f}")
        for k in ("hyperband", "asha", "bohb"):
            r = results.get(k)
            if r and "error" not in r:
                ok = (r["best_valid"] >= target - 0.005
                      and r["epochs"] <= base["epochs"] / 3)
                print(f"{k}: within 0.5 pp at <= 1/3 of the epochs: {'yes' if ok else 'no'}"
                      f" ({r['best_valid']:.4f} at {r['epochs']} epochs)")
    print(f"total wall: {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

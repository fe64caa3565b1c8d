"""Optuna's trial throughput on an RDB storage under W worker processes, measured like
`hyperscape bench storage`: one study, null objective (`lambda t: 0.0` after one
`suggest_float`), random sampler, N trials in all (exactly: worker i runs its share),
the clock running from the release of all workers (each has loaded the study) to the
last trial finished. Prints one JSON line with the same fields as hyperscape's.

Usage: optuna_storage.py --storage URL --workers W --trials N
  URL: sqlite:///path.db or postgresql+psycopg2://user:pw@host:port/db
"""
import argparse
import json
import multiprocessing as mp
import sys
import time
import uuid

import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)


def worker(url, name, share, ready, go, results):
    try:
        storage = optuna.storages.RDBStorage(url)
        study = optuna.load_study(
            study_name=name, storage=storage, sampler=optuna.samplers.RandomSampler()
        )
    except Exception as e:  # noqa: BLE001 - reported, counted as an error
        ready.put(("error", repr(e)))
        return
    ready.put(("ready", None))
    go.wait()
    complete = errors = 0
    last_done = 0.0
    while complete < share:
        try:
            t = study.ask()
            t.suggest_float("x", 0.0, 1.0)
            study.tell(t, 0.0)
            complete += 1
            last_done = time.time()
        except Exception as e:  # noqa: BLE001 - e.g. `database is locked` on SQLite
            errors += 1
            if errors > 1000:
                print(f"worker gives up: {e!r}", file=sys.stderr)
                break
    results.put({"complete": complete, "errors": errors, "last_done_unix": last_done})


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--storage", required=True)
    p.add_argument("--workers", type=int, required=True)
    p.add_argument("--trials", type=int, required=True)
    a = p.parse_args()
    if a.workers < 1 or a.trials < 1:
        sys.exit("--workers and --trials must be at least 1")

    name = f"bench-{uuid.uuid4().hex[:12]}"
    storage = optuna.storages.RDBStorage(a.storage)
    optuna.create_study(study_name=name, storage=storage)

    ctx = mp.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    shares = [a.trials // a.workers + (i < a.trials % a.workers) for i in range(a.workers)]
    started = time.perf_counter()
    procs = [
        ctx.Process(target=worker, args=(a.storage, name, s, ready, go, results))
        for s in shares
    ]
    for pr in procs:
        pr.start()
    worker_errors = 0
    n_ready = 0
    for _ in procs:
        status, msg = ready.get()
        if status == "ready":
            n_ready += 1
        else:
            worker_errors += 1
            print(f"worker did not start: {msg}", file=sys.stderr)
    startup = time.perf_counter() - started
    release = time.time()
    go.set()
    outs = [results.get() for _ in range(n_ready)]
    for pr in procs:
        pr.join()
    last = max([o["last_done_unix"] for o in outs] + [release])
    wall = last - release

    trials = optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)
    numbers = [t.number for t in trials]
    complete = sum(1 for t in trials if t.state == optuna.trial.TrialState.COMPLETE)
    optuna.delete_study(study_name=name, storage=storage)
    print(
        json.dumps(
            {
                "tool": "optuna",
                "optuna": optuna.__version__,
                "storage": "sqlite" if a.storage.startswith("sqlite") else "postgres",
                "workers": a.workers,
                "trials": a.trials,
                "recorded": len(trials),
                "complete": complete,
                "duplicated": len(numbers) - len(set(numbers)),
                "errors": worker_errors + sum(o["errors"] for o in outs),
                "wall_seconds": wall,
                "startup_seconds": startup,
                "trials_per_second": complete / wall if wall > 0 else 0.0,
            }
        )
    )


if __name__ == "__main__":
    main()

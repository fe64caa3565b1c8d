"""Per-trial ask + 10 suggests + tell of a peer's TPE sampler on the same 10-D mixed
space and objective as crates/hyperscape-core/benches/tpe.rs (each tool's default TPE, seed 0).
Peers: Optuna (`--tool optuna`) and Rustuna, Optuna's Rust port (`--tool rustuna`).
Prints one JSON line per size."""
import argparse
import json
import math
import statistics
import time


def objective(t):
    a = t.suggest_float("a", -5.0, 5.0)
    b = t.suggest_float("b", 0.0, 1.0)
    c = t.suggest_float("c", 1e-5, 1.0, log=True)
    d = t.suggest_float("d", 1e-3, 1e3, log=True)
    e = t.suggest_float("e", 0.0, 1.0, step=0.05)
    f = t.suggest_int("f", 0, 100, step=5)
    g = t.suggest_int("g", 1, 1024, log=True)
    h = t.suggest_int("h", 8, 4096, log=True)
    i = t.suggest_categorical("i", ["relu", "tanh", "gelu", "silu"])
    j = t.suggest_categorical("j", [16, 32, 64])
    return (a * a + (b - 0.3) ** 2 + (math.log10(c) + 3) ** 2 + math.log10(d) ** 2
            + abs(e - 0.55) + abs(f - 40) / 10 + (math.log(g) - 3) ** 2 + (math.log(h) - 6) ** 2
            + (0.0 if i == "gelu" else 1.0) + (0.0 if j == 32 else 0.5))


def run(tool, n):
    if tool == "optuna":
        import optuna
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
        tell = lambda t, v: study.tell(t, v)
        version = optuna.__version__
    else:
        import rustuna
        study = rustuna.create_study(sampler=rustuna.samplers.TPESampler(seed=0))
        tell = lambda t, v: study.tell(t.number, v)
        version = "0.2.0"
    per = []
    for _ in range(n):
        t0 = time.perf_counter()
        t = study.ask()
        tell(t, objective(t))
        per.append((time.perf_counter() - t0) * 1e6)
    return version, statistics.median(per), statistics.median(per[n - n // 10:])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tool", choices=["optuna", "rustuna"], required=True)
    p.add_argument("--sizes", default="100,1000")
    a = p.parse_args()
    for n in map(int, a.sizes.split(",")):
        version, med, tail = run(a.tool, n)
        print(json.dumps({"tool": f"{a.tool} {version}", "sampler": "tpe", "trials": n,
                          "median_us": round(med, 1), "tail_median_us": round(tail, 1)}), flush=True)


if __name__ == "__main__":
    main()

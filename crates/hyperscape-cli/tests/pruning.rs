//! `hyperscape run --pruner`: progress lines, pruned commands stopped early, and the
//! SIGTERM-then-grace protocol.

mod common;

use std::time::{Duration, Instant};

use common::{with_state, Env, SPACE_X};

/// A training-like python objective: loss `x + 1/(step+1)` over 10 steps; writes
/// `done_<trial>` only when it reaches the end.
fn train_script(env: &Env) -> String {
    env.write(
        "train.py",
        "import json, sys, time\n\
         x = float(sys.argv[1]); trial = sys.argv[2]\n\
         for step in range(10):\n    \
             print(json.dumps({'step': step, 'value': x + 1.0 / (step + 1)}), flush=True)\n    \
             time.sleep(0.02)\n\
         open('done_' + trial, 'w').close()\n\
         print(x + 0.1)\n",
    )
}

#[test]
fn median_pruner_stops_bad_configurations_before_their_end() {
    let env = Env::new();
    let space = env.write("space.toml", SPACE_X);
    let script = train_script(&env);
    env.ok(&[
        "run",
        "--study",
        "m",
        "--space",
        &space,
        "--trials",
        "14",
        "--seed",
        "5",
        "--pruner",
        "median",
        "--pruner-startup-trials",
        "3",
        "--",
        "python3",
        &script,
        "{x}",
        "{trial}",
    ]);
    let trials = env.trials("m");
    let pruned = with_state(&trials, "pruned");
    let complete = with_state(&trials, "complete");
    assert!(!pruned.is_empty(), "some trials pruned: {trials:?}");
    assert!(complete.len() >= 3, "{trials:?}");
    for t in &pruned {
        let n = t["number"].as_u64().unwrap();
        let step = t["pruned_at_step"].as_u64().expect("pruned_at_step");
        assert!(step < 9, "pruned before the end: {t}");
        assert!(
            !env.path(&format!("done_{n}")).exists(),
            "trial {n} was stopped"
        );
        let iv = t["intermediate_values"]
            .as_object()
            .expect("intermediate values");
        assert_eq!(iv.len() as u64, step + 1, "{t}");
        // The stored value is the last reported one.
        assert_eq!(t["value"], iv[&step.to_string()], "{t}");
    }
    for t in &complete {
        let n = t["number"].as_u64().unwrap();
        assert!(env.path(&format!("done_{n}")).exists());
        assert_eq!(t["intermediate_values"].as_object().unwrap().len(), 10);
    }
    // Pruned configurations are worse than the best complete one.
    let best_x = complete
        .iter()
        .map(|t| t["params"]["x"].as_f64().unwrap())
        .fold(f64::INFINITY, f64::min);
    for t in &pruned {
        assert!(t["params"]["x"].as_f64().unwrap() > best_x, "{t}");
    }
}

/// A command that reports one bad step, then waits; `on_term` is its SIGTERM handling.
fn stubborn_script(env: &Env, on_term: &str) -> String {
    env.write(
        "stubborn.py",
        &format!(
            "import json, os, signal, sys, time\n\
             def handler(signum, frame):\n    \
                 open('term', 'w').close()\n    \
                 time.sleep(0.2)\n    \
                 open('cleaned', 'w').close()\n    \
                 sys.exit(0)\n\
             {on_term}\n\
             print(json.dumps({{'step': 0, 'value': 10.0}}), flush=True)\n\
             p = os.getppid(); t = time.time()\n\
             while time.time() - t < 30 and os.getppid() == p:\n    \
                 time.sleep(0.05)\n\
             open('finished', 'w').close()\n\
             print(1)\n"
        ),
    )
}

fn run_threshold(env: &Env, script: &str, grace: &str) -> Duration {
    let space = env.write("space.toml", SPACE_X);
    let t0 = Instant::now();
    env.ok(&[
        "run",
        "--study",
        "g",
        "--space",
        &space,
        "--trials",
        "1",
        "--pruner",
        "threshold",
        "--upper",
        "1",
        "--prune-grace",
        grace,
        "--",
        "python3",
        script,
    ]);
    let elapsed = t0.elapsed();
    let trials = env.trials("g");
    assert_eq!(trials[0]["state"], "pruned", "{trials:?}");
    assert_eq!(trials[0]["pruned_at_step"], 0);
    assert_eq!(trials[0]["value"], 10.0);
    assert!(!env.path("finished").exists());
    elapsed
}

#[test]
fn a_pruned_command_gets_sigterm_and_its_grace_period() {
    let env = Env::new();
    let script = stubborn_script(&env, "signal.signal(signal.SIGTERM, handler)");
    let took = run_threshold(&env, &script, "5");
    assert!(env.path("term").exists(), "SIGTERM delivered");
    assert!(
        env.path("cleaned").exists(),
        "its handler could finish within the grace"
    );
    assert!(
        took < Duration::from_secs(5),
        "no need to wait the whole grace: {took:?}"
    );
}

#[test]
fn a_command_ignoring_sigterm_is_killed_after_the_grace() {
    let env = Env::new();
    let script = stubborn_script(&env, "signal.signal(signal.SIGTERM, signal.SIG_IGN)");
    let took = run_threshold(&env, &script, "1");
    assert!(!env.path("term").exists());
    assert!(
        took >= Duration::from_secs(1),
        "the grace was given: {took:?}"
    );
    assert!(took < Duration::from_secs(10), "then SIGKILL: {took:?}");
}

#[test]
fn pruner_settings_are_checked() {
    let env = Env::new();
    let space = env.write("space.toml", SPACE_X);
    let err = |args: &[&str]| -> String {
        let out = env
            .hs()
            .args([
                "run",
                "--storage",
                &env.storage(),
                "--study",
                "e",
                "--space",
                &space,
            ])
            .args(["--trials", "1"])
            .args(args)
            .args(["--", "true"])
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = err(&["--pruner", "median", "--patience", "3"]);
    assert!(
        e.contains("`--patience` does not apply to the median pruner"),
        "{e}"
    );
    let e = err(&["--pruner", "hyperband"]);
    assert!(e.contains("needs `--max-resource`"), "{e}");
    let e = err(&["--pruner", "mediam"]);
    assert!(e.contains("unknown pruner `mediam`"), "{e}");
    let e = err(&["--pruner", "threshold", "--upper", "1", "--prune-grace=-1"]);
    assert!(e.contains("--prune-grace"), "{e}");
}

//! Many workers on one study: `study create`, `worker`, `storage upgrade`,
//! `bench storage`, and password redaction.
#![cfg(feature = "sqlite")]

mod common;

use std::collections::BTreeSet;
use std::process::{Child, Stdio};
use std::time::Duration;

use common::*;

const GRID_24: &str = r#"
[params.a]
type = "int"
low = 1
high = 4
[params.b]
type = "categorical"
choices = ["x", "y", "z"]
[params.c]
type = "float"
low = 0.0
high = 1.0
grid = [0.25, 0.75]
"#;

fn hs_cmd(env: &Env) -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("hyperscape"));
    c.current_dir(env.dir.path())
        .env_remove("HYPERSCAPE_STORAGE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// `hyperscape worker --study NAME --storage S <extra>` as a child process.
fn spawn_worker(env: &Env, study: &str, extra: &[&str]) -> Child {
    hs_cmd(env)
        .args(["worker", "--study", study, "--storage", &env.storage()])
        .args(extra)
        .spawn()
        .expect("spawn worker")
}

fn wait_ok(c: Child, what: &str) -> String {
    let out = c.wait_with_output().unwrap();
    assert_success(&out, &[what]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `study create --study NAME --space FILE <extra> -- <command>`.
fn create(env: &Env, study: &str, space: &str, extra: &[&str], command: &[&str]) -> String {
    let mut args = vec!["study", "create", "--study", study, "--space", space];
    args.extend_from_slice(extra);
    args.push("--storage");
    let storage = env.storage();
    args.push(&storage);
    args.push("--");
    args.extend_from_slice(command);
    let out = env.hs().args(&args).output().unwrap();
    assert_success(&out, &args);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn three_workers_complete_exactly_the_budget_and_a_fourth_runs_nothing() {
    exact_budget_over_three_workers(&Env::new());
}

fn exact_budget_over_three_workers(env: &Env) {
    let space = env.write("space.toml", SPACE_X);
    let out = create(env, "w", &space, &["--n-trials", "12"], &["echo", "{x}"]);
    assert!(out.contains("budget: 12 trial(s)"), "{out}");
    let workers: Vec<Child> = (0..3).map(|_| spawn_worker(env, "w", &[])).collect();
    for w in workers {
        wait_ok(w, "worker (one of three)");
    }
    let trials = env.trials("w");
    assert_eq!(numbers(&trials), (0..12).collect::<Vec<_>>());
    assert_eq!(with_state(&trials, "complete").len(), 12);
    let params: BTreeSet<String> = trials.iter().map(|t| t["params"].to_string()).collect();
    assert_eq!(params.len(), 12, "no configuration run twice");

    let out = wait_ok(spawn_worker(env, "w", &[]), "fourth worker");
    assert!(out.contains("0 trial(s) in this worker"), "{out}");
    assert!(out.contains("budget: 12 of 12"), "{out}");
    assert_eq!(env.trials("w").len(), 12);
}

#[test]
fn workers_with_jobs_and_their_own_limit_share_the_budget() {
    let env = Env::new();
    let space = env.write("space.toml", SPACE_X);
    create(&env, "j", &space, &["--n-trials", "10"], &["echo", "{x}"]);
    let out = wait_ok(
        spawn_worker(&env, "j", &["--trials", "3", "--jobs", "2"]),
        "worker --trials 3",
    );
    assert!(out.contains("3 trial(s) in this worker"), "{out}");
    let workers: Vec<Child> = (0..2)
        .map(|_| spawn_worker(&env, "j", &["--jobs", "2"]))
        .collect();
    for w in workers {
        wait_ok(w, "worker --jobs 2");
    }
    let trials = env.trials("j");
    assert_eq!(numbers(&trials), (0..10).collect::<Vec<_>>());
    assert_eq!(with_state(&trials, "complete").len(), 10);
}

#[test]
fn four_workers_on_a_grid_run_every_point_exactly_once() {
    let env = Env::new();
    let space = env.write("space.toml", GRID_24);
    let out = create(&env, "g", &space, &["--sampler", "grid"], &["echo", "{a}"]);
    assert!(out.contains("24 trial(s) (every grid point once)"), "{out}");
    let workers: Vec<Child> = (0..4).map(|_| spawn_worker(&env, "g", &[])).collect();
    for w in workers {
        wait_ok(w, "grid worker");
    }
    let trials = env.trials("g");
    assert_eq!(numbers(&trials), (0..24).collect::<Vec<_>>());
    assert_eq!(with_state(&trials, "complete").len(), 24);
    let points: BTreeSet<String> = trials.iter().map(|t| t["params"].to_string()).collect();
    assert_eq!(points.len(), 24, "every grid point exactly once");
}

#[test]
fn failed_trials_are_replaced_so_the_budget_completes() {
    let env = Env::new();
    let space = env.write("space.toml", SPACE_X);
    // Fails for x < 0.3: those trials do not count, and their slots run again.
    let code = "import sys\nx = float(sys.argv[1])\nsys.exit(1) if x < 0.3 else print(x)";
    create(
        &env,
        "f",
        &space,
        &["--n-trials", "8", "--seed", "1"],
        &["python3", "-c", code, "{x}"],
    );
    let workers: Vec<Child> = (0..2).map(|_| spawn_worker(&env, "f", &[])).collect();
    for w in workers {
        wait_ok(w, "worker");
    }
    let trials = env.trials("f");
    assert_eq!(with_state(&trials, "complete").len(), 8);
    assert_eq!(
        with_state(&trials, "complete").len() + with_state(&trials, "failed").len(),
        trials.len()
    );
}

#[test]
fn a_study_whose_trials_keep_failing_stops_its_workers() {
    let env = Env::new();
    let space = env.write("space.toml", SPACE_X);
    create(
        &env,
        "bad",
        &space,
        &["--n-trials", "5", "--max-failed", "3"],
        &["false"],
    );
    let out = spawn_worker(&env, "bad", &[]).wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(
        err.contains("3 trial(s) failed") && err.contains("--max-failed"),
        "{err}"
    );
    assert_eq!(env.trials("bad").len(), 3);
}

/// A python objective that hangs (until its parent dies) the first time, when
/// `marker` does not exist yet, and prints x at once afterwards.
fn hang_once(marker: &std::path::Path) -> Vec<String> {
    let code = format!(
        "import os, sys, time\n\
         m = {marker:?}\n\
         if not os.path.exists(m):\n    \
             open(m, 'w').close()\n    \
             p = os.getppid()\n    \
             t = time.time()\n    \
             while time.time() - t < 30:\n        \
                 if os.getppid() != p: sys.exit(1)\n        \
                 time.sleep(0.05)\n\
         print(sys.argv[1])\n",
        marker = marker.display().to_string()
    );
    vec!["python3".into(), "-c".into(), code, "{x}".into()]
}

#[test]
fn a_killed_workers_trial_is_failed_by_heartbeat_and_retried() {
    killed_worker_recovered(&Env::new());
}

fn killed_worker_recovered(env: &Env) {
    let space = env.write("space.toml", SPACE_X);
    let marker = env.path("hung");
    let command = hang_once(&marker);
    let command: Vec<&str> = command.iter().map(String::as_str).collect();
    create(
        env,
        "k",
        &space,
        &[
            "--n-trials",
            "4",
            "--max-retry",
            "1",
            "--heartbeat-interval",
            "0.2",
        ],
        &command,
    );
    let mut doomed = spawn_worker(env, "k", &[]);
    wait_for_file(&marker, Duration::from_secs(20));
    doomed.kill().unwrap(); // SIGKILL: no chance to clean up
    doomed.wait().unwrap();
    let before = env.trials("k");
    assert_eq!(before.len(), 1);
    assert_eq!(before[0]["state"], "running");

    let out = wait_ok(spawn_worker(env, "k", &[]), "surviving worker");
    assert!(out.contains("budget: 4 of 4"), "{out}");
    let trials = env.trials("k");
    assert_eq!(numbers(&trials), (0..5).collect::<Vec<_>>());
    assert_eq!(with_state(&trials, "complete").len(), 4);
    let dead = &trials[0];
    assert_eq!(dead["state"], "failed");
    assert!(
        dead["fail_reason"].as_str().unwrap().contains("heartbeat"),
        "{dead}"
    );
    let retries: Vec<_> = trials.iter().filter(|t| t["retried_from"] == 0).collect();
    assert_eq!(retries.len(), 1, "retried exactly once");
    assert_eq!(retries[0]["state"], "complete");
    assert_eq!(retries[0]["params"], dead["params"], "same configuration");
}

#[test]
fn creating_a_study_twice_is_an_error_unless_skipped() {
    let env = Env::new();
    let space = env.write("space.toml", SPACE_X);
    create(
        &env,
        "twice",
        &space,
        &["--n-trials", "3"],
        &["echo", "{x}"],
    );
    let out = env
        .hs()
        .args(["study", "create", "--study", "twice", "--space", &space])
        .args(["--storage", &env.storage(), "--", "echo", "{x}"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(
        err.contains("study `twice` already exists") && err.contains("--skip-if-exists"),
        "{err}"
    );
    let out = env
        .hs()
        .args(["study", "create", "--study", "twice", "--space", &space])
        .args([
            "--skip-if-exists",
            "--storage",
            &env.storage(),
            "--",
            "echo",
        ])
        .output()
        .unwrap();
    assert_success(&out, &["study create --skip-if-exists"]);
    // The spec is the first one.
    let out = env
        .hs()
        .args([
            "study",
            "show",
            "--study",
            "twice",
            "--storage",
            &env.storage(),
        ])
        .output()
        .unwrap();
    assert_success(&out, &["study show"]);
    let spec: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(spec["n_trials"], 3);
    assert_eq!(spec["version"], 1);
    assert_eq!(spec["command"], serde_json::json!(["echo", "{x}"]));
    // Without --sampler the study gets the default, `auto`.
    assert_eq!(spec["sampler"], "auto");
}

#[test]
fn a_worker_needs_a_study_with_a_spec() {
    let env = Env::new();
    let space = env.write("space.toml", SPACE_X);
    // A study made by `run` has no spec.
    env.ok(&[
        "run", "--study", "plain", "--space", &space, "--trials", "1", "--", "echo", "1",
    ]);
    let out = spawn_worker(&env, "plain", &[]).wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(
        err.contains("study `plain` has no spec") && err.contains("study create"),
        "{err}"
    );
    let out = spawn_worker(&env, "nope", &[]).wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(err.contains("study `nope` does not exist"), "{err}");
}

#[test]
fn storage_upgrade_reports_up_to_date_and_refuses_a_newer_schema() {
    let env = Env::new();
    let out = env
        .hs()
        .args(["storage", "upgrade", "--storage", &env.storage()])
        .output()
        .unwrap();
    assert_success(&out, &["storage upgrade (new file)"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("created"),
        "{out:?}"
    );
    let out = env
        .hs()
        .args(["storage", "upgrade", "--storage", &env.storage()])
        .output()
        .unwrap();
    assert_success(&out, &["storage upgrade"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("up to date"), "{stdout}");

    let db = env.path("hs.db");
    let py = format!(
        "import sqlite3\nc = sqlite3.connect({:?})\n\
         c.execute('UPDATE schema_version SET version = 99')\nc.commit()",
        db.display().to_string()
    );
    let st = std::process::Command::new("python3")
        .args(["-c", &py])
        .status()
        .unwrap();
    assert!(st.success());
    let out = env
        .hs()
        .args(["storage", "upgrade", "--storage", &env.storage()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(err.contains("99") && err.contains("newer"), "{err}");
}

#[test]
fn bench_storage_completes_exactly_the_trials_asked_for() {
    let env = Env::new();
    let out = env
        .hs()
        .args(["bench", "storage", "--storage", &env.storage()])
        .args(["--workers", "2", "--trials", "40", "--format", "json"])
        .output()
        .unwrap();
    assert_success(&out, &["bench storage"]);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["recorded"], 40, "{r}");
    assert_eq!(r["complete"], 40, "{r}");
    assert_eq!(r["errors"], 0, "{r}");
    assert_eq!(r["workers"], 2, "{r}");
    assert_eq!(r["storage"], "sqlite", "{r}");
    assert!(r["trials_per_second"].as_f64().unwrap() > 0.0, "{r}");
    // The bench study is gone.
    let studies = env.ok(&["studies", "--format", "json"]);
    assert_eq!(studies.trim(), "[]");
}

#[test]
fn passwords_never_reach_the_output() {
    let env = Env::new();
    let url = "postgresql://u:secretpw@127.0.0.1:1/db";
    for args in [
        vec!["worker", "--study", "s", "--storage", url],
        vec!["studies", "--storage", url],
        vec!["storage", "upgrade", "--storage", url],
        vec!["bench", "storage", "--storage", url, "--trials", "1"],
    ] {
        let out = env.hs().args(&args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let all = format!(
            "{}{}",
            stderr_of(&out),
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(!all.contains("secretpw"), "{args:?}: {all}");
        assert!(all.contains("u:***@127.0.0.1"), "{args:?}: {all}");
    }
    // From the environment: errors and --help stay clean too.
    let out = env
        .hs()
        .env("HYPERSCAPE_STORAGE", url)
        .args(["worker", "--study", "s"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!stderr_of(&out).contains("secretpw"), "{}", stderr_of(&out));
    for sub in [
        vec!["worker"],
        vec!["run"],
        vec!["studies"],
        vec!["study", "create"],
        vec!["bench", "storage"],
    ] {
        let out = env
            .hs()
            .env("HYPERSCAPE_STORAGE", url)
            .args(&sub)
            .arg("--help")
            .output()
            .unwrap();
        assert_success(&out, &sub);
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("--storage"), "{sub:?} --help: {help}");
        assert!(!help.contains("secretpw"), "{sub:?} --help: {help}");
    }
}

/// The same worker scenarios on the PostgreSQL test server.
#[cfg(feature = "postgres")]
mod postgres {
    use super::*;

    #[test]
    fn three_workers_complete_exactly_the_budget_on_postgres() {
        if let Some(env) = Env::postgres() {
            exact_budget_over_three_workers(&env);
        }
    }

    #[test]
    fn a_killed_workers_trial_is_recovered_on_postgres() {
        if let Some(env) = Env::postgres() {
            killed_worker_recovered(&env);
        }
    }
}

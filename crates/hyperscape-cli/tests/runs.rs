//! Budgets, resuming, grids, several processes, dead workers and Ctrl-C.
#![cfg_attr(not(feature = "sqlite"), allow(unused))]

mod common;

use std::collections::BTreeSet;
use std::process::Stdio;
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

#[test]
#[cfg_attr(not(feature = "sqlite"), ignore = "needs the SQLite storage")]
fn grid_with_four_jobs_runs_each_point_once_then_stops() {
    let env = Env::new();
    let space = env.write("space.toml", GRID_24);
    let args = [
        "run",
        "--study",
        "g",
        "--space",
        &space,
        "--sampler",
        "grid",
        "--jobs",
        "4",
        "--trials",
        "100",
        "--",
        "echo",
        "{a}",
    ];
    let out = env.ok(&args);
    assert!(out.contains("24 trial(s) in this run"), "{out}");
    assert!(out.contains("search is complete"), "{out}");
    let trials = env.trials("g");
    assert_eq!(numbers(&trials), (0..24).collect::<Vec<_>>());
    let points: BTreeSet<String> = trials.iter().map(|t| t["params"].to_string()).collect();
    assert_eq!(points.len(), 24, "all grid points distinct");
    assert_eq!(with_state(&trials, "complete").len(), 24);

    let out = env.ok(&args);
    assert!(out.contains("0 trial(s) in this run"), "{out}");
    assert_eq!(env.trials("g").len(), 24, "a finished grid adds nothing");
}

#[test]
#[cfg_attr(not(feature = "sqlite"), ignore = "needs the SQLite storage")]
fn a_second_run_resumes_the_study() {
    let env = Env::new();
    let space = env.write("space.toml", SPACE_X);
    let args = [
        "run", "--study", "r", "--space", &space, "--trials", "3", "--", "echo", "{x}",
    ];
    env.ok(&args);
    let out = env.ok(&args);
    assert!(
        out.contains("3 trial(s) in this run") && out.contains("6 in the study"),
        "{out}"
    );
    let trials = env.trials("r");
    assert_eq!(numbers(&trials), (0..6).collect::<Vec<_>>());
    assert_eq!(with_state(&trials, "complete").len(), 6);
}

#[test]
#[cfg_attr(not(feature = "sqlite"), ignore = "needs the SQLite storage")]
fn a_direction_mismatch_with_the_study_is_an_error() {
    let env = Env::new();
    let space = env.write("space.toml", SPACE_X);
    env.ok(&[
        "run",
        "--study",
        "d",
        "--space",
        &space,
        "--trials",
        "1",
        "--direction",
        "maximize",
        "--",
        "echo",
        "1",
    ]);
    let out = env
        .hs()
        .args([
            "run",
            "--study",
            "d",
            "--space",
            &space,
            "--trials",
            "1",
            "--direction",
            "minimize",
        ])
        .args(["--storage", &env.storage(), "--", "echo", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error:") && err.contains("study `d`") && err.contains("maximize"),
        "{err}"
    );
}

#[test]
#[cfg_attr(not(feature = "sqlite"), ignore = "needs the SQLite storage")]
fn four_processes_share_one_study_without_losing_trials() {
    let env = Env::new();
    let space = env.write("space.toml", SPACE_X);
    let storage = env.storage();
    // Create the study first so the four processes race on trials, not on its creation
    // (creation races are covered too: this is only to make the test's intent clear).
    let children: Vec<_> = (0..4)
        .map(|_| {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("hyperscape"))
                .current_dir(env.dir.path())
                .args([
                    "run",
                    "--study",
                    "c",
                    "--storage",
                    &storage,
                    "--space",
                    &space,
                ])
                .args(["--trials", "10", "--", "echo", "{x}"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert_success(&out, &["run (one of four)"]);
    }
    let trials = env.trials("c");
    assert_eq!(numbers(&trials), (0..40).collect::<Vec<_>>());
    assert_eq!(with_state(&trials, "complete").len(), 40);
}

#[test]
#[cfg_attr(not(feature = "sqlite"), ignore = "needs the SQLite storage")]
fn a_killed_worker_is_recovered_and_its_trial_retried() {
    let env = Env::new();
    let space = env.write("space.toml", SPACE_X);
    let marker = env.path("started");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("hyperscape"))
        .current_dir(env.dir.path())
        .args([
            "run",
            "--study",
            "h",
            "--storage",
            &env.storage(),
            "--space",
            &space,
        ])
        .args(["--trials", "1", "--heartbeat-interval", "0.2", "--"])
        .args(slow_python(&marker))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_file(&marker, Duration::from_secs(20));
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    let before = env.trials("h");
    assert_eq!(before.len(), 1);
    assert_eq!(before[0]["state"], "running");
    std::thread::sleep(Duration::from_millis(800)); // stale after 2 x 0.2 s

    env.ok(&[
        "run",
        "--study",
        "h",
        "--space",
        &space,
        "--trials",
        "1",
        "--heartbeat-interval",
        "0.2",
        "--max-retry",
        "1",
        "--",
        "echo",
        "{x}",
    ]);
    let trials = env.trials("h");
    assert_eq!(numbers(&trials), vec![0, 1]);
    assert_eq!(trials[0]["state"], "failed");
    let reason = trials[0]["fail_reason"].as_str().unwrap();
    assert!(reason.contains("heartbeat"), "{reason}");
    assert_eq!(trials[1]["state"], "complete");
    assert_eq!(trials[1]["retried_from"], 0);
    assert_eq!(
        trials[1]["params"], trials[0]["params"],
        "the retry re-runs the same params"
    );
    assert_eq!(trials[1]["value"], trials[0]["params"]["x"]);
}

#[test]
fn ctrl_c_fails_the_running_trial_and_exits_130() {
    let env = Env::new();
    let space = env.write("space.toml", SPACE_X);
    let marker = env.path("started");
    #[cfg(feature = "sqlite")]
    let storage = env.storage();
    #[cfg(not(feature = "sqlite"))]
    let storage = "memory:".to_string();
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("hyperscape"))
        .current_dir(env.dir.path())
        .args([
            "run",
            "--study",
            "i",
            "--storage",
            &storage,
            "--space",
            &space,
        ])
        .args(["--trials", "5", "--"])
        .args(slow_python(&marker))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_file(&marker, Duration::from_secs(20));
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let start = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "stopped promptly"
    );
    assert_eq!(out.status.code(), Some(130));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("1 trial(s) in this run (0 complete, 1 failed"),
        "{stdout}"
    );
    #[cfg(feature = "sqlite")]
    {
        let trials = env.trials("i");
        assert_eq!(trials.len(), 1, "no trial started after the signal");
        assert_eq!(trials[0]["state"], "failed");
        assert_eq!(trials[0]["fail_reason"], "interrupted");
    }
}

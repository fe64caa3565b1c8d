//! `hyperscape train`: one configuration with tune's splits, progress lines, the stop
//! protocol and checkpoint resume; and `tune --scheduler` end to end.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::Env;
use serde_json::Value;

fn bin() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("hyperscape")
}

/// Progress lines `(step, value)` and the other lines of `train`'s stdout.
fn parse(stdout: &str) -> (Vec<(u64, f64)>, Vec<String>) {
    let mut steps = Vec::new();
    let mut rest = Vec::new();
    for line in stdout.lines() {
        match serde_json::from_str::<Value>(line) {
            Ok(v) if v.get("step").is_some() => {
                steps.push((v["step"].as_u64().unwrap(), v["value"].as_f64().unwrap()))
            }
            _ => rest.push(line.to_string()),
        }
    }
    (steps, rest)
}

const MLP: &[&str] = &[
    "train",
    "--model",
    "mlp",
    "--dataset",
    "digits",
    "--params",
    r#"{"n_units": 16, "learning_rate": 0.01, "batch_size": 64}"#,
    "--threads",
    "1",
    "--metric",
    "cross_entropy",
];

#[test]
fn train_streams_steps_and_resumes_from_its_checkpoint_exactly() {
    let env = Env::new();
    let ck = env.path("ck");
    let run = |extra: &[&str]| {
        let out = env.hs().args(MLP).args(extra).output().unwrap();
        common::assert_success(&out, extra);
        parse(&String::from_utf8_lossy(&out.stdout))
    };
    let (direct, rest) = run(&["--epochs", "4"]);
    assert_eq!(direct.iter().map(|s| s.0).collect::<Vec<_>>(), [1, 2, 3, 4]);
    // The result line is the last epoch's validation value.
    assert_eq!(rest.last().unwrap().parse::<f64>().unwrap(), direct[3].1);
    let ck_s = ck.display().to_string();
    let (first, _) = run(&["--epochs", "2", "--checkpoint-dir", &ck_s]);
    assert_eq!(first, direct[..2]);
    assert!(ck.join("network.safetensors").exists());
    // Resumed from epoch 2: only epochs 3 and 4 train, on the same curve.
    let (second, _) = run(&[
        "--epochs",
        "4",
        "--checkpoint-dir",
        &ck_s,
        "--resume-from",
        "2",
    ]);
    assert_eq!(second, direct[2..]);
    // An empty --resume-from (an unset {previous_budget}) trains from scratch.
    let (again, _) = run(&[
        "--epochs",
        "2",
        "--checkpoint-dir",
        &ck_s,
        "--resume-from",
        "",
    ]);
    assert_eq!(again, direct[..2]);
}

#[test]
fn sigterm_stops_training_after_the_epoch_and_saves_the_checkpoint() {
    let env = Env::new();
    let ck = env.path("ck");
    let mut child = Command::new(bin())
        .args(MLP)
        .args(["--epochs", "5000", "--checkpoint-dir"])
        .arg(&ck)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = 0u64;
    for line in lines.by_ref() {
        let v: Value = serde_json::from_str(&line.unwrap()).unwrap();
        seen = v["step"].as_u64().unwrap();
        if seen == 2 {
            let st = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(st.success());
            break;
        }
    }
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let status = child.wait().unwrap();
    assert!(status.success(), "exits 0 on the stop request: {status}");
    let (steps, results) = parse(&rest.join("\n"));
    assert!(
        results.is_empty(),
        "no result line after a stop: {results:?}"
    );
    let last = steps.last().map_or(seen, |s| s.0);
    assert!(
        last <= seen + 1,
        "stopped at the next epoch end, not at {last}"
    );
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(ck.join("network.json")).unwrap()).unwrap();
    assert_eq!(
        meta["epoch"].as_u64().unwrap(),
        last,
        "checkpoint at the last epoch"
    );
}

#[test]
fn tune_with_a_scheduler_counts_epochs_by_the_rung_arithmetic() {
    let env = Env::new();
    let space = env.write(
        "space.toml",
        "[params.learning_rate]\ntype = \"float\"\nlow = 0.01\nhigh = 0.5\nlog = true\n",
    );
    let text = env.ok(&[
        "tune",
        "--model",
        "logreg",
        "--dataset",
        "iris",
        "--space",
        &space,
        "--sampler",
        "random",
        "--scheduler",
        "hyperband",
        "--min-budget",
        "1",
        "--max-budget",
        "9",
        "--eta",
        "3",
        "--trials",
        "22",
        "--threads",
        "1",
        "--format",
        "json",
        "--checkpoint-root",
        &env.path("ck").display().to_string(),
    ]);
    let v: Value = serde_json::from_str(&text).unwrap();
    // Hyperband 1..9, eta 3: brackets (9@1, 3@3, 1@9), (5@3, 1@9), (3@9): 22 trials;
    // resumed promotions train only the difference:
    // 9*1 + 3*2 + 1*6  +  5*3 + 1*6  +  3*9 = 21 + 21 + 27 = 69 epochs.
    assert_eq!(v["n_trials"], 22);
    assert_eq!(v["epochs_spent"], 69, "{text}");
    assert_eq!(v["best_budget"], 9);
    let trials = v["trials"].as_array().unwrap();
    let promoted = trials.iter().filter(|t| !t["parent"].is_null()).count();
    assert_eq!(promoted, 3 + 1 + 1, "rung sizes 3 and 1, then 1");
    for t in trials {
        let budget = t["budget"].as_u64().unwrap();
        assert_eq!(t["last_step"].as_u64().unwrap(), budget);
    }
    // --cv has no single fit to give a budget to.
    let out = env
        .hs()
        .args([
            "tune",
            "--model",
            "logreg",
            "--dataset",
            "iris",
            "--cv",
            "3",
        ])
        .args(["--scheduler", "asha", "--max-budget", "9"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--cv cannot be combined"));
}

#[test]
fn a_scheduler_leaves_the_default_spaces_epochs_out() {
    let env = Env::new();
    let text = env.ok(&[
        "tune",
        "--model",
        "mlp",
        "--dataset",
        "iris",
        "--scheduler",
        "asha",
        "--max-budget",
        "2",
        "--trials",
        "3",
        "--threads",
        "1",
        "--format",
        "json",
        "--checkpoint-root",
        &env.path("ck").display().to_string(),
    ]);
    let v: Value = serde_json::from_str(&text).unwrap();
    let params = v["best_params"].as_object().unwrap();
    assert!(!params.is_empty());
    assert!(!params.contains_key("epochs"), "{text}");
    assert_eq!(v["best_budget"], 2);
    // Without a scheduler the default space keeps it.
    let text = env.ok(&[
        "tune",
        "--model",
        "mlp",
        "--dataset",
        "iris",
        "--trials",
        "1",
        "--threads",
        "1",
        "--format",
        "json",
        "--study",
        "plain",
    ]);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert!(
        v["best_params"].as_object().unwrap().contains_key("epochs"),
        "{text}"
    );
}

#[test]
fn tune_with_dehb_trains_evolved_configurations_from_scratch() {
    let env = Env::new();
    let space = env.write(
        "space.toml",
        "[params.learning_rate]\ntype = \"float\"\nlow = 0.01\nhigh = 0.5\nlog = true\n",
    );
    let text = env.ok(&[
        "tune",
        "--model",
        "logreg",
        "--dataset",
        "iris",
        "--space",
        &space,
        "--scheduler",
        "dehb",
        "--min-budget",
        "1",
        "--max-budget",
        "3",
        "--eta",
        "3",
        "--trials",
        "12",
        "--threads",
        "1",
        "--format",
        "json",
        "--checkpoint-root",
        &env.path("ck").display().to_string(),
    ]);
    let v: Value = serde_json::from_str(&text).unwrap();
    // Two Hyperband iterations of 1..3: (3@1, 1@3), (2@3). The first promotes and
    // resumes: 3*1 + 1*2 + 2*3 = 11 epochs; the second is DE's, every configuration
    // new and trained from scratch: 3*1 + 1*3 + 2*3 = 12 epochs.
    assert_eq!(v["n_trials"], 12);
    assert_eq!(v["epochs_spent"], 23, "{text}");
    let trials = v["trials"].as_array().unwrap();
    let promoted: Vec<u64> = trials
        .iter()
        .filter(|t| !t["parent"].is_null())
        .map(|t| t["number"].as_u64().unwrap())
        .collect();
    assert_eq!(promoted, [3], "{text}");
}

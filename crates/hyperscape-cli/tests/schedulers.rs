//! `hyperscape run --scheduler`: external commands told their budget and checkpoint
//! directory, resuming from their parent's checkpoint.

mod common;

use std::collections::BTreeMap;

use common::{Env, SPACE_X};
use serde_json::Value;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/train_ckpt.sh");

fn u(t: &Value, k: &str) -> Option<u64> {
    t[k].as_u64()
}

/// Every trial ran from its previous budget to its budget, resuming from a
/// checkpoint at its previous budget (the fixture fails otherwise), and reported
/// exactly those steps.
fn check_resumes(env: &Env, trials: &[Value]) {
    let by_number: BTreeMap<u64, &Value> = trials
        .iter()
        .map(|t| (u(t, "number").unwrap(), t))
        .collect();
    for t in trials {
        assert_eq!(t["state"], "complete", "{t}");
        let budget = u(t, "budget").unwrap();
        let prev = u(t, "previous_budget").unwrap_or(0);
        if let Some(p) = u(t, "parent") {
            assert_eq!(Some(prev), u(by_number[&p], "budget"), "{t}");
        }
        let dir = t["checkpoint_dir"].as_str().unwrap();
        assert!(dir.starts_with(env.path("ck").to_str().unwrap()), "{dir}");
        let resumed =
            std::fs::read_to_string(std::path::Path::new(dir).join("resumed_at")).unwrap();
        assert_eq!(resumed.trim(), prev.to_string(), "{t}");
        let steps: Vec<u64> = t["intermediate_values"]
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.parse().unwrap())
            .collect::<std::collections::BTreeSet<u64>>()
            .into_iter()
            .collect();
        assert_eq!(steps, (prev + 1..=budget).collect::<Vec<_>>(), "{t}");
    }
}

#[test]
fn successive_halving_promotes_external_commands_from_their_checkpoints() {
    let env = Env::new();
    let space = env.write("space.toml", SPACE_X);
    let ck = env.path("ck").display().to_string();
    let out = env.ok(&[
        "run",
        "--study",
        "sha",
        "--space",
        &space,
        "--trials",
        "13",
        "--seed",
        "3",
        "--scheduler",
        "sha",
        "--min-budget",
        "1",
        "--max-budget",
        "9",
        "--eta",
        "3",
        "--checkpoint-root",
        &ck,
        "--",
        "sh",
        FIXTURE,
        "{x}",
        "{budget}",
    ]);
    assert!(out.contains("13 complete"), "{out}");
    let trials = env.trials("sha");
    assert_eq!(trials.len(), 13);
    let count = |b: u64| trials.iter().filter(|t| u(t, "budget") == Some(b)).count();
    assert_eq!((count(1), count(3), count(9)), (9, 3, 1));
    assert_eq!(trials.iter().filter(|t| !t["parent"].is_null()).count(), 4);
    check_resumes(&env, &trials);
    // The configuration at the max budget is the best of the bottom rung.
    let top = trials.iter().find(|t| u(t, "budget") == Some(9)).unwrap();
    let best_bottom = trials
        .iter()
        .filter(|t| u(t, "budget") == Some(1))
        .min_by(|a, b| {
            a["value"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["value"].as_f64().unwrap())
        })
        .unwrap();
    assert_eq!(top["params"], best_bottom["params"]);
    // The table shows budgets and parents.
    let table = env.ok(&["trials", "--study", "sha"]);
    let header = table.lines().next().unwrap();
    assert!(
        header.contains("budget") && header.contains("parent"),
        "{table}"
    );
}

#[test]
fn asha_in_parallel_and_pbt_with_external_commands() {
    let env = Env::new();
    let space = env.write("space.toml", SPACE_X);
    let ck = env.path("ck").display().to_string();
    env.ok(&[
        "run",
        "--study",
        "asha",
        "--space",
        &space,
        "--trials",
        "16",
        "--jobs",
        "2",
        "--seed",
        "4",
        "--scheduler",
        "asha",
        "--max-budget",
        "9",
        "--checkpoint-root",
        &ck,
        "--",
        "sh",
        FIXTURE,
        "{x}",
        "{budget}",
    ]);
    let trials = env.trials("asha");
    assert_eq!(trials.len(), 16);
    assert!(
        trials.iter().any(|t| !t["parent"].is_null()),
        "some promotion"
    );
    check_resumes(&env, &trials);

    let out = env.ok(&[
        "run",
        "--study",
        "pbt",
        "--space",
        &space,
        "--trials",
        "100",
        "--seed",
        "5",
        "--scheduler",
        "pbt",
        "--population",
        "4",
        "--perturb-interval",
        "2",
        "--max-budget",
        "6",
        "--checkpoint-root",
        &ck,
        "--",
        "sh",
        FIXTURE,
        "{x}",
        "{budget}",
    ]);
    assert!(out.contains("schedule is complete"), "{out}");
    let trials = env.trials("pbt");
    assert_eq!(trials.len(), 12, "4 members x 3 intervals");
    check_resumes(&env, &trials);
    let exploits: Vec<&Value> = trials
        .iter()
        .filter(|t| !t["pbt"]["exploited_member"].is_null())
        .collect();
    assert_eq!(exploits.len(), 2, "one member exploits per generation");
    for t in &trials {
        let g = u(&t["pbt"], "generation").unwrap();
        assert_eq!(u(t, "budget"), Some(2 * (g + 1)));
    }
}

#[test]
fn scheduler_flags_are_checked() {
    let env = Env::new();
    let space = env.write("space.toml", SPACE_X);
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--study", "x", "--space", &space, "--trials", "1"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--", "true"]);
        let out = env.hs().args(&args).output().unwrap();
        assert!(!out.status.success(), "{extra:?} should fail");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let e = run(&["--eta", "3"]);
    assert!(e.contains("--eta is a scheduler setting"), "{e}");
    let e = run(&["--scheduler", "asha", "--pruner", "median"]);
    assert!(e.contains("cannot be combined"), "{e}");
    let e = run(&["--scheduler", "asha", "--population", "4"]);
    assert!(
        e.contains("`--population` does not apply to the asha"),
        "{e}"
    );
    let e = run(&["--scheduler", "sha", "--max-budget", "lots"]);
    assert!(e.contains("--max-budget must be a whole number"), "{e}");
    let e = run(&["--scheduler", "hyperbnd"]);
    assert!(e.contains("unknown scheduler `hyperbnd`"), "{e}");
}

#[test]
fn workers_run_the_scheduler_stored_in_the_study_spec() {
    let env = Env::new();
    let space = env.write("space.toml", SPACE_X);
    let ck = env.path("ck").display().to_string();
    let out = env
        .hs()
        .args(["study", "create", "--study", "w", "--space", &space])
        .args([
            "--storage",
            &env.storage(),
            "--seed",
            "6",
            "--scheduler",
            "sha",
        ])
        .args(["--max-budget", "9", "--checkpoint-root", &ck])
        .args(["--", "sh", FIXTURE, "{x}", "{budget}"])
        .output()
        .unwrap();
    common::assert_success(&out, &["study", "create"]);
    // Two workers, one after the other: the second continues the first's bracket.
    env.ok(&["worker", "--study", "w", "--trials", "7"]);
    env.ok(&["worker", "--study", "w", "--trials", "6"]);
    let trials = env.trials("w");
    assert_eq!(trials.len(), 13);
    let count = |b: u64| trials.iter().filter(|t| u(t, "budget") == Some(b)).count();
    assert_eq!((count(1), count(3), count(9)), (9, 3, 1));
    check_resumes(&env, &trials);
    // A pruner and a scheduler together are refused at creation.
    let out = env
        .hs()
        .args(["study", "create", "--study", "w2", "--space", &space])
        .args([
            "--storage",
            &env.storage(),
            "--scheduler",
            "asha",
            "--pruner",
            "median",
        ])
        .args(["--", "true"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be combined"));
}

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
    let e = run(&["--bohb-density", "kde"]);
    assert!(e.contains("--bohb-density is a scheduler setting"), "{e}");
    let e = run(&["--scheduler", "bohb", "--bohb-density", "gauss"]);
    assert!(e.contains("`parzen` or `kde`, not `gauss`"), "{e}");
    let e = run(&["--scheduler", "hyperband", "--bohb-density", "kde"]);
    assert!(
        e.contains("`--bohb-density` does not apply to the hyperband"),
        "{e}"
    );
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

/// The end-to-end path of the docs: `hyperscape run --scheduler hyperband` driving
/// `hyperscape train` itself as the external command, with its checkpoint protocol.
#[test]
fn hyperband_drives_hyperscape_train_and_promotions_resume_from_the_parents_checkpoint() {
    let env = Env::new();
    let space = env.write(
        "space.toml",
        "[params.learning_rate]\ntype = \"float\"\nlow = 0.01\nhigh = 0.3\nlog = true\n\
         [params.n_units]\ntype = \"int\"\nlow = 4\nhigh = 16\n",
    );
    let ck = env.path("ck").display().to_string();
    let bin = assert_cmd::cargo::cargo_bin("hyperscape");
    let bin = bin.to_str().unwrap();
    // The training command without its hyperparameters (`{..}` filled by `run`).
    let train: &[&str] = &[
        bin,
        "train",
        "--model",
        "mlp",
        "--dataset",
        "iris",
        "--threads",
        "1",
        "--metric",
        "cross_entropy",
    ];
    let mut args = vec![
        "run",
        "--study",
        "hb",
        "--space",
        &space,
        "--trials",
        "6",
        "--seed",
        "2",
        "--scheduler",
        "hyperband",
        "--min-budget",
        "1",
        "--max-budget",
        "3",
        "--eta",
        "3",
        "--checkpoint-root",
        &ck,
        "--",
    ];
    args.extend_from_slice(train);
    args.extend_from_slice(&[
        "--param",
        "learning_rate={learning_rate}",
        "--param",
        "n_units={n_units}",
        "--epochs",
        "{budget}",
        "--checkpoint-dir",
        "{checkpoint_dir}",
        "--resume-from",
        "{previous_budget}",
    ]);
    let out = env.ok(&args);
    assert!(out.contains("6 complete"), "{out}");
    let trials = env.trials("hb");
    // Ladder 1, 3 (eta 3): bracket 1 = 3 configurations at 1 epoch, the best promoted
    // to 3; bracket 0 = 2 configurations at 3 epochs.
    assert_eq!(trials.len(), 6);
    let at = |b: u64| -> Vec<&Value> {
        trials
            .iter()
            .filter(|t| u(t, "budget") == Some(b))
            .collect()
    };
    assert_eq!((at(1).len(), at(3).len()), (3, 3));
    let promoted: Vec<&Value> = trials.iter().filter(|t| !t["parent"].is_null()).collect();
    assert_eq!(promoted.len(), 1);
    let child = promoted[0];
    let parent = trials
        .iter()
        .find(|t| Some(u(t, "number").unwrap()) == u(child, "parent"))
        .unwrap();
    let value = |t: &Value| t["value"].as_f64().unwrap();
    let best_bottom = at(1)
        .into_iter()
        .min_by(|a, b| value(a).total_cmp(&value(b)))
        .unwrap();
    assert_eq!(
        parent["number"], best_bottom["number"],
        "the best is promoted"
    );
    assert_eq!(child["params"], parent["params"]);
    assert_eq!(
        (u(parent, "budget"), u(child, "previous_budget")),
        (Some(1), Some(1))
    );
    let steps = |t: &Value| -> Vec<u64> {
        let mut s: Vec<u64> = t["intermediate_values"]
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.parse().unwrap())
            .collect();
        s.sort_unstable();
        s
    };
    // The promotion trained only epochs 2 and 3, from the parent's checkpoint; the
    // others trained from scratch.
    assert_eq!(steps(child), [2, 3]);
    for t in &trials {
        assert_eq!(t["state"], "complete", "{t}");
        if t["parent"].is_null() {
            assert!(t["previous_budget"].is_null(), "{t}");
            assert_eq!(steps(t), (1..=u(t, "budget").unwrap()).collect::<Vec<_>>());
        }
    }
    // Each trial's checkpoint is its own, at its budget: the copy into the child left
    // the parent's at epoch 1.
    let epoch = |t: &Value| -> u64 {
        let dir = std::path::Path::new(t["checkpoint_dir"].as_str().unwrap());
        assert!(dir.starts_with(&ck), "{}", dir.display());
        let meta: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("network.json")).unwrap())
                .unwrap();
        meta["epoch"].as_u64().unwrap()
    };
    assert_eq!((epoch(parent), epoch(child)), (1, 3));
    // Resuming is exact: epochs 2 and 3 of the promotion are those of one uninterrupted
    // 3-epoch fit of the same configuration. Had it not loaded the parent's weights,
    // its 2 epochs from scratch would score differently.
    let param = |name: &str| format!("{name}={}", child["params"][name]);
    let direct = env
        .hs()
        .args(&train[1..])
        .args([
            "--param",
            &param("learning_rate"),
            "--param",
            &param("n_units"),
        ])
        .args(["--epochs", "3"])
        .env_remove("HYPERSCAPE_CHECKPOINT_DIR")
        .env_remove("HYPERSCAPE_PREVIOUS_BUDGET")
        .output()
        .unwrap();
    common::assert_success(&direct, &["train"]);
    let direct: Vec<(u64, f64)> = String::from_utf8_lossy(&direct.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("step").is_some())
        .map(|v| (v["step"].as_u64().unwrap(), v["value"].as_f64().unwrap()))
        .collect();
    assert_eq!(direct.len(), 3);
    let reported: Vec<(u64, f64)> = [2u64, 3]
        .iter()
        .map(|s| {
            (
                *s,
                child["intermediate_values"][s.to_string()]
                    .as_f64()
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(reported, direct[1..]);
    // The parent's one epoch is the first epoch of that fit too.
    assert_eq!(
        parent["intermediate_values"]["1"].as_f64(),
        Some(direct[0].1)
    );
}

#[test]
fn dehb_with_external_commands_keeps_hyperbands_rungs() {
    let env = Env::new();
    let space = env.write("space.toml", SPACE_X);
    let ck = env.path("ck").display().to_string();
    let out = env.ok(&[
        "run",
        "--study",
        "dehb",
        "--space",
        &space,
        "--trials",
        "44",
        "--seed",
        "8",
        "--scheduler",
        "dehb",
        "--min-budget",
        "1",
        "--max-budget",
        "9",
        "--eta",
        "3",
        "--mutation-factor",
        "0.7",
        "--crossover-prob",
        "0.9",
        "--checkpoint-root",
        &ck,
        "--",
        "sh",
        FIXTURE,
        "{x}",
        "{budget}",
    ]);
    assert!(out.contains("44 complete"), "{out}");
    let trials = env.trials("dehb");
    // Two Hyperband iterations of 1..9: (9@1, 3@3, 1@9), (5@3, 1@9), (3@9), twice.
    let count = |b: u64| trials.iter().filter(|t| u(t, "budget") == Some(b)).count();
    assert_eq!((count(1), count(3), count(9)), (18, 16, 10));
    // Promotions (resumed) only in the first iteration; then DE's new configurations
    // train from scratch (the fixture checks the checkpoint it finds).
    let promoted: Vec<u64> = trials
        .iter()
        .filter(|t| !t["parent"].is_null())
        .map(|t| u(t, "number").unwrap())
        .collect();
    assert_eq!(promoted.len(), 3 + 1 + 1);
    assert!(promoted.iter().all(|n| *n < 22), "{promoted:?}");
    check_resumes(&env, &trials);
    // DE explores: the second iteration's configurations are new ones.
    let first: std::collections::BTreeSet<String> = trials[..22]
        .iter()
        .map(|t| t["params"].to_string())
        .collect();
    assert!(trials[22..]
        .iter()
        .any(|t| !first.contains(&t["params"].to_string())));
    // Resuming with another F is refused, naming the flag and both values; with the
    // same settings (the seed left out: the stored one is used) the study goes on.
    let storage = env.storage();
    let resume = |f: &str, trials: &str, seed: Option<&str>| {
        let mut args = vec![
            "run",
            "--storage",
            &storage,
            "--study",
            "dehb",
            "--space",
            &space,
            "--trials",
            trials,
            "--scheduler",
            "dehb",
            "--min-budget",
            "1",
            "--max-budget",
            "9",
            "--eta",
            "3",
            "--mutation-factor",
            f,
            "--crossover-prob",
            "0.9",
            "--checkpoint-root",
            &ck,
        ];
        if let Some(s) = seed {
            args.extend(["--seed", s]);
        }
        args.extend(["--", "sh", FIXTURE, "{x}", "{budget}"]);
        env.hs().args(&args).output().unwrap()
    };
    let e = resume("0.5", "2", Some("8"));
    assert!(!e.status.success());
    let e = String::from_utf8_lossy(&e.stderr);
    assert!(
        e.contains("dehb with `--mutation-factor` 0.7, this run uses 0.5"),
        "{e}"
    );
    assert_eq!(env.trials("dehb").len(), 44);
    let out = resume("0.7", "4", None);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(env.trials("dehb").len(), 48);
    // DEHB settings are DEHB's only.
    let e = env
        .hs()
        .args([
            "run",
            "--storage",
            &env.storage(),
            "--study",
            "x",
            "--space",
            &space,
        ])
        .args([
            "--trials",
            "1",
            "--scheduler",
            "bohb",
            "--crossover-prob",
            "0.5",
            "--",
            "true",
        ])
        .output()
        .unwrap();
    assert!(!e.status.success());
    let e = String::from_utf8_lossy(&e.stderr);
    assert!(
        e.contains("`--crossover-prob` does not apply to the bohb"),
        "{e}"
    );
}

//! `hyperscape tune` end to end, with real models (knn, svm) on built-in datasets.

mod common;

use common::Env;
use serde_json::Value;

/// The binary is built with the classic models and the built-in datasets: a test that
/// needs them fails, rather than skips, when they are missing.
fn require(model: &str, dataset: &str) {
    assert!(
        hyperscape_ml::model_by_name(model).is_ok(),
        "model `{model}` is not in this build"
    );
    assert!(
        hyperscape_ml::data::catalog()
            .iter()
            .any(|d| d.name == dataset && d.installed),
        "dataset `{dataset}` is not installed"
    );
}

/// `hyperscape tune ... --format json` as JSON, asserting success.
fn tune_json(env: &Env, args: &[&str]) -> Value {
    let mut all = vec!["tune"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let text = env.ok(&all);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not one JSON object ({e}):\n{text}"))
}

fn accuracy(v: &Value, part: &str) -> f64 {
    v[part]["accuracy"]
        .as_f64()
        .unwrap_or_else(|| panic!("{part}.accuracy missing in {v}"))
}

#[test]
fn knn_on_iris_end_to_end_and_resumed() {
    require("knn", "iris");
    let env = Env::new();
    let args = [
        "--model",
        "knn",
        "--dataset",
        "iris",
        "--trials",
        "8",
        "--seed",
        "1",
    ];
    let first = tune_json(&env, &args);
    for key in [
        "best_params",
        "validation",
        "test",
        "n_trials",
        "study",
        "wall_seconds",
    ] {
        assert!(first.get(key).is_some(), "key {key} missing in {first}");
    }
    assert_eq!(first["study"], "tune-knn-iris");
    assert_eq!(first["n_trials"], 8);
    assert!(first["best_params"]
        .as_object()
        .is_some_and(|p| !p.is_empty()));
    assert!(accuracy(&first, "validation") > 0.85, "{first}");
    assert!(accuracy(&first, "test") > 0.85, "{first}");
    assert_eq!(first["n_test"], 30, "20 % of 150 iris samples held out");

    // The same command again adds 8 trials to the same study, on the same splits.
    let second = tune_json(&env, &args);
    assert_eq!(second["n_trials"], 16);
    assert_eq!(second["n_test"], 30);
    assert!(accuracy(&second, "validation") >= accuracy(&first, "validation"));
    let trials = env.trials("tune-knn-iris");
    assert_eq!(trials.len(), 16);
    assert!(trials
        .iter()
        .filter(|t| t["state"] == "complete")
        .all(|t| t["user_attrs"]["validation"]["accuracy"].is_number()));

    // Seeded: a fresh storage with the same seed gives the same study and test score.
    let other = Env::new();
    let again = tune_json(&other, &args);
    assert_eq!(again["best_params"], first["best_params"]);
    assert_eq!(again["validation"], first["validation"]);
    assert_eq!(again["test"], first["test"]);

    // Another seed would change the test set: refused.
    let out = env
        .hs()
        .args(["tune", "--storage", &env.storage()])
        .args(&args[..6])
        .args(["--seed", "2"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("seed: 1 in the study, 2 now"), "{err}");

    // The table names the best configuration and both scores.
    let text = env.ok(&[
        "tune",
        "--model",
        "knn",
        "--dataset",
        "iris",
        "--trials",
        "1",
    ]);
    for want in [
        "best params:",
        "validation",
        "test",
        "accuracy",
        "30 test samples",
    ] {
        assert!(text.contains(want), "`{want}` missing in:\n{text}");
    }
}

#[test]
fn svm_on_breast_cancer_with_cross_validation() {
    let dataset = "breast_cancer";
    require("svm", dataset);
    let env = Env::new();
    let v = tune_json(
        &env,
        &[
            "--model",
            "svm",
            "--dataset",
            dataset,
            "--trials",
            "6",
            "--cv",
            "3",
        ],
    );
    assert_eq!(v["cv"], 3);
    assert!(accuracy(&v, "validation") > 0.9, "{v}");
    assert!(accuracy(&v, "test") > 0.9, "{v}");
    let trials = env.trials(&format!("tune-svm-{dataset}"));
    let complete: Vec<_> = trials.iter().filter(|t| t["state"] == "complete").collect();
    assert!(!complete.is_empty());
    for t in complete {
        assert_eq!(
            t["user_attrs"]["cv_folds"].as_array().map(Vec::len),
            Some(3)
        );
    }
}

#[test]
fn a_space_name_the_model_does_not_know_is_a_clear_error() {
    require("knn", "iris");
    let env = Env::new();
    let space = env.write(
        "space.toml",
        "[params.kk]\ntype = \"int\"\nlow = 1\nhigh = 10\n",
    );
    let out = env
        .hs()
        .args([
            "tune",
            "--storage",
            &env.storage(),
            "--model",
            "knn",
            "--dataset",
            "iris",
        ])
        .args(["--space", &space, "--trials", "5"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`kk`") && err.contains("knn"), "{err}");
}

#[test]
fn unknown_models_and_datasets_name_the_known_ones() {
    let env = Env::new();
    let out = env
        .hs()
        .args(["tune", "--model", "no-such-model", "--dataset", "iris"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-model"), "{err}");
    for m in hyperscape_ml::MODELS {
        assert!(err.contains(m), "{err} should list {m}");
    }

    let out = env
        .hs()
        .args(["tune", "--model", "knn", "--dataset", "no-such-data"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no-such-data") && err.contains("unknown dataset"),
        "{err}"
    );
    for d in hyperscape_ml::data::catalog() {
        assert!(err.contains(d.name), "{err} should list {}", d.name);
    }
    // Nothing was created.
    assert!(!env.path("hyperscape.db").exists());
}

#[test]
fn bad_flags_are_clear_errors() {
    let env = Env::new();
    let cases: &[(&[&str], &str)] = &[
        (&["--dataset", "iris", "--cv", "1"], "--cv"),
        (&["--dataset", "iris", "--trials", "0"], "--trials"),
        (
            &["--dataset", "iris", "--valid-fraction", "1.5"],
            "--valid-fraction",
        ),
        (&["--dataset", "iris", "--pruner", "bogus"], "bogus"),
        (&["--dataset", "iris", "--label", "y"], "--label"),
        (
            &["--dataset", "iris", "--categorical", "a,b"],
            "--categorical",
        ),
        (&["--dataset", "missing/file.csv"], "missing/file.csv"),
    ];
    for (args, want) in cases {
        let out = env
            .hs()
            .args(["tune", "--model", "knn"])
            .args(*args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

#[test]
fn help_has_examples() {
    let out = Env::new().hs().args(["tune", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "--model",
        "--dataset",
        "--cv",
        "--pruner",
        "Examples:",
        "never",
    ] {
        assert!(text.contains(want), "`{want}` missing in:\n{text}");
    }
}

/// 200 rows `x0,x1,y`: y is `hi` when x0 + x1 > 1 (x uniform in [0, 1) from a fixed LCG).
fn separable_csv() -> String {
    let mut state: u64 = 7;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut text = String::from("id,x0,x1,y\n");
    for i in 0..200 {
        let (a, b) = (next(), next());
        let y = if a + b > 1.0 { "hi" } else { "lo" };
        text.push_str(&format!("{i},{a:.4},{b:.4},{y}\n"));
    }
    text
}

#[test]
fn a_csv_file_with_its_label_column() {
    require("knn", "iris");
    let env = Env::new();
    let file = env.write("points.csv", &separable_csv());
    let v = tune_json(
        &env,
        &[
            "--model",
            "knn",
            "--dataset",
            &file,
            "--label",
            "y",
            "--ignore",
            "id",
            "--trials",
            "4",
        ],
    );
    assert_eq!(v["study"], "tune-knn-points");
    assert_eq!(v["n_test"], 40);
    assert!(accuracy(&v, "test") > 0.85, "{v}");

    // A malformed file: the error names the file and the line.
    let bad = env.write("bad.csv", "x0,x1,y\n0.1,0.2,lo\n0.3,hi\n");
    let out = env
        .hs()
        .args(["tune", "--storage", &env.storage(), "--model", "knn"])
        .args(["--dataset", &bad, "--label", "y"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.csv:3"), "{err}");
}

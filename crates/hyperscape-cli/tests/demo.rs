//! `hyperscape demo`: by default an SVM tuned on the bundled breast-cancer data (through
//! `tune`), with `--branin` the synthetic Branin study.

mod common;

use common::*;

/// The value of `metric` in `column` (0 = validation, 1 = test) of tune's metric table.
fn metric(text: &str, metric: &str, column: usize) -> f64 {
    text.lines()
        .find_map(|l| {
            let mut words = l.split_whitespace();
            (words.next() == Some(metric)).then(|| words.nth(column)?.parse().ok())?
        })
        .unwrap_or_else(|| panic!("no {metric} row in {text}"))
}

#[test]
fn demo_tunes_an_svm_on_bundled_data_and_reports_the_held_out_test() {
    let env = Env::new();
    let out = env
        .hs()
        .args([
            "demo",
            "--storage",
            "memory:",
            "--trials",
            "12",
            "--seed",
            "1",
        ])
        .output()
        .unwrap();
    assert_success(&out, &["demo"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("svm on breast_cancer"), "{text}");
    assert!(text.contains("113 test samples held out"), "{text}");
    // A majority-class guess scores about 0.63 on breast cancer.
    let (validation, test) = (metric(&text, "accuracy", 0), metric(&text, "accuracy", 1));
    assert!(validation > 0.9 && test > 0.9, "{text}");
    assert!(
        text.contains("This was `hyperscape tune --model svm --dataset breast_cancer"),
        "{text}"
    );
}

#[test]
#[cfg_attr(not(feature = "sqlite"), ignore = "needs the SQLite storage")]
fn demo_works_with_no_arguments_and_resumes() {
    let env = Env::new();
    let out = env.hs().arg("demo").output().unwrap();
    assert_success(&out, &["demo"]);
    assert!(
        env.path("hyperscape.db").exists(),
        "default storage ./hyperscape.db"
    );
    let count = |env: &Env| {
        let out = env
            .hs()
            .args(["trials", "--study", "demo", "--format", "json"])
            .output()
            .unwrap();
        assert_success(&out, &["trials"]);
        let trials: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        trials.as_array().unwrap().len()
    };
    assert_eq!(count(&env), 40);
    // Like Optuna's n_trials: a second run adds trials to the same study.
    let out = env.hs().args(["demo", "--trials", "3"]).output().unwrap();
    assert_success(&out, &["demo", "--trials", "3"]);
    assert_eq!(count(&env), 43);
}

#[test]
fn branin_demo_on_memory_storage_approaches_the_optimum() {
    let env = Env::new();
    let out = env
        .hs()
        .args([
            "demo",
            "--branin",
            "--storage",
            "memory:",
            "--trials",
            "60",
            "--seed",
            "2",
            "--jobs",
            "2",
        ])
        .output()
        .unwrap();
    assert_success(&out, &["demo", "--branin"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("known optimum: 0.397887"), "{text}");
    let best: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("best value: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no best value in {text}"));
    assert!((0.3978..5.0).contains(&best), "{best}");
}

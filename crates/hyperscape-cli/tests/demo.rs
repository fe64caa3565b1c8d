//! `hyperscape demo`.

mod common;

use common::*;

#[test]
fn demo_on_memory_storage_approaches_the_branin_optimum() {
    let env = Env::new();
    let out = env
        .hs()
        .args([
            "demo",
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
    assert_success(&out, &["demo"]);
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

#[test]
#[cfg_attr(not(feature = "sqlite"), ignore = "needs the SQLite storage")]
fn demo_works_with_no_arguments() {
    let env = Env::new();
    let out = env.hs().arg("demo").output().unwrap();
    assert_success(&out, &["demo"]);
    assert!(
        env.path("hyperscape.db").exists(),
        "default storage ./hyperscape.db"
    );
    let out = env
        .hs()
        .args(["trials", "--study", "branin-demo", "--format", "json"])
        .output()
        .unwrap();
    assert_success(&out, &["trials"]);
    let trials: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(trials.as_array().unwrap().len(), 200);
}

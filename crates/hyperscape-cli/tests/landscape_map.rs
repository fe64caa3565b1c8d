//! `hyperscape landscape map`, end to end: a tiny KNN map on iris is written as a CSV
//! that `landscape analyze` reads, a second invocation evaluates nothing new, and a bad
//! grid file fails naming the file.

mod common;

use common::*;

fn map(env: &Env, grid: &str, out: &str) -> std::process::Output {
    env.hs()
        .args(["landscape", "map", "--model", "knn", "--dataset", "iris"])
        .args(["--grid", grid, "--fidelity", "train_fraction=0.5,1"])
        .args(["--storage", &env.storage(), "--out", out])
        .output()
        .unwrap()
}

#[test]
fn map_writes_an_analysable_csv_and_resumes_without_new_work() {
    let env = Env::new();
    let grid = env.write(
        "knn.toml",
        "k = [1, 5, 15]\nweights = [\"uniform\", \"distance\"]\n",
    );
    let out = map(&env, &grid, "map.csv");
    assert_success(&out, &["landscape", "map"]);
    let csv = std::fs::read_to_string(env.path("map.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    for col in [
        "k",
        "weights",
        "val_loss@train_fraction=1",
        "test_acc@train_fraction=0.5",
    ] {
        assert!(header.contains(&col), "no column {col} in {header:?}");
    }
    assert_eq!(lines.count(), 6, "one row per configuration:\n{csv}");
    let studies = env.ok(&["studies", "--format", "json"]);
    let list: serde_json::Value = serde_json::from_str(&studies).unwrap();
    let name = list[0]["name"].as_str().unwrap().to_string();
    // 6 configurations × 2 fidelities × 1 seed.
    assert_eq!(env.trials(&name).len(), 12);

    // Again: the map is complete, so nothing is evaluated and the CSV is rewritten.
    assert_success(&map(&env, &grid, "again.csv"), &["landscape", "map"]);
    assert_eq!(env.trials(&name).len(), 12);
    assert_eq!(std::fs::read_to_string(env.path("again.csv")).unwrap(), csv);

    let report = env
        .hs()
        .args(["landscape", "analyze", "map.csv"])
        .args(["--fitness", "val_acc@train_fraction=1", "--maximize"])
        .args([
            "--params",
            "k,weights",
            "--categorical",
            "weights",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_success(&report, &["landscape", "analyze"]);
    let r: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(r["n_configs"], 6);
}

#[test]
fn a_bad_grid_file_is_refused_naming_the_file() {
    let env = Env::new();
    let grid = env.write("bad.toml", "k = []\n");
    let out = map(&env, &grid, "map.csv");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml") && err.contains('k'), "{err}");
    assert!(!env.path("map.csv").exists());
}

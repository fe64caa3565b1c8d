//! `hyperscape landscape analyze | compare`.

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;

fn hs() -> Command {
    Command::cargo_bin("hyperscape").unwrap()
}

fn grid_csv(dir: &tempfile::TempDir) -> PathBuf {
    let p = dir.path().join("grid.csv");
    let mut s = String::from(",lr,depth,booster,acc,acc_train\n");
    let mut row = 0;
    for lr in ["0.01", "0.1", "0.3"] {
        for depth in 1..=4 {
            for booster in ["gbtree", "dart"] {
                let x: f64 = lr.parse().unwrap();
                let acc = 0.9 - (x - 0.1).abs() - 0.01 * (depth as f64 - 3.0).powi(2)
                    + if booster == "dart" { 0.005 } else { 0.0 };
                let train = acc + 0.02 * depth as f64;
                s.push_str(&format!("{row},{lr},{depth},{booster},{acc},{train}\n"));
                row += 1;
            }
        }
    }
    std::fs::write(&p, s).unwrap();
    p
}

#[test]
fn analyze_json_has_the_report_keys() {
    let dir = tempfile::tempdir().unwrap();
    let csv = grid_csv(&dir);
    let out = hs()
        .args(["landscape", "analyze"])
        .arg(&csv)
        .args([
            "--fitness",
            "acc",
            "--maximize",
            "--params",
            "lr,depth,booster",
            "--categorical",
            "booster",
            "--epsilon",
            "1%",
            "--walks",
            "20",
            "--walk-length",
            "10",
            "--seed",
            "3",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for k in [
        "n_configs",
        "n_improving_edges",
        "n_local_optima",
        "global_optima",
        "fdc",
        "neutrality",
        "autocorrelation",
        "basins",
    ] {
        assert!(v.get(k).is_some(), "missing key {k}: {v}");
    }
    assert_eq!(v["n_configs"], 24);
    assert_eq!(v["n_local_optima"], 1);
    assert_eq!(v["global_optima"][0]["params"]["lr"], 0.1);
    assert_eq!(v["global_optima"][0]["params"]["depth"], 3);
    assert_eq!(v["global_optima"][0]["params"]["booster"], "dart");
    assert_eq!(v["autocorrelation"]["walks"], 20);
}

#[test]
fn analyze_table_and_inferred_params() {
    let dir = tempfile::tempdir().unwrap();
    let csv = grid_csv(&dir);
    // Without --params: every column except the index, the measures and columns
    // with > 64 distinct values; the non-numeric booster column needs --categorical.
    hs().args(["landscape", "analyze"])
        .arg(&csv)
        .args(["--fitness", "acc", "--maximize"])
        .assert()
        .failure()
        .stderr(contains("ordinal parameter `booster`"));
    hs().args(["landscape", "analyze"])
        .arg(&csv)
        .args([
            "--fitness",
            "acc",
            "--maximize",
            "--params",
            "lr,depth,booster",
        ])
        .assert()
        .failure()
        .stderr(contains("--categorical booster"));
    hs().args(["landscape", "analyze"])
        .arg(&csv)
        .args(["--fitness", "acc", "--maximize", "--params", "lr,depth"])
        .assert()
        .failure()
        .stderr(contains("duplicate configuration"));
    hs().args(["landscape", "analyze"])
        .arg(&csv)
        .args([
            "--fitness",
            "acc",
            "--maximize",
            "--params",
            "lr,depth",
            "--aggregate-duplicates",
        ])
        .assert()
        .success()
        .stdout(contains("local optima"))
        .stdout(contains("FDC"));
}

#[test]
fn missing_columns_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let csv = grid_csv(&dir);
    hs().args(["landscape", "analyze"])
        .arg(&csv)
        .args(["--fitness", "acc", "--params", "lr,gamma,eta"])
        .assert()
        .code(1)
        .stderr(contains("`gamma`, `eta` not found"));
    hs().args(["landscape", "analyze"])
        .arg(&csv)
        .args(["--fitness", "acc", "--params", "gamma,eta"])
        .assert()
        .code(1)
        .stderr(contains("none of the parameter columns `gamma`, `eta`"));
    hs().args(["landscape", "analyze"])
        .arg(&csv)
        .args(["--fitness", "accuracy", "--params", "lr"])
        .assert()
        .code(1)
        .stderr(contains("column `accuracy` not found"));
}

#[test]
fn compare_columns_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let csv = grid_csv(&dir);
    let common = [
        "--maximize",
        "--params",
        "lr,depth,booster",
        "--categorical",
        "booster",
        "--format",
        "json",
    ];
    let out = hs()
        .args(["landscape", "compare"])
        .arg(&csv)
        .args(["--fitness", "acc", "--against", "acc_train"])
        .args(common)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["n_shared"], 24);
    assert!(v["kendall_tau_b"].as_f64().unwrap() < 1.0);
    assert!(v["gamma_sets"].as_array().unwrap().len() >= 3);
    // The same column in a second file: identical rankings.
    let out = hs()
        .args(["landscape", "compare"])
        .arg(&csv)
        .args(["--fitness", "acc", "--against", "acc"])
        .arg(&csv)
        .args(common)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kendall_tau_b"], 1.0);
    assert_eq!(v["spearman"], 1.0);
}

#[cfg(feature = "plot")]
#[test]
fn plot_writes_each_kind_and_rejects_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let csv = grid_csv(&dir);
    let base = |kind: &str, out: &str| {
        let mut c = hs();
        c.args(["landscape", "plot"])
            .arg(&csv)
            .args(["--fitness", "acc", "--maximize", "--categorical", "booster"])
            .args(["--kind", kind, "--out"])
            .arg(dir.path().join(out));
        c
    };
    base("fdc", "f.svg").assert().success();
    let s = std::fs::read_to_string(dir.path().join("f.svg")).unwrap();
    assert!(s.starts_with("<svg"));
    assert_eq!(s.matches("<circle").count(), 24);
    base("marginals", "m.png").assert().success();
    let png = std::fs::read(dir.path().join("m.png")).unwrap();
    assert_eq!(&png[..4], b"\x89PNG");
    base("interactions", "i.html")
        .args(["--pair", "lr,depth"])
        .assert()
        .success();
    base("interactions", "i.svg")
        .assert()
        .failure()
        .stderr(contains("needs --pair"));
    base("interactions", "i.svg")
        .args(["--pair", "lr,depth,booster"])
        .assert()
        .failure()
        .stderr(contains("exactly two"));
    base("interactions", "i.svg")
        .args(["--pair", "lr,nope"])
        .assert()
        .failure()
        .stderr(contains("`nope`"));
    base("nope", "x.svg")
        .assert()
        .failure()
        .stderr(contains("invalid value 'nope'"));
    base("fdc", "x.jpg")
        .assert()
        .failure()
        .stderr(contains("unknown output format"));
    hs().args(["landscape", "plot"])
        .arg(&csv)
        .args(["--fitness", "missing", "--kind", "fdc", "--out"])
        .arg(dir.path().join("y.svg"))
        .assert()
        .failure()
        .stderr(contains("`missing`"));
}

#[cfg(feature = "plot")]
#[test]
fn plot_lon_embedding_and_similarity() {
    let dir = tempfile::tempdir().unwrap();
    let csv = grid_csv(&dir);
    let run = |args: &[&str], out: &str| {
        let mut c = hs();
        c.args(["landscape", "plot"])
            .arg(&csv)
            .args(["--maximize", "--categorical", "booster"])
            .args(["--params", "lr,depth,booster"])
            .args(args)
            .arg("--out")
            .arg(dir.path().join(out));
        c
    };
    run(
        &["--fitness", "acc", "--kind", "lon", "--seed", "2"],
        "l.svg",
    )
    .assert()
    .success();
    let s = std::fs::read_to_string(dir.path().join("l.svg")).unwrap();
    assert!(s.contains("Local optima network:"));
    run(&["--fitness", "acc", "--kind", "embedding"], "e.html")
        .assert()
        .success();
    let s = std::fs::read_to_string(dir.path().join("e.html")).unwrap();
    assert!(
        s.contains("<th>configurations drawn</th><td>24 of 24</td>"),
        "{s}"
    );
    // Two measure columns of one file: a 2 x 2 matrix; acc_train = acc + 0.02 depth
    // is not a monotone transform, so the off-diagonal is below 1.
    run(
        &[
            "--fitness",
            "acc",
            "--against",
            "acc_train",
            "--kind",
            "similarity",
        ],
        "s.html",
    )
    .assert()
    .success();
    let s = std::fs::read_to_string(dir.path().join("s.html")).unwrap();
    assert!(s.contains("<th>acc vs acc_train</th>"), "{s}");
    // Several files: labels are the file stems.
    let other = dir.path().join("other.csv");
    std::fs::copy(&csv, &other).unwrap();
    hs().args(["landscape", "plot"])
        .arg(&csv)
        .arg(&other)
        .args(["--fitness", "acc", "--maximize", "--categorical", "booster"])
        .args(["--params", "lr,depth,booster"])
        .args([
            "--kind",
            "similarity",
            "--similarity",
            "gamma",
            "--gamma",
            "0.25",
        ])
        .arg("--out")
        .arg(dir.path().join("f.html"))
        .assert()
        .success();
    let s = std::fs::read_to_string(dir.path().join("f.html")).unwrap();
    assert!(
        s.contains("<th>grid vs other</th><td>1.00 (24 shared configurations)</td>"),
        "{s}"
    );
    assert!(s.contains("top-25% IoU"));
}

#[cfg(feature = "plot")]
#[test]
fn plot_errors_for_the_new_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let csv = grid_csv(&dir);
    let out = dir.path().join("x.svg");
    let base = || {
        let mut c = hs();
        c.args(["landscape", "plot"]).arg(&csv).args([
            "--fitness",
            "acc",
            "--maximize",
            "--categorical",
            "booster",
        ]);
        c
    };
    base()
        .args(["--kind", "similarity", "--out"])
        .arg(&out)
        .assert()
        .failure()
        .stderr(contains("at least two landscapes"));
    base()
        .arg(&csv)
        .args(["--kind", "lon", "--out"])
        .arg(&out)
        .assert()
        .failure()
        .stderr(contains("plots one file, got 2"));
    base()
        .args(["--kind", "similarity", "--against", "acc_train"])
        .args(["--similarity", "gamma", "--gamma", "2", "--out"])
        .arg(&out)
        .assert()
        .failure()
        .stderr(contains("--gamma must lie in (0, 1]"));
    base()
        .args(["--kind", "lon", "--max-nodes", "0", "--out"])
        .arg(&out)
        .assert()
        .failure()
        .stderr(contains("--max-nodes"));
    base()
        .args(["--kind", "embeding", "--out"])
        .arg(&out)
        .assert()
        .failure()
        .stderr(contains("invalid value 'embeding'"));
    // Non-shared grids: different parameters.
    let other = dir.path().join("other.csv");
    std::fs::write(
        &other,
        "lr,booster,acc\n0.01,gbtree,0.5\n0.1,gbtree,0.7\n0.1,dart,0.6\n",
    )
    .unwrap();
    hs().args(["landscape", "plot"])
        .arg(&csv)
        .arg(&other)
        .args(["--fitness", "acc", "--maximize", "--categorical", "booster"])
        .args(["--kind", "similarity", "--out"])
        .arg(&out)
        .assert()
        .failure()
        .stderr(contains("`grid` vs `other`").and(contains("different parameters")));
}

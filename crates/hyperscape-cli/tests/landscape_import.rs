//! `hyperscape landscape import` and `.arrow` landscape files in `analyze`,
//! `compare` and `plot`.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;

fn hs() -> Command {
    Command::cargo_bin("hyperscape").unwrap()
}

fn grid_csv(dir: &Path) -> PathBuf {
    let p = dir.join("grid.csv");
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

fn import(src: &Path, out: &Path, extra: &[&str]) {
    hs().args(["landscape", "import"])
        .arg(src)
        .arg("--out")
        .arg(out)
        .args(extra)
        .assert()
        .success()
        .stdout(contains("wrote"));
}

fn stdout(cmd: &mut Command) -> String {
    let out = cmd.assert().success().get_output().stdout.clone();
    String::from_utf8(out).unwrap()
}

#[test]
fn analyze_and_compare_of_the_arrow_file_equal_the_csv() {
    let dir = tempfile::tempdir().unwrap();
    let csv = grid_csv(dir.path());
    // Any extension: the file is recognised by its magic bytes.
    let arrow = dir.path().join("grid.landscape");
    import(
        &csv,
        &arrow,
        &["--categorical", "booster", "--measures", "acc,acc_train"],
    );
    let args = [
        "--fitness",
        "acc",
        "--maximize",
        "--params",
        "lr,depth,booster",
        "--categorical",
        "booster",
        "--format",
        "json",
    ];
    let run = |file: &Path, sub: &str, more: &[&str]| {
        stdout(
            hs().args(["landscape", sub])
                .arg(file)
                .args(args)
                .args(more),
        )
    };
    let a = run(&csv, "analyze", &["--lon", "5"]);
    let b = run(&arrow, "analyze", &["--lon", "5"]);
    assert!(a.contains("\"n_configs\": 24"), "{a}");
    assert!(
        a.contains("\"forest_fanova\"") && a.contains("\"ped_anova\""),
        "{a}"
    );
    assert_eq!(a, b);
    let a = run(&csv, "compare", &["--against", "acc_train"]);
    let b = run(&arrow, "compare", &["--against", "acc_train"]);
    assert!(a.contains("spearman"));
    assert_eq!(a, b);
    // Two files: the CSV against its own Arrow copy is a perfect match.
    let s = stdout(
        hs().args(["landscape", "compare"])
            .arg(&csv)
            .args(args)
            .args(["--against", "acc"])
            .arg(&arrow),
    );
    let v: serde_json::Value = serde_json::from_str(&s).unwrap();
    assert_eq!(v["n_shared"], 24);
    assert_eq!(v["spearman"], 1.0);
}

#[test]
fn import_without_options_infers_columns_and_the_file_keeps_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("t.csv");
    let mut s = String::from("a,b,c,y\n");
    for i in 0..200 {
        s.push_str(&format!(
            "{},{},{},{}\n",
            i % 10,
            i / 10 % 10,
            i / 100,
            (i * 7 % 200) as f64 / 3.0
        ));
    }
    std::fs::write(&csv, s).unwrap();
    let arrow = dir.path().join("t.arrow");
    let out = stdout(
        hs().args(["landscape", "import"])
            .arg(&csv)
            .arg("--out")
            .arg(&arrow)
            .args(["--categorical", "c"]),
    );
    assert!(out.contains("200 rows"), "{out}");
    assert!(
        out.contains("a (ordinal), b (ordinal), c (categorical)"),
        "{out}"
    );
    assert!(out.contains("measures    y"), "{out}");
    // `c` stays categorical without --categorical: the kind is in the file.
    let j = stdout(hs().args(["landscape", "analyze"]).arg(&arrow).args([
        "--fitness",
        "y",
        "--format",
        "json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&j).unwrap();
    assert_eq!(v["params"][2]["kind"], "categorical");
    assert_eq!(v["n_configs"], 200);
}

#[test]
fn clear_errors_name_the_file_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let csv = grid_csv(dir.path());
    let arrow = dir.path().join("g.arrow");
    import(
        &csv,
        &arrow,
        &["--categorical", "booster", "--params", "lr,depth,booster"],
    );
    // Missing source file.
    hs().args(["landscape", "import", "nope.csv", "--out"])
        .arg(dir.path().join("x.arrow"))
        .assert()
        .failure()
        .stderr(contains("nope.csv"));
    // Missing columns in the import.
    hs().args(["landscape", "import"])
        .arg(&csv)
        .args(["--params", "lr,width", "--out"])
        .arg(dir.path().join("x.arrow"))
        .assert()
        .failure()
        .stderr(contains("`width`").and(contains("grid.csv")));
    // Missing fitness / parameter columns in the Arrow file.
    hs().args(["landscape", "analyze"])
        .arg(&arrow)
        .args(["--fitness", "loss"])
        .assert()
        .failure()
        .stderr(contains("column `loss` not found in").and(contains("g.arrow")));
    hs().args(["landscape", "analyze"])
        .arg(&arrow)
        .args(["--fitness", "acc", "--params", "lr,width"])
        .assert()
        .failure()
        .stderr(contains("`width` not found").and(contains("g.arrow")));
    // A file with the magic bytes that is not an Arrow file.
    let bad = dir.path().join("bad.arrow");
    std::fs::write(&bad, b"ARROW1 but not really").unwrap();
    hs().args(["landscape", "analyze"])
        .arg(&bad)
        .args(["--fitness", "acc"])
        .assert()
        .failure()
        .stderr(contains("malformed Arrow file").and(contains("bad.arrow")));
    // Missing file.
    hs().args(["landscape", "analyze", "missing.arrow", "--fitness", "acc"])
        .assert()
        .failure()
        .stderr(contains("missing.arrow"));
}

#[cfg(feature = "plot")]
#[test]
fn plot_reads_arrow_files() {
    let dir = tempfile::tempdir().unwrap();
    let csv = grid_csv(dir.path());
    let arrow = dir.path().join("g.arrow");
    import(
        &csv,
        &arrow,
        &["--categorical", "booster", "--measures", "acc,acc_train"],
    );
    let out = dir.path().join("m.svg");
    let r = hs()
        .args(["landscape", "plot"])
        .arg(&arrow)
        .args([
            "--fitness",
            "acc",
            "--maximize",
            "--kind",
            "marginals",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    if !r.status.success() && err.contains("font") {
        println!("skipped: no font for plotting ({err})");
        return;
    }
    assert!(r.status.success(), "{err}");
    assert!(std::fs::read_to_string(&out).unwrap().contains("<svg"));
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn shared_xgboost_landscape_round_trips() {
    let src = repo().join("../shared/data/xgboost_landscape.csv");
    if !src.exists() {
        println!("skipped: {} not found", src.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let arrow = dir.path().join("x.arrow");
    import(&src, &arrow, &[]);
    let args = [
        "--fitness",
        "acc_test",
        "--maximize",
        "--params",
        "learning_rate,max_bin,max_depth,n_estimators,subsample",
        "--format",
        "json",
        "--walks",
        "20",
        "--forest-trees",
        "2",
        "--forest-samples",
        "2000",
    ];
    let a = stdout(hs().args(["landscape", "analyze"]).arg(&src).args(args));
    let b = stdout(hs().args(["landscape", "analyze"]).arg(&arrow).args(args));
    assert!(a.contains("\"n_configs\": 14960"));
    assert_eq!(a, b);
}

#[test]
fn hpo_tables_get_their_preset() {
    let root = repo().join(".datasets/hpo-tables");
    let cases = [
        (
            "hpolib/naval_propulsion.csv",
            "hpolib",
            "val_loss",
            "activation_fn_1 (categorical)",
        ),
        (
            "nasbench201/cifar10.csv",
            "nasbench201",
            "val_acc",
            "Op0 (categorical)",
        ),
        (
            "hpobench/australian.csv",
            "hpobench",
            "val_acc",
            "alpha (ordinal)",
        ),
    ];
    for (file, preset, fitness, param) in cases {
        let src = root.join(file);
        if !src.exists() {
            println!(
                "skipped: {} not found (run scripts/fetch-hpo-tables.sh)",
                src.display()
            );
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let arrow = dir.path().join("t.arrow");
        let out = stdout(
            hs().args(["landscape", "import"])
                .arg(&src)
                .arg("--out")
                .arg(&arrow),
        );
        assert!(out.contains(&format!("preset      {preset}")), "{out}");
        assert!(out.contains(param), "{out}");
        // The per-seed columns are kept next to the mean.
        assert!(out.contains(&format!("{fitness}@0")), "{out}");
        let a = stdout(hs().args(["landscape", "analyze"]).arg(&arrow).args([
            "--fitness",
            fitness,
            "--format",
            "json",
            "--walks",
            "10",
            "--forest-trees",
            "1",
            "--forest-samples",
            "500",
        ]));
        let v: serde_json::Value = serde_json::from_str(&a).unwrap();
        assert!(v["n_configs"].as_u64().unwrap() > 1000);
        assert_eq!(v["importance"]["ped_anova"].as_array().unwrap().len(), 3);
        assert_eq!(v["importance"]["forest_fanova"]["n_trees_used"], 1);
        // A seed column is a measure too.
        let seed = format!("{fitness}@1");
        hs().args(["landscape", "analyze"])
            .arg(&arrow)
            .args(["--fitness", &seed, "--walks", "10", "--forest-trees", "0"])
            .assert()
            .success();
    }
}

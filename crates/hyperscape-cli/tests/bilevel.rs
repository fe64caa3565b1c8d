//! `hyperscape bilevel` end to end on the built-in digits (small settings: seconds).

use assert_cmd::Command;

fn run(args: &[&str]) -> serde_json::Value {
    let out = Command::cargo_bin("hyperscape")
        .unwrap()
        .arg("bilevel")
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn gbho_on_digits_prints_the_documented_json() {
    let v = run(&[
        "--model",
        "logreg",
        "--dataset",
        "digits",
        "--subset",
        "300",
        "--hp",
        "shared-l2",
        "--outer",
        "1",
        "--max-epochs",
        "150",
        "--seed",
        "3",
        "--format",
        "json",
    ]);
    assert_eq!(v["lambda"].as_array().unwrap().len(), 1);
    for split in ["train", "validation", "test"] {
        let ce = v[split]["cross_entropy"].as_f64().unwrap();
        let acc = v[split]["accuracy"].as_f64().unwrap();
        assert!(ce.is_finite() && ce > 0.0, "{split}: {ce}");
        assert!(acc > 0.8, "{split}: accuracy {acc}");
    }
    assert!(v["wall_seconds"].as_f64().unwrap() > 0.0);
    assert!(v["epochs"].as_u64().unwrap() > 0);
    assert_eq!(v["trajectory"].as_array().unwrap().len(), 2);
    // Reproducible with the seed.
    let w = run(&[
        "--model",
        "logreg",
        "--dataset",
        "digits",
        "--subset",
        "300",
        "--hp",
        "shared-l2",
        "--outer",
        "1",
        "--max-epochs",
        "150",
        "--seed",
        "3",
        "--format",
        "json",
    ]);
    assert_eq!(v["lambda"], w["lambda"]);
    assert_eq!(v["test"], w["test"]);
}

#[test]
fn search_baseline_and_errors() {
    let v = run(&[
        "--model",
        "logreg",
        "--dataset",
        "digits",
        "--subset",
        "300",
        "--hp",
        "per-layer-l2",
        "--method",
        "random",
        "--trials",
        "2",
        "--max-epochs",
        "40",
        "--format",
        "json",
    ]);
    assert_eq!(v["method"], "random");
    assert_eq!(v["design"].as_array().unwrap().len(), 2);
    // A box of λ given on the command line bounds every λ tried.
    let b = run(&[
        "--model",
        "logreg",
        "--dataset",
        "digits",
        "--subset",
        "300",
        "--method",
        "random",
        "--trials",
        "3",
        "--max-epochs",
        "20",
        "--lambda-min",
        "2",
        "--lambda-max",
        "5",
        "--format",
        "json",
    ]);
    let design = b["design"].as_array().unwrap();
    assert_eq!(design.len(), 3);
    for point in design {
        for l in point[0].as_array().unwrap() {
            let l = l.as_f64().unwrap();
            assert!((2.0..=5.0).contains(&l), "λ {l} outside [2, 5]");
        }
    }
    Command::cargo_bin("hyperscape")
        .unwrap()
        .args([
            "bilevel",
            "--dataset",
            "digits",
            "--lambda-min",
            "1",
            "--lambda-max",
            "-1",
        ])
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "--lambda-min 1 and --lambda-max -1",
        ));
    Command::cargo_bin("hyperscape")
        .unwrap()
        .args(["bilevel", "--dataset", "no-such-set"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("no-such-set"));
    Command::cargo_bin("hyperscape")
        .unwrap()
        .args(["bilevel", "--dataset", "digits", "--subset", "5000"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("subset of 5000"));
}

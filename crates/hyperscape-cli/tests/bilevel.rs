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

#[test]
fn warm_local_retraining_is_chosen_on_the_command_line() {
    let args = |max_epochs: &'static str, warm: &'static str| {
        vec![
            "--model",
            "logreg",
            "--dataset",
            "digits",
            "--subset",
            "300",
            "--hp",
            "shared-l2",
            "--outer",
            "2",
            "--max-epochs",
            max_epochs,
            "--seed",
            "3",
            "--format",
            "json",
            "--warm-local",
            warm,
        ]
    };
    let epochs = |v: &serde_json::Value| -> Vec<u64> {
        v["trajectory"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["epochs"].as_u64().unwrap())
            .collect()
    };
    // Trainings that converge: the same design, then warm-started local retrainings
    // that cost fewer epochs than retraining from scratch.
    let (off, warm) = (run(&args("2000", "off")), run(&args("2000", "2")));
    let (e_off, e_warm) = (epochs(&off), epochs(&warm));
    assert_eq!(e_off[0], e_warm[0], "the design is shared");
    assert!(
        e_warm[2] < e_off[2],
        "warm-started local steps: {e_warm:?} epochs against {e_off:?} from scratch"
    );
    // Every training capped at 150 epochs: no yardstick, so no warm start.
    let (off, warm) = (run(&args("150", "off")), run(&args("150", "2")));
    assert_eq!(epochs(&off), epochs(&warm));
    assert_eq!(off["test"], warm["test"]);
    // A value out of range is named.
    Command::cargo_bin("hyperscape")
        .unwrap()
        .args(["bilevel", "--dataset", "digits", "--warm-local", "5"])
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "`5` is not `off` or a number of learning-rate cuts from 0 to 3",
        ));
}

/// `--study` keeps a search's trials in `--storage`: a second run resumes the spent
/// study, trains nothing and prints the same result; the trials are there for
/// `hyperscape trials`; GBHO takes no `--study`.
#[test]
fn a_search_kept_in_a_study_resumes_without_retraining() {
    let dir = tempfile::tempdir().unwrap();
    let storage = format!("sqlite:///{}", dir.path().join("b.db").display());
    let args = [
        "--model",
        "logreg",
        "--dataset",
        "digits",
        "--subset",
        "300",
        "--method",
        "grid",
        "--grid",
        "5",
        "--max-epochs",
        "30",
        "--study",
        "g3",
        "--storage",
        &storage,
        "--format",
        "json",
    ];
    let first = run(&args);
    // Logistic regression has one penalised layer: five λ.
    assert_eq!(first["design"].as_array().unwrap().len(), 5);
    let second = run(&args);
    assert_eq!(second["lambda"], first["lambda"]);
    assert_eq!(second["validation"], first["validation"]);
    assert_eq!(second["epochs"], first["epochs"]);
    let out = Command::cargo_bin("hyperscape")
        .unwrap()
        .args(["trials", "--study", "g3", "--storage", &storage])
        .args(["--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let trials: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let trials = trials.as_array().unwrap();
    assert_eq!(trials.len(), 5, "the second run trained no point again");
    assert!(
        trials.iter().all(|t| t["state"] == "complete"),
        "{trials:?}"
    );
    Command::cargo_bin("hyperscape")
        .unwrap()
        .args(["bilevel", "--dataset", "digits", "--subset", "300"])
        .args(["--study", "g", "--storage", &storage])
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "--method gbho runs in one process",
        ));
}

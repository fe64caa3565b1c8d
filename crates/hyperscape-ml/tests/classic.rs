//! The classical models (`svm`, `knn`, `rf`, `gbt`) on
//! small real datasets: they beat trivial baselines by a clear margin on held-out
//! rows, seeded fits are reproducible, fidelity settings apply, and bad
//! hyperparameters are typed errors naming the parameter.
#![cfg(feature = "classic")]

use std::collections::BTreeMap;

use hyperscape_core::{Distribution, ParamValue, SpaceDecl};
use hyperscape_ml::split::train_valid_test;
use hyperscape_ml::{
    evaluate, model_by_name, Dataset, Error, Fidelity, FitOptions, Params, Prediction, Target,
};

// ---------------------------------------------------------------------------------
// Data: smartcore's built-in copies of the scikit-learn toy datasets.

fn classes(name: &str, features: Vec<f32>, n_features: usize, labels: Vec<u32>) -> Dataset {
    let n_classes = *labels.iter().max().unwrap() as usize + 1;
    let names = (0..n_classes).map(|c| c.to_string()).collect();
    Dataset::new(
        name,
        features,
        n_features,
        Target::Classes {
            labels,
            n_classes,
            names,
        },
    )
    .unwrap()
}

fn iris() -> Dataset {
    let d = smartcore::dataset::iris::load_dataset();
    classes("iris", d.data, d.num_features, d.target)
}

fn breast_cancer() -> Dataset {
    let d = smartcore::dataset::breast_cancer::load_dataset();
    classes("breast_cancer", d.data, d.num_features, d.target)
}

/// The first 600 of the 1,797 8×8 digits: ten classes, 64 features.
fn digits_subset() -> Dataset {
    let d = smartcore::dataset::digits::load_dataset();
    let n = 600;
    let labels = d.target[..n].iter().map(|&y| y as u32).collect();
    classes(
        "digits",
        d.data[..n * d.num_features].to_vec(),
        d.num_features,
        labels,
    )
}

fn diabetes() -> Dataset {
    let d = smartcore::dataset::diabetes::load_dataset();
    let y = d.target.iter().map(|&v| v as f64).collect();
    Dataset::new("diabetes", d.data, d.num_features, Target::Values(y)).unwrap()
}

/// A seeded, stratified 75/25 train/test split.
fn holdout(data: &Dataset) -> (Dataset, Dataset) {
    let s = train_valid_test(data, 0.0, 0.25, 11).unwrap();
    (data.select(&s.train), data.select(&s.test))
}

/// The accuracy of always predicting the most frequent class of `train` on `test`.
fn majority_accuracy(train: &Dataset, test: &Dataset) -> f64 {
    let k = train.target.n_classes().unwrap();
    let mut counts = vec![0usize; k];
    for &l in train.target.labels().unwrap() {
        counts[l as usize] += 1;
    }
    let majority = (0..k).max_by_key(|&c| counts[c]).unwrap() as u32;
    let test_labels = test.target.labels().unwrap();
    test_labels.iter().filter(|&&l| l == majority).count() as f64 / test_labels.len() as f64
}

fn params(pairs: &[(&str, ParamValue)]) -> Params {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect::<BTreeMap<_, _>>()
}

fn fit_predict(model: &str, p: &Params, train: &Dataset, test: &Dataset, seed: u64) -> Prediction {
    let m = model_by_name(model).unwrap();
    let fitted = m.fit(p, train, FitOptions::seeded(seed)).unwrap();
    fitted.predict(test).unwrap()
}

fn accuracy(model: &str, p: &Params, data: &Dataset) -> (f64, f64) {
    let (train, test) = holdout(data);
    let pred = fit_predict(model, p, &train, &test, 1);
    let acc = evaluate(&pred, &test.target).unwrap()["accuracy"];
    (acc, majority_accuracy(&train, &test))
}

fn r2(model: &str, p: &Params, data: &Dataset) -> f64 {
    let (train, test) = holdout(data);
    let pred = fit_predict(model, p, &train, &test, 1);
    evaluate(&pred, &test.target).unwrap()["r2"]
}

fn assert_param_error(model: &str, p: Params, data: &Dataset, param: &str) {
    let m = model_by_name(model).unwrap();
    match m.fit(&p, data, FitOptions::seeded(0)) {
        Err(Error::Param {
            model: got_model,
            param: got,
            reason,
        }) => {
            assert_eq!(got_model, model);
            assert_eq!(got, param, "wrong parameter named ({reason})");
        }
        Err(e) => panic!("{model} with {p:?}: expected a Param error, got {e}"),
        Ok(_) => panic!("{model} with {p:?}: expected a Param error, got a model"),
    }
}

/// Two corner configurations of a declared space: every parameter at its low end (or
/// first choice), and every one at its high end (or last choice); conditional
/// parameters only where their condition holds.
fn corners(space: &SpaceDecl) -> Vec<Params> {
    [false, true]
        .iter()
        .map(|&high| {
            let mut p = Params::new();
            for decl in &space.params {
                if let Some(c) = &decl.condition {
                    if !c.holds(&p) {
                        continue;
                    }
                }
                let v = match &decl.distribution {
                    Distribution::Float { low, high: h, .. } => {
                        ParamValue::Float(if high { *h } else { *low })
                    }
                    Distribution::Int { low, high: h, .. } => {
                        ParamValue::Int(if high { *h } else { *low })
                    }
                    Distribution::Categorical { choices } => {
                        if high {
                            choices.last().unwrap().clone()
                        } else {
                            choices[0].clone()
                        }
                    }
                };
                p.insert(decl.name.clone(), v);
            }
            p
        })
        .collect()
}

// ---------------------------------------------------------------------------------
// SVM

#[test]
fn svm_beats_the_majority_class_on_breast_cancer_and_iris() {
    let (acc, base) = accuracy("svm", &Params::new(), &breast_cancer());
    assert!(
        acc >= 0.95 && acc > base + 0.25,
        "breast cancer: {acc} vs {base}"
    );
    // Three classes: one-vs-one.
    let (acc, base) = accuracy("svm", &params(&[("C", 10.0.into())]), &iris());
    assert!(acc >= 0.9 && acc > base + 0.5, "iris: {acc} vs {base}");
    let linear = params(&[("kernel", "linear".into()), ("C", 0.1.into())]);
    let (acc, _) = accuracy("svm", &linear, &breast_cancer());
    assert!(acc >= 0.94, "linear: {acc}");
    let poly = params(&[
        ("kernel", "poly".into()),
        ("degree", 2.into()),
        ("gamma", 0.05.into()),
    ]);
    let (acc, base) = accuracy("svm", &poly, &digits_subset());
    assert!(
        acc >= 0.9 && acc > base + 0.6,
        "poly digits: {acc} vs {base}"
    );
}

#[test]
fn svm_gamma_matters_and_scale_is_the_default() {
    let data = breast_cancer();
    let (train, test) = holdout(&data);
    let default = fit_predict("svm", &Params::new(), &train, &test, 0);
    let scale = fit_predict(
        "svm",
        &params(&[("gamma", "scale".into())]),
        &train,
        &test,
        0,
    );
    assert_eq!(default, scale);
    // An enormous gamma makes every training point its own island: no better than
    // the majority class on new rows.
    let wild = fit_predict("svm", &params(&[("gamma", 1e4.into())]), &train, &test, 0);
    let acc = evaluate(&wild, &test.target).unwrap()["accuracy"];
    assert!(acc < majority_accuracy(&train, &test) + 0.05, "{acc}");
}

#[test]
fn svm_regression_beats_the_mean() {
    let r = r2("svm", &params(&[("C", 3.0.into())]), &diabetes());
    assert!(r > 0.3, "r2 {r}");
}

#[test]
fn svm_rejects_bad_hyperparameters() {
    let data = iris();
    assert_param_error("svm", params(&[("C", (-1.0).into())]), &data, "C");
    assert_param_error(
        "svm",
        params(&[("kernel", "sigmoid".into())]),
        &data,
        "kernel",
    );
    assert_param_error("svm", params(&[("gamma", "auto".into())]), &data, "gamma");
    assert_param_error("svm", params(&[("gamma", 0.0.into())]), &data, "gamma");
    assert_param_error("svm", params(&[("degree", 2.5.into())]), &data, "degree");
    assert_param_error("svm", params(&[("gama", 0.1.into())]), &data, "gama");
}

// ---------------------------------------------------------------------------------
// KNN

#[test]
fn knn_beats_the_majority_class_with_every_metric() {
    for metric in ["euclidean", "manhattan", "minkowski", "cosine"] {
        for weights in ["uniform", "distance"] {
            let p = params(&[
                ("k", 7.into()),
                ("metric", metric.into()),
                ("weights", weights.into()),
            ]);
            let (acc, base) = accuracy("knn", &p, &breast_cancer());
            assert!(
                acc >= 0.93 && acc > base + 0.25,
                "{metric}/{weights}: {acc} vs {base}"
            );
        }
    }
    let (acc, base) = accuracy("knn", &params(&[("k", 3.into())]), &digits_subset());
    assert!(acc >= 0.9 && acc > base + 0.7, "digits: {acc} vs {base}");
}

#[test]
fn knn_predicts_vote_shares() {
    let data = iris();
    let (train, test) = holdout(&data);
    let pred = fit_predict("knn", &params(&[("k", 4.into())]), &train, &test, 0);
    let Prediction::Probabilities { p, n_classes } = pred else {
        panic!("expected probabilities")
    };
    assert_eq!(n_classes, 3);
    for row in p.chunks(3) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        // Uniform votes of 4 neighbours are multiples of 1/4.
        for &v in row {
            assert!(((v * 4.0) - (v * 4.0).round()).abs() < 1e-5, "{row:?}");
        }
    }
}

#[test]
fn knn_regression_beats_the_mean() {
    let p = params(&[("k", 15.into()), ("weights", "distance".into())]);
    let r = r2("knn", &p, &diabetes());
    assert!(r > 0.3, "r2 {r}");
}

#[test]
fn knn_rejects_bad_hyperparameters() {
    let data = iris();
    assert_param_error("knn", params(&[("k", 0.into())]), &data, "k");
    assert_param_error(
        "knn",
        params(&[("metric", "hamming".into())]),
        &data,
        "metric",
    );
    assert_param_error(
        "knn",
        params(&[("weights", "rank".into())]),
        &data,
        "weights",
    );
    let p = params(&[("metric", "minkowski".into()), ("p", 0.5.into())]);
    assert_param_error("knn", p, &data, "p");
    assert_param_error(
        "knn",
        params(&[("n_neighbors", 3.into())]),
        &data,
        "n_neighbors",
    );
}

// ---------------------------------------------------------------------------------
// Random forest

#[test]
fn rf_beats_the_majority_class() {
    let p = params(&[("n_trees", 60.into())]);
    let (acc, base) = accuracy("rf", &p, &breast_cancer());
    assert!(
        acc >= 0.93 && acc > base + 0.25,
        "breast cancer: {acc} vs {base}"
    );
    let (acc, base) = accuracy("rf", &p, &digits_subset());
    assert!(acc >= 0.85 && acc > base + 0.6, "digits: {acc} vs {base}");
}

#[test]
fn rf_probabilities_are_vote_shares_and_epochs_set_the_tree_count() {
    let data = iris();
    let (train, test) = holdout(&data);
    let m = model_by_name("rf").unwrap();
    let mut opts = FitOptions::seeded(3);
    opts.fidelity = Fidelity {
        train_fraction: 1.0,
        epochs: Some(5),
    };
    let pred = m
        .fit(&params(&[("n_trees", 200.into())]), &train, opts)
        .unwrap()
        .predict(&test)
        .unwrap();
    let Prediction::Probabilities { p, n_classes: 3 } = pred else {
        panic!("expected probabilities over 3 classes")
    };
    let fifths = p
        .iter()
        .filter(|&&v| ((v * 5.0) - (v * 5.0).round()).abs() < 1e-5);
    assert_eq!(fifths.count(), p.len(), "5 trees vote in fifths");
    // Not every row is unanimous, or the shares would not be shares.
    assert!(p.iter().any(|&v| v > 0.0 && v < 1.0));
}

#[test]
fn rf_seed_changes_the_forest_and_threads_do_not() {
    let data = breast_cancer();
    let (train, test) = holdout(&data);
    let m = model_by_name("rf").unwrap();
    let p = params(&[("n_trees", 20.into()), ("max_features", 0.3.into())]);
    let run = |seed: u64, threads: usize| {
        let mut opts = FitOptions::seeded(seed);
        opts.threads = threads;
        m.fit(&p, &train, opts).unwrap().predict(&test).unwrap()
    };
    let a = run(5, 1);
    assert_eq!(a, run(5, 2));
    assert_ne!(a, run(6, 1));
}

#[test]
fn rf_regression_beats_the_mean() {
    let p = params(&[("n_trees", 60.into()), ("min_samples_leaf", 5.into())]);
    let r = r2("rf", &p, &diabetes());
    assert!(r > 0.3, "r2 {r}");
}

#[test]
fn rf_rejects_bad_hyperparameters() {
    let data = iris();
    assert_param_error("rf", params(&[("n_trees", 0.into())]), &data, "n_trees");
    assert_param_error(
        "rf",
        params(&[("max_features", "all".into())]),
        &data,
        "max_features",
    );
    assert_param_error(
        "rf",
        params(&[("max_features", 1.5.into())]),
        &data,
        "max_features",
    );
    assert_param_error(
        "rf",
        params(&[("min_samples_split", 1.into())]),
        &data,
        "min_samples_split",
    );
    assert_param_error(
        "rf",
        params(&[("criterion", "mse".into())]),
        &data,
        "criterion",
    );
}

// ---------------------------------------------------------------------------------
// Every classical model

fn classic_models() -> Vec<&'static str> {
    vec!["svm", "knn", "rf", "gbt"]
}

#[test]
fn seeded_fits_are_reproducible_whatever_the_thread_count() {
    let data = digits_subset();
    let (train, test) = holdout(&data);
    for model in classic_models() {
        let m = model_by_name(model).unwrap();
        let run = |threads: usize| {
            let mut opts = FitOptions::seeded(42);
            opts.fidelity.train_fraction = 0.5;
            opts.threads = threads;
            m.fit(&Params::new(), &train, opts)
                .unwrap()
                .predict(&test)
                .unwrap()
        };
        let first = run(1);
        assert_eq!(first, run(1), "{model}");
        assert_eq!(first, run(2), "{model} with 2 threads");
    }
}

#[test]
fn train_fraction_trains_on_a_subset() {
    // On 5% of the digits training rows (22 samples for ten classes) every model is
    // clearly worse than on all of them; a fraction of 0 is refused.
    let data = digits_subset();
    let (train, test) = holdout(&data);
    for model in classic_models() {
        let m = model_by_name(model).unwrap();
        let fit = |fraction: f64| {
            let mut opts = FitOptions::seeded(1);
            opts.fidelity.train_fraction = fraction;
            m.fit(&Params::new(), &train, opts)
                .unwrap()
                .predict(&test)
                .unwrap()
        };
        let full = evaluate(&fit(1.0), &test.target).unwrap()["accuracy"];
        let small = evaluate(&fit(0.05), &test.target).unwrap()["accuracy"];
        assert!(small < full, "{model}: {small} on 5% vs {full} on all rows");
        let bad = {
            let mut opts = FitOptions::seeded(1);
            opts.fidelity.train_fraction = 0.0;
            m.fit(&Params::new(), &train, opts)
        };
        assert!(matches!(bad, Err(Error::Invalid(_))), "{model}");
    }
}

#[test]
fn default_spaces_fit_at_their_corners() {
    let data = breast_cancer();
    let (train, test) = holdout(&data);
    for model in classic_models() {
        let m = model_by_name(model).unwrap();
        let space = m.default_space(&train).unwrap();
        assert!(space.params.len() >= 3, "{model}: {space:?}");
        for p in corners(&space) {
            let mut opts = FitOptions::seeded(0);
            // Keep the corner fits fast: forests and boosting get few rounds.
            opts.fidelity.epochs = Some(10);
            let pred = m
                .fit(&p, &train, opts)
                .unwrap_or_else(|e| panic!("{model} {p:?}: {e}"))
                .predict(&test)
                .unwrap();
            evaluate(&pred, &test.target).unwrap();
        }
    }
}

#[test]
fn predictors_reject_the_wrong_feature_count() {
    let train = iris();
    let other = breast_cancer();
    for model in classic_models() {
        let m = model_by_name(model).unwrap();
        let fitted = m
            .fit(&Params::new(), &train, FitOptions::seeded(0))
            .unwrap();
        let err = fitted.predict(&other).unwrap_err().to_string();
        assert!(
            err.contains("4 features") && err.contains("30"),
            "{model}: {err}"
        );
    }
}

#[test]
fn models_default_spaces_name_the_tuned_hyperparameters() {
    let data = iris();
    let names = |model: &str| -> Vec<String> {
        let space = model_by_name(model).unwrap().default_space(&data).unwrap();
        space.params.iter().map(|p| p.name.clone()).collect()
    };
    assert_eq!(names("svm"), ["C", "kernel", "gamma", "degree"]);
    assert_eq!(names("knn"), ["k", "weights", "metric", "p"]);
    assert_eq!(
        names("rf"),
        [
            "n_trees",
            "max_depth",
            "min_samples_split",
            "min_samples_leaf",
            "max_features",
            "criterion"
        ]
    );
    let svm = model_by_name("svm").unwrap().default_space(&data).unwrap();
    let gamma = svm.get("gamma").unwrap();
    assert_eq!(gamma.distribution, Distribution::float_log(1e-4, 1e1));
    assert!(
        gamma.condition.is_some(),
        "gamma only for non-linear kernels"
    );
}

// ---------------------------------------------------------------------------------
// Gradient-boosted trees

#[test]
fn gbt_beats_the_majority_class() {
    let p = params(&[("n_estimators", 60.into()), ("max_depth", 3.into())]);
    let (acc, base) = accuracy("gbt", &p, &breast_cancer());
    assert!(
        acc >= 0.93 && acc > base + 0.25,
        "breast cancer: {acc} vs {base}"
    );
    // Ten classes: one booster per class.
    let (acc, base) = accuracy("gbt", &p, &digits_subset());
    assert!(acc >= 0.8 && acc > base + 0.6, "digits: {acc} vs {base}");
}

#[test]
fn gbt_regression_beats_the_mean() {
    let p = params(&[
        ("n_estimators", 100.into()),
        ("learning_rate", 0.05.into()),
        ("max_depth", 2.into()),
        ("subsample", 0.8.into()),
    ]);
    let r = r2("gbt", &p, &diabetes());
    assert!(r > 0.3, "r2 {r}");
}

#[test]
fn gbt_reports_every_round_and_stops_when_told() {
    let data = iris();
    let (train, valid) = holdout(&data);
    let m = model_by_name("gbt").unwrap();
    assert!(m.iterative());
    let p = params(&[("n_estimators", 30.into()), ("learning_rate", 0.3.into())]);

    // Every round is reported, in order, with validation metrics that improve.
    let mut seen: Vec<(u32, f64)> = Vec::new();
    let mut record = |step: u32, m: &hyperscape_ml::Metrics| {
        seen.push((step, m["cross_entropy"]));
        hyperscape_ml::Control::Continue
    };
    let mut opts = FitOptions::seeded(0);
    opts.valid = Some(&valid);
    opts.on_epoch = Some(&mut record);
    let full = m.fit(&p, &train, opts).unwrap().predict(&valid).unwrap();
    assert_eq!(
        seen.iter().map(|s| s.0).collect::<Vec<_>>(),
        (1..=30).collect::<Vec<_>>()
    );
    assert!(seen[29].1 < seen[0].1 * 0.5, "{seen:?}");
    // The last report is the returned model's score.
    let last = evaluate(&full, &valid.target).unwrap()["cross_entropy"];
    assert!((last - seen[29].1).abs() < 1e-6, "{last} vs {:?}", seen[29]);

    // Stop after round 4: no further report, and the model is the 4-round model.
    let mut calls = 0;
    let mut stop = |step: u32, _: &hyperscape_ml::Metrics| {
        calls += 1;
        if step == 4 {
            hyperscape_ml::Control::Stop
        } else {
            hyperscape_ml::Control::Continue
        }
    };
    let mut opts = FitOptions::seeded(0);
    opts.valid = Some(&valid);
    opts.on_epoch = Some(&mut stop);
    let stopped = m.fit(&p, &train, opts).unwrap().predict(&valid).unwrap();
    assert_eq!(calls, 4);
    let stopped_ce = evaluate(&stopped, &valid.target).unwrap()["cross_entropy"];
    assert!(
        (stopped_ce - seen[3].1).abs() < 1e-6,
        "{stopped_ce} vs {:?}",
        seen[3]
    );

    // The same 4 rounds through the fidelity give the same model.
    let mut opts = FitOptions::seeded(0);
    opts.fidelity.epochs = Some(4);
    let four = m.fit(&p, &train, opts).unwrap().predict(&valid).unwrap();
    assert_eq!(four, stopped);
}

#[test]
fn gbt_seed_matters_with_sampling() {
    let data = breast_cancer();
    let (train, test) = holdout(&data);
    let m = model_by_name("gbt").unwrap();
    let p = params(&[
        ("n_estimators", 20.into()),
        ("subsample", 0.5.into()),
        ("colsample", 0.5.into()),
    ]);
    let run = |seed: u64| {
        m.fit(&p, &train, FitOptions::seeded(seed))
            .unwrap()
            .predict(&test)
            .unwrap()
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

#[test]
fn gbt_rejects_bad_hyperparameters() {
    let data = iris();
    assert_param_error(
        "gbt",
        params(&[("learning_rate", 0.0.into())]),
        &data,
        "learning_rate",
    );
    assert_param_error(
        "gbt",
        params(&[("n_estimators", 0.into())]),
        &data,
        "n_estimators",
    );
    assert_param_error(
        "gbt",
        params(&[("subsample", 1.5.into())]),
        &data,
        "subsample",
    );
    assert_param_error(
        "gbt",
        params(&[("lambda_l2", (-1.0).into())]),
        &data,
        "lambda_l2",
    );
    assert_param_error("gbt", params(&[("eta", 0.1.into())]), &data, "eta");
}

#[test]
fn parameters_of_an_inactive_branch_are_checked_and_ignored() {
    let data = iris();
    let (train, test) = holdout(&data);
    // A flat space may hand gamma to a linear kernel, or p to the euclidean metric:
    // accepted, and without effect.
    let cases = [
        (
            "svm",
            ("kernel", "linear"),
            ("gamma", ParamValue::Float(0.5)),
        ),
        (
            "knn",
            ("metric", "euclidean"),
            ("p", ParamValue::Float(2.5)),
        ),
    ];
    for (model, (branch, choice), (name, value)) in cases {
        let plain = params(&[(branch, choice.into())]);
        let mut with = plain.clone();
        with.insert(name.to_string(), value);
        assert_eq!(
            fit_predict(model, &plain, &train, &test, 0),
            fit_predict(model, &with, &train, &test, 0),
            "{model}"
        );
    }
    // Still validated.
    let bad = params(&[("kernel", "linear".into()), ("gamma", (-1.0).into())]);
    assert_param_error("svm", bad, &data, "gamma");
}

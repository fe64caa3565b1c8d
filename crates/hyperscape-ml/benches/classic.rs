//! The classical models with their default hyperparameters on the built-in datasets:
//! held-out score and fit / predict wall time.
//!
//! Run: `cargo bench -p hyperscape-ml --bench classic` (add `--profile dev` for a quick
//! run: this workspace builds hyperscape-ml and its dependencies at opt-level 2 there
//! too). `-- --threads N` sets the worker threads (default 1).
//!
//! Data: smartcore's copies of iris, breast cancer, digits (all 1,797) and diabetes,
//! each split 75/25 (stratified for classes, seed 11). Printed per model and dataset:
//! test accuracy (classification) or R² (regression), the majority-class accuracy or
//! 0 (the mean) as the trivial baseline, and the seconds to fit and to predict.

use std::time::Instant;

use hyperscape_ml::split::train_valid_test;
use hyperscape_ml::{evaluate, model_by_name, Dataset, FitOptions, Params, Target};

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

fn datasets() -> Vec<Dataset> {
    use smartcore::dataset::{breast_cancer, diabetes, digits, iris};
    let i = iris::load_dataset();
    let b = breast_cancer::load_dataset();
    let d = digits::load_dataset();
    let r = diabetes::load_dataset();
    vec![
        classes("iris", i.data, i.num_features, i.target),
        classes("breast_cancer", b.data, b.num_features, b.target),
        classes(
            "digits",
            d.data,
            d.num_features,
            d.target.iter().map(|&y| y as u32).collect(),
        ),
        Dataset::new(
            "diabetes",
            r.data,
            r.num_features,
            Target::Values(r.target.iter().map(|&y| y as f64).collect()),
        )
        .unwrap(),
    ]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let threads = args
        .iter()
        .position(|a| a == "--threads")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    println!("threads = {threads}");
    println!(
        "{:<6} {:<14} {:>6} {:>9} {:>9} {:>9}",
        "model", "dataset", "score", "baseline", "fit s", "predict s"
    );
    for data in datasets() {
        let s = train_valid_test(&data, 0.0, 0.25, 11).unwrap();
        let (train, test) = (data.select(&s.train), data.select(&s.test));
        let baseline = match &train.target {
            Target::Classes {
                labels, n_classes, ..
            } => {
                let mut counts = vec![0usize; *n_classes];
                labels.iter().for_each(|&l| counts[l as usize] += 1);
                let top = (0..*n_classes).max_by_key(|&c| counts[c]).unwrap() as u32;
                let t = test.target.labels().unwrap();
                t.iter().filter(|&&l| l == top).count() as f64 / t.len() as f64
            }
            Target::Values(_) => 0.0,
        };
        for name in ["svm", "knn", "rf", "gbt"] {
            let model = model_by_name(name).unwrap();
            let mut opts = FitOptions::seeded(0);
            opts.threads = threads;
            let t0 = Instant::now();
            let fitted = model.fit(&Params::new(), &train, opts).unwrap();
            let fit_s = t0.elapsed().as_secs_f64();
            let t1 = Instant::now();
            let pred = fitted.predict(&test).unwrap();
            let predict_s = t1.elapsed().as_secs_f64();
            let m = evaluate(&pred, &test.target).unwrap();
            let score = m.get("accuracy").or(m.get("r2")).copied().unwrap();
            println!(
                "{name:<6} {:<14} {score:>6.3} {baseline:>9.3} {fit_s:>9.3} {predict_s:>9.3}",
                data.name
            );
        }
    }
}

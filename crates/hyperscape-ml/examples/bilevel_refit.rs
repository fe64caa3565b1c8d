//! A fair test comparison for the bilevel benchmark: refits each method's chosen λ on
//! the training AND validation data, then scores the official test split.
//!
//! GBHO's joint iterate (the authors' rule) has weights fitted against the validation
//! loss too, so it has seen every labelled digit, while the searches' models saw only
//! the training split. Refitting every method's λ on train ∪ validation, the usual
//! last step of a tuning run, puts them all on equal data: the comparison is then of
//! the λ each method found.
//!
//! ```text
//! cargo run --release -p hyperscape-ml --features neural --example bilevel_refit -- \
//!   DATASET SUBSET SEED MAX_EPOCHS RESULT.json...
//! ```
//!
//! Each `RESULT.json` is a `bench_bilevel` output run with this dataset, subset and
//! seed (the seed picks the split). The penalty keeps its form
//! `exp(λ_l)·½‖W_l‖²/n` with `n` the refit's sample count: `exp(λ)` is the Gaussian
//! prior's precision on the summed loss, which does not depend on `n`. Prints one JSON
//! line per file: the method, λ, the refit's test metrics and epochs, and beside them
//! the file's own test metrics and, for GBHO, its joint iterate's.
use candle_core::{DType, Tensor};
use hyperscape_ml::bilevel::{
    paper_splits, set_metrics, Data, LowerConfig, ModelSpec, Problem, Splits,
};
use serde_json::{json, Value};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: bilevel_refit DATASET SUBSET SEED MAX_EPOCHS RESULT.json...";
    if a.len() < 5 {
        return Err(usage.into());
    }
    let dataset = &a[0];
    let subset: usize = a[1].parse()?;
    let seed: u64 = a[2].parse()?;
    let max_epochs: usize = a[3].parse()?;
    let loaded = hyperscape_ml::data::load(dataset)?;
    let splits = paper_splits(&loaded, subset, seed)?;
    let test = splits
        .test
        .clone()
        .ok_or("the dataset has no test split to score")?;
    let both = Data {
        x: Tensor::cat(&[&splits.train.x, &splits.valid.x], 0)?,
        y: Tensor::cat(&[&splits.train.y, &splits.valid.y], 0)?,
        n: splits.train.n + splits.valid.n,
    };
    let refit = Splits {
        train: both,
        // Unused by the refit's training; the test split is scored below.
        valid: splits.valid.clone(),
        test: Some(test.clone()),
    };
    let spec = ModelSpec::Mlp { hidden: vec![100] };
    let pb = Problem::new(
        &spec,
        &refit,
        DType::F32,
        seed,
        LowerConfig {
            max_epochs,
            ..LowerConfig::default()
        },
    )?;
    for file in &a[4..] {
        let r: Value = serde_json::from_str(&std::fs::read_to_string(file)?)?;
        let lambda: Vec<f64> = serde_json::from_value(r["lambda"].clone())
            .map_err(|e| format!("{file}: no `lambda` array ({e})"))?;
        let (model, _, epochs) = pb.train_at(&lambda)?;
        let t = set_metrics(model.as_ref(), &test)?;
        println!(
            "{}",
            json!({
                "file": file,
                "method": r["method"],
                "seed": seed,
                "lambda": lambda,
                "refit_test": t,
                "refit_epochs": epochs,
                "test": r["test"],
                "joint_test": r["joint"]["test"],
            })
        );
    }
    Ok(())
}

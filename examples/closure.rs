//! The closure API: tune a small problem with a conditional space, in parallel, on a
//! SQLite file, then print the best trial and the Pareto-free summary.
//!
//! Run: `cargo run -p hyperscape-core --example closure`

use std::sync::Arc;

use hyperscape_core::functions::branin;
use hyperscape_core::{open_storage, Direction, OptimizeOptions, SobolSampler, Study, Trial};

/// A define-by-run objective: the "scaled" branch has a parameter the other lacks.
fn objective(t: &mut Trial) -> hyperscape_core::Result<f64> {
    let x1 = t.suggest_float("x1", -5.0, 10.0)?;
    let x2 = t.suggest_float("x2", 0.0, 15.0)?;
    let variant = t.suggest_categorical("variant", ["plain", "scaled"])?;
    let scale = if variant.as_str() == Some("scaled") {
        t.suggest_float_log("scale", 0.5, 2.0)?
    } else {
        1.0
    };
    Ok(branin(x1, x2) * scale)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join("hyperscape-example");
    std::fs::create_dir_all(&dir)?;
    let storage = open_storage(&format!("sqlite://{}", dir.join("closure.db").display()))
        .or_else(|_| open_storage("memory:"))?;
    let study = Study::builder("closure-example")
        .storage(Arc::clone(&storage))
        .direction(Direction::Minimize)
        .sampler(SobolSampler::new(Some(7)))
        .load_if_exists(true)
        .build()?;

    let summary = study.optimize_with(
        objective,
        OptimizeOptions::n_trials(128).n_jobs(2).callback(|_, trial| {
            if trial.number % 32 == 0 {
                println!("trial {:>3} -> {:?}", trial.number, trial.value());
            }
        }),
    )?;
    let best = study.best_trial()?;
    println!(
        "{} complete, {} failed; best value {:.4} at {} (trial {})",
        summary.complete,
        summary.failed,
        best.value().unwrap_or(f64::NAN),
        serde_json::to_string(&best.params)?,
        best.number
    );
    Ok(())
}

//! Hartmann-6 with the GP sampler at its defaults, but with the first ten trials fixed
//! to given points (enqueued), so that two samplers can be compared on the same startup
//! design. Reads lines `SEED x0 x1 x2 x3 x4 x5` (ten per seed) from stdin and prints
//! `SEED FINAL_REGRET` after 100 trials. `ROULETTE=1` uses
//! `StartRule::Roulette` with `n_local_search(9)`.
//!
//! ```sh
//! python bench/samplers/optuna_startup_points.py 60 \
//!   | cargo run --release -p hyperscape-core --example gp_fixed_startup
//! ```

use std::collections::BTreeMap;
use std::io::BufRead;

use hyperscape_core::functions::{hartmann6, HARTMANN6_MIN};
use hyperscape_core::sampler::{GpSampler, StartRule};
use hyperscape_core::{ParamValue, Study};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let roulette = std::env::var("ROULETTE").is_ok_and(|v| v == "1");
    let mut designs: BTreeMap<u64, Vec<[f64; 6]>> = BTreeMap::new();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let v: Vec<f64> = line
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()?;
        if v.len() != 7 {
            return Err(format!("expected `SEED x0 .. x5`, got `{line}`").into());
        }
        let mut x = [0.0; 6];
        x.copy_from_slice(&v[1..]);
        designs.entry(v[0] as u64).or_default().push(x);
    }
    for (seed, points) in designs {
        let mut b = GpSampler::builder().seed(Some(seed));
        if roulette {
            b = b.start_rule(StartRule::Roulette).n_local_search(9);
        }
        let study = Study::builder("h6").sampler(b.build()?).build()?;
        for x in &points {
            let p = (0..6)
                .map(|i| (format!("x{i}"), ParamValue::Float(x[i])))
                .collect();
            study.enqueue_trial(p)?;
        }
        study.optimize(
            |t| -> hyperscape_core::Result<f64> {
                let mut x = [0.0; 6];
                for (i, v) in x.iter_mut().enumerate() {
                    *v = t.suggest_float(&format!("x{i}"), 0.0, 1.0)?;
                }
                Ok(hartmann6(&x))
            },
            100,
        )?;
        println!("{seed} {:.3e}", study.best_value()? - HARTMANN6_MIN);
    }
    Ok(())
}

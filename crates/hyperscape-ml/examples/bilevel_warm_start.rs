//! Is a lower-level solution warm-started from a nearby λ as good as one trained from
//! scratch, and how many epochs does it save? (`docs/bilevel.md`, "Warm-started local
//! retraining".)
//!
//! For anchors λ_a and steps δ, trains w*(λ_a) from scratch, then w*(λ_a + δ) both
//! from scratch and from w*(λ_a) with the solver started after 0, 1 or 2 of its three
//! learning-rate cuts, and prints epochs, φ and the validation and test cross-entropy
//! of each, one JSON line per (anchor, step, start).
//!
//! `cargo run --release -p hyperscape-ml --features neural --example bilevel_warm_start --
//!  [DATASET] [SUBSET] [SEED]`
use hyperscape_ml::bilevel::lower::solve_lower_from_cut;
use hyperscape_ml::bilevel::model::{restore, snapshot};
use hyperscape_ml::bilevel::{paper_splits, set_metrics, LowerConfig, ModelSpec};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let dataset = a.first().cloned().unwrap_or_else(|| "mnist".into());
    let subset: usize = a.get(1).map_or(Ok(1000), |s| s.parse())?;
    let seed: u64 = a.get(2).map_or(Ok(0), |s| s.parse())?;
    let loaded = hyperscape_ml::data::load(&dataset)?;
    let splits = paper_splits(&loaded, subset, seed)?;
    let spec = ModelSpec::Mlp { hidden: vec![100] };
    let (inputs, outputs) = hyperscape_ml::bilevel::gbho::shapes(&splits)?;
    let dtype = candle_core::DType::F32;
    let cfg = LowerConfig::default();
    let fresh = || spec.build(inputs, outputs, dtype, seed);
    let anchors = [vec![-4.0, -6.0], vec![-1.0, -3.0], vec![-7.0, -2.0]];
    let steps = [
        vec![0.5, 0.0],
        vec![-1.0, 0.5],
        vec![0.0, 1.0],
        vec![2.0, -2.0],
    ];
    for lam_a in &anchors {
        let m = fresh()?;
        let sol = solve_lower_from_cut(m.as_ref(), lam_a, &splits.train, &cfg, 0)?;
        let w_a = snapshot(m.as_ref())?;
        println!(
            "{}",
            serde_json::json!({"anchor": lam_a, "start": "anchor", "epochs": sol.epochs,
                "phi": sol.phi,
                "valid": set_metrics(m.as_ref(), &splits.valid)?.cross_entropy})
        );
        for d in &steps {
            let lam: Vec<f64> = lam_a.iter().zip(d).map(|(l, s)| l + s).collect();
            for start in ["scratch", "warm0", "warm1", "warm2"] {
                let m = fresh()?;
                let cuts = match start {
                    "scratch" => 0,
                    s => {
                        restore(m.as_ref(), &w_a)?;
                        s[4..].parse()?
                    }
                };
                let t = std::time::Instant::now();
                let sol = solve_lower_from_cut(m.as_ref(), &lam, &splits.train, &cfg, cuts)?;
                let test = match &splits.test {
                    Some(t) => Some(set_metrics(m.as_ref(), t)?.cross_entropy),
                    None => None,
                };
                println!(
                    "{}",
                    serde_json::json!({"anchor": lam_a, "lambda": lam, "start": start,
                        "epochs": sol.epochs, "phi": sol.phi, "converged": sol.converged,
                        "valid": set_metrics(m.as_ref(), &splits.valid)?.cross_entropy,
                        "test": test, "seconds": t.elapsed().as_secs_f64()})
                );
            }
        }
    }
    Ok(())
}

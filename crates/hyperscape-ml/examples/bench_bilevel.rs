//! One run of the bilevel reproduction benchmark (`scripts/bench-bilevel.sh`): a
//! method (gbho, gbho-local, gbho-lhs, gbho-joint, ift, grid, random, gp, tpe,
//! hyperband) on the paper's splits of a dataset, MLP 784-100-10, printing the result
//! as JSON — the same JSON as `hyperscape bilevel --format json`.
//!
//! `cargo run --release -p hyperscape-ml --features neural --example bench_bilevel --
//!  METHOD DATASET SUBSET [GRID_PER_DIM] [TRIALS] [SEED] [MAX_EPOCHS] [OUTER] [LO] [HI]`
//!
//! `LO` and `HI` bound the box of log regularisation weights (default the paper's
//! [−10, 0]), for every method alike.
use hyperscape_ml::bilevel::{
    gbho, ift, paper_splits, search, GbhoConfig, GbhoScheme, HpKind, IftConfig, LowerConfig,
    ModelSpec, SearchConfig, SearchMethod,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, d: &str| a.get(i).cloned().unwrap_or_else(|| d.to_string());
    let method = arg(0, "gbho");
    let dataset = arg(1, "mnist");
    let subset: usize = arg(2, "1000").parse()?;
    let grid: usize = arg(3, "30").parse()?;
    let trials: usize = arg(4, "30").parse()?;
    let seed: u64 = arg(5, "0").parse()?;
    let max_epochs: usize = arg(6, "400").parse()?;
    let outer: usize = arg(7, "8").parse()?;
    let lo: f64 = arg(8, "-10").parse()?;
    let hi: f64 = arg(9, "0").parse()?;
    if !lo.is_finite() || !hi.is_finite() || lo >= hi {
        return Err(format!(
            "the box [{lo}, {hi}] is not a box: LO and HI must be finite, LO below HI"
        )
        .into());
    }
    let loaded = hyperscape_ml::data::load(&dataset)?;
    let splits = paper_splits(&loaded, subset, seed)?;
    let spec = ModelSpec::Mlp { hidden: vec![100] };
    let hp = HpKind::PerLayerL2;
    let lower = LowerConfig {
        max_epochs,
        ..LowerConfig::default()
    };
    let r = match method.as_str() {
        // gbho: the default (anchored scheme, corners in the design, one global GP-EI
        // step per outer iteration); gbho-local: no global steps; gbho-lhs: no global
        // steps and a Latin-hypercube design only (the scheme as first measured);
        // gbho-joint: the paper's joint scheme.
        // gbho-scratch: the same as gbho (every retraining from scratch, the default);
        // gbho-warm1 / gbho-warm2: the local step's retraining warm-started from the
        // anchor's weights, the solver started after 1 or 2 learning-rate cuts
        // (`warm_local`, opt-in).
        "gbho" | "gbho-local" | "gbho-lhs" | "gbho-joint" | "gbho-scratch" | "gbho-warm1"
        | "gbho-warm2" => gbho(
            &spec,
            &splits,
            &GbhoConfig {
                scheme: if method == "gbho-joint" {
                    GbhoScheme::Joint
                } else {
                    GbhoScheme::Anchored
                },
                mu0: if method == "gbho-joint" {
                    0.0
                } else {
                    GbhoConfig::default().mu0
                },
                corners: method != "gbho-lhs",
                global_per_outer: match method.as_str() {
                    "gbho" | "gbho-scratch" | "gbho-warm1" | "gbho-warm2" => 1,
                    _ => 0,
                },
                warm_local: match method.as_str() {
                    "gbho" => GbhoConfig::default().warm_local,
                    "gbho-warm1" => Some(1),
                    "gbho-warm2" => Some(2),
                    _ => None,
                },
                hp,
                seed,
                outer_iters: outer,
                lower,
                lo,
                hi,
                ..GbhoConfig::default()
            },
        )?,
        "ift" => ift(
            &spec,
            &splits,
            &IftConfig {
                hp,
                seed,
                lower,
                lo,
                hi,
                ..IftConfig::default()
            },
        )?,
        m => search(
            &spec,
            &splits,
            &SearchConfig {
                method: match m {
                    "grid" => SearchMethod::Grid { per_dim: grid },
                    "random" => SearchMethod::Random,
                    "gp" => SearchMethod::GpBo,
                    "tpe" => SearchMethod::Tpe,
                    // Budget ladder max_epochs · 3^-i down to ≥ 15 epochs.
                    "hyperband" => SearchMethod::Hyperband {
                        eta: 3,
                        min_epochs: 15.min(max_epochs),
                    },
                    _ => return Err(format!("unknown method `{m}`").into()),
                },
                hp,
                seed,
                trials,
                lo,
                hi,
                lower,
            },
        )?,
    };
    println!("{}", serde_json::to_string(&r)?);
    Ok(())
}

//! The bilevel benchmark's grid baseline in resumable shards, for grids too long for one
//! sitting (the paper's 30×30 grid on MNIST 5K is about 900 trainings of 10-20 s each).
//!
//! Every grid point is trained exactly as `bench_bilevel grid` trains it (a fresh model
//! from the same seeded weights, the shared lower-level solver, scored by its
//! validation cross-entropy), and its result is appended as one JSON line to
//! `DIR/points-SHARD.jsonl` as soon as it is known. A killed run loses at most the
//! point it was training; a rerun skips every point already in any `DIR/points-*.jsonl`.
//!
//! ```text
//! cargo run --release -p hyperscape-ml --features neural --example bilevel_grid -- \
//!   run DATASET SUBSET PER_DIM SEED MAX_EPOCHS DIR SHARD NSHARDS [LO HI]
//! cargo run --release -p hyperscape-ml --features neural --example bilevel_grid -- \
//!   report DATASET SUBSET PER_DIM SEED MAX_EPOCHS DIR [LO HI]
//! ```
//!
//! `run` trains the points of shard `SHARD` of `NSHARDS` (0-based), coarse points
//! first: the sub-grid of every fourth index counted down from the upper corner comes
//! before the rest, so a partial run already covers the whole box. `report` needs every
//! point; it retrains the point with the lowest validation loss (deterministic: same
//! seed, same weights) and prints the same JSON as `bench_bilevel grid`, with `epochs`
//! the grid's total and `wall_seconds` the sum of the points' training times.
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use candle_core::DType;
use hyperscape_ml::bilevel::{
    paper_splits, set_metrics, GbhoResult, HpKind, LowerConfig, ModelSpec, Problem,
};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Point {
    i: usize,
    j: usize,
    lambda: Vec<f64>,
    phi: f64,
    validation: f64,
    epochs: usize,
    wall_seconds: f64,
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn load_points(dir: &Path) -> Res<BTreeMap<(usize, usize), Point>> {
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return Ok(out);
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !(name.starts_with("points-") && name.ends_with(".jsonl")) {
            continue;
        }
        for (n, line) in std::fs::read_to_string(&path)?.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            // A run killed mid-write leaves a partial last line: skip it, it is retrained.
            match serde_json::from_str::<Point>(line) {
                Ok(p) => {
                    out.insert((p.i, p.j), p);
                }
                Err(e) => eprintln!("{}:{}: skipped ({e})", path.display(), n + 1),
            }
        }
    }
    Ok(out)
}

fn main() -> Res<()> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: bilevel_grid run|report DATASET SUBSET PER_DIM SEED MAX_EPOCHS DIR \
                 [SHARD NSHARDS] [LO HI]";
    let mode = a.first().ok_or(usage)?.clone();
    let get = |i: usize| a.get(i).cloned().ok_or(usage);
    let dataset = get(1)?;
    let subset: usize = get(2)?.parse()?;
    let per_dim: usize = get(3)?.parse()?;
    let seed: u64 = get(4)?.parse()?;
    let max_epochs: usize = get(5)?.parse()?;
    let dir = std::path::PathBuf::from(get(6)?);
    let (shard, nshards, rest) = match mode.as_str() {
        "run" => (get(7)?.parse::<usize>()?, get(8)?.parse::<usize>()?, 9),
        "report" => (0, 1, 7),
        _ => return Err(usage.into()),
    };
    if nshards == 0 || shard >= nshards {
        return Err(format!("shard {shard} of {nshards}: SHARD must be below NSHARDS").into());
    }
    let lo: f64 = a.get(rest).map_or(Ok(-10.0), |s| s.parse())?;
    let hi: f64 = a.get(rest + 1).map_or(Ok(0.0), |s| s.parse())?;
    if per_dim < 2 || !lo.is_finite() || !hi.is_finite() || lo >= hi {
        return Err("need PER_DIM >= 2 and a box LO < HI".into());
    }
    let value = |k: usize| lo + (hi - lo) * k as f64 / (per_dim - 1) as f64;

    let loaded = hyperscape_ml::data::load(&dataset)?;
    let splits = paper_splits(&loaded, subset, seed)?;
    let spec = ModelSpec::Mlp { hidden: vec![100] };
    let pb = Problem::new(
        &spec,
        &splits,
        DType::F32,
        seed,
        LowerConfig {
            max_epochs,
            ..LowerConfig::default()
        },
    )?;
    if HpKind::PerLayerL2.dim(pb.n_layers()?) != 2 {
        return Err("the grid is over the two per-layer λ of the MLP".into());
    }
    let done = load_points(&dir)?;

    if mode == "report" {
        if done.len() < per_dim * per_dim {
            return Err(format!(
                "{} of {} grid points done: run the missing shards first",
                done.len(),
                per_dim * per_dim
            )
            .into());
        }
        // The lowest validation loss; ties go to the first point in grid order.
        let best = done
            .values()
            .min_by(|x, y| x.validation.total_cmp(&y.validation))
            .ok_or("empty grid")?;
        let (model, _, _) = pb.train_at(&best.lambda)?;
        let valid = set_metrics(model.as_ref(), &splits.valid)?;
        if (valid.cross_entropy - best.validation).abs() > 1e-9 {
            return Err(format!(
                "retraining at {:?} gave validation {} against the recorded {}: \
                 the training is not deterministic on this machine",
                best.lambda, valid.cross_entropy, best.validation
            )
            .into());
        }
        let r = GbhoResult {
            method: "grid".into(),
            lambda: best.lambda.clone(),
            train: set_metrics(model.as_ref(), &splits.train)?,
            validation: valid,
            test: splits
                .test
                .as_ref()
                .map(|t| set_metrics(model.as_ref(), t))
                .transpose()?,
            joint: None,
            joint_lambda: None,
            feasible: true,
            trajectory: Vec::new(),
            global: Vec::new(),
            design: done
                .values()
                .map(|p| (p.lambda.clone(), p.phi, p.validation))
                .collect(),
            epochs: done.values().map(|p| p.epochs).sum(),
            wall_seconds: done.values().map(|p| p.wall_seconds).sum(),
        };
        println!("{}", serde_json::to_string(&r)?);
        return Ok(());
    }

    // Coarse first: indices ≡ PER_DIM-1 (mod 4) in both dimensions, then the rest.
    let coarse = |k: usize| (per_dim - 1 - k) % 4 == 0;
    let mut order: Vec<(usize, usize)> = (0..per_dim)
        .flat_map(|i| (0..per_dim).map(move |j| (i, j)))
        .collect();
    order.sort_by_key(|&(i, j)| (!(coarse(i) && coarse(j)), i, j));
    std::fs::create_dir_all(&dir)?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("points-{shard}.jsonl")))?;
    let mine: Vec<_> = order
        .into_iter()
        .enumerate()
        .filter(|(k, _)| k % nshards == shard)
        .map(|(_, p)| p)
        .filter(|p| !done.contains_key(p))
        .collect();
    eprintln!("shard {shard}/{nshards}: {} points to train", mine.len());
    for (n, (i, j)) in mine.iter().copied().enumerate() {
        let lambda = vec![value(i), value(j)];
        let t = Instant::now();
        let (model, phi, epochs) = pb.train_at(&lambda)?;
        let validation = set_metrics(model.as_ref(), &splits.valid)?.cross_entropy;
        let p = Point {
            i,
            j,
            lambda,
            phi,
            validation,
            epochs,
            wall_seconds: t.elapsed().as_secs_f64(),
        };
        writeln!(file, "{}", serde_json::to_string(&p)?)?;
        file.flush()?;
        eprintln!(
            "[{}/{}] ({i},{j}) val {:.4} epochs {epochs} {:.1}s",
            n + 1,
            mine.len(),
            validation,
            p.wall_seconds
        );
    }
    Ok(())
}

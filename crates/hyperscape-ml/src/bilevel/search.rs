//! Search baselines for the bilevel benchmark, built on hyperscape's own samplers and
//! the SAME training code as the gradient methods: every trial trains a fresh model
//! (same seed) at its λ to convergence on the training data ([`super::lower`]) and is
//! scored by its validation cross-entropy; the best trial's model is returned.
//!
//! - `grid`: `per_dim^d` points, evenly spaced over `[lo, hi]` per dimension
//!   (endpoints included), through [`hyperscape_core::GridSampler`];
//! - `random`, `gp` (GP Bayesian optimisation), `tpe`: through
//!   [`hyperscape_core::sampler::sampler_by_name`] with the trial budget given.

use std::collections::BTreeMap;
use std::time::Instant;

use candle_core::DType;
use hyperscape_core::{GridSampler, ParamValue, Study};
use serde::Serialize;

use super::gbho::{evaluate, shapes, GbhoResult, Problem};
use super::lower::LowerConfig;
use super::model::{restore, set_metrics, snapshot, HpKind, ModelSpec, Splits};
use crate::error::{Error, Result};

/// Which search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SearchMethod {
    /// A full grid with this many points per λ dimension.
    Grid {
        per_dim: usize,
    },
    Random,
    GpBo,
    Tpe,
}

impl SearchMethod {
    pub fn name(self) -> &'static str {
        match self {
            SearchMethod::Grid { .. } => "grid",
            SearchMethod::Random => "random",
            SearchMethod::GpBo => "gp",
            SearchMethod::Tpe => "tpe",
        }
    }
}

/// Settings of [`search`].
#[derive(Debug, Clone, Serialize)]
pub struct SearchConfig {
    pub method: SearchMethod,
    pub hp: HpKind,
    pub seed: u64,
    /// Trial budget (ignored by the grid, which evaluates all its points).
    pub trials: usize,
    pub lo: f64,
    pub hi: f64,
    pub lower: LowerConfig,
}

/// Runs a search baseline.
pub fn search(spec: &ModelSpec, splits: &Splits, cfg: &SearchConfig) -> Result<GbhoResult> {
    let start = Instant::now();
    let (inputs, outputs) = shapes(splits)?;
    let pb = Problem {
        spec,
        splits,
        inputs,
        outputs,
        dtype: DType::F32,
        seed: cfg.seed,
        lower: cfg.lower,
    };
    let d = cfg.hp.dim(pb.n_layers()?);
    let names: Vec<String> = (0..d).map(|i| format!("lambda_{i}")).collect();
    let (sampler, trials) = match cfg.method {
        SearchMethod::Grid { per_dim } => {
            if per_dim < 2 {
                return Err(Error::Invalid(
                    "a grid needs at least 2 points per dimension".into(),
                ));
            }
            let mut points = vec![BTreeMap::new()];
            for name in &names {
                let mut next = Vec::new();
                for p in &points {
                    for j in 0..per_dim {
                        let v = cfg.lo + (cfg.hi - cfg.lo) * j as f64 / (per_dim - 1) as f64;
                        let mut q: BTreeMap<String, ParamValue> = p.clone();
                        q.insert(name.clone(), ParamValue::Float(v));
                        next.push(q);
                    }
                }
                points = next;
            }
            let n = points.len();
            let s: Box<dyn hyperscape_core::Sampler> =
                Box::new(GridSampler::new(points, Some(cfg.seed))?);
            (s, n)
        }
        m => (
            hyperscape_core::sampler::sampler_by_name(m.name(), Some(cfg.seed), None)?,
            cfg.trials,
        ),
    };
    if trials == 0 {
        return Err(Error::Invalid("a search needs at least one trial".into()));
    }
    let study = Study::builder(format!("bilevel-{}", cfg.method.name()))
        .boxed_sampler(sampler)
        .build()?;
    let mut epochs = 0;
    let mut evals = Vec::new();
    let mut best: Option<(f64, Vec<f64>, Vec<candle_core::Tensor>)> = None;
    for _ in 0..trials {
        let mut trial = study.ask()?;
        let lam = names
            .iter()
            .map(|n| trial.suggest_float(n, cfg.lo, cfg.hi))
            .collect::<hyperscape_core::Result<Vec<f64>>>()?;
        let (model, phi, e) = pb.train_at(&lam)?;
        epochs += e;
        let v = set_metrics(model.as_ref(), &splits.valid)?.cross_entropy;
        study.tell_values(trial, v)?;
        evals.push((lam.clone(), phi, v));
        if best.as_ref().is_none_or(|(b, _, _)| v < *b) {
            best = Some((v, lam, snapshot(model.as_ref())?));
        }
    }
    let (_, lambda, w) = best.expect("at least one trial");
    let model = pb.fresh()?;
    restore(model.as_ref(), &w)?;
    let ev = evaluate(model.as_ref(), splits)?;
    Ok(GbhoResult {
        method: cfg.method.name().to_string(),
        lambda,
        train: ev.train,
        validation: ev.validation,
        test: ev.test,
        joint: None,
        joint_lambda: None,
        feasible: true,
        trajectory: Vec::new(),
        design: evals,
        epochs,
        wall_seconds: start.elapsed().as_secs_f64(),
    })
}

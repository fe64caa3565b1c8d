//! Search baselines for the bilevel benchmark, built on hyperscape's own samplers and
//! the SAME training code as the gradient methods: every trial trains a fresh model
//! (same seed) at its λ to convergence on the training data ([`super::lower`]) and is
//! scored by its validation cross-entropy; the best trial's model is returned.
//!
//! - `grid`: `per_dim^d` points, evenly spaced over `[lo, hi]` per dimension
//!   (endpoints included), through [`hyperscape_core::GridSampler`];
//! - `random`, `gp` (GP Bayesian optimisation), `tpe`: through
//!   [`hyperscape_core::sampler::sampler_by_name`] with the trial budget given;
//! - `hyperband` (Li et al., JMLR 2018) with training epochs as the fidelity: the
//!   budget ladder `max_epochs · eta^-i` (at least one epoch), the rungs of each
//!   bracket from the core's [`hyperscape_core::scheduler::bracket_rungs`],
//!   brackets `s_max, …, 0` run once each, new configurations drawn by the core's
//!   random sampler. Each rung trains a fresh model (same seed) with the lower-level
//!   solver capped at the rung's budget (no resumption, so every score is that of
//!   [`super::lower::solve_lower`] with that cap; the epochs of every rung are
//!   counted). Only full-budget trainings can be returned, so the result is
//!   comparable with the other searches.

use std::collections::BTreeMap;
use std::time::Instant;

use candle_core::DType;
use hyperscape_core::{GridSampler, ParamValue, Study};
use serde::Serialize;

use super::gbho::{evaluate, GbhoResult, Problem};
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
    /// Hyperband with epochs as fidelity: `eta` the reduction factor, `min_epochs` the
    /// smallest rung budget (the largest is the lower solver's `max_epochs`).
    Hyperband {
        eta: u64,
        min_epochs: usize,
    },
}

impl SearchMethod {
    pub fn name(self) -> &'static str {
        match self {
            SearchMethod::Grid { .. } => "grid",
            SearchMethod::Random => "random",
            SearchMethod::GpBo => "gp",
            SearchMethod::Tpe => "tpe",
            SearchMethod::Hyperband { .. } => "hyperband",
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
    let pb = Problem::new(spec, splits, DType::F32, cfg.seed, cfg.lower)?;
    let d = cfg.hp.dim(pb.n_layers()?);
    let names: Vec<String> = (0..d).map(|i| format!("lambda_{i}")).collect();
    if let SearchMethod::Hyperband { eta, min_epochs } = cfg.method {
        return hyperband(&pb, cfg, &names, eta, min_epochs, start);
    }
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
        global: Vec::new(),
        design: evals,
        epochs,
        wall_seconds: start.elapsed().as_secs_f64(),
    })
}

/// The budget ladder of Hyperband in epochs: `max, max/eta, max/eta², …` down to
/// `min_epochs` (at least 1), smallest first.
pub fn epoch_ladder(max_epochs: usize, eta: u64, min_epochs: usize) -> Result<Vec<u64>> {
    if eta < 2 || min_epochs == 0 || min_epochs > max_epochs {
        return Err(Error::Invalid(format!(
            "hyperband needs eta >= 2 and 1 <= min_epochs <= max_epochs \
             (got eta {eta}, min_epochs {min_epochs}, max_epochs {max_epochs})"
        )));
    }
    let mut levels = vec![max_epochs as u64];
    loop {
        let next = levels.last().copied().unwrap_or(1) / eta;
        if next < min_epochs as u64 || next == 0 {
            break;
        }
        levels.push(next);
    }
    levels.reverse();
    Ok(levels)
}

fn hyperband(
    pb: &Problem<'_>,
    cfg: &SearchConfig,
    names: &[String],
    eta: u64,
    min_epochs: usize,
    start: Instant,
) -> Result<GbhoResult> {
    use hyperscape_core::scheduler::bracket_rungs;
    let levels = epoch_ladder(pb.lower.max_epochs, eta, min_epochs)?;
    let s_max = levels.len() - 1;
    let sampler = hyperscape_core::sampler::sampler_by_name("random", Some(cfg.seed), None)?;
    let study = Study::builder("bilevel-hyperband")
        .boxed_sampler(sampler)
        .build()?;
    let mut epochs = 0;
    let mut evals = Vec::new();
    let mut best: Option<(f64, Vec<f64>, Vec<candle_core::Tensor>)> = None;
    for s in (0..=s_max).rev() {
        let rungs = bracket_rungs(&levels, eta, s, None);
        // The bracket's configurations, drawn by the sampler.
        let mut alive: Vec<Vec<f64>> = Vec::new();
        for _ in 0..rungs[0].count {
            let mut trial = study.ask()?;
            let lam = names
                .iter()
                .map(|n| trial.suggest_float(n, cfg.lo, cfg.hi))
                .collect::<hyperscape_core::Result<Vec<f64>>>()?;
            // Scored below; the study only supplies the draws.
            study.tell_values(trial, 0.0)?;
            alive.push(lam);
        }
        for (i, rung) in rungs.iter().enumerate() {
            let keep = rung.count as usize;
            alive.truncate(keep.max(1));
            let lower = LowerConfig {
                max_epochs: rung.budget as usize,
                ..pb.lower
            };
            let full = rung.budget as usize == pb.lower.max_epochs;
            let mut scored = Vec::new();
            for lam in &alive {
                let model = pb.fresh()?;
                let sol = super::lower::solve_lower(model.as_ref(), lam, &pb.splits.train, &lower)?;
                epochs += sol.epochs;
                let v = set_metrics(model.as_ref(), &pb.splits.valid)?.cross_entropy;
                if full {
                    evals.push((lam.clone(), sol.phi, v));
                    if best.as_ref().is_none_or(|(b, _, _)| v < *b) {
                        best = Some((v, lam.clone(), snapshot(model.as_ref())?));
                    }
                }
                scored.push((v, lam.clone()));
            }
            scored.sort_by(|a, b| a.0.total_cmp(&b.0));
            let next = rungs.get(i + 1).map_or(0, |r| r.count as usize);
            alive = scored.into_iter().take(next).map(|(_, l)| l).collect();
        }
    }
    let (_, lambda, w) = best.expect("every bracket ends with a full-budget rung");
    let model = pb.fresh()?;
    restore(model.as_ref(), &w)?;
    let ev = evaluate(model.as_ref(), pb.splits)?;
    Ok(GbhoResult {
        method: "hyperband".into(),
        lambda,
        train: ev.train,
        validation: ev.validation,
        test: ev.test,
        joint: None,
        joint_lambda: None,
        feasible: true,
        trajectory: Vec::new(),
        global: Vec::new(),
        design: evals,
        epochs,
        wall_seconds: start.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::epoch_ladder;

    #[test]
    fn epoch_ladder_divides_by_eta_down_to_the_minimum() {
        // 400 / 3 = 133, / 3 = 44, / 3 = 14 < 15: stops.
        assert_eq!(epoch_ladder(400, 3, 15).unwrap(), vec![44, 133, 400]);
        assert_eq!(epoch_ladder(81, 3, 1).unwrap(), vec![1, 3, 9, 27, 81]);
        assert_eq!(epoch_ladder(10, 2, 10).unwrap(), vec![10]);
        for (max, eta, min) in [(10, 1, 1), (10, 3, 0), (10, 3, 11)] {
            let err = epoch_ladder(max, eta, min).unwrap_err().to_string();
            assert!(err.contains("hyperband needs"), "{err}");
        }
    }
}

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
use std::sync::Arc;
use std::time::{Duration, Instant};

use candle_core::DType;
use hyperscape_core::study::BudgetSampler;
use hyperscape_core::{GridSampler, HeartbeatConfig, ParamValue, Storage, Study, TrialState};
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

/// A study shared by any number of search workers, in a storage that outlives them:
/// SQLite for one machine, PostgreSQL for several.
///
/// [`search_in`] with a shared study splits the method's exact trial budget (every
/// grid point, or `trials` draws) among the workers that run it, in one process or
/// many, and a rerun resumes it: trials already complete are not trained again, and
/// the configuration of a trial whose worker died (its heartbeat stale) is trained
/// again once.
pub struct SharedStudy {
    pub storage: Arc<dyn Storage>,
    /// The study's name in the storage.
    pub name: String,
}

/// User attribute of a search trial: φ(λ), the lower level's optimal value.
pub const PHI_ATTR: &str = "phi";
/// User attribute of a search trial: the passes over the training data it trained.
pub const EPOCHS_ATTR: &str = "epochs";
/// User attribute of a search trial: the search's settings and the data's sizes, which
/// every worker of a shared study must share.
pub const SETTINGS_ATTR: &str = "bilevel_search";

/// How often a worker of a shared study refreshes the heartbeat of the trial it trains.
const HEARTBEAT: Duration = Duration::from_secs(20);
/// How long a worker waits, when every remaining trial is running elsewhere, before it
/// looks again.
const POLL: Duration = Duration::from_secs(2);

/// Runs a search baseline, its study in memory.
pub fn search(spec: &ModelSpec, splits: &Splits, cfg: &SearchConfig) -> Result<GbhoResult> {
    search_in(spec, splits, cfg, None)
}

/// Runs a search baseline, its trials in `shared` when given ([`SharedStudy`]): the
/// call returns once the whole budget is complete, and reports every complete trial
/// of the study, whichever worker ran it. The best trial's model is retrained when
/// another worker (or an earlier run) trained it; training is deterministic, so it is
/// the same model. Hyperband keeps its brackets in memory and takes no shared study.
pub fn search_in(
    spec: &ModelSpec,
    splits: &Splits,
    cfg: &SearchConfig,
    shared: Option<&SharedStudy>,
) -> Result<GbhoResult> {
    let start = Instant::now();
    let pb = Problem::new(spec, splits, DType::F32, cfg.seed, cfg.lower)?;
    let d = cfg.hp.dim(pb.n_layers()?);
    let names: Vec<String> = (0..d).map(|i| format!("lambda_{i}")).collect();
    if let SearchMethod::Hyperband { eta, min_epochs } = cfg.method {
        if shared.is_some() {
            return Err(Error::Invalid(
                "hyperband keeps its brackets in memory: a shared study (storage) works with \
                 grid, random, gp and tpe"
                    .into(),
            ));
        }
        return hyperband(&pb, cfg, &names, eta, min_epochs, start);
    }
    let points = match cfg.method {
        SearchMethod::Grid { per_dim } => Some(grid(&names, per_dim, cfg.lo, cfg.hi)?),
        _ => None,
    };
    let trials = points.as_ref().map_or(cfg.trials, Vec::len);
    if trials == 0 {
        return Err(Error::Invalid("a search needs at least one trial".into()));
    }
    let inner: Box<dyn hyperscape_core::Sampler> = match &points {
        Some(p) => Box::new(GridSampler::new(p.clone(), Some(cfg.seed))?),
        None => hyperscape_core::sampler::sampler_by_name(cfg.method.name(), Some(cfg.seed), None)?,
    };
    let study = match shared {
        None => Study::builder(format!("bilevel-{}", cfg.method.name()))
            .boxed_sampler(inner)
            .build()?,
        Some(s) => {
            let mut budget = BudgetSampler::new(inner, trials as u64).max_retries(1);
            if let Some(p) = points {
                budget = budget.with_points(p)?;
            }
            Study::builder(s.name.clone())
                .storage(s.storage.clone())
                .boxed_sampler(Box::new(budget))
                .heartbeat(HeartbeatConfig::new(HEARTBEAT))
                .load_if_exists(true)
                .build()?
        }
    };
    let mut settings = serde_json::to_value(cfg)
        .map_err(|e| Error::Invalid(format!("the search settings do not serialise: {e}")))?;
    // The effective budget: a grid ignores `trials`, so two grid runs that differ only
    // in it are the same search.
    settings["trials"] = trials.into();
    settings["n_train"] = splits.train.n.into();
    settings["n_valid"] = splits.valid.n.into();
    if let Some(s) = shared {
        check_settings(&study, &s.name, &settings)?;
    }
    // This worker's best trial: (number, validation loss, weights).
    let mut own_best: Option<(u64, f64, Vec<candle_core::Tensor>)> = None;
    let mut own = 0;
    while shared.is_some() || own < trials {
        let mut trial = match study.ask() {
            Ok(t) => t,
            Err(hyperscape_core::Error::SpaceExhausted(_)) if shared.is_some() => break,
            Err(hyperscape_core::Error::NothingToClaim(_)) if shared.is_some() => {
                std::thread::sleep(POLL);
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        own += 1;
        let lam = names
            .iter()
            .map(|n| trial.suggest_float(n, cfg.lo, cfg.hi))
            .collect::<hyperscape_core::Result<Vec<f64>>>()?;
        let (model, phi, e) = pb.train_at(&lam)?;
        let v = set_metrics(model.as_ref(), &splits.valid)?.cross_entropy;
        trial.set_user_attr(PHI_ATTR, phi)?;
        trial.set_user_attr(EPOCHS_ATTR, e)?;
        trial.set_user_attr(SETTINGS_ATTR, settings.clone())?;
        let number = trial.number();
        study.tell_values(trial, v)?;
        if own_best.as_ref().is_none_or(|(_, b, _)| v < *b) {
            own_best = Some((number, v, snapshot(model.as_ref())?));
        }
    }
    // Every complete trial of the study, in trial order; the best is the first with
    // the lowest validation loss.
    let mut epochs = 0;
    let mut evals = Vec::new();
    let mut best: Option<(u64, f64, Vec<f64>)> = None;
    for t in study.trials_with_state(TrialState::Complete)? {
        let lam = names
            .iter()
            .map(|n| t.params.get(n).and_then(ParamValue::as_f64))
            .collect::<Option<Vec<f64>>>()
            .ok_or_else(|| {
                Error::Invalid(format!("trial {} of the study has no {names:?}", t.number))
            })?;
        let v = t
            .values
            .as_ref()
            .and_then(|v| v.first().copied())
            .ok_or_else(|| {
                Error::Invalid(format!("trial {} of the study has no value", t.number))
            })?;
        let attr = |k: &str| t.user_attrs.get(k).and_then(serde_json::Value::as_f64);
        epochs += attr(EPOCHS_ATTR).unwrap_or(0.0) as usize;
        evals.push((lam.clone(), attr(PHI_ATTR).unwrap_or(f64::NAN), v));
        if best.as_ref().is_none_or(|(_, b, _)| v < *b) {
            best = Some((t.number, v, lam));
        }
    }
    let (number, _, lambda) = best.ok_or_else(|| Error::Invalid("no trial completed".into()))?;
    let model = match own_best {
        Some((n, _, w)) if n == number => {
            let model = pb.fresh()?;
            restore(model.as_ref(), &w)?;
            model
        }
        _ => pb.train_at(&lambda)?.0,
    };
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

/// The full grid with `per_dim` points per λ, endpoints included, the last λ fastest.
fn grid(
    names: &[String],
    per_dim: usize,
    lo: f64,
    hi: f64,
) -> Result<Vec<BTreeMap<String, ParamValue>>> {
    if per_dim < 2 {
        return Err(Error::Invalid(
            "a grid needs at least 2 points per dimension".into(),
        ));
    }
    let mut points = vec![BTreeMap::new()];
    for name in names {
        let mut next = Vec::new();
        for p in &points {
            for j in 0..per_dim {
                let v = lo + (hi - lo) * j as f64 / (per_dim - 1) as f64;
                let mut q: BTreeMap<String, ParamValue> = p.clone();
                q.insert(name.clone(), ParamValue::Float(v));
                next.push(q);
            }
        }
        points = next;
    }
    Ok(points)
}

/// A shared study's complete trials must all come from the same search on the same
/// data (running ones get their attributes when told).
fn check_settings(study: &Study, name: &str, settings: &serde_json::Value) -> Result<()> {
    for t in study.trials_with_state(TrialState::Complete)? {
        if let Some(stored) = t.user_attrs.get(SETTINGS_ATTR) {
            if stored != settings {
                return Err(Error::Invalid(format!(
                    "study `{name}` holds trials of another search: its trial {} was run \
                     with {stored}, this run has {settings}; use another study name",
                    t.number
                )));
            }
        } else {
            return Err(Error::Invalid(format!(
                "study `{name}` holds trial {}, which is not a bilevel search trial; \
                 use another study name",
                t.number
            )));
        }
    }
    Ok(())
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

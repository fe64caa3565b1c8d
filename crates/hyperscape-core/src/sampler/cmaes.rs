//! CMA-ES, after Optuna's `CmaEsSampler` (own implementation of Hansen's tutorial).
//!
//! The relative search space (the declared space, else the intersection space of
//! complete trials; categoricals and single-valued parameters excluded) is mapped to
//! the unit cube with `Distribution::to_unit` (log parameters in log scale). Each ask
//! draws one member from the current search distribution; a generation is told when
//! `popsize` complete results of it are in. Discrete dimensions use CMA-ES with margin;
//! runs restart (IPOP or BIPOP) on the standard termination criteria; the first
//! distribution can be warm started from earlier trials (WS-CMA-ES). See
//! `docs/samplers.md`.

mod es;
mod margin;
mod warm;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use nalgebra::DVector;
use rand::Rng;

use super::{fresh_seed, seeded_uniform, trial_rng, Sampler, TrialContext};
use crate::error::{Error, Result};
use crate::param::{Distribution, ParamValue};
use crate::space::SearchSpace;
use crate::trial::{Direction, FrozenTrial, TrialState};
use crate::view::StudyView;

use es::Es;
pub use es::StopReason;
use margin::Bins;

/// What happens when a run meets a termination criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// Keep sampling from the converged distribution (Optuna's default).
    None,
    /// Restart from a random mean with the population multiplied by `inc_popsize`.
    Ipop,
    /// Alternate a doubling large population and small populations with smaller
    /// step sizes, whichever has used less of the budget (Hansen 2009).
    Bipop,
}

/// Builds a [`CmaEsSampler`].
#[derive(Debug, Clone)]
pub struct CmaEsBuilder {
    seed: Option<u64>,
    sigma0: f64,
    popsize: Option<usize>,
    restart: Restart,
    inc_popsize: usize,
    margin: bool,
    margin_alpha: Option<f64>,
    n_startup_trials: usize,
    warm_start: bool,
    source_trials: Vec<FrozenTrial>,
    ws_gamma: f64,
    ws_alpha: f64,
    tolfun: f64,
    tolx: f64,
}

impl Default for CmaEsBuilder {
    fn default() -> Self {
        Self {
            seed: None,
            sigma0: 1.0 / 6.0,
            popsize: None,
            restart: Restart::None,
            inc_popsize: 2,
            margin: true,
            margin_alpha: None,
            n_startup_trials: 1,
            warm_start: false,
            source_trials: Vec::new(),
            ws_gamma: 0.1,
            ws_alpha: 0.1,
            tolfun: 1e-12,
            tolx: 1e-12,
        }
    }
}

impl CmaEsBuilder {
    /// Seed of every random draw; `None` (default) takes one from the OS.
    pub fn seed(mut self, seed: Option<u64>) -> Self {
        self.seed = seed;
        self
    }
    /// Initial step size in the unit cube (default 1/6, Optuna's `range / 6`).
    pub fn sigma0(mut self, s: f64) -> Self {
        self.sigma0 = s;
        self
    }
    /// Population size of the first run (default `4 + ⌊3 ln n⌋`).
    pub fn popsize(mut self, n: usize) -> Self {
        self.popsize = Some(n);
        self
    }
    /// Restart strategy (default none).
    pub fn restart(mut self, r: Restart) -> Self {
        self.restart = r;
        self
    }
    /// Population factor of each IPOP restart (default 2).
    pub fn inc_popsize(mut self, k: usize) -> Self {
        self.inc_popsize = k;
        self
    }
    /// Margin for ints and step floats (default on).
    pub fn margin(mut self, yes: bool) -> Self {
        self.margin = yes;
        self
    }
    /// Margin probability α (default `1 / (n · popsize)`).
    pub fn margin_alpha(mut self, a: f64) -> Self {
        self.margin_alpha = Some(a);
        self
    }
    /// Complete trials drawn independently before CMA-ES starts (default 1: the
    /// intersection space needs one complete trial).
    pub fn n_startup_trials(mut self, n: usize) -> Self {
        self.n_startup_trials = n;
        self
    }
    /// Start from the best complete trials of the study (those present when the run
    /// starts, for example the startup trials or enqueued ones), WS-CMA-ES style.
    pub fn warm_start(mut self, yes: bool) -> Self {
        self.warm_start = yes;
        self
    }
    /// Start from the best of these trials (for example a finished study of a similar
    /// task), WS-CMA-ES style. Turns `warm_start` on.
    pub fn source_trials(mut self, trials: Vec<FrozenTrial>) -> Self {
        self.source_trials = trials;
        self.warm_start = true;
        self
    }
    /// WS-CMA-ES settings: the fraction of best source points used (default 0.1) and
    /// the regularisation α (default 0.1).
    pub fn warm_start_gamma_alpha(mut self, gamma: f64, alpha: f64) -> Self {
        self.ws_gamma = gamma;
        self.ws_alpha = alpha;
        self
    }
    /// Termination tolerances on the function values and the step size (default 1e-12).
    pub fn tolerances(mut self, tolfun: f64, tolx: f64) -> Self {
        self.tolfun = tolfun;
        self.tolx = tolx;
        self
    }

    /// Checks the settings.
    pub fn build(self) -> Result<CmaEsSampler> {
        let bad = |m: String| Err(Error::InvalidSampler(format!("cmaes: {m}")));
        if !(self.sigma0.is_finite() && self.sigma0 > 0.0) {
            return bad(format!(
                "sigma0 must be positive and finite, got {}",
                self.sigma0
            ));
        }
        if self.popsize.is_some_and(|p| p < 2) {
            return bad("popsize must be at least 2".into());
        }
        if self.inc_popsize < 1 {
            return bad("inc_popsize must be at least 1".into());
        }
        if self.margin_alpha.is_some_and(|a| !(a > 0.0 && a < 0.5)) {
            return bad("margin_alpha must lie in (0, 0.5)".into());
        }
        if !(self.ws_gamma > 0.0 && self.ws_gamma <= 1.0 && self.ws_alpha > 0.0) {
            return bad("warm start needs 0 < gamma <= 1 and alpha > 0".into());
        }
        if !(self.tolfun >= 0.0 && self.tolx >= 0.0) {
            return bad("tolerances must be non-negative".into());
        }
        Ok(CmaEsSampler {
            seed: self.seed.unwrap_or_else(fresh_seed),
            cfg: self,
            run: None,
            pending: HashMap::new(),
            schedule: Schedule::default(),
            stats: Arc::new(Mutex::new(CmaEsStats::default())),
        })
    }
}

/// What a CMA-ES sampler did, shared with [`CmaEsSampler::stats`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CmaEsStats {
    /// Every run (the first and each restart), oldest first.
    pub runs: Vec<RunInfo>,
}

/// One CMA-ES run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    pub popsize: usize,
    pub sigma0: f64,
    pub generations: u64,
    /// The best loss told to this run (negated values when maximising).
    pub best: f64,
    pub stop: Option<StopReason>,
}

/// The restart schedule (IPOP / BIPOP bookkeeping).
#[derive(Debug, Clone, Default)]
struct Schedule {
    restarts: u32,
    large_restarts: u32,
    /// Evaluations told to large-population and small-population runs (BIPOP).
    budget_large: u64,
    budget_small: u64,
    current_small: bool,
}

/// A member handed out, waiting for its trial to finish.
#[derive(Debug, Clone)]
struct Member {
    run: u64,
    generation: u64,
    x: DVector<f64>,
}

/// The current run: its space, bins and state, and the results of its generation.
#[derive(Debug)]
struct Run {
    id: u64,
    names: Vec<String>,
    dists: Vec<Distribution>,
    bins: Vec<Option<Bins>>,
    es: Es,
    results: Vec<(DVector<f64>, f64)>,
}

/// The CMA-ES sampler. Build with [`CmaEsSampler::builder`].
#[derive(Debug)]
pub struct CmaEsSampler {
    seed: u64,
    cfg: CmaEsBuilder,
    run: Option<Run>,
    pending: HashMap<u64, Member>,
    schedule: Schedule,
    stats: Arc<Mutex<CmaEsStats>>,
}

impl CmaEsSampler {
    pub fn builder() -> CmaEsBuilder {
        CmaEsBuilder::default()
    }
    /// Plain CMA-ES with the defaults.
    pub fn new(seed: Option<u64>) -> Self {
        Self::builder()
            .seed(seed)
            .build()
            .expect("default settings are valid")
    }
    /// A handle on the runs so far, readable while a study owns the sampler.
    pub fn stats(&self) -> Arc<Mutex<CmaEsStats>> {
        Arc::clone(&self.stats)
    }

    fn default_popsize(n: usize) -> usize {
        4 + (3.0 * (n.max(1) as f64).ln()).floor() as usize
    }

    fn record<F: FnOnce(&mut CmaEsStats)>(&self, f: F) {
        if let Ok(mut s) = self.stats.lock() {
            f(&mut s)
        }
    }

    /// Starts the first run on `space`.
    fn start(&mut self, view: &StudyView<'_>, space: &SearchSpace) {
        let names: Vec<String> = space.0.keys().cloned().collect();
        let dists: Vec<Distribution> = space.0.values().cloned().collect();
        let n = names.len();
        let lambda = self.cfg.popsize.unwrap_or_else(|| Self::default_popsize(n));
        let mut start = None;
        if self.cfg.warm_start {
            let sign = loss_sign(view.directions());
            let src: Vec<&FrozenTrial> = if self.cfg.source_trials.is_empty() {
                view.complete_trials().collect()
            } else {
                self.cfg.source_trials.iter().collect()
            };
            let pts: Vec<(DVector<f64>, f64)> = src
                .into_iter()
                .filter(|t| t.state == TrialState::Complete)
                .filter_map(|t| Some((unit_point(t, &names, &dists)?, sign * t.value()?)))
                .filter(|(_, v)| v.is_finite())
                .collect();
            start = warm::estimate(&pts, self.cfg.ws_gamma, self.cfg.ws_alpha);
        }
        let es = match start {
            Some(s) => Es::new(s.mean, s.sigma, Some(s.cov), lambda),
            None => Es::new(DVector::from_element(n, 0.5), self.cfg.sigma0, None, lambda),
        };
        let id = self.run.as_ref().map_or(0, |r| r.id + 1);
        self.schedule = Schedule::default();
        self.begin(id, names, dists, es);
    }

    fn begin(&mut self, id: u64, names: Vec<String>, dists: Vec<Distribution>, mut es: Es) {
        es.tolfun = self.cfg.tolfun;
        es.tolx = self.cfg.tolx;
        let bins = dists
            .iter()
            .map(|d| if self.cfg.margin { Bins::of(d) } else { None })
            .collect();
        let info = RunInfo {
            popsize: es.lambda(),
            sigma0: es.sigma,
            generations: 0,
            best: f64::INFINITY,
            stop: None,
        };
        self.record(|s| s.runs.push(info));
        let mut run = Run {
            id,
            names,
            dists,
            bins,
            es,
            results: Vec::new(),
        };
        apply_margin(&mut run, self.cfg.margin_alpha);
        self.pending.retain(|_, m| m.run == id);
        self.run = Some(run);
    }

    /// The next run after `reason` stopped the current one, per the restart strategy.
    fn restart(&mut self, reason: StopReason) {
        if self.cfg.restart == Restart::None {
            return;
        }
        let Some(run) = self.run.take() else { return };
        self.record(|s| {
            if let Some(r) = s.runs.last_mut() {
                r.stop = Some(reason);
            }
        });
        let n = run.names.len();
        let used = run.es.generation * run.es.lambda() as u64;
        let mut rng = trial_rng(self.seed, run.id, "cmaes-restart");
        let base = self.cfg.popsize.unwrap_or_else(|| Self::default_popsize(n));
        let sch = &mut self.schedule;
        if sch.current_small {
            sch.budget_small += used;
        } else {
            sch.budget_large += used;
        }
        sch.restarts += 1;
        let (lambda, sigma) = match self.cfg.restart {
            Restart::None | Restart::Ipop => (
                base.saturating_mul(self.cfg.inc_popsize.saturating_pow(sch.restarts)),
                self.cfg.sigma0,
            ),
            Restart::Bipop => {
                if sch.large_restarts > 0 && sch.budget_small < sch.budget_large {
                    sch.current_small = true;
                    let large =
                        base.saturating_mul(2usize.saturating_pow(sch.large_restarts)) as f64;
                    let u: f64 = rng.random();
                    let l = (base as f64 * (0.5 * large / base as f64).powf(u * u)).floor();
                    (
                        (l as usize).max(2),
                        self.cfg.sigma0 * 10f64.powf(-2.0 * rng.random::<f64>()),
                    )
                } else {
                    sch.current_small = false;
                    sch.large_restarts += 1;
                    (
                        base.saturating_mul(2usize.saturating_pow(sch.large_restarts)),
                        self.cfg.sigma0,
                    )
                }
            }
        };
        let mean = DVector::from_fn(n, |_, _| rng.random::<f64>());
        let es = Es::new(mean, sigma, None, lambda.min(1 << 20));
        self.begin(run.id + 1, run.names, run.dists, es);
    }

    /// Feeds a finished trial to its generation; tells the generation when it is full.
    fn ingest(&mut self, view: &StudyView<'_>, trial: &FrozenTrial) {
        let Some(member) = self.pending.remove(&trial.number) else {
            return;
        };
        let Some(run) = self.run.as_mut() else { return };
        if member.run != run.id || member.generation != run.es.generation {
            return; // a late result of an earlier generation: dropped
        }
        if trial.state != TrialState::Complete {
            return; // pruned or failed: another member replaces it
        }
        let Some(value) = trial.value().filter(|v| v.is_finite()) else {
            return;
        };
        // The parameters actually used (a fixed value may override the sample). A
        // parameter the trial did not use (conditional in a declared space) keeps the
        // member's coordinate: it did not affect the value.
        let mut x = member.x;
        for (j, (name, d)) in run.names.iter().zip(&run.dists).enumerate() {
            if let Some(v) = trial.params.get(name) {
                if trial.distributions.get(name) == Some(d) && !d.from_unit(x[j]).same_as(v) {
                    if let Some(u) = d.to_unit(v) {
                        x[j] = u.clamp(0.0, 1.0);
                    }
                }
            }
        }
        let loss = loss_sign(view.directions()) * value;
        run.results.push((x, loss));
        if run.results.len() < run.es.lambda() {
            return;
        }
        let mut sols = std::mem::take(&mut run.results);
        run.es.tell(&mut sols);
        apply_margin(run, self.cfg.margin_alpha);
        let (generations, best) = (run.es.generation, sols[0].1);
        let id = run.id;
        self.pending
            .retain(|_, m| m.run == id && m.generation == generations);
        self.record(|s| {
            if let Some(r) = s.runs.last_mut() {
                r.generations = generations;
                r.best = r.best.min(best);
            }
        });
        if self.cfg.restart != Restart::None {
            if let Some(reason) = self.run.as_ref().and_then(|r| r.es.should_stop()) {
                self.restart(reason);
            }
        }
    }
}

/// Sets the margin scale of every discrete coordinate of the run.
fn apply_margin(run: &mut Run, alpha: Option<f64>) {
    let es = &mut run.es;
    let alpha = alpha.unwrap_or(1.0 / (es.n as f64 * es.lambda() as f64));
    for (j, b) in run.bins.iter().enumerate() {
        let Some(b) = b else { continue };
        let need = margin::required_std(b, es.mean[j], alpha);
        let have = es.coord_std(j);
        es.a[j] = if have > 1e-300 {
            (need / have).max(1.0)
        } else {
            1.0
        };
    }
}

/// +1 to minimise, -1 to maximise (single objective).
fn loss_sign(directions: &[Direction]) -> f64 {
    match directions.first() {
        Some(Direction::Maximize) => -1.0,
        _ => 1.0,
    }
}

/// A trial's point in the unit cube of `names`, if it has all of them with the same
/// distributions.
fn unit_point(t: &FrozenTrial, names: &[String], dists: &[Distribution]) -> Option<DVector<f64>> {
    let mut x = Vec::with_capacity(names.len());
    for (name, d) in names.iter().zip(dists) {
        if t.distributions.get(name) != Some(d) {
            return None;
        }
        x.push(d.to_unit(t.params.get(name)?)?.clamp(0.0, 1.0));
    }
    Some(DVector::from_vec(x))
}

impl Sampler for CmaEsSampler {
    fn name(&self) -> &str {
        match self.cfg.restart {
            Restart::None => "cmaes",
            Restart::Ipop => "cmaes-ipop",
            Restart::Bipop => "cmaes-bipop",
        }
    }

    fn infer_relative_search_space(
        &mut self,
        view: &StudyView<'_>,
        _trial: &TrialContext,
    ) -> SearchSpace {
        if view.n_complete() < self.cfg.n_startup_trials {
            return SearchSpace::default();
        }
        let mut s = match view.declared_space() {
            Some(d) => d.clone(),
            None => view.intersection_space(),
        };
        s.0.retain(|_, d| !d.is_categorical() && d.cardinality() != Some(1));
        s
    }

    fn sample_relative(
        &mut self,
        view: &StudyView<'_>,
        trial: &TrialContext,
        space: &SearchSpace,
    ) -> Result<BTreeMap<String, ParamValue>> {
        if space.is_empty() {
            return Ok(BTreeMap::new());
        }
        if view.is_multi_objective() {
            return Err(Error::InvalidSampler(
                "cmaes: CMA-ES optimises a single objective; use nsga or tpe for several".into(),
            ));
        }
        let same = self.run.as_ref().is_some_and(|r| {
            r.names.len() == space.0.len()
                && r.names
                    .iter()
                    .zip(&r.dists)
                    .all(|(n, d)| space.0.get(n) == Some(d))
        });
        if !same {
            self.start(view, space);
        }
        let run = self.run.as_ref().expect("a run was just started");
        let mut rng = trial_rng(self.seed, trial.number, "cmaes");
        let x = run.es.sample(&mut rng);
        let out = run
            .names
            .iter()
            .zip(&run.dists)
            .enumerate()
            .map(|(j, (n, d))| (n.clone(), d.from_unit(x[j])))
            .collect();
        let member = Member {
            run: run.id,
            generation: run.es.generation,
            x,
        };
        self.pending.insert(trial.number, member);
        Ok(out)
    }

    fn sample_independent(
        &mut self,
        _view: &StudyView<'_>,
        trial: &TrialContext,
        name: &str,
        distribution: &Distribution,
    ) -> Result<ParamValue> {
        Ok(seeded_uniform(self.seed, trial, name, distribution))
    }

    fn after_trial(&mut self, view: &StudyView<'_>, trial: &FrozenTrial) {
        self.ingest(view, trial);
    }
}

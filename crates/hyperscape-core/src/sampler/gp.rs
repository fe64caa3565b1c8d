//! Gaussian-process Bayesian optimisation, in the spirit of Optuna's `GPSampler`.
//!
//! - **Model**: a GP with a Matérn-5/2 ARD kernel on the unit cube (log parameters
//!   log-warped, categoricals through a Hamming distance with their own lengthscale;
//!   see [`model`]), outputs standardised, hyperparameters fitted by maximum a
//!   posteriori with L-BFGS-B and analytic gradients, warm-started from the last fit.
//! - **Acquisition**: log expected improvement, plus the log probability of
//!   feasibility of each constraint (one GP per constraint), maximised over Sobol
//!   candidates then projected L-BFGS (see [`acqf`]). Ints and steps are rounded at
//!   proposal time; an already evaluated discrete point is not proposed again.
//! - **Several objectives** (two or three): one GP per objective on its standardised
//!   losses and log expected hypervolume improvement over the feasible front, exact by
//!   box decomposition (see [`ehvi`]); the reference point is the front's nadir moved a
//!   quarter of the way to the worst observed values, plus 10% of their range. With
//!   four or more objectives, or with [`MultiObjective::ParEgo`] (`gp-parego`): ParEGO — each trial scalarises the
//!   normalised losses with its own seeded random weights (augmented Chebyshev) and
//!   maximises log EI of that.
//! - **Parallel workers**: running trials enter as fantasies — for the objective a
//!   constant liar at the worst value seen (per objective), for constraints a kriging
//!   believer (the posterior mean) — so the variance there collapses and workers spread
//!   out.
//! - **Scale**: the Cholesky factor is kept between trials and grows by an O(n²) append
//!   per new trial; hyperparameters are refitted only when the data has grown by
//!   `refit_growth` (10% by default), on at most `max_fit_points` points.
//!
//! Startup: the first `n_startup_trials` complete trials are scrambled-Sobol points
//! ([`Startup::Sobol`], the default) or seeded uniform draws ([`Startup::Random`]).
//! Pruned and failed trials are ignored. See `docs/samplers.md`.

// Dense numerical kernels index several arrays by the same coordinate.
#![allow(clippy::needless_range_loop)]

mod acqf;
mod ehvi;
mod lbfgs;
mod linalg;
mod model;
mod store;

use std::collections::BTreeMap;

use rand::Rng;

use super::multi::fronts_until;
use super::{fresh_seed, seeded_uniform, trial_rng, Sampler, TrialContext};
use crate::error::{Error, Result};
use crate::param::{Distribution, ParamValue};
use crate::space::{Condition, SearchSpace, SpaceDecl};
use crate::trial::FrozenTrial;
use crate::view::StudyView;

pub use acqf::StartRule;
pub use acqf::{log_ei, log_h};
use ehvi::Ehvi;
use model::{Gp, Hyper};

/// Most objectives log-EHVI handles; beyond, ParEGO (the box decomposition grows as
/// `n^(m−1)`).
pub const EHVI_MAX_OBJECTIVES: usize = 3;

/// How the GP sampler handles several objectives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MultiObjective {
    /// Log expected hypervolume improvement, one GP per objective (default; two or
    /// three objectives, ParEGO beyond).
    #[default]
    Ehvi,
    /// ParEGO: a seeded random augmented-Chebyshev scalarisation per trial, log EI.
    ParEgo,
}
use store::Store;

/// How the GP sampler draws its startup trials (before it has `n_startup_trials`
/// complete ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Startup {
    /// Owen-scrambled Sobol points, trial *k* taking point *k* (default).
    #[default]
    Sobol,
    /// Independent seeded uniform draws per trial and parameter, as Optuna's
    /// `GPSampler` does with its `RandomSampler`.
    Random,
}

/// Builds a [`GpSampler`].
#[derive(Debug, Clone)]
pub struct GpBuilder {
    seed: Option<u64>,
    n_startup_trials: usize,
    n_candidates: usize,
    n_local_search: usize,
    local_search_iter: usize,
    fit_iter: usize,
    max_fit_points: usize,
    refit_growth: f64,
    fantasies: bool,
    multi_objective: MultiObjective,
    start_rule: StartRule,
    startup: Startup,
    conditions: BTreeMap<String, Condition>,
}

impl Default for GpBuilder {
    fn default() -> Self {
        Self {
            seed: None,
            n_startup_trials: 10,
            n_candidates: 512,
            n_local_search: 4,
            local_search_iter: 30,
            fit_iter: 60,
            max_fit_points: 256,
            refit_growth: 0.1,
            fantasies: true,
            multi_objective: MultiObjective::Ehvi,
            start_rule: StartRule::Best,
            startup: Startup::Sobol,
            conditions: BTreeMap::new(),
        }
    }
}

impl GpBuilder {
    /// Seed of every random draw; `None` (default) takes one from the OS.
    pub fn seed(mut self, seed: Option<u64>) -> Self {
        self.seed = seed;
        self
    }
    /// Complete trials drawn by the [`Startup`] design before the GP starts (default 10).
    pub fn n_startup_trials(mut self, n: usize) -> Self {
        self.n_startup_trials = n;
        self
    }
    /// How the startup trials are drawn (default [`Startup::Sobol`]).
    pub fn startup(mut self, startup: Startup) -> Self {
        self.startup = startup;
        self
    }
    /// Quasi-random candidates scored per proposal (default 512).
    pub fn n_candidates(mut self, n: usize) -> Self {
        self.n_candidates = n;
        self
    }
    /// Local searches (L-BFGS-B) from the best candidates (default 4).
    pub fn n_local_search(mut self, n: usize) -> Self {
        self.n_local_search = n;
        self
    }
    /// How local-search starts are picked among the scored candidates (default
    /// [`StartRule::Best`], the `n_local_search` best; [`StartRule::Roulette`]: the best,
    /// then a seeded draw weighted by `exp(log acquisition − best)`, as Optuna 5's
    /// `GPSampler` does).
    pub fn start_rule(mut self, rule: StartRule) -> Self {
        self.start_rule = rule;
        self
    }
    /// Iterations of each local search (default 30).
    pub fn local_search_iter(mut self, n: usize) -> Self {
        self.local_search_iter = n;
        self
    }
    /// Iterations of each hyperparameter fit (default 60).
    pub fn fit_iter(mut self, n: usize) -> Self {
        self.fit_iter = n;
        self
    }
    /// Most points a hyperparameter fit looks at (a seeded subset beyond; default 256).
    pub fn max_fit_points(mut self, n: usize) -> Self {
        self.max_fit_points = n;
        self
    }
    /// Refit the hyperparameters once the data has grown by this fraction since the
    /// last fit (default 0.1; 0 refits at every trial).
    pub fn refit_growth(mut self, f: f64) -> Self {
        self.refit_growth = f;
        self
    }
    /// Treat running trials of other workers as kriging-believer fantasies (default true).
    pub fn fantasies(mut self, yes: bool) -> Self {
        self.fantasies = yes;
        self
    }

    /// The conditions of a declared space with conditional parameters (from its
    /// [`SpaceDecl`]). With them the GP models every branch jointly: a parameter
    /// whose condition fails is imputed at a fixed coordinate, in the observations and
    /// in every proposal. Without them (the default), a declared space is cut to the
    /// parameters every complete trial has, and the others are drawn at random, as
    /// Optuna's `GPSampler` does.
    pub fn conditions(mut self, space: &SpaceDecl) -> Self {
        self.conditions = space
            .params
            .iter()
            .filter_map(|p| Some((p.name.clone(), p.condition.clone()?)))
            .collect();
        self
    }

    /// How several objectives are handled (default [`MultiObjective::Ehvi`]).
    pub fn multi_objective(mut self, mo: MultiObjective) -> Self {
        self.multi_objective = mo;
        self
    }

    /// Checks the settings.
    pub fn build(self) -> Result<GpSampler> {
        let bad = |m: &str| Err(Error::InvalidSampler(format!("gp: {m}")));
        if self.n_candidates == 0 {
            return bad("n_candidates must be at least 1");
        }
        if self.max_fit_points < 2 {
            return bad("max_fit_points must be at least 2");
        }
        if !(self.refit_growth.is_finite() && self.refit_growth >= 0.0) {
            return bad(&format!(
                "refit_growth must be finite and non-negative, got {}",
                self.refit_growth
            ));
        }
        Ok(GpSampler {
            seed: self.seed.unwrap_or_else(fresh_seed),
            cfg: self,
            store: None,
            models: Vec::new(),
            issued: BTreeMap::new(),
        })
    }
}

/// One GP (objective or constraint) kept across trials.
#[derive(Debug, Clone)]
struct Model {
    hyper: Hyper,
    gp: Option<Gp>,
    n_fit: usize,
}

/// The GP sampler. Build with [`GpSampler::builder`].
#[derive(Debug)]
pub struct GpSampler {
    seed: u64,
    cfg: GpBuilder,
    store: Option<Store>,
    /// Objective models (one, or one per objective under EHVI), then one per
    /// constraint.
    models: Vec<Model>,
    /// Points proposed for trials that may not have reported them yet.
    issued: BTreeMap<u64, Vec<f64>>,
}

/// Standardises `v` in place; returns nothing useful when all values are equal.
fn standardise(v: &mut [f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let sd = if var.sqrt() > 1e-12 { var.sqrt() } else { 1.0 };
    v.iter_mut().for_each(|x| *x = (*x - mean) / sd);
    (mean, sd)
}

impl GpSampler {
    pub fn builder() -> GpBuilder {
        GpBuilder::default()
    }
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// A startup point of the [`Startup`] design (also the fallback when no
    /// proposal can be made).
    fn startup_point(
        &self,
        trial: &TrialContext,
        space: &SearchSpace,
    ) -> BTreeMap<String, ParamValue> {
        match self.cfg.startup {
            Startup::Sobol => self.sobol_point(trial, space),
            Startup::Random => space
                .iter()
                .map(|(name, dist)| {
                    let stream = format!("gp:startup:{name}");
                    (
                        name.clone(),
                        seeded_uniform(self.seed, trial, &stream, dist),
                    )
                })
                .collect(),
        }
    }

    fn sobol_point(
        &self,
        trial: &TrialContext,
        space: &SearchSpace,
    ) -> BTreeMap<String, ParamValue> {
        let index = (trial.number % (1 << 16)) as u32;
        let seed = (self.seed as u32) ^ ((self.seed >> 32) as u32) ^ 0x6770_0000;
        space
            .iter()
            .enumerate()
            .map(|(dim, (name, dist))| {
                let u = if (dim as u32) < sobol_burley::NUM_DIMENSIONS {
                    sobol_burley::sample(index, dim as u32, seed) as f64
                } else {
                    trial_rng(self.seed, trial.number, name).random()
                };
                (name.clone(), dist.from_unit(u))
            })
            .collect()
    }

    /// Objective targets (maximised, standardised): the loss, or for several
    /// objectives the trial's ParEGO scalarisation.
    fn objective_targets(&self, store: &Store, trial: &TrialContext) -> Vec<f64> {
        let m = store.obs.first().map_or(1, |o| o.loss.len());
        let mut y: Vec<f64> = if m == 1 {
            store.obs.iter().map(|o| -o.loss[0]).collect()
        } else {
            let mut rng = trial_rng(self.seed, trial.number, "gp:parego");
            let mut w: Vec<f64> = (0..m).map(|_| -(1.0 - rng.random::<f64>()).ln()).collect();
            let sum: f64 = w.iter().sum();
            w.iter_mut().for_each(|v| *v /= sum);
            let lo: Vec<f64> = (0..m)
                .map(|j| {
                    store
                        .obs
                        .iter()
                        .map(|o| o.loss[j])
                        .fold(f64::INFINITY, f64::min)
                })
                .collect();
            let hi: Vec<f64> = (0..m)
                .map(|j| {
                    store
                        .obs
                        .iter()
                        .map(|o| o.loss[j])
                        .fold(f64::NEG_INFINITY, f64::max)
                })
                .collect();
            store
                .obs
                .iter()
                .map(|o| {
                    let f: Vec<f64> = (0..m)
                        .map(|j| w[j] * (o.loss[j] - lo[j]) / (hi[j] - lo[j]).max(1e-12))
                        .collect();
                    -(f.iter().fold(f64::NEG_INFINITY, |a, b| a.max(*b))
                        + 0.05 * f.iter().sum::<f64>())
                })
                .collect()
        };
        standardise(&mut y);
        y
    }

    /// Brings `model` up to date with the first `n` rows and targets `y`: an O(n²)
    /// append per new row, or a refit (and refactorisation) when the data has grown
    /// enough since the last fit.
    fn update_model(
        cfg: &GpBuilder,
        seed: u64,
        model: &mut Model,
        store: &Store,
        rows: &[usize],
        y: &[f64],
    ) {
        let d = store.enc.d();
        let n = rows.len();
        let grown = n as f64 >= model.n_fit as f64 * (1.0 + cfg.refit_growth);
        let stale = model.gp.as_ref().is_none_or(|g| g.n() > n);
        if grown && n > model.n_fit || stale {
            let fit_rows: Vec<usize> = if n > cfg.max_fit_points {
                let mut idx: Vec<usize> = (0..n).collect();
                let mut rng = trial_rng(seed, n as u64, "gp:fit-subset");
                for i in 0..cfg.max_fit_points {
                    let j = rng.random_range(i..n);
                    idx.swap(i, j);
                }
                idx.truncate(cfg.max_fit_points);
                idx.sort_unstable();
                idx
            } else {
                (0..n).collect()
            };
            let fx: Vec<f64> = fit_rows
                .iter()
                .flat_map(|&i| store.row(rows[i]).iter().copied())
                .collect();
            let fy: Vec<f64> = fit_rows.iter().map(|&i| y[i]).collect();
            model.hyper = model::fit(&model.hyper, &fx, &fy, &store.enc.is_cat, cfg.fit_iter);
            model.n_fit = n;
            let x: Vec<f64> = rows
                .iter()
                .flat_map(|&i| store.row(i).iter().copied())
                .collect();
            model.gp = Gp::new(model.hyper.clone(), &store.enc.is_cat, &x);
        } else if let Some(gp) = &mut model.gp {
            for &i in &rows[gp.n()..] {
                if !gp.push(store.row(i)) {
                    model.gp = None;
                    break;
                }
            }
        }
        if let Some(gp) = &mut model.gp {
            debug_assert_eq!(gp.n(), n);
            let _ = d;
            gp.set_y(y);
        }
    }

    /// Adds running trials as fantasies: observed at `lie` (constant liar) or, without
    /// one, at the posterior mean (kriging believer).
    fn with_fantasies(gp: &Gp, y: &[f64], pending: &[Vec<f64>], lie: Option<f64>) -> Option<Gp> {
        let mut g = gp.clone();
        let mut y = y.to_vec();
        for p in pending {
            y.push(lie.unwrap_or_else(|| gp.predict(p).0));
            if !g.push(p) {
                return None;
            }
        }
        g.set_y(&y);
        Some(g)
    }

    /// Whether this study's objectives are modelled one GP each, for log-EHVI.
    fn uses_ehvi(&self, m: usize) -> bool {
        self.cfg.multi_objective == MultiObjective::Ehvi && (2..=EHVI_MAX_OBJECTIVES).contains(&m)
    }

    fn propose(
        &mut self,
        view: &StudyView<'_>,
        trial: &TrialContext,
    ) -> Option<BTreeMap<String, ParamValue>> {
        let store = self.store.as_ref()?;
        let n = store.n();
        let rows: Vec<usize> = (0..n).collect();
        let m = store.obs.first().map_or(1, |o| o.loss.len());
        let ehvi_mode = self.uses_ehvi(m);
        // One target column per objective model: standardised losses (minimised) under
        // EHVI, else one maximised column (the loss or the ParEGO scalarisation).
        let targets: Vec<Vec<f64>> = if ehvi_mode {
            (0..m)
                .map(|j| {
                    let mut y: Vec<f64> = store.obs.iter().map(|o| o.loss[j]).collect();
                    standardise(&mut y);
                    y
                })
                .collect()
        } else {
            vec![self.objective_targets(store, trial)]
        };
        let n_obj = targets.len();
        // Constraints: as many as the first trial that set them.
        let n_cons = store
            .obs
            .iter()
            .find_map(|o| o.constraints.as_ref().map(|c| c.len()))
            .unwrap_or(0);
        let d = store.enc.d();
        while self.models.len() < n_obj + n_cons {
            self.models.push(Model {
                hyper: Hyper::default_for(d),
                gp: None,
                n_fit: 0,
            });
        }
        for (j, y) in targets.iter().enumerate() {
            Self::update_model(&self.cfg, self.seed, &mut self.models[j], store, &rows, y);
        }
        let mut cons_data = Vec::new();
        for j in 0..n_cons {
            let crow: Vec<usize> = (0..n)
                .filter(|&i| {
                    store.obs[i]
                        .constraints
                        .as_ref()
                        .is_some_and(|c| c.len() == n_cons)
                })
                .collect();
            let mut cy: Vec<f64> = crow
                .iter()
                .map(|&i| store.obs[i].constraints.as_ref().map_or(0.0, |c| c[j]))
                .collect();
            if crow.len() < 2 {
                continue;
            }
            let (mean, sd) = standardise(&mut cy);
            // Feasible c ≤ 0 is, in standardised units, z ≤ (0 − mean)/sd.
            Self::update_model(
                &self.cfg,
                self.seed,
                &mut self.models[n_obj + j],
                store,
                &crow,
                &cy,
            );
            cons_data.push((n_obj + j, cy, -mean / sd));
        }
        let feasible: Vec<usize> = (0..n).filter(|&i| store.obs[i].feasible()).collect();
        let mut rng = trial_rng(self.seed, trial.number, "gp:acq");
        let pending = if self.cfg.fantasies {
            store.running(view, trial.number, &mut self.issued)
        } else {
            Vec::new()
        };
        let obj_gps: Vec<&Gp> = self.models[..n_obj]
            .iter()
            .map(|m| m.gp.as_ref())
            .collect::<Option<_>>()?;
        let fantasised = |gp: &Gp, y: &[f64], lie: Option<f64>| {
            if pending.is_empty() {
                None
            } else {
                Self::with_fantasies(gp, y, &pending, lie)
            }
        };
        // The objectives lie pessimistically (the worst value seen): the mean dips
        // where a worker is busy, so other workers look elsewhere.
        let obj_f: Vec<Option<Gp>> = obj_gps
            .iter()
            .zip(&targets)
            .map(|(gp, y)| {
                let worst = if ehvi_mode {
                    y.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                } else {
                    y.iter().copied().fold(f64::INFINITY, f64::min)
                };
                fantasised(gp, y, Some(worst))
            })
            .collect();
        let gps: Vec<&Gp> = obj_f
            .iter()
            .zip(&obj_gps)
            .map(|(f, g)| f.as_ref().unwrap_or(g))
            .collect();
        let mut cons_f = Vec::new();
        for (k, cy, thr) in &cons_data {
            if let Some(gp) = self.models[*k].gp.as_ref() {
                cons_f.push((fantasised(gp, cy, None), gp, *thr));
            }
        }
        let ehvi_front = (ehvi_mode && !feasible.is_empty()).then(|| {
            let pts: Vec<Vec<f64>> = feasible
                .iter()
                .map(|&i| targets.iter().map(|y| y[i]).collect())
                .collect();
            let refs: Vec<&[f64]> = pts.iter().map(Vec::as_slice).collect();
            let front: Vec<usize> = fronts_until(&refs, 1)
                .into_iter()
                .next()
                .unwrap_or_default();
            let front_pts: Vec<Vec<f64>> = front.iter().map(|&k| pts[k].clone()).collect();
            let r = reference_point(&targets, &front_pts);
            let start = front
                .get(rng.random_range(0..front.len().max(1)))
                .copied()
                .unwrap_or(0);
            (Ehvi::new(&front_pts, &r), feasible[start])
        });
        let (target, start) = match (&ehvi_front, feasible.is_empty()) {
            (_, true) => (acqf::Target::None, None),
            (Some((e, start)), false) => (
                acqf::Target::LogEhvi {
                    gps: gps.clone(),
                    ehvi: e,
                },
                Some(*start),
            ),
            (None, false) => {
                let y = &targets[0];
                let best = feasible
                    .iter()
                    .copied()
                    .max_by(|&a, &b| y[a].total_cmp(&y[b]))
                    .unwrap_or(0);
                (
                    acqf::Target::LogEi {
                        gp: gps[0],
                        best: y[best],
                    },
                    Some(best),
                )
            }
        };
        let acq = acqf::Acquisition {
            d,
            target,
            constraints: cons_f
                .iter()
                .map(|(f, g, t)| (f.as_ref().unwrap_or(g), *t))
                .collect(),
        };
        let mut exclude = store.keys.clone();
        exclude.extend(pending.iter().map(|p| acqf::key(p)));
        let enc = &store.enc;
        let round = |x: &mut [f64]| enc.round(x);
        let active = |x: &[f64]| enc.active(x);
        let space = acqf::Space {
            levels: &enc.levels,
            round: &round,
            active: &active,
            conditional: enc.has_conditions(),
            discrete: enc.discrete(),
            exclude: &exclude,
        };
        let search = acqf::Search {
            n_candidates: self.cfg.n_candidates,
            n_local: self.cfg.n_local_search,
            local_iter: self.cfg.local_search_iter,
            seed: rng.random(),
            starts: self.cfg.start_rule,
        };
        // Local search also starts from the incumbent (one objective) or from a seeded
        // random point of the Pareto front (several).
        let starts: Vec<Vec<f64>> = start.map(|i| store.row(i).to_vec()).into_iter().collect();
        let x = acqf::optimize(&acq, &space, search, &starts);
        let out = enc.decode(&x);
        if self.cfg.fantasies {
            self.issued.insert(trial.number, x);
        }
        Some(out)
    }
}

/// The log-EHVI reference point in standardised loss units, per objective: the nadir
/// of the feasible front moved a quarter of the way towards the worst observed value,
/// plus 10% of the observed range (at least 1e-3), so every observed point lies
/// strictly inside it. (At the worst observed value, Optuna's rule, the boxes beyond
/// the front are so wide that any uncertainty below an objective's observed minimum
/// pays, and log-EHVI stalls at the front's extremes; at the front's nadir it extends
/// the front too slowly. See docs/samplers.md.)
fn reference_point(targets: &[Vec<f64>], front: &[Vec<f64>]) -> Vec<f64> {
    targets
        .iter()
        .enumerate()
        .map(|(j, y)| {
            let hi = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let lo = y.iter().copied().fold(f64::INFINITY, f64::min);
            let nadir = front.iter().map(|p| p[j]).fold(lo, f64::max);
            nadir + 0.25 * (hi - nadir) + (0.1 * (hi - lo)).max(1e-3)
        })
        .collect()
}

fn is_single(d: &Distribution) -> bool {
    matches!(d, Distribution::Categorical { choices } if choices.len() == 1)
}

impl Sampler for GpSampler {
    fn name(&self) -> &str {
        "gp"
    }

    fn infer_relative_search_space(
        &mut self,
        view: &StudyView<'_>,
        _trial: &TrialContext,
    ) -> SearchSpace {
        let mut s = match view.declared_space() {
            Some(s) => s.clone(),
            None => view.intersection_space(),
        };
        if view.declared_space().is_some() {
            // Parameters some complete trial lacks: imputed where they are known to be
            // conditional, otherwise left to independent sampling (a trial without them
            // could not be placed in the GP's space).
            if let Some(all) = &view.cache.intersection {
                s.0.retain(|name, _| {
                    self.cfg.conditions.contains_key(name) || all.contains_key(name)
                });
            }
        }
        s.0.retain(|_, d| !is_single(d));
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
        if self.store.as_ref().is_none_or(|s| s.enc.space != *space) {
            self.store = Some(Store::new(space, &self.cfg.conditions));
            self.models.clear();
            self.issued.clear();
        }
        if let Some(s) = &mut self.store {
            s.refresh(view);
        }
        let n = self.store.as_ref().map_or(0, |s| s.n());
        if n < self.cfg.n_startup_trials.max(2) {
            return Ok(self.startup_point(trial, space));
        }
        Ok(self
            .propose(view, trial)
            .unwrap_or_else(|| self.startup_point(trial, space)))
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

    fn after_trial(&mut self, _view: &StudyView<'_>, _trial: &FrozenTrial) {}
}

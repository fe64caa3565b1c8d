//! Samplers: where the next configuration comes from.
//!
//! The contract follows Optuna's, which makes define-by-run spaces work:
//! - at ask time, [`Sampler::infer_relative_search_space`] names the parameters to sample
//!   *jointly* (relative sampling), and [`Sampler::sample_relative`] draws them;
//! - while the objective runs, a parameter outside that space (met for the first time,
//!   or conditional) is drawn by [`Sampler::sample_independent`];
//! - a sampler that hands out points exclusively (the grid) implements [`Sampler::claim`];
//!   the storage enforces the claim's uniqueness across threads, processes and machines.
//!
//! Samplers see a read-only [`StudyView`], never the storage. Methods take `&mut self`
//! so samplers may keep typed state; the study serialises calls.
//!
//! Every randomised step is seeded. Built-in samplers derive a per-trial random stream
//! from `(seed, trial number, parameter name)`, so a seeded study draws the same
//! configuration for trial *k* however many threads or processes run it.

mod auto;
mod cmaes;
mod gp;
mod grid;
pub mod multi;
mod nsga2;
mod nsga3;
mod random;
mod sobol;
pub(crate) mod tpe;

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub use auto::{
    choose as auto_choose, AutoBuilder, AutoInput, AutoSampler, ChosenHandle, CMAES_MIN_BUDGET,
    GP_MAX_BUDGET, GP_MAX_DIM, MO_TPE_MAX_BUDGET,
};
pub use cmaes::{CmaEsBuilder, CmaEsSampler, CmaEsStats, Restart, RunInfo, StopReason};
pub use gp::{
    log_ei, log_h, GpBuilder, GpSampler, MultiObjective, StartRule, Startup, EHVI_MAX_OBJECTIVES,
};
pub use grid::GridSampler;
pub use nsga2::{Nsga2Builder, Nsga2Sampler};
pub use nsga3::{reference_directions, Nsga3Builder};
pub use random::RandomSampler;
pub use sobol::SobolSampler;
pub use tpe::{
    default_gamma, default_weights, Bandwidth as TpeBandwidth, GammaFn, TpeBuilder, TpeSampler,
    WeightsFn,
};

use crate::error::Result;
use crate::param::{Distribution, ParamValue};
use crate::space::SearchSpace;
use crate::storage::TrialId;
use crate::trial::FrozenTrial;
use crate::view::StudyView;

/// What a sampler knows of the trial it samples for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrialContext {
    pub id: TrialId,
    pub number: u64,
}

/// A point handed out exclusively: the storage refuses a second trial with the same key.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub key: String,
    pub params: BTreeMap<String, ParamValue>,
    /// The trial this one retries (its configuration re-run after its worker died).
    pub retried_from: Option<u64>,
    /// System attributes of the new trial (for example `retry_attempt`).
    pub system_attrs: BTreeMap<String, serde_json::Value>,
}

impl Claim {
    /// A claim of `key` with fixed `params`, not a retry.
    pub fn new(key: impl Into<String>, params: BTreeMap<String, ParamValue>) -> Self {
        Self {
            key: key.into(),
            params,
            retried_from: None,
            system_attrs: BTreeMap::new(),
        }
    }
}

/// The sampler contract. See the module documentation.
pub trait Sampler: Send {
    /// A short name, such as `random`.
    fn name(&self) -> &str;

    /// Before a trial is created: a point to claim exclusively, if this sampler hands
    /// out points (the grid). `Err(Error::SpaceExhausted)` when nothing is left. If the
    /// storage reports the key taken, the study refreshes the view and asks again.
    fn claim(&mut self, _view: &StudyView<'_>) -> Result<Option<Claim>> {
        Ok(None)
    }

    /// The parameters to sample jointly for this trial. Default: none.
    fn infer_relative_search_space(
        &mut self,
        _view: &StudyView<'_>,
        _trial: &TrialContext,
    ) -> SearchSpace {
        SearchSpace::default()
    }

    /// Draws the parameters of `space` jointly. Default: none.
    fn sample_relative(
        &mut self,
        _view: &StudyView<'_>,
        _trial: &TrialContext,
        _space: &SearchSpace,
    ) -> Result<BTreeMap<String, ParamValue>> {
        Ok(BTreeMap::new())
    }

    /// Draws one parameter that relative sampling did not cover.
    fn sample_independent(
        &mut self,
        view: &StudyView<'_>,
        trial: &TrialContext,
        name: &str,
        distribution: &Distribution,
    ) -> Result<ParamValue>;

    /// Called after a trial finishes (complete, pruned or failed).
    fn after_trial(&mut self, _view: &StudyView<'_>, _trial: &FrozenTrial) {}
}

impl<S: Sampler + ?Sized> Sampler for Box<S> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn claim(&mut self, view: &StudyView<'_>) -> Result<Option<Claim>> {
        (**self).claim(view)
    }
    fn infer_relative_search_space(
        &mut self,
        view: &StudyView<'_>,
        trial: &TrialContext,
    ) -> SearchSpace {
        (**self).infer_relative_search_space(view, trial)
    }
    fn sample_relative(
        &mut self,
        view: &StudyView<'_>,
        trial: &TrialContext,
        space: &SearchSpace,
    ) -> Result<BTreeMap<String, ParamValue>> {
        (**self).sample_relative(view, trial, space)
    }
    fn sample_independent(
        &mut self,
        view: &StudyView<'_>,
        trial: &TrialContext,
        name: &str,
        distribution: &Distribution,
    ) -> Result<ParamValue> {
        (**self).sample_independent(view, trial, name, distribution)
    }
    fn after_trial(&mut self, view: &StudyView<'_>, trial: &FrozenTrial) {
        (**self).after_trial(view, trial)
    }
}

/// A uniform draw of one parameter from the stream of `(seed, trial, name)`: the
/// independent sampling of every built-in sampler.
pub fn seeded_uniform(
    seed: u64,
    trial: &TrialContext,
    name: &str,
    distribution: &Distribution,
) -> ParamValue {
    use rand::Rng;
    distribution.from_unit(trial_rng(seed, trial.number, name).random())
}

/// A seed from the operating system, for samplers built without one.
pub fn fresh_seed() -> u64 {
    rand::random()
}

/// A random stream for one (seed, trial, parameter): independent of thread timing.
pub fn trial_rng(seed: u64, number: u64, name: &str) -> ChaCha8Rng {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325; // FNV-1a over the name
    for b in name.as_bytes() {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let s = splitmix64(seed ^ splitmix64(number ^ splitmix64(h)));
    ChaCha8Rng::seed_from_u64(s)
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Builds a built-in sampler by name: `random`, `sobol`, `grid` (which needs an
/// enumerable declared space), `tpe` (Optuna 5's default: joint for one objective,
/// per parameter for several), `tpe-univariate`, `tpe-multivariate` or `tpe-group`
/// (multivariate with groups, for conditional spaces), `tpe-optuna` (`tpe` with Optuna
/// 5's settings pinned, [`TpeBuilder::optuna_compatible`]), `tpe-sharp` (a sharper
/// magic clip and no repeated configurations, [`TpeBuilder::sharp`]), `cmaes`, `cmaes-ipop` or
/// `cmaes-bipop` (CMA-ES without, with IPOP or with BIPOP restarts), `nsga2` (NSGA-II), `nsga3` (NSGA-III: reference-point niching),
/// `ga` (the same elitist genetic algorithm, named for single objectives), `gp` (Gaussian-process Bayesian optimisation; log-EHVI for two or three objectives),
/// `gp-parego` (the same with ParEGO scalarisation for several objectives), `auto` (picks
/// one of these from the space, the directions and the registered samplers).
pub fn sampler_by_name(
    name: &str,
    seed: Option<u64>,
    space: Option<&crate::space::SpaceDecl>,
) -> Result<Box<dyn Sampler>> {
    sampler_by_name_with_budget(name, seed, space, None)
}

/// [`sampler_by_name`] with the study's trial budget, when it is known: `auto` uses it
/// to choose (GP for small budgets, CMA-ES for large ones); other samplers ignore it.
pub fn sampler_by_name_with_budget(
    name: &str,
    seed: Option<u64>,
    space: Option<&crate::space::SpaceDecl>,
    budget: Option<usize>,
) -> Result<Box<dyn Sampler>> {
    Ok(match name {
        "random" => Box::new(RandomSampler::new(seed)),
        "sobol" | "qmc" => Box::new(SobolSampler::new(seed)),
        "tpe" => Box::new(TpeSampler::builder().seed(seed).build()?),
        "tpe-univariate" => Box::new(
            TpeSampler::builder()
                .seed(seed)
                .multivariate(false)
                .build()?,
        ),
        "tpe-multivariate" => Box::new(
            TpeSampler::builder()
                .seed(seed)
                .multivariate(true)
                .build()?,
        ),
        "tpe-group" => Box::new(TpeSampler::builder().seed(seed).group(true).build()?),
        "tpe-optuna" => Box::new(
            TpeSampler::builder()
                .seed(seed)
                .optuna_compatible()
                .build()?,
        ),
        "tpe-sharp" => Box::new(TpeSampler::builder().seed(seed).sharp().build()?),
        // The default's settings under the name they were confirmed with.
        "tpe-sharp-l" => Box::new(
            TpeSampler::builder()
                .seed(seed)
                .sharp()
                .clip_bad_group(false)
                .build()?,
        ),
        "gp" | "gp-parego" | "gp-random-start" => {
            let mut b = GpSampler::builder().seed(seed);
            if name == "gp-parego" {
                b = b.multi_objective(MultiObjective::ParEgo);
            }
            if name == "gp-random-start" {
                b = b.startup(gp::Startup::Random);
            }
            if let Some(space) = space {
                b = b.conditions(space);
            }
            Box::new(b.build()?)
        }
        "cmaes" => Box::new(CmaEsSampler::builder().seed(seed).build()?),
        "cmaes-ipop" => Box::new(
            CmaEsSampler::builder()
                .seed(seed)
                .restart(Restart::Ipop)
                .build()?,
        ),
        "cmaes-bipop" => Box::new(
            CmaEsSampler::builder()
                .seed(seed)
                .restart(Restart::Bipop)
                .build()?,
        ),
        "nsga2" => Box::new(Nsga2Sampler::builder().seed(seed).build()?),
        "ga" => Box::new(Nsga2Sampler::builder().seed(seed).ga().build()?),
        "nsga3" => Box::new(Nsga3Builder::default().seed(seed).build()?),
        "auto" => Box::new(
            AutoSampler::builder()
                .seed(seed)
                .space(space.cloned())
                .budget(budget)
                .build(),
        ),
        "grid" => {
            let space = space.ok_or_else(|| crate::Error::InvalidSpace {
                location: None,
                reason: "the grid sampler needs a declared space".into(),
            })?;
            Box::new(GridSampler::from_space(space, seed)?)
        }
        other => {
            return Err(crate::Error::InvalidSpace {
                location: None,
                reason: format!(
                    "unknown sampler `{other}` (available: {})",
                    SAMPLERS.join(", ")
                ),
            })
        }
    })
}

/// Names accepted by [`sampler_by_name`].
pub const SAMPLERS: &[&str] = &[
    "random",
    "grid",
    "sobol",
    "tpe",
    "tpe-univariate",
    "tpe-multivariate",
    "tpe-group",
    "tpe-optuna",
    "tpe-sharp",
    "tpe-sharp-l",
    "gp",
    "gp-parego",
    "gp-random-start",
    "cmaes",
    "cmaes-ipop",
    "cmaes-bipop",
    "nsga2",
    "nsga3",
    "ga",
    "auto",
];

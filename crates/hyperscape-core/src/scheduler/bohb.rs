//! BOHB (Falkner et al., ICML 2018): Hyperband whose new configurations come from a
//! density model (TPE's Parzen estimators) fitted on the largest budget with enough
//! observations.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::hyperband::BracketScheduler;
use super::{
    attr_u64, check_settings, loss, mix_seed, resumed_seed, stored_settings, SETTINGS_ATTR,
};
use crate::error::{Error, Result};
use crate::param::{Distribution, ParamValue};
use crate::pruner::{single_direction, Decision, Plan, PruneContext, Pruner, BUDGET_ATTR};
use crate::sampler::tpe::parzen::{Bandwidth, Mixture, Model, ParzenSettings};
use crate::view::StudyView;

/// System attribute of a BOHB trial: the budget whose observations its model was
/// fitted on (absent: drawn by the sampler).
pub const MODEL_BUDGET_ATTR: &str = "bohb_model_budget";

/// Candidates drawn from the good density per new configuration (BOHB's default).
const N_CANDIDATES: usize = 64;
/// Fraction of observations in the good density (BOHB's `top_n_percent` = 15).
const GOOD_FRACTION: f64 = 0.15;
/// [`BohbDensity::Kde`]: candidates are drawn from the good density with its
/// numerical bandwidths times this factor, and scored with the plain densities
/// (BOHB's `bandwidth_factor`).
const BANDWIDTH_FACTOR: f64 = 3.0;

/// The density model of BOHB's good and bad configurations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BohbDensity {
    /// TPE's joint Parzen estimator as is: one width `0.2 n^(-1/(d+4))` of the range
    /// per dimension, a prior kernel, the magic clip; candidates drawn from it
    /// unchanged. The default: it did as well as or better than [`BohbDensity::Kde`]
    /// on the benchmarks of `docs/pruning.md`.
    #[default]
    Parzen,
    /// The paper's KDE (Falkner et al. 2018): product kernels with the normal
    /// reference bandwidth per dimension (`1.06 σ n^(-1/(d+4))`, at least 1e-3 of the
    /// range), no prior kernel, no clip; candidates drawn with the bandwidths times 3.
    Kde,
}

impl BohbDensity {
    /// The name stored in the study's scheduler settings.
    pub fn name(self) -> &'static str {
        match self {
            BohbDensity::Parzen => "parzen",
            BohbDensity::Kde => "kde",
        }
    }

    /// `parzen` or `kde`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "parzen" => Ok(BohbDensity::Parzen),
            "kde" => Ok(BohbDensity::Kde),
            _ => Err(Error::InvalidScheduler(format!(
                "bohb density must be `parzen` or `kde`, not `{s}`"
            ))),
        }
    }

    /// The estimators' settings and the factor the sampling bandwidths are multiplied by.
    fn settings(self) -> (ParzenSettings, f64) {
        match self {
            BohbDensity::Parzen => (
                ParzenSettings {
                    consider_prior: true,
                    prior_weight: 1.0,
                    consider_magic_clip: true,
                    consider_endpoints: false,
                    bandwidth: Bandwidth::Scott,
                    clip_exponent: 1.0,
                    min_bandwidth_factor: 0.0,
                },
                1.0,
            ),
            BohbDensity::Kde => (
                ParzenSettings {
                    consider_prior: false,
                    prior_weight: 1.0,
                    consider_magic_clip: false,
                    consider_endpoints: false,
                    bandwidth: Bandwidth::NormalReference,
                    clip_exponent: 1.0,
                    min_bandwidth_factor: 0.0,
                },
                BANDWIDTH_FACTOR,
            ),
        }
    }
}

/// BOHB: the brackets, rungs and promotions of [`BracketScheduler::hyperband`]; a new
/// configuration is, with probability `random_fraction` (default 1/3), left to the
/// study's sampler, and otherwise drawn from a model:
///
/// - the space is the study's declared space, or else the parameters every complete
///   trial has (the intersection space); `d` parameters;
/// - the model budget is the largest budget with at least `d + 3` complete trials
///   that set every parameter of the space;
/// - its trials, best first, split into *good* (the best `max(d + 1, 15 %)`) and
///   *bad* (the worst `max(d + 1, rest)`); one joint density estimator each
///   ([`BohbDensity`]: TPE's Parzen estimator by default, or the paper's KDE);
/// - 64 candidates are drawn from the good density (for the paper's KDE with its
///   bandwidths times 3, BOHB's bandwidth factor); the one with the largest
///   `l(x) / g(x)` is the new configuration, fixed in the trial.
///
/// Random draws are seeded by `(seed, bracket instance, slot)`. The random fraction,
/// the density model and the seed are stored in every trial ([`SETTINGS_ATTR`]);
/// resuming the study with another value is an error naming it. Without a seed, a resumed study takes the one
/// it stored.
#[derive(Debug, Clone, PartialEq)]
pub struct BohbScheduler {
    brackets: BracketScheduler,
    random_fraction: f64,
    density: BohbDensity,
    /// The seed given; `None`: the study's stored one, or else `fallback_seed`.
    seed: Option<u64>,
    fallback_seed: u64,
}

impl BohbScheduler {
    pub fn new(
        min_budget: u64,
        max_budget: Option<u64>,
        eta: u64,
        seed: Option<u64>,
    ) -> Result<Self> {
        let mut brackets = BracketScheduler::hyperband(min_budget, max_budget, eta)?;
        brackets.name = "bohb";
        Ok(Self {
            brackets,
            random_fraction: 1.0 / 3.0,
            density: BohbDensity::default(),
            seed,
            fallback_seed: rand::random(),
        })
    }

    /// Fraction of new configurations left to the sampler, in `[0, 1]`.
    pub fn random_fraction(mut self, f: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&f) {
            return Err(Error::InvalidScheduler(format!(
                "bohb random fraction must be in [0, 1], not {f}"
            )));
        }
        self.random_fraction = f;
        Ok(self)
    }

    /// The density model (default [`BohbDensity::Parzen`]).
    pub fn density(mut self, d: BohbDensity) -> Self {
        self.density = d;
        self
    }

    /// The configuration the model proposes, and the budget it was fitted on; `None`
    /// while no budget has enough observations.
    fn propose<R: Rng>(
        &self,
        view: &StudyView<'_>,
        rng: &mut R,
    ) -> Result<Option<(BTreeMap<String, ParamValue>, u64)>> {
        let dir = single_direction(view, "bohb")?;
        let space: Vec<(String, Distribution)> = match view.declared_space() {
            Some(s) if !s.0.is_empty() => s.0.clone().into_iter().collect(),
            _ => view.intersection_space().0.into_iter().collect(),
        };
        if space.is_empty() {
            return Ok(None);
        }
        let d = space.len();
        let n_min = d + 1;
        // budget -> (loss, internal values)
        let mut by_budget: BTreeMap<u64, Vec<(f64, Vec<f64>)>> = BTreeMap::new();
        for t in view.complete_trials() {
            let (Some(b), Some(l)) = (attr_u64(t, BUDGET_ATTR), loss(t, dir)) else {
                continue;
            };
            let x: Option<Vec<f64>> = space
                .iter()
                .map(|(name, dist)| {
                    let v = t.params.get(name)?;
                    if t.distributions.get(name) != Some(dist) {
                        return None;
                    }
                    let m = Model::of(dist);
                    Some(m.to_model(dist.to_internal(v)?))
                })
                .collect();
            if let Some(x) = x {
                by_budget.entry(b).or_default().push((l, x));
            }
        }
        let Some((&budget, obs)) = by_budget
            .iter_mut()
            .rev()
            .find(|(_, o)| o.len() >= n_min + 2)
        else {
            return Ok(None);
        };
        obs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let n = obs.len();
        let n_good = n_min.max((GOOD_FRACTION * n as f64).floor() as usize);
        let n_bad = n_min.max(n.saturating_sub(n_good));
        let models: Vec<Model> = space.iter().map(|(_, dist)| Model::of(dist)).collect();
        let columns = |rows: &[(f64, Vec<f64>)]| -> Vec<Vec<f64>> {
            (0..d)
                .map(|j| rows.iter().map(|r| r.1[j]).collect())
                .collect()
        };
        let (settings, widen) = self.density.settings();
        let good = &obs[..n_good.min(n)];
        let bad = &obs[n - n_bad.min(n)..];
        let (Some(l), Some(g)) = (
            Mixture::build(&models, &columns(good), &vec![1.0; good.len()], &settings),
            Mixture::build(&models, &columns(bad), &vec![1.0; bad.len()], &settings),
        ) else {
            return Ok(None);
        };
        let cands = l.sample_widened(rng, N_CANDIDATES, widen);
        let (lp, gp) = (l.log_pdf(&cands), g.log_pdf(&cands));
        let best = (0..cands.n)
            .max_by(|&a, &b| (lp[a] - gp[a]).total_cmp(&(lp[b] - gp[b])))
            .expect("candidates");
        let params = space
            .iter()
            .zip(&models)
            .enumerate()
            .map(|(j, ((name, dist), m))| {
                (name.clone(), m.to_external(dist, cands.values[j][best]))
            })
            .collect();
        Ok(Some((params, budget)))
    }
}

impl Pruner for BohbScheduler {
    fn name(&self) -> &str {
        "bohb"
    }
    fn plan(&self, view: &StudyView<'_>) -> Result<Option<Plan>> {
        let stored = stored_settings(view);
        let seed = resumed_seed(stored.as_ref(), self.seed, self.fallback_seed);
        let mut settings = serde_json::Map::new();
        settings.insert("random_fraction".into(), self.random_fraction.into());
        settings.insert("density".into(), self.density.name().into());
        settings.insert("seed".into(), seed.into());
        check_settings(stored.as_ref(), "bohb", &settings)?;
        let settings = serde_json::Value::Object(settings);
        let (slot, plan) = self.brackets.next(view)?;
        let Some(slot) = slot else {
            return Ok(plan.map(|mut p| {
                p.system_attrs.insert(SETTINGS_ATTR.into(), settings);
                p
            }));
        };
        let mut plan = slot.plan;
        plan.system_attrs.insert(SETTINGS_ATTR.into(), settings);
        let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(seed, &[slot.instance, slot.slot]));
        if rng.random::<f64>() >= self.random_fraction {
            if let Some((params, budget)) = self.propose(view, &mut rng)? {
                plan.params = params;
                plan.system_attrs
                    .insert(MODEL_BUDGET_ATTR.into(), budget.into());
            }
        }
        Ok(Some(plan))
    }
    fn decide(&self, _view: &StudyView<'_>, _trial: &PruneContext<'_>) -> Result<Decision> {
        Ok(Decision::proceed())
    }
    fn judges_against_peers(&self) -> bool {
        false
    }
}

//! Scrambled Sobol quasi-random search.

use std::collections::BTreeMap;

use rand::Rng;

use super::{fresh_seed, seeded_uniform, trial_rng, Sampler, TrialContext};
use crate::error::Result;
use crate::param::{Distribution, ParamValue};
use crate::space::SearchSpace;
use crate::view::StudyView;

/// Points per scrambling epoch (the sequence length of `sobol_burley`).
const EPOCH: u64 = 1 << 16;

/// Owen-scrambled Sobol points (via `sobol_burley`), seeded.
///
/// The joint space is the study's declared space when it has one, otherwise the
/// intersection of the complete trials' spaces (so the first trial of a define-by-run
/// study is drawn at random, as in Optuna's QMC sampler). Trial number *k* takes point
/// *k* of the sequence, so parallel workers never draw the same point. Dimensions are
/// the parameters in name order; past 256 of them, or for parameters outside the joint
/// space, values are drawn at random. After 2^16 points, a new scrambling seed starts a
/// fresh sequence.
#[derive(Debug, Clone)]
pub struct SobolSampler {
    seed: u64,
}

impl SobolSampler {
    pub fn new(seed: Option<u64>) -> Self {
        Self {
            seed: seed.unwrap_or_else(fresh_seed),
        }
    }
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

impl Sampler for SobolSampler {
    fn name(&self) -> &str {
        "sobol"
    }

    fn infer_relative_search_space(
        &mut self,
        view: &StudyView<'_>,
        _trial: &TrialContext,
    ) -> SearchSpace {
        match view.declared_space() {
            Some(s) => s.clone(),
            None => view.intersection_space(),
        }
    }

    fn sample_relative(
        &mut self,
        _view: &StudyView<'_>,
        trial: &TrialContext,
        space: &SearchSpace,
    ) -> Result<BTreeMap<String, ParamValue>> {
        let index = (trial.number % EPOCH) as u32;
        let epoch = trial.number / EPOCH;
        let seed = (self.seed ^ epoch.wrapping_mul(0x9e37_79b9_7f4a_7c15)) as u32
            ^ (self.seed >> 32) as u32;
        Ok(space
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
            .collect())
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
}

//! Uniform random search.

use super::{fresh_seed, seeded_uniform, Sampler, TrialContext};
use crate::error::Result;
use crate::param::{Distribution, ParamValue};
use crate::view::StudyView;

/// Draws every parameter independently and uniformly (log-uniformly for `log`).
#[derive(Debug, Clone)]
pub struct RandomSampler {
    seed: u64,
}

impl RandomSampler {
    /// A seeded sampler; `None` draws a seed from the operating system.
    pub fn new(seed: Option<u64>) -> Self {
        Self {
            seed: seed.unwrap_or_else(fresh_seed),
        }
    }
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

impl Sampler for RandomSampler {
    fn name(&self) -> &str {
        "random"
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

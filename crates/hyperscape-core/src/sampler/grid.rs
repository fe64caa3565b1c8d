//! Exhaustive grid search.

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{fresh_seed, seeded_uniform, Claim, Sampler, TrialContext};
use crate::error::{Error, Result};
use crate::param::{Distribution, ParamValue};
use crate::space::SpaceDecl;
use crate::view::StudyView;

/// Visits every point of a grid exactly once, in a seeded random order, then reports
/// the space exhausted.
///
/// Each point is claimed through the storage under a key made of its canonical JSON,
/// so no point is evaluated twice even by parallel workers in several processes.
/// A parameter the objective asks for that is not in the grid is drawn at random.
#[derive(Debug, Clone)]
pub struct GridSampler {
    points: Vec<BTreeMap<String, ParamValue>>,
    keys: Vec<String>,
    order: Vec<usize>,
    next: usize,
    seed: u64,
}

impl GridSampler {
    /// A grid over explicit points.
    pub fn new(points: Vec<BTreeMap<String, ParamValue>>, seed: Option<u64>) -> Result<Self> {
        if points.is_empty() {
            return Err(Error::InvalidSpace {
                location: None,
                reason: "the grid is empty".into(),
            });
        }
        let seed = seed.unwrap_or_else(fresh_seed);
        let keys = points
            .iter()
            .map(|p| serde_json::to_string(p).map(|s| format!("grid:{s}")))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let mut order: Vec<usize> = (0..points.len()).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        Ok(Self {
            points,
            keys,
            order,
            next: 0,
            seed,
        })
    }

    /// The grid of a declared space (see [`SpaceDecl::grid`]).
    pub fn from_space(space: &SpaceDecl, seed: Option<u64>) -> Result<Self> {
        Self::new(space.grid()?, seed)
    }

    /// Number of grid points.
    pub fn len(&self) -> usize {
        self.points.len()
    }
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}

impl Sampler for GridSampler {
    fn name(&self) -> &str {
        "grid"
    }

    fn claim(&mut self, view: &StudyView<'_>) -> Result<Option<Claim>> {
        while self.next < self.order.len() && view.is_claimed(&self.keys[self.order[self.next]]) {
            self.next += 1;
        }
        let Some(&i) = self.order.get(self.next) else {
            return Err(Error::SpaceExhausted(format!(
                "all {} grid points have been evaluated or claimed",
                self.points.len()
            )));
        };
        Ok(Some(Claim {
            key: self.keys[i].clone(),
            params: self.points[i].clone(),
        }))
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

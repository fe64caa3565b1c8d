//! The patient pruner (Optuna's `PatientPruner`): tolerate stagnation for a while.

use super::{single_direction, Decision, PruneContext, Pruner};
use crate::error::{Error, Result};
use crate::trial::Direction;
use crate::view::StudyView;

/// Stops a trial whose intermediate values have not improved, by more than
/// `min_delta`, over the last `patience` steps (compared with the best value before
/// them). When it would stop, it defers to the wrapped pruner if there is one (so
/// the trial is pruned only if both agree); without one it prunes.
pub struct PatientPruner {
    wrapped: Option<Box<dyn Pruner>>,
    pub patience: usize,
    pub min_delta: f64,
}

impl PatientPruner {
    pub fn new(wrapped: Option<Box<dyn Pruner>>, patience: usize, min_delta: f64) -> Result<Self> {
        if !(min_delta.is_finite() && min_delta >= 0.0) {
            return Err(Error::InvalidPruner(format!(
                "min_delta must be a finite number >= 0, not {min_delta}"
            )));
        }
        Ok(Self {
            wrapped,
            patience,
            min_delta,
        })
    }
}

impl Pruner for PatientPruner {
    fn name(&self) -> &str {
        "patient"
    }
    fn decide(&self, view: &StudyView<'_>, t: &PruneContext<'_>) -> Result<Decision> {
        let dir = single_direction(view, "patient")?;
        let values: Vec<f64> = t.intermediate_values.values().copied().collect();
        if values.len() <= self.patience + 1 {
            return Ok(Decision::proceed());
        }
        let (before, after) = values.split_at(values.len() - self.patience - 1);
        let stagnated = match dir {
            Direction::Minimize => {
                let b = before.iter().copied().fold(f64::INFINITY, f64::min);
                let a = after.iter().copied().fold(f64::INFINITY, f64::min);
                b - self.min_delta < a
            }
            Direction::Maximize => {
                let b = before.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let a = after.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                b + self.min_delta > a
            }
        };
        if !stagnated {
            return Ok(Decision::proceed());
        }
        match &self.wrapped {
            Some(w) => w.decide(view, t),
            None => Ok(Decision::prune()),
        }
    }
}

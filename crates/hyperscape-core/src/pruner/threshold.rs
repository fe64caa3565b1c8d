//! The threshold pruner (Optuna's `ThresholdPruner`).

use super::{is_first_in_interval_step, Decision, PruneContext, Pruner};
use crate::error::{Error, Result};
use crate::view::StudyView;

/// Prunes a trial whose latest intermediate value leaves `[lower, upper]` (either
/// bound may be absent, not both). Absolute bounds: the direction does not matter.
/// Judged from step `n_warmup_steps` on, once per `interval_steps`.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdPruner {
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub n_warmup_steps: u64,
    pub interval_steps: u64,
}

impl ThresholdPruner {
    pub fn new(lower: Option<f64>, upper: Option<f64>) -> Result<Self> {
        if lower.is_none() && upper.is_none() {
            return Err(Error::InvalidPruner(
                "the threshold pruner needs a lower or an upper bound (or both)".into(),
            ));
        }
        for (n, v) in [("lower", lower), ("upper", upper)] {
            if v.is_some_and(f64::is_nan) {
                return Err(Error::InvalidPruner(format!("the {n} bound is NaN")));
            }
        }
        if let (Some(l), Some(u)) = (lower, upper) {
            if l > u {
                return Err(Error::InvalidPruner(format!(
                    "the lower bound ({l}) is above the upper bound ({u})"
                )));
            }
        }
        Ok(Self {
            lower,
            upper,
            n_warmup_steps: 0,
            interval_steps: 1,
        })
    }
}

impl Pruner for ThresholdPruner {
    fn name(&self) -> &str {
        "threshold"
    }
    fn judges_against_peers(&self) -> bool {
        false
    }
    fn decide(&self, _view: &StudyView<'_>, t: &PruneContext<'_>) -> Result<Decision> {
        let Some(step) = t.last_step() else {
            return Ok(Decision::proceed());
        };
        if !is_first_in_interval_step(
            step,
            t.intermediate_values.keys(),
            self.n_warmup_steps,
            self.interval_steps,
        ) {
            return Ok(Decision::proceed());
        }
        let Some(&v) = t.intermediate_values.get(&step) else {
            return Ok(Decision::proceed());
        };
        Ok(Decision::prune_if(
            v.is_nan() || self.lower.is_some_and(|l| v < l) || self.upper.is_some_and(|u| v > u),
        ))
    }
}

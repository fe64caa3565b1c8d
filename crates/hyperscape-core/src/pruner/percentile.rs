//! Median and percentile pruners (Optuna's `MedianPruner`, `PercentilePruner`).

use super::{
    is_first_in_interval_step, percentile, single_direction, Decision, PruneContext, Pruner,
};
use crate::error::{Error, Result};
use crate::trial::Direction;
use crate::view::StudyView;

/// Prunes a trial whose best intermediate value so far is worse than the `percentile`-th
/// best of the complete trials' values at the same step.
///
/// A trial is judged only once `n_startup_trials` trials are complete, from step
/// `n_warmup_steps` on, once per `interval_steps`, and only when at least
/// `n_min_trials` complete trials reported that step. For maximisation the
/// percentile is taken from the top (`100 - percentile` of the values).
#[derive(Debug, Clone, PartialEq)]
pub struct PercentilePruner {
    pub percentile: f64,
    pub n_startup_trials: usize,
    pub n_warmup_steps: u64,
    pub interval_steps: u64,
    pub n_min_trials: usize,
}

impl PercentilePruner {
    /// Optuna's defaults: 5 start-up trials, no warm-up, every step, one trial.
    pub fn new(percentile: f64) -> Result<Self> {
        if !(0.0..=100.0).contains(&percentile) {
            return Err(Error::InvalidPruner(format!(
                "percentile must be between 0 and 100, not {percentile}"
            )));
        }
        Ok(Self {
            percentile,
            n_startup_trials: 5,
            n_warmup_steps: 0,
            interval_steps: 1,
            n_min_trials: 1,
        })
    }
    pub fn n_startup_trials(mut self, n: usize) -> Self {
        self.n_startup_trials = n;
        self
    }
    pub fn n_warmup_steps(mut self, n: u64) -> Self {
        self.n_warmup_steps = n;
        self
    }
    pub fn interval_steps(mut self, n: u64) -> Self {
        self.interval_steps = n.max(1);
        self
    }
    pub fn n_min_trials(mut self, n: usize) -> Self {
        self.n_min_trials = n.max(1);
        self
    }

    fn judge(&self, view: &StudyView<'_>, t: &PruneContext<'_>, name: &str) -> Result<Decision> {
        let dir = single_direction(view, name)?;
        let Some(step) = t.last_step() else {
            return Ok(Decision::proceed());
        };
        let n_complete = view.complete_trials().count();
        if n_complete == 0 || n_complete < self.n_startup_trials {
            return Ok(Decision::proceed());
        }
        if !is_first_in_interval_step(
            step,
            t.intermediate_values.keys(),
            self.n_warmup_steps,
            self.interval_steps,
        ) {
            return Ok(Decision::proceed());
        }
        let Some(best) =
            t.intermediate_values
                .values()
                .copied()
                .reduce(|a, b| if dir.better(b, a) { b } else { a })
        else {
            return Ok(Decision::proceed());
        };
        let mut at_step: Vec<f64> = view
            .complete_trials()
            .filter_map(|c| c.intermediate_values.get(&step).copied())
            .collect();
        if at_step.len() < self.n_min_trials {
            return Ok(Decision::proceed());
        }
        let q = match dir {
            Direction::Minimize => self.percentile,
            Direction::Maximize => 100.0 - self.percentile,
        };
        let p = percentile(&mut at_step, q);
        Ok(Decision::prune_if(dir.better(p, best)))
    }
}

impl Pruner for PercentilePruner {
    fn name(&self) -> &str {
        "percentile"
    }
    fn decide(&self, view: &StudyView<'_>, t: &PruneContext<'_>) -> Result<Decision> {
        self.judge(view, t, "percentile")
    }
}

/// The percentile pruner at 50: prunes a trial whose best value so far is worse than
/// the median of the complete trials at the same step.
#[derive(Debug, Clone, PartialEq)]
pub struct MedianPruner(pub PercentilePruner);

impl Default for MedianPruner {
    fn default() -> Self {
        Self(PercentilePruner::new(50.0).expect("50 is a percentile"))
    }
}

impl MedianPruner {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn n_startup_trials(self, n: usize) -> Self {
        Self(self.0.n_startup_trials(n))
    }
    pub fn n_warmup_steps(self, n: u64) -> Self {
        Self(self.0.n_warmup_steps(n))
    }
    pub fn interval_steps(self, n: u64) -> Self {
        Self(self.0.interval_steps(n))
    }
    pub fn n_min_trials(self, n: usize) -> Self {
        Self(self.0.n_min_trials(n))
    }
}

impl Pruner for MedianPruner {
    fn name(&self) -> &str {
        "median"
    }
    fn decide(&self, view: &StudyView<'_>, t: &PruneContext<'_>) -> Result<Decision> {
        self.0.judge(view, t, "median")
    }
}

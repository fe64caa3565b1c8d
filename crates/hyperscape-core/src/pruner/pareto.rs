//! Pruning for several objectives: dominance among peers at the same step.

use super::{is_first_in_interval_step, Decision, PruneContext, Pruner, INTERMEDIATE_VECTORS_ATTR};
use crate::error::{Error, Result};
use crate::trial::{Direction, FrozenTrial};
use crate::view::StudyView;

/// Prunes a trial whose intermediate vector at step `s` is Pareto-dominated by more
/// than `dominated_fraction` of its peers' vectors at step `s` (peers: complete trials
/// that reported a vector at `s`; directions as the study's).
///
/// With one objective it prunes a trial worse than more than that fraction of the
/// peers: at 0.5, a strict median rule. Judged once `n_startup_trials` trials are
/// complete, from step `n_warmup_steps` on, once per `interval_steps`. Vectors come
/// from [`Trial::report_values`](crate::Trial::report_values); for one objective,
/// plain [`Trial::report`](crate::Trial::report) values are used.
#[derive(Debug, Clone, PartialEq)]
pub struct ParetoPruner {
    pub dominated_fraction: f64,
    pub n_startup_trials: usize,
    pub n_warmup_steps: u64,
    pub interval_steps: u64,
}

impl ParetoPruner {
    pub fn new(dominated_fraction: f64) -> Result<Self> {
        if !(0.0..1.0).contains(&dominated_fraction) {
            return Err(Error::InvalidPruner(format!(
                "dominated_fraction must be in [0, 1), not {dominated_fraction}"
            )));
        }
        Ok(Self {
            dominated_fraction,
            n_startup_trials: 5,
            n_warmup_steps: 0,
            interval_steps: 1,
        })
    }
}

/// `a` dominates `b` (both as losses): no worse anywhere, better somewhere.
pub(crate) fn dominates(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x <= y) && a.iter().zip(b).any(|(x, y)| x < y)
}

/// A stored trial's vector at `step`, if it reported one.
fn stored_vector(t: &FrozenTrial, step: u64, n: usize) -> Option<Vec<f64>> {
    if n == 1 {
        return t.intermediate_values.get(&step).map(|v| vec![*v]);
    }
    let v = t
        .system_attrs
        .get(INTERMEDIATE_VECTORS_ATTR)?
        .get(step.to_string())?
        .as_array()?;
    let out: Vec<f64> = v.iter().filter_map(|x| x.as_f64()).collect();
    (out.len() == n).then_some(out)
}

impl Pruner for ParetoPruner {
    fn name(&self) -> &str {
        "pareto"
    }
    fn decide(&self, view: &StudyView<'_>, t: &PruneContext<'_>) -> Result<Decision> {
        let dirs: &[Direction] = view.directions();
        let n = dirs.len();
        let Some(step) = t.last_step() else {
            return Ok(Decision::proceed());
        };
        let mine = if n == 1 {
            t.intermediate_values.get(&step).map(|v| vec![*v])
        } else {
            t.intermediate_vectors.get(&step).cloned()
        };
        let Some(mine) = mine else {
            return Ok(Decision::proceed());
        };
        if mine.len() != n {
            return Err(Error::InvalidObjectiveValue(format!(
                "intermediate vector at step {step} has {} value(s), the study has {n} objective(s)",
                mine.len()
            )));
        }
        let n_complete = view.complete_trials().count();
        if n_complete == 0 || n_complete < self.n_startup_trials {
            return Ok(Decision::proceed());
        }
        let steps: Vec<u64> = if n == 1 {
            t.intermediate_values.keys().copied().collect()
        } else {
            t.intermediate_vectors.keys().copied().collect()
        };
        if !is_first_in_interval_step(step, steps.iter(), self.n_warmup_steps, self.interval_steps)
        {
            return Ok(Decision::proceed());
        }
        let loss =
            |v: &[f64]| -> Vec<f64> { v.iter().zip(dirs).map(|(x, d)| d.to_loss(*x)).collect() };
        let me = loss(&mine);
        let (mut peers, mut dominating) = (0usize, 0usize);
        for p in view.complete_trials() {
            if let Some(v) = stored_vector(p, step, n) {
                peers += 1;
                if dominates(&loss(&v), &me) {
                    dominating += 1;
                }
            }
        }
        Ok(Decision::prune_if(
            peers > 0 && dominating as f64 > self.dominated_fraction * peers as f64,
        ))
    }
}

//! Hyperband (Optuna's `HyperbandPruner`): successive halving in several brackets.

use super::successive_halving::SuccessiveHalvingPruner;
use super::{Assignment, Decision, PruneContext, Pruner};
use crate::error::{Error, Result};
use crate::view::StudyView;

/// Brackets `0..n_brackets`, with `n_brackets = floor(log_eta(max/min)) + 1`. Bracket
/// `b` runs successive halving with `min_early_stopping_rate = b`: bracket 0 prunes
/// most aggressively (first rung at `min_resource`), the last one lets trials run
/// `eta^(n-1)` times longer before the first rung.
///
/// Each trial is assigned a bracket at ask time (stored with it, attribute `bracket`):
/// trial `n` goes to the bracket whose share of the cycle `0..total` holds
/// `n % total`, where bracket `b` has `ceil(n_brackets * eta^s / (s + 1))` places,
/// `s = n_brackets - 1 - b` (Hyperband's trial counts). Its budget is `max_resource`.
/// A trial is judged only against the trials of its own bracket (the engine filters
/// the view), and so is its sampling.
#[derive(Debug, Clone, PartialEq)]
pub struct HyperbandPruner {
    pub min_resource: u64,
    pub max_resource: u64,
    pub reduction_factor: u64,
    brackets: Vec<SuccessiveHalvingPruner>,
    budgets: Vec<u64>,
}

impl HyperbandPruner {
    pub fn new(
        min_resource: u64,
        max_resource: u64,
        reduction_factor: u64,
        bootstrap_count: usize,
    ) -> Result<Self> {
        if min_resource == 0 || max_resource < min_resource {
            return Err(Error::InvalidPruner(format!(
                "hyperband needs 1 <= min_resource <= max_resource, got min_resource \
                 {min_resource} and max_resource {max_resource}"
            )));
        }
        if reduction_factor < 2 {
            return Err(Error::InvalidPruner(format!(
                "reduction_factor must be at least 2, not {reduction_factor}"
            )));
        }
        let mut n_brackets = 1u32;
        let mut r = min_resource;
        while r.saturating_mul(reduction_factor) <= max_resource {
            r *= reduction_factor;
            n_brackets += 1;
        }
        let brackets = (0..n_brackets)
            .map(|b| {
                SuccessiveHalvingPruner::new(min_resource, reduction_factor, b, bootstrap_count)
            })
            .collect::<Result<Vec<_>>>()?;
        let n = n_brackets as u64;
        let budgets = (0..n)
            .map(|b| {
                let s = n - 1 - b;
                (n * reduction_factor.pow(s as u32)).div_ceil(s + 1)
            })
            .collect();
        Ok(Self {
            min_resource,
            max_resource,
            reduction_factor,
            brackets,
            budgets,
        })
    }

    pub fn n_brackets(&self) -> u32 {
        self.brackets.len() as u32
    }

    /// Places of each bracket in one assignment cycle.
    pub fn bracket_budgets(&self) -> &[u64] {
        &self.budgets
    }

    /// The successive-halving pruner of bracket `b`.
    pub fn bracket(&self, b: u32) -> Option<&SuccessiveHalvingPruner> {
        self.brackets.get(b as usize)
    }

    /// The bracket trial `number` belongs to.
    pub fn bracket_of(&self, number: u64) -> u32 {
        let total: u64 = self.budgets.iter().sum();
        let mut k = number % total;
        for (b, &n) in self.budgets.iter().enumerate() {
            if k < n {
                return b as u32;
            }
            k -= n;
        }
        unreachable!("k < total")
    }
}

impl Pruner for HyperbandPruner {
    fn name(&self) -> &str {
        "hyperband"
    }
    fn assign(&self, _view: &StudyView<'_>, number: u64) -> Result<Assignment> {
        Ok(Assignment {
            bracket: Some(self.bracket_of(number)),
            budget: Some(self.max_resource),
        })
    }
    fn decide(&self, view: &StudyView<'_>, t: &PruneContext<'_>) -> Result<Decision> {
        let b = t.bracket.unwrap_or_else(|| self.bracket_of(t.number));
        let sha = self.bracket(b).ok_or_else(|| {
            Error::InvalidPruner(format!(
                "trial {} is in bracket {b}, but this hyperband has {} bracket(s); \
                 resume the study with the settings it was created with",
                t.number,
                self.n_brackets()
            ))
        })?;
        sha.decide(view, t)
    }
}

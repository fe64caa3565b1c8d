//! Asynchronous successive halving (Optuna's `SuccessiveHalvingPruner`, ASHA).

use std::collections::BTreeMap;

use super::{single_direction, Action, Decision, PruneContext, Pruner};
use crate::error::{Error, Result};
use crate::trial::Direction;
use crate::view::StudyView;

/// The system attribute recording the value a trial had when it completed rung `rung`.
pub fn rung_key(rung: u32) -> String {
    format!("completed_rung_{rung}")
}

/// Rungs sit at steps `min_resource * reduction_factor^(min_early_stopping_rate + k)`.
/// A trial reaching a rung records its value there (`completed_rung_k`), and goes on
/// only if that value is in the top `1 / reduction_factor` of all values recorded at
/// that rung so far (itself included; with fewer than `reduction_factor` values, only
/// the best goes on). With `bootstrap_count > 0`, a rung with fewer values recorded by
/// other trials than that prunes.
#[derive(Debug, Clone, PartialEq)]
pub struct SuccessiveHalvingPruner {
    pub min_resource: u64,
    pub reduction_factor: u64,
    pub min_early_stopping_rate: u32,
    pub bootstrap_count: usize,
}

impl SuccessiveHalvingPruner {
    pub fn new(
        min_resource: u64,
        reduction_factor: u64,
        min_early_stopping_rate: u32,
        bootstrap_count: usize,
    ) -> Result<Self> {
        if min_resource == 0 {
            return Err(Error::InvalidPruner(
                "min_resource must be at least 1".into(),
            ));
        }
        if reduction_factor < 2 {
            return Err(Error::InvalidPruner(format!(
                "reduction_factor must be at least 2, not {reduction_factor}"
            )));
        }
        Ok(Self {
            min_resource,
            reduction_factor,
            min_early_stopping_rate,
            bootstrap_count,
        })
    }

    /// The step of rung `rung` (saturating at `u64::MAX`).
    pub fn rung_step(&self, rung: u32) -> u64 {
        let mut s = self.min_resource;
        for _ in 0..(self.min_early_stopping_rate as u64 + rung as u64) {
            s = s.saturating_mul(self.reduction_factor);
        }
        s
    }

    /// Whether `value` is in the top `1/eta` of `peers` plus itself.
    pub fn is_promotable(&self, value: f64, peers: &[f64], dir: Direction) -> bool {
        let mut all: Vec<f64> = peers.to_vec();
        all.push(value);
        all.sort_by(|a, b| a.total_cmp(b));
        let idx = (all.len() / self.reduction_factor as usize).saturating_sub(1);
        match dir {
            Direction::Minimize => value <= all[idx],
            Direction::Maximize => value >= all[all.len() - 1 - idx],
        }
    }
}

/// How many rungs (0, 1, ... without gaps) the trial has completed.
fn current_rung(attrs: &BTreeMap<String, serde_json::Value>) -> u32 {
    let mut r = 0;
    while attrs.contains_key(&rung_key(r)) {
        r += 1;
    }
    r
}

impl Pruner for SuccessiveHalvingPruner {
    fn name(&self) -> &str {
        "sha"
    }
    fn decide(&self, view: &StudyView<'_>, t: &PruneContext<'_>) -> Result<Decision> {
        let dir = single_direction(view, "successive halving")?;
        let Some(step) = t.last_step() else {
            return Ok(Decision::proceed());
        };
        let Some(&value) = t.intermediate_values.get(&step) else {
            return Ok(Decision::proceed());
        };
        let mut rung = current_rung(t.system_attrs);
        let mut out = Decision::proceed();
        while step >= self.rung_step(rung) {
            let key = rung_key(rung);
            out.records.insert(key.clone(), value.into());
            if value.is_nan() {
                out.action = Action::Prune;
                return Ok(out);
            }
            let peers: Vec<f64> = view
                .trials()
                .filter(|p| p.number != t.number)
                .filter_map(|p| p.system_attrs.get(&key)?.as_f64())
                .collect();
            if peers.len() < self.bootstrap_count || !self.is_promotable(value, &peers, dir) {
                out.action = Action::Prune;
                return Ok(out);
            }
            out.action = Action::Promote { rung };
            rung += 1;
        }
        Ok(out)
    }
}

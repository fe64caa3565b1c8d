//! ASHA: asynchronous successive halving (Li et al., MLSys 2020), with budgets
//! assigned at ask time and promotions as new trials.

use std::collections::BTreeMap;

use super::{
    attr_u64, check_signature, promotion, ranked, Ladder, Resolved, RUNG_ATTR, SCHEDULER_ATTR,
};
use crate::error::Result;
use crate::pruner::{single_direction, Decision, Plan, PruneContext, Pruner, BUDGET_ATTR};
use crate::trial::FrozenTrial;
use crate::view::StudyView;

/// System attribute of a promoted trial: its parent's rank (0 = best) in its rung when
/// it was promoted.
pub const PROMOTION_RANK_ATTR: &str = "promotion_rank";
/// System attribute of a promoted trial: how many complete trials its parent's rung
/// had when it was promoted.
pub const PROMOTION_RUNG_SIZE_ATTR: &str = "promotion_rung_size";

/// ASHA over the budget ladder `min, min·eta, ..., max` (see
/// [`budget_levels`](super::budget_levels)).
///
/// When a worker asks, the rungs are searched from the top down: the first complete
/// trial that ranks in the top `floor(n / eta)` of the `n` complete trials of its rung
/// and has not been promoted yet is promoted (a new trial with its parameters, at the
/// next rung's budget, resuming from its checkpoint). Otherwise a new configuration
/// starts at the bottom rung. No worker ever waits. A promotion takes the claim key
/// `asha:promote:<parent>`, so no trial is promoted twice, whichever worker or process
/// asks.
#[derive(Debug, Clone, PartialEq)]
pub struct AshaScheduler {
    ladder: Ladder,
}

impl AshaScheduler {
    pub fn new(min_budget: u64, max_budget: Option<u64>, eta: u64) -> Result<Self> {
        Ok(Self {
            ladder: Ladder::new(min_budget, max_budget, eta)?,
        })
    }

    fn signature(&self) -> String {
        format!("asha({})", self.ladder.describe())
    }

    /// The claim key of the promotion of trial `number`.
    pub fn promotion_key(number: u64) -> String {
        format!("asha:promote:{number}")
    }
}

impl Pruner for AshaScheduler {
    fn name(&self) -> &str {
        "asha"
    }

    fn plan(&self, view: &StudyView<'_>) -> Result<Option<Plan>> {
        let dir = single_direction(view, "asha")?;
        let signature = self.signature();
        check_signature(view, &signature)?;
        let levels = match self.ladder.resolve(view, &signature)? {
            Resolved::Levels(l) => l,
            Resolved::Plan(p) => return Ok(Some(p)),
        };
        let mut rungs: BTreeMap<u64, Vec<&FrozenTrial>> = BTreeMap::new();
        for t in view.trials() {
            if t.system_attrs.get(SCHEDULER_ATTR).and_then(|v| v.as_str()) == Some(&signature) {
                if let Some(r) = attr_u64(t, RUNG_ATTR) {
                    rungs.entry(r).or_default().push(t);
                }
            }
        }
        let top = levels.len() as u64 - 1;
        let attrs = |rung: u64| {
            let mut a = BTreeMap::new();
            a.insert(SCHEDULER_ATTR.to_string(), signature.clone().into());
            a.insert(RUNG_ATTR.to_string(), rung.into());
            a
        };
        for k in (0..top).rev() {
            let Some(trials) = rungs.get(&k) else {
                continue;
            };
            let best = ranked(trials.iter().copied(), dir);
            let n_top = best.len() / self.ladder.eta as usize;
            if let Some((rank, t)) = best[..n_top]
                .iter()
                .enumerate()
                .find(|(_, t)| !view.is_claimed(&Self::promotion_key(t.number)))
            {
                let mut a = attrs(k + 1);
                a.insert(PROMOTION_RANK_ATTR.into(), (rank as u64).into());
                a.insert(PROMOTION_RUNG_SIZE_ATTR.into(), (best.len() as u64).into());
                return Ok(Some(promotion(
                    t,
                    levels[k as usize + 1],
                    Self::promotion_key(t.number),
                    a,
                )));
            }
        }
        let mut a = attrs(0);
        a.insert(BUDGET_ATTR.into(), levels[0].into());
        Ok(Some(Plan {
            params: BTreeMap::new(),
            claim_key: None,
            system_attrs: a,
        }))
    }

    fn decide(&self, _view: &StudyView<'_>, _trial: &PruneContext<'_>) -> Result<Decision> {
        Ok(Decision::proceed())
    }
    fn judges_against_peers(&self) -> bool {
        false
    }
}

//! Synchronous successive halving and Hyperband (Li et al., JMLR 2018), with budgets
//! assigned at ask time and promotions as new trials.

use std::collections::BTreeMap;

use super::{
    attr_u64, check_signature, is_finished, promotion, ranked, Ladder, Resolved, RUNG_ATTR,
    SCHEDULER_ATTR, SH_BRACKET_ATTR, SLOT_ATTR,
};
use crate::error::{Error, Result};
use crate::pruner::{single_direction, Decision, Plan, PruneContext, Pruner, BUDGET_ATTR};
use crate::trial::FrozenTrial;
use crate::view::StudyView;

/// One rung of a bracket: how many trials run at what budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rung {
    pub count: u64,
    pub budget: u64,
}

/// The rungs of Hyperband's bracket `s` (`0..=s_max`, `s_max = levels.len() - 1`) over
/// the budget ladder `levels`: `n = ceil((s_max + 1) eta^s / (s + 1))` configurations
/// at budget `levels[s_max - s]`, then `floor(n / eta^i)` at `levels[s_max - s + i]`.
/// With `n_configs`, the bottom rung has that many instead (plain successive halving).
pub fn bracket_rungs(levels: &[u64], eta: u64, s: usize, n_configs: Option<u64>) -> Vec<Rung> {
    let s_max = levels.len() - 1;
    let n = n_configs
        .unwrap_or_else(|| ((s_max as u64 + 1) * eta.pow(s as u32)).div_ceil(s as u64 + 1));
    (0..=s)
        .map(|i| Rung {
            count: n / eta.pow(i as u32),
            budget: levels[s_max - s + i],
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// Every bracket is the most aggressive one, with this many configurations.
    Halving { n_configs: Option<u64> },
    /// Brackets `s_max, s_max - 1, ..., 0`, cycling.
    Hyperband,
}

/// Synchronous successive halving (`sha`) or Hyperband (`hyperband`).
///
/// A *bracket instance* `k` (0, 1, 2... in the order they start) has rungs
/// ([`bracket_rungs`]); Hyperband's instance `k` is bracket `s_max - k mod (s_max + 1)`,
/// successive halving's is always the largest. Every trial records its instance, rung
/// and slot ([`SH_BRACKET_ATTR`], [`RUNG_ATTR`], [`SLOT_ATTR`]) and takes the claim
/// key `<name>:<k>:<rung>:<slot>`, so each rung has exactly its count of trials however
/// many workers ask.
///
/// At ask time the scheduler walks the instances in order and hands out the first free
/// slot: a new configuration in a bottom rung, or, once every trial of rung `i` has
/// finished, a promotion of the `j`-th best complete trial of rung `i` into slot `j` of
/// rung `i + 1` (the count of rung `i + 1` is capped by the complete trials of rung
/// `i`: failed trials leave their slots empty). When every started instance waits for
/// running trials, the next instance starts, so no worker idles (as in BOHB's parallel
/// Hyperband); with one worker the brackets run strictly one after the other.
#[derive(Debug, Clone, PartialEq)]
pub struct BracketScheduler {
    ladder: Ladder,
    kind: Kind,
    /// Name used in claim keys and the scheduler signature (`sha`, `hyperband`, `bohb`).
    pub(crate) name: &'static str,
}

/// What a plan found for a bottom slot: BOHB fills its parameters.
pub(crate) struct NewSlot {
    pub instance: u64,
    pub slot: u64,
    pub plan: Plan,
}

impl BracketScheduler {
    /// Synchronous successive halving: each bracket starts `n_configs` configurations
    /// (default `eta^s_max`, one left at the max budget) at the min budget.
    /// `max_budget: None` measures it (see `docs/pruning.md`).
    pub fn successive_halving(
        min_budget: u64,
        max_budget: Option<u64>,
        eta: u64,
        n_configs: Option<u64>,
    ) -> Result<Self> {
        if n_configs == Some(0) {
            return Err(Error::InvalidScheduler(
                "successive halving needs at least one configuration per bracket".into(),
            ));
        }
        Ok(Self {
            ladder: Ladder::new(min_budget, max_budget, eta)?,
            kind: Kind::Halving { n_configs },
            name: "sha",
        })
    }

    /// Hyperband: successive-halving brackets of every aggressiveness, in turn.
    pub fn hyperband(min_budget: u64, max_budget: Option<u64>, eta: u64) -> Result<Self> {
        Ok(Self {
            ladder: Ladder::new(min_budget, max_budget, eta)?,
            kind: Kind::Hyperband,
            name: "hyperband",
        })
    }

    pub fn eta(&self) -> u64 {
        self.ladder.eta
    }

    pub(crate) fn signature(&self) -> String {
        match &self.kind {
            Kind::Halving { n_configs: Some(n) } => {
                format!("{}({},n={n})", self.name, self.ladder.describe())
            }
            _ => format!("{}({})", self.name, self.ladder.describe()),
        }
    }

    /// The rungs of bracket instance `k` over the ladder `levels`.
    pub fn instance_rungs(&self, levels: &[u64], k: u64) -> Vec<Rung> {
        let s_max = levels.len() - 1;
        match self.kind {
            Kind::Halving { n_configs } => bracket_rungs(levels, self.ladder.eta, s_max, n_configs),
            Kind::Hyperband => {
                let s = s_max - (k % (s_max as u64 + 1)) as usize;
                bracket_rungs(levels, self.ladder.eta, s, None)
            }
        }
    }

    /// The next trial: a promotion, a new configuration (returned as [`NewSlot`] so
    /// BOHB can choose its parameters), or the plan that measures the max budget.
    pub(crate) fn next(&self, view: &StudyView<'_>) -> Result<(Option<NewSlot>, Option<Plan>)> {
        let dir = single_direction(view, self.name)?;
        let signature = self.signature();
        check_signature(view, &signature)?;
        let levels = match self.ladder.resolve(view, &signature)? {
            Resolved::Levels(l) => l,
            Resolved::Plan(p) => return Ok((None, Some(p))),
        };
        // instance -> rung -> slot -> trial
        let mut by: BTreeMap<u64, BTreeMap<u64, BTreeMap<u64, &FrozenTrial>>> = BTreeMap::new();
        for t in view.trials() {
            let (Some(k), Some(i), Some(j)) = (
                attr_u64(t, SH_BRACKET_ATTR),
                attr_u64(t, RUNG_ATTR),
                attr_u64(t, SLOT_ATTR),
            ) else {
                continue;
            };
            by.entry(k).or_default().entry(i).or_default().insert(j, t);
        }
        let attrs = |k: u64, i: u64, j: u64, budget: u64| {
            let mut a = BTreeMap::new();
            a.insert(SCHEDULER_ATTR.to_string(), signature.clone().into());
            a.insert(SH_BRACKET_ATTR.to_string(), k.into());
            a.insert(RUNG_ATTR.to_string(), i.into());
            a.insert(SLOT_ATTR.to_string(), j.into());
            a.insert(BUDGET_ATTR.to_string(), budget.into());
            a
        };
        let empty = BTreeMap::new();
        let mut k = 0u64;
        loop {
            let rungs = self.instance_rungs(&levels, k);
            let Some(inst) = by.get(&k) else {
                // A fresh instance: its first bottom slot.
                let plan = Plan {
                    params: BTreeMap::new(),
                    claim_key: Some(format!("{}:{k}:0:0", self.name)),
                    system_attrs: attrs(k, 0, 0, rungs[0].budget),
                };
                return Ok((
                    Some(NewSlot {
                        instance: k,
                        slot: 0,
                        plan,
                    }),
                    None,
                ));
            };
            let mut prev_complete: Vec<&FrozenTrial> = Vec::new();
            for (i, rung) in rungs.iter().enumerate() {
                let rung_index = i as u64;
                let have = inst.get(&rung_index).unwrap_or(&empty);
                let target = if i == 0 {
                    rung.count
                } else {
                    rung.count.min(prev_complete.len() as u64)
                };
                if let Some(j) = (0..target).find(|j| !have.contains_key(j)) {
                    let key = format!("{}:{k}:{i}:{j}", self.name);
                    let a = attrs(k, rung_index, j, rung.budget);
                    if i == 0 {
                        let plan = Plan {
                            params: BTreeMap::new(),
                            claim_key: Some(key),
                            system_attrs: a,
                        };
                        return Ok((
                            Some(NewSlot {
                                instance: k,
                                slot: j,
                                plan,
                            }),
                            None,
                        ));
                    }
                    let parent = prev_complete[j as usize];
                    return Ok((None, Some(promotion(parent, rung.budget, key, a))));
                }
                // Every slot of this rung is handed out: the next rung may be filled
                // once all of them have finished.
                if have.values().any(|t| !is_finished(t)) || i + 1 == rungs.len() {
                    break;
                }
                prev_complete = ranked(have.values().copied(), dir);
                if prev_complete.is_empty() {
                    break;
                }
            }
            k += 1;
        }
    }
}

impl Pruner for BracketScheduler {
    fn name(&self) -> &str {
        self.name
    }
    fn plan(&self, view: &StudyView<'_>) -> Result<Option<Plan>> {
        let (slot, plan) = self.next(view)?;
        Ok(plan.or(slot.map(|s| s.plan)))
    }
    fn decide(&self, _view: &StudyView<'_>, _trial: &PruneContext<'_>) -> Result<Decision> {
        Ok(Decision::proceed())
    }
    fn judges_against_peers(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::budget_levels;

    fn shape(levels: &[u64], eta: u64, s: usize) -> Vec<(u64, u64)> {
        bracket_rungs(levels, eta, s, None)
            .iter()
            .map(|r| (r.count, r.budget))
            .collect()
    }

    /// Li et al. (2018), Table 1: R = 81, eta = 3.
    #[test]
    fn hyperband_table_of_li_et_al() {
        let l = budget_levels(1, 81, 3).unwrap();
        assert_eq!(
            shape(&l, 3, 4),
            vec![(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)]
        );
        assert_eq!(shape(&l, 3, 3), vec![(34, 3), (11, 9), (3, 27), (1, 81)]);
        assert_eq!(shape(&l, 3, 2), vec![(15, 9), (5, 27), (1, 81)]);
        assert_eq!(shape(&l, 3, 1), vec![(8, 27), (2, 81)]);
        assert_eq!(shape(&l, 3, 0), vec![(5, 81)]);
    }

    #[test]
    fn other_ladders() {
        // eta = 2, 1..16: s_max = 4.
        let l = budget_levels(1, 16, 2).unwrap();
        assert_eq!(
            shape(&l, 2, 4),
            vec![(16, 1), (8, 2), (4, 4), (2, 8), (1, 16)]
        );
        // ceil(5 * 8 / 4) = 10
        assert_eq!(shape(&l, 2, 3), vec![(10, 2), (5, 4), (2, 8), (1, 16)]);
        assert_eq!(shape(&l, 2, 0), vec![(5, 16)]);
        // eta = 4, 2..100: levels round(100 / 4^k): 6, 25, 100; s_max = 2.
        let l = budget_levels(2, 100, 4).unwrap();
        assert_eq!(l, vec![6, 25, 100]);
        assert_eq!(shape(&l, 4, 2), vec![(16, 6), (4, 25), (1, 100)]);
        assert_eq!(shape(&l, 4, 1), vec![(6, 25), (1, 100)]);
        assert_eq!(shape(&l, 4, 0), vec![(3, 100)]);
        // Successive halving with 20 configurations, eta 3, 1..27.
        let l = budget_levels(1, 27, 3).unwrap();
        let sha: Vec<_> = bracket_rungs(&l, 3, 3, Some(20))
            .iter()
            .map(|r| (r.count, r.budget))
            .collect();
        assert_eq!(sha, vec![(20, 1), (6, 3), (2, 9), (0, 27)]);
    }
}

//! Population-based training (Jaderberg et al., 2017), synchronous by generation.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{attr_u64, check_signature, is_finished, loss, mix_seed, PARENT_ATTR, SCHEDULER_ATTR};
use crate::error::{Error, Result};
use crate::param::{Distribution, ParamValue};
use crate::pruner::{single_direction, Decision, Plan, PruneContext, Pruner, BUDGET_ATTR};
use crate::scheduler::{CHECKPOINT_FROM_ATTR, PREVIOUS_BUDGET_ATTR};
use crate::trial::FrozenTrial;
use crate::view::StudyView;

/// System attribute: the PBT member (0..population) a trial belongs to.
pub const MEMBER_ATTR: &str = "pbt_member";
/// System attribute: the generation (interval index) of a PBT trial.
pub const GENERATION_ATTR: &str = "pbt_generation";
/// System attribute: the member whose checkpoint and hyperparameters an exploiting
/// trial copied (absent when the member continued its own).
pub const EXPLOITED_ATTR: &str = "pbt_exploited_member";

/// Population-based training.
///
/// `population` members train in intervals of `perturb_interval` steps up to
/// `max_budget`. Each interval of each member is one trial (member, generation in
/// [`MEMBER_ATTR`], [`GENERATION_ATTR`]; claim key `pbt:<member>:<generation>`), run
/// from budget `g·interval` to `(g+1)·interval` and resuming from the checkpoint of
/// its parent ([`PARENT_ATTR`]).
///
/// Generation 0 draws each member's configuration from a stream seeded by
/// `(seed, member)` when the study has a declared space (the CLI's), otherwise from
/// the sampler. Generation `g` starts once every trial of generation `g - 1` has
/// finished, so, with a declared space, a seeded run makes the same decisions however
/// many workers run it. The members of
/// generation `g - 1` are ranked by value; a member in the bottom `quantile` (or whose
/// trial did not complete) *exploits*: it copies the checkpoint and hyperparameters of
/// a member drawn from the top `quantile`, then *explores* them ([`explore`]). Other
/// members continue their own checkpoint and hyperparameters. Every random draw comes
/// from a stream seeded by `(seed, generation, member)`.
///
/// The chain of parents of the best final trial ([`lineage`](super::lineage)) is the
/// winning schedule: the hyperparameters used in each interval.
#[derive(Debug, Clone, PartialEq)]
pub struct PbtScheduler {
    pub population: usize,
    pub perturb_interval: u64,
    pub max_budget: u64,
    quantile: f64,
    resample_probability: f64,
    seed: u64,
}

impl PbtScheduler {
    /// Defaults: quantile 0.25, resample probability 0.25; `seed: None` draws one.
    pub fn new(
        population: usize,
        perturb_interval: u64,
        max_budget: u64,
        seed: Option<u64>,
    ) -> Result<Self> {
        if population < 2 {
            return Err(Error::InvalidScheduler(format!(
                "pbt needs a population of at least 2, not {population}"
            )));
        }
        if perturb_interval == 0 || max_budget < perturb_interval {
            return Err(Error::InvalidScheduler(format!(
                "pbt needs 1 <= perturb interval <= max budget, got interval \
                 {perturb_interval} and max budget {max_budget}"
            )));
        }
        Ok(Self {
            population,
            perturb_interval,
            max_budget,
            quantile: 0.25,
            resample_probability: 0.25,
            seed: seed.unwrap_or_else(rand::random),
        })
    }

    /// Fraction of the population in the bottom (exploiting) and top (copied) groups,
    /// in `(0, 0.5]`; each group has at least one member.
    pub fn quantile(mut self, q: f64) -> Result<Self> {
        if !(q > 0.0 && q <= 0.5) {
            return Err(Error::InvalidScheduler(format!(
                "pbt quantile must be in (0, 0.5], not {q}"
            )));
        }
        self.quantile = q;
        Ok(self)
    }

    /// Probability that explore resamples a parameter from its distribution instead
    /// of perturbing it, in `[0, 1]`.
    pub fn resample_probability(mut self, p: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::InvalidScheduler(format!(
                "pbt resample probability must be in [0, 1], not {p}"
            )));
        }
        self.resample_probability = p;
        Ok(self)
    }

    /// Number of generations (intervals) per member.
    pub fn generations(&self) -> u64 {
        self.max_budget.div_ceil(self.perturb_interval)
    }

    fn group_size(&self) -> usize {
        ((self.quantile * self.population as f64).floor() as usize).max(1)
    }

    fn signature(&self) -> String {
        format!(
            "pbt(population={},interval={},max={},quantile={},resample={},seed={})",
            self.population,
            self.perturb_interval,
            self.max_budget,
            self.quantile,
            self.resample_probability,
            self.seed
        )
    }
}

impl Pruner for PbtScheduler {
    fn name(&self) -> &str {
        "pbt"
    }

    fn plan(&self, view: &StudyView<'_>) -> Result<Option<Plan>> {
        let dir = single_direction(view, "pbt")?;
        let signature = self.signature();
        check_signature(view, &signature)?;
        // generation -> member -> trial
        let mut gens: BTreeMap<u64, BTreeMap<u64, &FrozenTrial>> = BTreeMap::new();
        for t in view.trials() {
            if let (Some(m), Some(g)) = (attr_u64(t, MEMBER_ATTR), attr_u64(t, GENERATION_ATTR)) {
                gens.entry(g).or_default().insert(m, t);
            }
        }
        let n = self.population as u64;
        let empty = BTreeMap::new();
        let g = (0..self.generations())
            .find(|g| gens.get(g).map_or(0, |m| m.len() as u64) < n)
            .ok_or_else(|| {
                Error::SpaceExhausted(format!(
                    "pbt: all {n} members reached the max budget {}",
                    self.max_budget
                ))
            })?;
        let this = gens.get(&g).unwrap_or(&empty);
        let m = (0..n)
            .find(|m| !this.contains_key(m))
            .expect("a free member");
        let mut a = BTreeMap::new();
        a.insert(SCHEDULER_ATTR.to_string(), signature.clone().into());
        a.insert(MEMBER_ATTR.to_string(), m.into());
        a.insert(GENERATION_ATTR.to_string(), g.into());
        let budget = ((g + 1) * self.perturb_interval).min(self.max_budget);
        a.insert(BUDGET_ATTR.to_string(), budget.into());
        let key = Some(format!("pbt:{m}:{g}"));
        if g == 0 {
            // With a declared space, member m's first configuration is drawn from its
            // own seeded stream, so it does not depend on which worker takes which
            // member; otherwise the sampler draws it (define-by-run).
            let params = match view.declared_space() {
                Some(space) => {
                    let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(self.seed, &[0, m, 1]));
                    space
                        .0
                        .iter()
                        .map(|(name, d)| (name.clone(), d.from_unit(rng.random::<f64>())))
                        .collect()
                }
                None => BTreeMap::new(),
            };
            return Ok(Some(Plan {
                params,
                claim_key: key,
                system_attrs: a,
            }));
        }
        let prev = &gens[&(g - 1)];
        if let Some(t) = prev.values().find(|t| !is_finished(t)) {
            return Err(Error::NothingToClaim(format!(
                "pbt generation {g} waits for trial {} (generation {})",
                t.number,
                g - 1
            )));
        }
        // Rank generation g - 1: complete trials by value, then the others.
        let mut order: Vec<(u64, Option<f64>)> =
            prev.iter().map(|(&mm, t)| (mm, loss(t, dir))).collect();
        order.sort_by(|x, y| match (x.1, y.1) {
            (Some(a), Some(b)) => a.total_cmp(&b).then(x.0.cmp(&y.0)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => x.0.cmp(&y.0),
        });
        let q = self.group_size();
        let top: Vec<u64> = order
            .iter()
            .take(q)
            .filter(|(_, l)| l.is_some())
            .map(|(mm, _)| *mm)
            .collect();
        if top.is_empty() {
            return Err(Error::SpaceExhausted(format!(
                "pbt: no trial of generation {} completed; nothing to continue from",
                g - 1
            )));
        }
        let rank = order.iter().position(|(mm, _)| *mm == m).expect("ranked");
        let own = prev[&m];
        let exploit = rank >= order.len() - q || loss(own, dir).is_none();
        let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(self.seed, &[g, m]));
        let (parent, params) = if exploit && !top.contains(&m) {
            let src = top[rng.random_range(0..top.len())];
            let parent = prev[&src];
            a.insert(EXPLOITED_ATTR.to_string(), src.into());
            let params = explore(
                &parent.params,
                &parent.distributions,
                self.resample_probability,
                &mut rng,
            );
            (parent, params)
        } else {
            (own, own.params.clone())
        };
        a.insert(PARENT_ATTR.to_string(), parent.number.into());
        a.insert(CHECKPOINT_FROM_ATTR.to_string(), parent.number.into());
        a.insert(
            PREVIOUS_BUDGET_ATTR.to_string(),
            (g * self.perturb_interval).into(),
        );
        Ok(Some(Plan {
            params,
            claim_key: key,
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

/// PBT's explore step on a copied configuration: each parameter is, with probability
/// `resample_probability`, drawn afresh from its distribution; otherwise perturbed:
/// a float is multiplied by 0.8 or 1.2 (clipped to its range, snapped to its step),
/// an integer or a categorical moves to a neighbouring value (one step, or the next
/// choice; at a bound, the only neighbour).
pub fn explore<R: Rng + ?Sized>(
    params: &BTreeMap<String, ParamValue>,
    distributions: &BTreeMap<String, Distribution>,
    resample_probability: f64,
    rng: &mut R,
) -> BTreeMap<String, ParamValue> {
    let mut out = BTreeMap::new();
    for (name, value) in params {
        let Some(d) = distributions.get(name) else {
            out.insert(name.clone(), value.clone());
            continue;
        };
        let new = if rng.random::<f64>() < resample_probability {
            d.from_unit(rng.random::<f64>())
        } else {
            perturb(d, value, rng)
        };
        out.insert(name.clone(), new);
    }
    out
}

fn perturb<R: Rng + ?Sized>(d: &Distribution, value: &ParamValue, rng: &mut R) -> ParamValue {
    let up = rng.random::<bool>();
    match d {
        Distribution::Float {
            low, high, step, ..
        } => {
            let Some(x) = value.as_f64() else {
                return value.clone();
            };
            let mut y = (x * if up { 1.2 } else { 0.8 }).clamp(*low, *high);
            if let Some(s) = step {
                y = (low + ((y - low) / s).round() * s).clamp(*low, *high);
            }
            ParamValue::Float(y)
        }
        Distribution::Int {
            low, high, step, ..
        } => {
            let Some(x) = value.as_i64() else {
                return value.clone();
            };
            let (lo, hi) = (x - step, x + step);
            let y = match (lo >= *low, hi <= *high) {
                (true, true) => {
                    if up {
                        hi
                    } else {
                        lo
                    }
                }
                (true, false) => lo,
                (false, true) => hi,
                (false, false) => x,
            };
            ParamValue::Int(y)
        }
        Distribution::Categorical { choices } => {
            let Some(i) = choices.iter().position(|c| c.same_as(value)) else {
                return value.clone();
            };
            let n = choices.len();
            let j = match (i > 0, i + 1 < n) {
                (true, true) => {
                    if up {
                        i + 1
                    } else {
                        i - 1
                    }
                }
                (true, false) => i - 1,
                (false, true) => i + 1,
                (false, false) => i,
            };
            choices[j].clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explore_perturbs_within_bounds() {
        let mut d = BTreeMap::new();
        d.insert("lr".to_string(), Distribution::float_log(1e-4, 1.0));
        d.insert("layers".to_string(), Distribution::int(1, 4));
        d.insert(
            "act".to_string(),
            Distribution::categorical(["relu", "tanh", "gelu"]),
        );
        let mut p = BTreeMap::new();
        p.insert("lr".to_string(), ParamValue::Float(0.1));
        p.insert("layers".to_string(), ParamValue::Int(4));
        p.insert("act".to_string(), ParamValue::from("relu"));
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..50 {
            let e = explore(&p, &d, 0.0, &mut rng);
            let lr = e["lr"].as_f64().unwrap();
            assert!(
                (lr - 0.08).abs() < 1e-12 || (lr - 0.12).abs() < 1e-12,
                "{lr}"
            );
            assert_eq!(e["layers"], ParamValue::Int(3), "at the upper bound: down");
            assert_eq!(e["act"], ParamValue::from("tanh"), "first choice: next");
        }
        // Resampling always: values stay in their distributions.
        for _ in 0..50 {
            let e = explore(&p, &d, 1.0, &mut rng);
            for (k, v) in &e {
                d[k].check_value(k, v).unwrap();
            }
        }
    }

    #[test]
    fn settings_are_checked() {
        assert!(PbtScheduler::new(1, 1, 10, Some(0)).is_err());
        assert!(PbtScheduler::new(4, 0, 10, Some(0)).is_err());
        assert!(PbtScheduler::new(4, 20, 10, Some(0)).is_err());
        let p = PbtScheduler::new(4, 3, 10, Some(0)).unwrap();
        assert_eq!(p.generations(), 4);
        assert!(p.clone().quantile(0.7).is_err());
        assert!(p.resample_probability(1.5).is_err());
    }
}

//! DEHB (Awad, Mallik and Hutter, IJCAI 2021): differential evolution inside
//! Hyperband's brackets, with one DE subpopulation per budget level.

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::hyperband::{bracket_rungs, BracketScheduler};
use super::{
    attr_u64, check_settings, loss, mix_seed, resumed_seed, stored_settings, Ladder, Resolved,
    CHECKPOINT_FROM_ATTR, PARENT_ATTR, PREVIOUS_BUDGET_ATTR, RUNG_ATTR, SETTINGS_ATTR,
    SH_BRACKET_ATTR, SLOT_ATTR,
};
use crate::error::{Error, Result};
use crate::param::{Distribution, ParamValue};
use crate::pruner::{single_direction, Decision, Plan, PruneContext, Pruner, BUDGET_ATTR};
use crate::trial::{Direction, FrozenTrial};
use crate::view::StudyView;

/// System attribute of a DEHB trial: the member (index) of its budget level's
/// subpopulation that it competes with (DE's target).
pub const MEMBER_ATTR: &str = "dehb_member";
/// System attribute of a DEHB trial: where its configuration came from: `random`
/// (drawn uniformly by DEHB), `sampler` (left to the study's sampler while the space is
/// not known), `promotion` (its parent's, resumed from its checkpoint) or `mutation`
/// (differential evolution).
pub const ORIGIN_ATTR: &str = "dehb_origin";

/// DE's mutation factor `F` (DEHB's default).
pub const DEFAULT_MUTATION_FACTOR: f64 = 0.5;
/// DE's crossover probability `CR` (DEHB's default).
pub const DEFAULT_CROSSOVER_PROB: f64 = 0.5;

/// DEHB: the brackets, rungs and slots of [`BracketScheduler::hyperband`] (same budgets,
/// same counts, same claim keys under the name `dehb`), with configurations chosen by
/// differential evolution instead of drawn at random.
///
/// Each budget level `l` has a subpopulation of `pop_l` members, `pop_l` the largest
/// count of trials any bracket runs at that level. Every trial of a bracket slot
/// competes with one member, in turn (its [`MEMBER_ATTR`]: the slot's index among all
/// slots at that level so far, modulo `pop_l`). A member's current vector is the best
/// complete trial that competed with it (DE's selection: a trial replaces its target
/// when it is at least as good), so the subpopulations are a function of the stored
/// trials, and a resumed study or another worker sees the same ones.
///
/// Configurations live in `[0, 1]^d` through the space's unit encoding
/// ([`Distribution::to_unit`], [`Distribution::from_unit`]: log scale for log
/// parameters, equal-width bins for integers, steps and categorical choices), so a
/// mixed space evolves as one vector and every decoded value is valid.
///
/// - **First Hyperband iteration** (bracket instances `0..=s_max`): as Hyperband. A
///   bottom-rung slot draws a configuration uniformly from `[0, 1]^d` (or leaves it to
///   the sampler while the space is unknown); a higher rung promotes the best of the
///   rung below, resuming from its checkpoint. These trials initialise the
///   subpopulations.
/// - **Later iterations**: every slot is a DE trial. Target: the slot's member of its
///   level. Parents: for a bracket's bottom rung, the level's own subpopulation; for a
///   higher rung, the best `n_i` members of the lower level's subpopulation (`n_i` the
///   rung's count), as in the paper; a pool of fewer than three is completed from the
///   global population (all levels), then with uniform draws. Mutation rand/1
///   (`v = x_1 + F (x_2 - x_3)`), binomial crossover with the target (probability `CR`,
///   one coordinate always from `v`), coordinates outside `[0, 1]` redrawn uniformly.
///   The new configuration trains from scratch at its budget (it is not its parents'
///   configuration, so no checkpoint applies).
///
/// This is DEHB's asynchronous variant in the storage's terms: a trial's target is
/// the member's vector when the trial is asked, and selection happens when it
/// completes. Every draw is seeded by `(seed, bracket instance, rung, slot)`.
///
/// `F`, `CR` and the seed are stored in every trial ([`SETTINGS_ATTR`]); resuming the
/// study with another value of one of them is an error naming it. Without a seed, a
/// resumed study takes the one it stored.
#[derive(Debug, Clone, PartialEq)]
pub struct DehbScheduler {
    brackets: BracketScheduler,
    ladder: Ladder,
    mutation_factor: f64,
    crossover_prob: f64,
    /// The seed given; `None`: the study's stored one, or else `fallback_seed`.
    seed: Option<u64>,
    fallback_seed: u64,
}

/// One member of a subpopulation: its best trial.
#[derive(Debug, Clone, PartialEq)]
struct Member {
    loss: f64,
    number: u64,
    x: Vec<f64>,
}

impl DehbScheduler {
    pub fn new(
        min_budget: u64,
        max_budget: Option<u64>,
        eta: u64,
        seed: Option<u64>,
    ) -> Result<Self> {
        let mut brackets = BracketScheduler::hyperband(min_budget, max_budget, eta)?;
        brackets.name = "dehb";
        Ok(Self {
            brackets,
            ladder: Ladder::new(min_budget, max_budget, eta)?,
            mutation_factor: DEFAULT_MUTATION_FACTOR,
            crossover_prob: DEFAULT_CROSSOVER_PROB,
            seed,
            fallback_seed: rand::random(),
        })
    }

    /// DE's mutation factor `F`, in `(0, 2]` (default 0.5).
    pub fn mutation_factor(mut self, f: f64) -> Result<Self> {
        if f.is_nan() || f <= 0.0 || f > 2.0 {
            return Err(Error::InvalidScheduler(format!(
                "dehb mutation factor must be in (0, 2], not {f}"
            )));
        }
        self.mutation_factor = f;
        Ok(self)
    }

    /// DE's crossover probability `CR`, in `[0, 1]` (default 0.5).
    pub fn crossover_prob(mut self, cr: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&cr) {
            return Err(Error::InvalidScheduler(format!(
                "dehb crossover probability must be in [0, 1], not {cr}"
            )));
        }
        self.crossover_prob = cr;
        Ok(self)
    }

    /// The space DEHB evolves: the declared one, or else the intersection of the
    /// complete trials' parameters (as BOHB).
    fn space(view: &StudyView<'_>) -> Vec<(String, Distribution)> {
        match view.declared_space() {
            Some(s) if !s.0.is_empty() => s.0.clone().into_iter().collect(),
            _ => view.intersection_space().0.into_iter().collect(),
        }
    }

    /// The subpopulation of every level: each member's best complete trial, if any.
    fn populations(
        view: &StudyView<'_>,
        space: &[(String, Distribution)],
        levels: &[u64],
        sizes: &[u64],
        dir: Direction,
    ) -> Vec<Vec<Option<Member>>> {
        let mut pops: Vec<Vec<Option<Member>>> =
            sizes.iter().map(|&n| vec![None; n as usize]).collect();
        for t in view.complete_trials() {
            let (Some(m), Some(b), Some(l)) = (
                attr_u64(t, MEMBER_ATTR),
                attr_u64(t, BUDGET_ATTR),
                loss(t, dir),
            ) else {
                continue;
            };
            let Some(level) = levels.iter().position(|&x| x == b) else {
                continue;
            };
            let Some(slot) = pops[level].get_mut(m as usize) else {
                continue;
            };
            let Some(x) = encode(t, space) else {
                continue;
            };
            // Trials come in number order: `<=` lets a later equal trial replace the
            // member, as DE's selection does.
            if slot.as_ref().is_none_or(|cur| l <= cur.loss) {
                *slot = Some(Member {
                    loss: l,
                    number: t.number,
                    x,
                });
            }
        }
        pops
    }

    /// The DE trial vector for member `member` of level `level`, rung `rung` (with
    /// `count` slots) of a bracket.
    #[allow(clippy::too_many_arguments)]
    fn evolve<R: Rng>(
        &self,
        pops: &[Vec<Option<Member>>],
        level: usize,
        rung: usize,
        count: u64,
        member: usize,
        d: usize,
        rng: &mut R,
    ) -> Vec<f64> {
        let mut pool: Vec<Vec<f64>> = if rung == 0 {
            pops[level].iter().flatten().map(|m| m.x.clone()).collect()
        } else {
            let mut lower: Vec<&Member> = pops[level - 1].iter().flatten().collect();
            lower.sort_by(|a, b| a.loss.total_cmp(&b.loss).then(a.number.cmp(&b.number)));
            lower
                .into_iter()
                .take(count as usize)
                .map(|m| m.x.clone())
                .collect()
        };
        if pool.len() < 3 {
            let mut global: Vec<&Vec<f64>> = pops
                .iter()
                .flatten()
                .flatten()
                .map(|m| &m.x)
                .filter(|x| !pool.contains(*x))
                .collect();
            global.sort_by(|a, b| {
                a.iter()
                    .zip(b.iter())
                    .map(|(p, q)| p.total_cmp(q))
                    .find(|o| o.is_ne())
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
            global.dedup();
            global.shuffle(rng);
            for x in global {
                if pool.len() >= 3 {
                    break;
                }
                pool.push(x.clone());
            }
        }
        while pool.len() < 3 {
            pool.push(uniform(d, rng));
        }
        let target = match pops[level].get(member).and_then(|m| m.as_ref()) {
            Some(m) => m.x.clone(),
            None => uniform(d, rng),
        };
        let mutant = mutate_rand1(&pool, self.mutation_factor, rng);
        let mut trial = crossover_binomial(&target, &mutant, self.crossover_prob, rng);
        repair(&mut trial, rng);
        trial
    }
}

/// Subpopulation sizes per level of the ladder `levels`: the largest count of trials
/// any Hyperband bracket runs at that level.
pub fn population_sizes(levels: &[u64], eta: u64) -> Vec<u64> {
    let s_max = levels.len() - 1;
    let mut pop = vec![0u64; levels.len()];
    for s in 0..=s_max {
        for (i, r) in bracket_rungs(levels, eta, s, None).iter().enumerate() {
            let l = s_max - s + i;
            pop[l] = pop[l].max(r.count);
        }
    }
    pop
}

/// How many slots Hyperband's bracket instances `0..k` have at level `level`.
fn slots_before(levels: &[u64], eta: u64, level: usize, k: u64) -> u64 {
    let s_max = levels.len() - 1;
    let period = s_max as u64 + 1;
    let in_instance = |k: u64| -> u64 {
        let s = s_max - (k % period) as usize;
        if level + s < s_max {
            0
        } else {
            bracket_rungs(levels, eta, s, None)[level + s - s_max].count
        }
    };
    let cycle: u64 = (0..period).map(in_instance).sum();
    (k / period) * cycle + (0..k % period).map(in_instance).sum::<u64>()
}

/// The trial's configuration in `[0, 1]^d`; `None` when it used another distribution
/// for a parameter of the space, or set none of them. A parameter it lacks (an
/// inactive conditional one) is the middle of its range, 0.5.
fn encode(t: &FrozenTrial, space: &[(String, Distribution)]) -> Option<Vec<f64>> {
    if !space.iter().any(|(name, _)| t.params.contains_key(name)) {
        return None;
    }
    space
        .iter()
        .map(|(name, dist)| match t.params.get(name) {
            None => Some(0.5),
            Some(v) if t.distributions.get(name) == Some(dist) => {
                Some(dist.to_unit(v)?.clamp(0.0, 1.0))
            }
            Some(_) => None,
        })
        .collect()
}

/// The configuration of a vector of `[0, 1]^d`.
pub fn decode(space: &[(String, Distribution)], x: &[f64]) -> BTreeMap<String, ParamValue> {
    space
        .iter()
        .zip(x)
        .map(|((name, dist), &u)| (name.clone(), dist.from_unit(u)))
        .collect()
}

fn uniform<R: Rng>(d: usize, rng: &mut R) -> Vec<f64> {
    (0..d).map(|_| rng.random::<f64>()).collect()
}

/// DE's rand/1 mutation: `x_1 + F (x_2 - x_3)` for three distinct members of `pool`
/// (which has at least three).
pub fn mutate_rand1<R: Rng>(pool: &[Vec<f64>], f: f64, rng: &mut R) -> Vec<f64> {
    assert!(pool.len() >= 3, "rand/1 needs three vectors");
    let idx = rand::seq::index::sample(rng, pool.len(), 3);
    let (a, b, c) = (
        &pool[idx.index(0)],
        &pool[idx.index(1)],
        &pool[idx.index(2)],
    );
    a.iter()
        .zip(b)
        .zip(c)
        .map(|((a, b), c)| a + f * (b - c))
        .collect()
}

/// Binomial crossover: each coordinate from `mutant` with probability `cr`, otherwise
/// from `target`; one coordinate, drawn uniformly, always from `mutant`.
pub fn crossover_binomial<R: Rng>(
    target: &[f64],
    mutant: &[f64],
    cr: f64,
    rng: &mut R,
) -> Vec<f64> {
    if target.is_empty() {
        return Vec::new();
    }
    let forced = rng.random_range(0..target.len());
    target
        .iter()
        .zip(mutant)
        .enumerate()
        .map(|(j, (t, m))| {
            if j == forced || rng.random::<f64>() < cr {
                *m
            } else {
                *t
            }
        })
        .collect()
}

/// Redraws coordinates outside `[0, 1]` (or not finite) uniformly (DEHB's default
/// boundary repair).
pub fn repair<R: Rng>(x: &mut [f64], rng: &mut R) {
    for v in x.iter_mut() {
        if !(0.0..=1.0).contains(v) {
            *v = rng.random::<f64>();
        }
    }
}

impl Pruner for DehbScheduler {
    fn name(&self) -> &str {
        "dehb"
    }

    fn plan(&self, view: &StudyView<'_>) -> Result<Option<Plan>> {
        let stored = stored_settings(view);
        let seed = resumed_seed(stored.as_ref(), self.seed, self.fallback_seed);
        let mut settings = serde_json::Map::new();
        settings.insert("mutation_factor".into(), self.mutation_factor.into());
        settings.insert("crossover_prob".into(), self.crossover_prob.into());
        settings.insert("seed".into(), seed.into());
        check_settings(stored.as_ref(), "dehb", &settings)?;
        let (slot, plan) = self.brackets.next(view)?;
        let mut plan = match (slot, plan) {
            (Some(s), _) => s.plan,
            (None, Some(p)) => p,
            (None, None) => return Ok(None),
        };
        plan.system_attrs
            .insert(SETTINGS_ATTR.into(), serde_json::Value::Object(settings));
        let get = |k: &str| plan.system_attrs.get(k).and_then(|v| v.as_u64());
        let (Some(k), Some(i), Some(j)) = (get(SH_BRACKET_ATTR), get(RUNG_ATTR), get(SLOT_ATTR))
        else {
            return Ok(Some(plan)); // the trial that measures the max budget
        };
        let Resolved::Levels(levels) = self.ladder.resolve(view, &self.brackets.signature())?
        else {
            return Ok(Some(plan));
        };
        let eta = self.ladder.eta;
        let s_max = levels.len() - 1;
        let rungs = self.brackets.instance_rungs(&levels, k);
        let (i, j) = (i as usize, j as usize);
        let level = s_max + 1 - rungs.len() + i;
        let sizes = population_sizes(&levels, eta);
        let member = (slots_before(&levels, eta, level, k) + j as u64) % sizes[level];
        plan.system_attrs.insert(MEMBER_ATTR.into(), member.into());
        let space = Self::space(view);
        let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(seed, &[k, i as u64, j as u64]));
        let origin = if space.is_empty() {
            if i == 0 {
                "sampler"
            } else {
                "promotion"
            }
        } else if k <= s_max as u64 {
            // The first Hyperband iteration initialises the subpopulations.
            if i == 0 {
                plan.params = decode(&space, &uniform(space.len(), &mut rng));
                "random"
            } else {
                "promotion"
            }
        } else {
            let dir = single_direction(view, "dehb")?;
            let pops = Self::populations(view, &space, &levels, &sizes, dir);
            let x = self.evolve(
                &pops,
                level,
                i,
                rungs[i].count,
                member as usize,
                space.len(),
                &mut rng,
            );
            plan.params = decode(&space, &x);
            // A new configuration: trained from scratch, not from a parent.
            for key in [PARENT_ATTR, CHECKPOINT_FROM_ATTR, PREVIOUS_BUDGET_ATTR] {
                plan.system_attrs.remove(key);
            }
            "mutation"
        };
        plan.system_attrs.insert(ORIGIN_ATTR.into(), origin.into());
        Ok(Some(plan))
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

    #[test]
    fn population_sizes_are_the_largest_rung_at_each_level() {
        // 1..81, eta 3 (Li et al., Table 1): level 3 has (27) (34) ... -> 81, 34, 15, 8, 5.
        let l = budget_levels(1, 81, 3).unwrap();
        assert_eq!(population_sizes(&l, 3), vec![81, 34, 15, 8, 5]);
        let l = budget_levels(1, 9, 3).unwrap();
        assert_eq!(population_sizes(&l, 3), vec![9, 5, 3]);
    }

    #[test]
    fn slots_are_counted_across_instances() {
        // 1..9, eta 3: instance 0 = bracket 2 (9@1, 3@3, 1@9), 1 = bracket 1 (5@3,
        // 1@9), 2 = bracket 0 (3@9), then again.
        let l = budget_levels(1, 9, 3).unwrap();
        let at = |level, k| slots_before(&l, 3, level, k);
        assert_eq!((at(0, 0), at(0, 1), at(0, 3), at(0, 4)), (0, 9, 9, 18));
        assert_eq!((at(1, 1), at(1, 2), at(1, 3), at(1, 5)), (3, 8, 8, 16));
        assert_eq!((at(2, 1), at(2, 2), at(2, 3), at(2, 4)), (1, 2, 5, 6));
    }

    #[test]
    fn de_operators_stay_in_the_unit_cube() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        // Extreme parents and a large F push the mutant out of the cube; the repair
        // brings every coordinate back.
        let pool = vec![
            vec![0.0; 5],
            vec![1.0; 5],
            vec![0.5; 5],
            vec![0.0, 1.0, 0.0, 1.0, 0.0],
        ];
        let mut outside = 0;
        for _ in 0..500 {
            let v = mutate_rand1(&pool, 2.0, &mut rng);
            outside += v.iter().filter(|x| !(0.0..=1.0).contains(*x)).count();
            let target = uniform(5, &mut rng);
            let mut u = crossover_binomial(&target, &v, 0.5, &mut rng);
            // Each coordinate comes from the target or the mutant, one from the mutant.
            assert!(u
                .iter()
                .zip(&target)
                .zip(&v)
                .all(|((u, t), m)| u == t || u == m));
            assert!(u.iter().zip(&v).any(|(u, m)| u == m));
            repair(&mut u, &mut rng);
            assert!(u.iter().all(|x| (0.0..=1.0).contains(x)), "{u:?}");
        }
        assert!(outside > 0, "the test must exercise the repair");
        // CR 0: exactly one coordinate from the mutant; CR 1: all of them.
        let t = vec![0.1; 4];
        let m = vec![0.9; 4];
        let u = crossover_binomial(&t, &m, 0.0, &mut rng);
        assert_eq!(u.iter().filter(|x| **x == 0.9).count(), 1);
        assert_eq!(crossover_binomial(&t, &m, 1.0, &mut rng), m);
        // rand/1 with F = 0.5 on three vectors: one of their permutations.
        let pool = vec![vec![0.0], vec![0.4], vec![0.8]];
        let v = mutate_rand1(&pool, 0.5, &mut rng)[0];
        let expect = [0.0, 0.4, 0.8];
        let ok = (0..3).any(|a| {
            (0..3).any(|b| {
                (0..3).any(|c| {
                    a != b
                        && b != c
                        && a != c
                        && (expect[a] + 0.5 * (expect[b] - expect[c]) - v).abs() < 1e-12
                })
            })
        });
        assert!(ok, "{v}");
    }

    #[test]
    fn decoded_vectors_are_valid_values_of_a_mixed_space() {
        let space: Vec<(String, Distribution)> = vec![
            (
                "act".into(),
                Distribution::categorical(["relu", "tanh", "gelu"]),
            ),
            ("layers".into(), Distribution::int(1, 4)),
            ("lr".into(), Distribution::float_log(1e-5, 1e-1)),
            ("units".into(), Distribution::int_log(8, 512)),
            ("wd".into(), Distribution::float_step(0.0, 0.3, 0.05)),
        ];
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut choices = std::collections::BTreeSet::new();
        for _ in 0..300 {
            let mut x = uniform(space.len(), &mut rng);
            // Corners included.
            if rng.random::<f64>() < 0.2 {
                x.iter_mut().for_each(|v| *v = v.round());
            }
            let params = decode(&space, &x);
            for (name, dist) in &space {
                let v = &params[name];
                assert!(dist.check_value(name, v).is_ok(), "{name} = {v:?}");
                // Encoding the decoded value lands in the same bin.
                let u = dist.to_unit(v).unwrap();
                assert!((0.0..=1.0).contains(&u), "{name}: {u}");
                let back = dist.from_unit(u);
                match (back.as_f64(), v.as_f64()) {
                    (Some(a), Some(b)) if !dist.is_categorical() => {
                        assert!(
                            (a - b).abs() <= 1e-9 * b.abs().max(1e-9),
                            "{name}: {a} vs {b}"
                        )
                    }
                    _ => assert_eq!(&back, v, "{name}"),
                }
            }
            choices.insert(params["act"].as_str().unwrap().to_string());
        }
        assert_eq!(choices.len(), 3);
    }
}

//! An exact trial budget shared by any number of workers: [`BudgetSampler`].
//!
//! The budget of `N` trials is `N` *slots*. Every trial created for the budget claims
//! the key `budget:{slot}:{attempt}` through the sampler claim mechanism, and the
//! storage refuses a second trial with the same key (a unique constraint in SQL
//! backends). A slot's attempts form a chain:
//!
//! - slot `k` is *free* when it has no attempt yet, or its latest attempt `a` failed;
//!   the next trial for it claims `budget:k:{a+1}` (or `budget:k:0`);
//! - it is *busy* while its latest attempt is waiting or running;
//! - it is *done* once its latest attempt is complete or pruned.
//!
//! Attempt `a + 1` is only ever claimed after attempt `a` was seen finished as failed,
//! and finished trials never change, so at most one attempt per slot is unfinished or
//! successful at any time, whatever the number of workers and however stale their view:
//! a worker with an old view merely loses the claim race and looks again. Hence the
//! study never holds more than `N` complete-or-pruned budgeted trials, and workers keep
//! going until every slot is done, so it ends with exactly `N`.
//!
//! Failed trials do not use up the budget (as Optuna's `MaxTrialsCallback` counts
//! complete and pruned trials): their slot is attempted again. When the failed attempt
//! was a trial whose worker died (failed by heartbeat), the next attempt re-runs the
//! same configuration, with `retried_from` set, up to `max_retries` times; the decision
//! is a function of the failed trial alone, so every worker makes the same one and the
//! claim key still guarantees one winner. (The engine's own retry mechanism, which
//! enqueues a waiting trial, must be off: [`super::HeartbeatConfig::max_retries`] 0.)
//!
//! With a grid, slot `k` is the `k`-th point of the seeded grid order, so the budget
//! also hands out every grid point exactly once.

use std::collections::{BTreeMap, HashMap};

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::RETRY_ATTEMPT_ATTR;
use crate::error::{Error, Result};
use crate::param::{Distribution, ParamValue};
use crate::sampler::{fresh_seed, Claim, Sampler, TrialContext};
use crate::space::{SearchSpace, SpaceDecl};
use crate::storage::is_stale_failure;
use crate::trial::{FrozenTrial, TrialState, FIXED_PARAMS_ATTR};
use crate::view::StudyView;

/// Prefix of the claim keys of budgeted trials.
pub const BUDGET_KEY_PREFIX: &str = "budget:";

/// The claim key of attempt `attempt` of budget slot `slot`.
pub fn budget_key(slot: u64, attempt: u32) -> String {
    format!("{BUDGET_KEY_PREFIX}{slot}:{attempt}")
}

/// `(slot, attempt)` of a budget claim key.
pub fn parse_budget_key(key: &str) -> Option<(u64, u32)> {
    let (slot, attempt) = key.strip_prefix(BUDGET_KEY_PREFIX)?.split_once(':')?;
    Some((slot.parse().ok()?, attempt.parse().ok()?))
}

/// Where a study's budget stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BudgetStatus {
    /// The budget, in trials.
    pub slots: u64,
    /// Slots whose trial ended complete or pruned.
    pub done: u64,
    /// Slots whose trial is waiting or running (maybe in a dead worker, until its
    /// heartbeat goes stale).
    pub busy: u64,
    /// Slots with no trial, or whose last trial failed.
    pub free: u64,
    /// Failed budgeted trials (all attempts).
    pub failed: u64,
}

impl BudgetStatus {
    /// Every slot is done: nothing is left to run.
    pub fn is_spent(&self) -> bool {
        self.done >= self.slots
    }
}

/// The latest attempt of each slot that has one, and the number of failed attempts.
fn latest_attempts<'a>(
    trials: impl Iterator<Item = &'a FrozenTrial>,
    slots: u64,
) -> (HashMap<u64, (u32, &'a FrozenTrial)>, u64) {
    let mut latest: HashMap<u64, (u32, &FrozenTrial)> = HashMap::new();
    let mut failed = 0;
    for t in trials {
        let Some((slot, attempt)) = t.claim_key.as_deref().and_then(parse_budget_key) else {
            continue;
        };
        if slot >= slots {
            continue;
        }
        if t.state == TrialState::Failed {
            failed += 1;
        }
        match latest.get(&slot) {
            Some((a, _)) if *a >= attempt => {}
            _ => {
                latest.insert(slot, (attempt, t));
            }
        }
    }
    (latest, failed)
}

/// The status of a budget of `slots` trials, from the study's trials.
pub fn budget_status<'a>(
    trials: impl IntoIterator<Item = &'a FrozenTrial>,
    slots: u64,
) -> BudgetStatus {
    let (latest, failed) = latest_attempts(trials.into_iter(), slots);
    let mut s = BudgetStatus {
        slots,
        failed,
        free: slots - latest.len() as u64,
        ..Default::default()
    };
    for (_, t) in latest.values() {
        match t.state {
            TrialState::Complete | TrialState::Pruned => s.done += 1,
            TrialState::Failed => s.free += 1,
            TrialState::Waiting | TrialState::Running => s.busy += 1,
        }
    }
    s
}

/// The points of a grid in the seeded order that budget slots follow.
pub fn grid_points(
    space: &SpaceDecl,
    seed: Option<u64>,
) -> Result<Vec<BTreeMap<String, ParamValue>>> {
    let mut points = space.grid()?;
    points.shuffle(&mut ChaCha8Rng::seed_from_u64(seed.unwrap_or(0)));
    Ok(points)
}

/// A sampler that enforces an exact trial budget across workers. See the module
/// documentation. Sampling itself is delegated to the wrapped sampler; its own
/// `claim` is not used (grid points come from [`BudgetSampler::with_points`]).
pub struct BudgetSampler {
    inner: Box<dyn Sampler>,
    slots: u64,
    max_retries: u32,
    max_failed: Option<u64>,
    points: Option<Vec<BTreeMap<String, ParamValue>>>,
    /// Picks among free slots, so that parallel workers rarely race for the same one.
    rng: ChaCha8Rng,
}

impl std::fmt::Debug for BudgetSampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BudgetSampler")
            .field("inner", &self.inner.name())
            .field("slots", &self.slots)
            .field("max_retries", &self.max_retries)
            .finish_non_exhaustive()
    }
}

impl BudgetSampler {
    /// A budget of `slots` complete-or-pruned trials over `inner`.
    pub fn new(inner: Box<dyn Sampler>, slots: u64) -> Self {
        Self {
            inner,
            slots,
            max_retries: 0,
            max_failed: None,
            points: None,
            rng: ChaCha8Rng::seed_from_u64(fresh_seed()),
        }
    }
    /// Re-run the configuration of a trial whose worker died, up to `n` times.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }
    /// Stop handing out trials once `n` budgeted trials have failed.
    pub fn max_failed(mut self, n: Option<u64>) -> Self {
        self.max_failed = n;
        self
    }
    /// Slot `k` runs `points[k]` (a grid): needs at least as many points as slots.
    pub fn with_points(mut self, points: Vec<BTreeMap<String, ParamValue>>) -> Result<Self> {
        if (points.len() as u64) < self.slots {
            return Err(Error::InvalidSpace {
                location: None,
                reason: format!(
                    "a budget of {} trials needs as many points, but the grid has {}",
                    self.slots,
                    points.len()
                ),
            });
        }
        self.points = Some(points);
        Ok(self)
    }
    /// The budget, in trials.
    pub fn slots(&self) -> u64 {
        self.slots
    }

    /// The claim for the next attempt at `slot`, after `latest` (its last attempt).
    fn claim_slot(&self, slot: u64, latest: Option<(u32, &FrozenTrial)>) -> Result<Claim> {
        let attempt = latest.map_or(0, |(a, _)| a + 1);
        let key = budget_key(slot, attempt);
        if let Some((_, dead)) = latest.filter(|(_, t)| is_stale_failure(t)) {
            let retried = dead
                .system_attrs
                .get(RETRY_ATTEMPT_ATTR)
                .and_then(|v| v.as_u64())
                .unwrap_or(0);
            if retried < u64::from(self.max_retries) {
                let mut params: BTreeMap<String, ParamValue> = dead
                    .system_attrs
                    .get(FIXED_PARAMS_ATTR)
                    .map(|v| serde_json::from_value(v.clone()))
                    .transpose()?
                    .unwrap_or_default();
                params.extend(dead.params.clone());
                let mut c = Claim::new(key, params);
                c.retried_from = Some(dead.number);
                c.system_attrs
                    .insert(RETRY_ATTEMPT_ATTR.to_string(), (retried + 1).into());
                return Ok(c);
            }
        }
        let params = match &self.points {
            Some(p) => p[slot as usize].clone(),
            None => BTreeMap::new(),
        };
        Ok(Claim::new(key, params))
    }
}

impl Sampler for BudgetSampler {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn claim(&mut self, view: &StudyView<'_>) -> Result<Option<Claim>> {
        let (latest, failed) = latest_attempts(view.trials(), self.slots);
        if let Some(max) = self.max_failed.filter(|m| failed >= *m) {
            let last = view
                .trials()
                .filter(|t| t.state == TrialState::Failed)
                .last()
                .and_then(|t| t.fail_reason.as_deref())
                .and_then(|r| r.lines().next())
                .unwrap_or("");
            return Err(Error::TooManyFailures(format!(
                "study `{}`: {failed} trial(s) failed, which reaches its limit of {max} \
                 (--max-failed at creation); last failure: {last}",
                view.study_name()
            )));
        }
        // Slots whose last attempt failed first (retries of dead workers' trials run
        // promptly), in random order.
        let mut failed_slots: Vec<u64> = latest
            .iter()
            .filter(|(_, (_, t))| t.state == TrialState::Failed)
            .map(|(k, _)| *k)
            .collect();
        if !failed_slots.is_empty() {
            failed_slots.sort_unstable();
            let k = failed_slots[self.rng.random_range(0..failed_slots.len())];
            return self.claim_slot(k, latest.get(&k).copied()).map(Some);
        }
        let untouched = self.slots - latest.len() as u64;
        if untouched == 0 {
            let busy = latest
                .values()
                .filter(|(_, t)| !t.state.is_finished())
                .count();
            if busy > 0 {
                // They may finish, or fail (a dead worker's, once its heartbeat is
                // stale) and free their slot: not the end yet.
                return Err(Error::NothingToClaim(format!(
                    "every slot of the budget of {} trial(s) is done or busy ({busy} still running)",
                    self.slots
                )));
            }
            return Err(Error::SpaceExhausted(format!(
                "the budget of {} trial(s) is spent",
                self.slots
            )));
        }
        // A random untouched slot: probe a few times, then scan from a random start.
        for _ in 0..32 {
            let k = self.rng.random_range(0..self.slots);
            if !latest.contains_key(&k) {
                return self.claim_slot(k, None).map(Some);
            }
        }
        let start = self.rng.random_range(0..self.slots);
        let k = (0..self.slots)
            .map(|i| (start + i) % self.slots)
            .find(|k| !latest.contains_key(k))
            .expect("an untouched slot exists");
        self.claim_slot(k, None).map(Some)
    }

    fn infer_relative_search_space(
        &mut self,
        view: &StudyView<'_>,
        trial: &TrialContext,
    ) -> SearchSpace {
        self.inner.infer_relative_search_space(view, trial)
    }

    fn sample_relative(
        &mut self,
        view: &StudyView<'_>,
        trial: &TrialContext,
        space: &SearchSpace,
    ) -> Result<BTreeMap<String, ParamValue>> {
        self.inner.sample_relative(view, trial, space)
    }

    fn sample_independent(
        &mut self,
        view: &StudyView<'_>,
        trial: &TrialContext,
        name: &str,
        distribution: &Distribution,
    ) -> Result<ParamValue> {
        self.inner
            .sample_independent(view, trial, name, distribution)
    }

    fn after_trial(&mut self, view: &StudyView<'_>, trial: &FrozenTrial) {
        self.inner.after_trial(view, trial)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::storage::{InMemoryStorage, Storage};
    use crate::study::{HeartbeatConfig, Study};
    use crate::trial::TrialResult;
    use crate::RandomSampler;

    fn study(storage: &Arc<dyn Storage>, slots: u64, hb: Option<HeartbeatConfig>) -> Study {
        let sampler = BudgetSampler::new(Box::new(RandomSampler::new(Some(3))), slots)
            .max_retries(1)
            .max_failed(Some(1000));
        let mut b = Study::builder("b")
            .storage(storage.clone())
            .sampler(sampler)
            .load_if_exists(true);
        if let Some(h) = hb {
            b = b.heartbeat(h);
        }
        b.build().unwrap()
    }

    #[test]
    fn keys_round_trip() {
        assert_eq!(parse_budget_key(&budget_key(12, 3)), Some((12, 3)));
        assert_eq!(parse_budget_key("grid:{}"), None);
        assert_eq!(parse_budget_key("budget:x:1"), None);
    }

    /// Eight "workers" (each its own Study object, as separate processes would be)
    /// with failing objectives never exceed the budget and end with exactly N.
    #[test]
    fn eight_workers_end_with_exactly_the_budget() {
        let storage: Arc<dyn Storage> = Arc::new(InMemoryStorage::new());
        let n = 40;
        std::thread::scope(|s| {
            for w in 0..8u64 {
                let st = study(&storage, n, None);
                s.spawn(move || loop {
                    let mut t = match st.ask() {
                        Ok(t) => t,
                        Err(Error::SpaceExhausted(_)) => return,
                        Err(Error::NothingToClaim(_)) => {
                            std::thread::yield_now();
                            continue;
                        }
                        Err(e) => panic!("{e}"),
                    };
                    let x = t.suggest_float("x", 0.0, 1.0).unwrap();
                    let r = if (t.number() + w) % 5 == 0 {
                        TrialResult::Failed("boom".into())
                    } else {
                        TrialResult::Complete(vec![x])
                    };
                    st.tell(t, r).unwrap();
                });
            }
        });
        let trials = storage
            .all_trials(storage.get_study("b").unwrap().id)
            .unwrap();
        let complete = trials
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .count();
        assert_eq!(complete, n as usize);
        let st = budget_status(&trials, n);
        assert!(st.is_spent(), "{st:?}");
        assert_eq!(st.failed as usize, trials.len() - complete);
        let keys: BTreeSet<_> = trials.iter().map(|t| t.claim_key.clone()).collect();
        assert_eq!(keys.len(), trials.len(), "claim keys are unique");
    }

    /// A trial left running by a dead worker keeps its slot busy until its heartbeat
    /// goes stale; then its configuration is retried in the same slot.
    #[test]
    fn a_dead_workers_trial_is_retried_in_its_slot() {
        let storage: Arc<dyn Storage> = Arc::new(InMemoryStorage::new());
        let hb = HeartbeatConfig::new(Duration::from_millis(100))
            .stale_after(Duration::from_millis(500));
        let dead = study(&storage, 2, Some(hb));
        let mut t = dead.ask().unwrap();
        let x = t.suggest_float("x", 0.0, 1.0).unwrap();
        let dead_number = t.number();
        drop(t); // never told: its heartbeat stops

        let live = study(&storage, 2, Some(hb));
        let mut t = live.ask().unwrap();
        t.suggest_float("x", 0.0, 1.0).unwrap();
        live.tell(t, TrialResult::Complete(vec![0.0])).unwrap();
        // Only the dead trial's slot is left, and it is busy: wait, not the end.
        assert!(matches!(live.ask(), Err(Error::NothingToClaim(_))));
        std::thread::sleep(Duration::from_millis(800));
        let mut t = live.ask().unwrap();
        assert_eq!(t.suggest_float("x", 0.0, 1.0).unwrap(), x);
        let number = t.number();
        live.tell(t, TrialResult::Complete(vec![x])).unwrap();
        let retry = storage.get_trial_by_number(live.id(), number).unwrap();
        assert_eq!(retry.retried_from, Some(dead_number));
        assert!(matches!(live.ask(), Err(Error::SpaceExhausted(_))));
        let all = live.trials().unwrap();
        let st = budget_status(&all, 2);
        assert_eq!((st.done, st.failed, all.len()), (2, 1, 3));
    }

    #[test]
    fn grid_slots_visit_every_point_once() {
        let space = SpaceDecl::new()
            .param("a", Distribution::int(1, 3))
            .unwrap()
            .param("b", Distribution::categorical(["x", "y"]))
            .unwrap();
        let points = grid_points(&space, Some(5)).unwrap();
        let storage: Arc<dyn Storage> = Arc::new(InMemoryStorage::new());
        let mk = || {
            Study::builder("g")
                .storage(storage.clone())
                .sampler(
                    BudgetSampler::new(Box::new(RandomSampler::new(None)), 6)
                        .with_points(points.clone())
                        .unwrap(),
                )
                .load_if_exists(true)
                .build()
                .unwrap()
        };
        let (s1, s2) = (mk(), mk());
        let mut seen = BTreeSet::new();
        for i in 0.. {
            let s = if i % 2 == 0 { &s1 } else { &s2 };
            let mut t = match s.ask() {
                Ok(t) => t,
                Err(Error::SpaceExhausted(_)) => break,
                Err(e) => panic!("{e}"),
            };
            let p = t.suggest_space(&space).unwrap();
            assert!(seen.insert(serde_json::to_string(&p).unwrap()));
            s.tell(t, TrialResult::Complete(vec![0.0])).unwrap();
        }
        assert_eq!(seen.len(), 6);
    }
}

//! Studies: the ask/tell engine and everything built on it.

pub mod budget;
mod heartbeat;
mod optimize;
pub mod spec;
mod trial;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

pub use budget::{BudgetSampler, BudgetStatus};
pub use optimize::{Callback, ObjectiveValue, OptimizeOptions, OptimizeSummary};
pub use spec::StudySpec;
pub use trial::Trial;

use crate::error::{Error, Result};
use crate::param::ParamValue;
use crate::pruner::{NopPruner, Pruner};
use crate::sampler::{Sampler, TrialContext};
use crate::space::SearchSpace;
use crate::storage::{InMemoryStorage, Storage, StudyRecord};
use crate::trial::{Direction, FrozenTrial, NewTrial, TrialResult, TrialState, FIXED_PARAMS_ATTR};
use crate::view::{StudyCache, StudyView};

/// System attribute counting how many times a trial's configuration has been retried.
pub const RETRY_ATTEMPT_ATTR: &str = "retry_attempt";

/// How many claim races in a row an ask may lose (to other workers taking the same
/// points) before it gives up.
const MAX_CLAIM_RACES: usize = 10_000;

/// Heartbeats of running trials, so a crashed worker's trial can be recovered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeartbeatConfig {
    /// How often a live worker refreshes its trials' heartbeat.
    pub interval: Duration,
    /// A running trial whose heartbeat is older than this is failed by the next ask.
    pub stale_after: Duration,
    /// How many times a failed-by-heartbeat configuration is retried as a new trial.
    pub max_retries: u32,
}

impl HeartbeatConfig {
    /// Heartbeat every `interval`, stale after twice that, no retries.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            stale_after: interval * 2,
            max_retries: 0,
        }
    }
    pub fn stale_after(mut self, d: Duration) -> Self {
        self.stale_after = d;
        self
    }
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }
}

pub(crate) struct StudyInner {
    pub record: StudyRecord,
    pub storage: Arc<dyn Storage>,
    pub sampler: Mutex<Box<dyn Sampler>>,
    pub pruner: Box<dyn Pruner>,
    pub space: Option<SearchSpace>,
    pub cache: RwLock<StudyCache>,
    pub heartbeat: Option<HeartbeatConfig>,
    pub checkpoint_root: Option<std::path::PathBuf>,
    /// Ids of this process's running trials, for the heartbeat thread.
    pub running: Mutex<HashSet<i64>>,
    pub heartbeat_started: std::sync::Once,
    pub stop: std::sync::atomic::AtomicBool,
}

impl StudyInner {
    pub(crate) fn with_view<R>(&self, f: impl FnOnce(&StudyView<'_>) -> R) -> R {
        self.with_bracket_view(None, f)
    }

    /// The view restricted to one bracket (`None`: the whole study).
    pub(crate) fn with_bracket_view<R>(
        &self,
        bracket: Option<u32>,
        f: impl FnOnce(&StudyView<'_>) -> R,
    ) -> R {
        let cache = self.cache.read().unwrap_or_else(|p| p.into_inner());
        let view = StudyView {
            name: &self.record.name,
            directions: &self.record.directions,
            declared_space: self.space.as_ref(),
            cache: &cache,
            bracket,
        };
        f(&view)
    }

    pub(crate) fn refresh(&self) -> Result<()> {
        let cursor = self.cache.read().unwrap_or_else(|p| p.into_inner()).cursor;
        let delta = self.storage.trials_since(self.record.id, cursor)?;
        self.cache
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .apply(delta);
        Ok(())
    }

    pub(crate) fn sampler(&self) -> std::sync::MutexGuard<'_, Box<dyn Sampler>> {
        self.sampler.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A study: a named optimisation with one direction per objective, a sampler, and a
/// storage that holds its trials. Cheap to clone; clones share everything.
///
/// ```
/// use hyperscape_core::{Study, RandomSampler};
/// let study = Study::builder("demo").sampler(RandomSampler::new(Some(1))).build().unwrap();
/// study.optimize(|t| -> Result<f64, hyperscape_core::Error> {
///     let x = t.suggest_float("x", -5.0, 5.0)?;
///     Ok((x - 2.0).powi(2))
/// }, 50).unwrap();
/// assert!(study.best_value().unwrap() < 1.0);
/// ```
#[derive(Clone)]
pub struct Study {
    pub(crate) inner: Arc<StudyInner>,
}

impl std::fmt::Debug for Study {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Study")
            .field("name", &self.inner.record.name)
            .field("directions", &self.inner.record.directions)
            .field("sampler", &self.inner.sampler().name())
            .finish()
    }
}

/// Builds or loads a [`Study`].
pub struct StudyBuilder {
    name: String,
    storage: Option<Arc<dyn Storage>>,
    directions: Option<Vec<Direction>>,
    sampler: Option<Box<dyn Sampler>>,
    pruner: Option<Box<dyn Pruner>>,
    space: Option<SearchSpace>,
    heartbeat: Option<HeartbeatConfig>,
    load_if_exists: bool,
    checkpoint_root: Option<std::path::PathBuf>,
}

impl StudyBuilder {
    /// Where the study lives. Default: a fresh in-memory storage.
    pub fn storage(mut self, storage: Arc<dyn Storage>) -> Self {
        self.storage = Some(storage);
        self
    }
    /// One objective in this direction. Default: minimise.
    pub fn direction(mut self, d: Direction) -> Self {
        self.directions = Some(vec![d]);
        self
    }
    /// One direction per objective.
    pub fn directions(mut self, d: Vec<Direction>) -> Self {
        self.directions = Some(d);
        self
    }
    /// Default: [`AutoSampler`](crate::sampler::AutoSampler) with a fresh seed (it picks a
    /// sampler from the space once its Sobol start-up trials are done; `docs/samplers.md`).
    pub fn sampler(mut self, s: impl Sampler + 'static) -> Self {
        self.sampler = Some(Box::new(s));
        self
    }
    pub fn boxed_sampler(mut self, s: Box<dyn Sampler>) -> Self {
        self.sampler = Some(s);
        self
    }
    /// Default: [`NopPruner`] (never prunes, assigns no bracket).
    pub fn pruner(mut self, p: impl Pruner + 'static) -> Self {
        self.pruner = Some(Box::new(p));
        self
    }
    pub fn boxed_pruner(mut self, p: Box<dyn Pruner>) -> Self {
        self.pruner = Some(p);
        self
    }
    /// A space declared up front; samplers may sample it jointly from the first trial.
    pub fn space(mut self, space: SearchSpace) -> Self {
        self.space = Some(space);
        self
    }
    /// Enables heartbeats and stale-trial recovery.
    pub fn heartbeat(mut self, h: HeartbeatConfig) -> Self {
        self.heartbeat = Some(h);
        self
    }
    /// Where trials keep checkpoints: each trial gets `<root>/<study>/trial-<number>`
    /// ([`Trial::checkpoint_dir`]); a promoted trial's starts as a copy of its
    /// parent's. Default: none (trials get no checkpoint directory).
    pub fn checkpoint_root(mut self, root: impl Into<std::path::PathBuf>) -> Self {
        self.checkpoint_root = Some(root.into());
        self
    }
    /// Resume the study if it already exists (otherwise that is an error).
    pub fn load_if_exists(mut self, yes: bool) -> Self {
        self.load_if_exists = yes;
        self
    }

    /// Creates the study, or loads it when `load_if_exists` is set.
    pub fn build(self) -> Result<Study> {
        let storage = self
            .storage
            .unwrap_or_else(|| Arc::new(InMemoryStorage::new()));
        let directions = self.directions.clone().unwrap_or(vec![Direction::Minimize]);
        if directions.is_empty() {
            return Err(Error::InvalidObjectiveValue(
                "a study needs at least one direction".into(),
            ));
        }
        let record = match storage.get_study(&self.name) {
            Ok(existing) => {
                if !self.load_if_exists {
                    return Err(Error::StudyExists(self.name));
                }
                if let Some(req) = &self.directions {
                    if *req != existing.directions {
                        return Err(Error::DirectionMismatch {
                            name: self.name,
                            stored: existing.directions,
                            requested: req.clone(),
                        });
                    }
                }
                existing
            }
            Err(Error::StudyNotFound(_)) => match storage.create_study(&self.name, &directions) {
                Ok(r) => r,
                // Another process created it between our look-up and our insert.
                Err(Error::StudyExists(_)) if self.load_if_exists => {
                    storage.get_study(&self.name)?
                }
                Err(e) => return Err(e),
            },
            Err(e) => return Err(e),
        };
        let study =
            Study {
                inner: Arc::new(StudyInner {
                    record,
                    storage,
                    sampler: Mutex::new(self.sampler.unwrap_or_else(|| {
                        Box::new(crate::sampler::AutoSampler::builder().build())
                    })),
                    pruner: self.pruner.unwrap_or_else(|| Box::new(NopPruner)),
                    space: self.space,
                    cache: RwLock::new(StudyCache::default()),
                    heartbeat: self.heartbeat,
                    checkpoint_root: self.checkpoint_root,
                    running: Mutex::new(HashSet::new()),
                    heartbeat_started: std::sync::Once::new(),
                    stop: std::sync::atomic::AtomicBool::new(false),
                }),
            };
        study.inner.refresh()?;
        Ok(study)
    }
}

impl Study {
    /// Starts building a study called `name`.
    pub fn builder(name: impl Into<String>) -> StudyBuilder {
        StudyBuilder {
            name: name.into(),
            storage: None,
            directions: None,
            sampler: None,
            pruner: None,
            space: None,
            heartbeat: None,
            load_if_exists: false,
            checkpoint_root: None,
        }
    }

    /// Loads an existing study with the default sampler.
    pub fn load(name: &str, storage: Arc<dyn Storage>) -> Result<Study> {
        storage.get_study(name)?;
        Study::builder(name)
            .storage(storage)
            .load_if_exists(true)
            .build()
    }

    pub fn name(&self) -> &str {
        &self.inner.record.name
    }
    pub fn id(&self) -> i64 {
        self.inner.record.id
    }
    pub fn directions(&self) -> &[Direction] {
        &self.inner.record.directions
    }
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.inner.storage
    }
    pub fn record(&self) -> &StudyRecord {
        &self.inner.record
    }

    /// Asks the sampler for a new trial.
    ///
    /// In order: stale trials of dead workers are failed (and retried if configured);
    /// a waiting (enqueued) trial is claimed if there is one; otherwise a new trial is
    /// created, with a point claimed from the sampler if it hands points out.
    /// Returns [`Error::SpaceExhausted`] when the sampler has nothing left.
    pub fn ask(&self) -> Result<Trial> {
        let inner = &self.inner;
        let hb = inner.heartbeat.is_some();
        if let Some(cfg) = inner.heartbeat {
            self.recover_stale(cfg)?;
            heartbeat::ensure_started(&self.inner);
        }
        // One refresh per ask: the sampler sees every trial finished before this point.
        inner.refresh()?;
        let mut frozen = match inner.storage.claim_waiting_trial(inner.record.id, hb)? {
            Some(t) => t,
            None => self.create_sampled_trial(hb)?,
        };
        self.assign_bracket(&mut frozen)?;
        self.prepare_checkpoint_dir(&mut frozen)?;
        let bracket = crate::view::trial_bracket(&frozen);
        let fixed: BTreeMap<String, ParamValue> = frozen
            .system_attrs
            .get(FIXED_PARAMS_ATTR)
            .map(|v| serde_json::from_value(v.clone()))
            .transpose()?
            .unwrap_or_default();
        let ctx = TrialContext {
            id: frozen.id,
            number: frozen.number,
        };
        let (relative_space, relative) = {
            let mut sampler = inner.sampler();
            inner.with_bracket_view(bracket, |view| -> Result<_> {
                let space = sampler.infer_relative_search_space(view, &ctx);
                let params = if space.is_empty() {
                    BTreeMap::new()
                } else {
                    sampler.sample_relative(view, &ctx, &space)?
                };
                Ok((space, params))
            })?
        };
        if hb {
            inner
                .running
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(frozen.id);
        }
        Ok(Trial::new(
            self.inner.clone(),
            frozen,
            fixed,
            relative_space,
            relative,
        ))
    }

    /// Lets the pruner give a new trial its bracket and budget, stored with the trial
    /// (a trial that already has a bracket, such as a resumed one, keeps it).
    fn assign_bracket(&self, frozen: &mut FrozenTrial) -> Result<()> {
        use crate::pruner::{BRACKET_ATTR, BUDGET_ATTR};
        if frozen.system_attrs.contains_key(BRACKET_ATTR) {
            return Ok(());
        }
        let inner = &self.inner;
        let a = inner.with_view(|view| inner.pruner.assign(view, frozen.number))?;
        for (key, value) in [
            (BRACKET_ATTR, a.bracket.map(u64::from)),
            (BUDGET_ATTR, a.budget),
        ] {
            if let Some(v) = value {
                inner
                    .storage
                    .set_trial_system_attr(frozen.id, key, v.into())?;
                frozen.system_attrs.insert(key.to_string(), v.into());
            }
        }
        Ok(())
    }

    /// With a checkpoint root: creates the trial's checkpoint directory
    /// (`<root>/<study>/trial-<number>`), records it (system attribute
    /// [`CHECKPOINT_DIR_ATTR`](crate::scheduler::CHECKPOINT_DIR_ATTR)), and fills it
    /// with a copy of the checkpoint of the trial named by
    /// [`CHECKPOINT_FROM_ATTR`](crate::scheduler::CHECKPOINT_FROM_ATTR) (a promoted
    /// trial's parent, the PBT member it exploits). A directory that already has
    /// files (a resumed trial) is left as it is.
    fn prepare_checkpoint_dir(&self, frozen: &mut FrozenTrial) -> Result<()> {
        use crate::scheduler::{
            checkpoint_dir_for, copy_dir, CHECKPOINT_DIR_ATTR, CHECKPOINT_FROM_ATTR,
        };
        let inner = &self.inner;
        let Some(root) = &inner.checkpoint_root else {
            return Ok(());
        };
        let dir = checkpoint_dir_for(root, &inner.record.name, frozen.number);
        let io = |what: &str, p: &std::path::Path, e: std::io::Error| {
            Error::Checkpoint(format!(
                "trial {}: cannot {what} {}: {e}",
                frozen.number,
                p.display()
            ))
        };
        let fresh = std::fs::read_dir(&dir).map_or(true, |mut d| d.next().is_none());
        std::fs::create_dir_all(&dir).map_err(|e| io("create", &dir, e))?;
        if fresh {
            if let Some(from) = frozen
                .system_attrs
                .get(CHECKPOINT_FROM_ATTR)
                .and_then(|v| v.as_u64())
            {
                let src = checkpoint_dir_for(root, &inner.record.name, from);
                if src.is_dir() {
                    copy_dir(&src, &dir).map_err(|e| io("copy the checkpoint into", &dir, e))?;
                }
            }
        }
        let path = serde_json::Value::String(dir.to_string_lossy().into_owned());
        if frozen.system_attrs.get(CHECKPOINT_DIR_ATTR) != Some(&path) {
            inner
                .storage
                .set_trial_system_attr(frozen.id, CHECKPOINT_DIR_ATTR, path.clone())?;
            frozen
                .system_attrs
                .insert(CHECKPOINT_DIR_ATTR.to_string(), path);
        }
        Ok(())
    }

    fn create_sampled_trial(&self, hb: bool) -> Result<FrozenTrial> {
        let inner = &self.inner;
        for race in 0..MAX_CLAIM_RACES {
            if race > 0 {
                // Lost a claim race: learn which points the other workers took.
                inner.refresh()?;
            }
            // The scheduler first: a promotion or a slot of a bracket is exclusive, and
            // the sampler's own claim (a grid point) is not asked for then.
            let plan = inner.with_view(|view| inner.pruner.plan(view))?;
            let exclusive = plan
                .as_ref()
                .is_some_and(|p| p.claim_key.is_some() || !p.params.is_empty());
            let claim = if exclusive {
                None
            } else {
                let mut sampler = inner.sampler();
                inner.with_view(|view| sampler.claim(view))?
            };
            let mut new = NewTrial {
                heartbeat: hb,
                ..match claim {
                    Some(c) => NewTrial {
                        fixed_params: c.params,
                        claim_key: Some(c.key),
                        retried_from: c.retried_from,
                        system_attrs: c.system_attrs,
                        ..Default::default()
                    },
                    None => NewTrial::default(),
                }
            };
            if let Some(p) = plan {
                new.fixed_params.extend(p.params);
                if p.claim_key.is_some() {
                    new.claim_key = p.claim_key;
                }
                new.system_attrs.extend(p.system_attrs);
            }
            match inner.storage.create_trial(inner.record.id, new) {
                Err(Error::ClaimTaken(_)) => continue,
                other => return other,
            }
        }
        Err(Error::Storage(format!(
            "lost {MAX_CLAIM_RACES} claim races in a row; is another worker misbehaving?"
        )))
    }

    fn recover_stale(&self, cfg: HeartbeatConfig) -> Result<()> {
        let inner = &self.inner;
        for dead in inner
            .storage
            .fail_stale_trials(inner.record.id, cfg.stale_after)?
        {
            let attempt = dead
                .system_attrs
                .get(RETRY_ATTEMPT_ATTR)
                .and_then(|v| v.as_u64())
                .unwrap_or(0);
            // A scheduler's trial is not retried as is: its slot or promotion claim
            // stays with the failed trial, and the scheduler plans the next trials
            // around it.
            if attempt >= cfg.max_retries as u64
                || dead
                    .system_attrs
                    .contains_key(crate::scheduler::SCHEDULER_ATTR)
            {
                continue;
            }
            let mut params: BTreeMap<String, ParamValue> = dead
                .system_attrs
                .get(FIXED_PARAMS_ATTR)
                .map(|v| serde_json::from_value(v.clone()))
                .transpose()?
                .unwrap_or_default();
            params.extend(dead.params.clone());
            let mut system_attrs = BTreeMap::new();
            system_attrs.insert(RETRY_ATTEMPT_ATTR.to_string(), (attempt + 1).into());
            inner.storage.create_trial(
                inner.record.id,
                NewTrial {
                    waiting: true,
                    fixed_params: params,
                    retried_from: Some(dead.number),
                    system_attrs,
                    ..Default::default()
                },
            )?;
        }
        Ok(())
    }

    /// Finishes a trial. Values must be finite and one per direction; otherwise the
    /// trial is recorded as failed with the reason (the study goes on).
    pub fn tell(&self, trial: Trial, result: TrialResult) -> Result<FrozenTrial> {
        let id = trial.id();
        trial.mark_told();
        self.finish(id, result)
    }

    /// Finishes a complete trial with its values.
    pub fn tell_values(&self, trial: Trial, values: impl ObjectiveValue) -> Result<FrozenTrial> {
        self.tell(trial, TrialResult::Complete(values.into_values()))
    }

    /// Finishes a running trial by number (for example one asked by another process).
    pub fn tell_number(&self, number: u64, result: TrialResult) -> Result<FrozenTrial> {
        let t = self.inner.storage.get_trial_by_number(self.id(), number)?;
        self.finish(t.id, result)
    }

    fn finish(&self, id: i64, result: TrialResult) -> Result<FrozenTrial> {
        let result = self.check_result(result);
        let frozen = self.inner.storage.finish_trial(id, &result);
        self.inner
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        let frozen = frozen?;
        // No refresh here: the next ask refreshes, and `after_trial` gets the trial itself.
        let mut sampler = self.inner.sampler();
        self.inner
            .with_view(|view| sampler.after_trial(view, &frozen));
        Ok(frozen)
    }

    fn check_result(&self, result: TrialResult) -> TrialResult {
        if let TrialResult::Complete(v) = &result {
            let n = self.directions().len();
            if v.len() != n {
                return TrialResult::Failed(format!(
                    "objective returned {} value(s), but the study has {n} direction(s)",
                    v.len()
                ));
            }
            if let Some((i, x)) = v.iter().enumerate().find(|(_, x)| !x.is_finite()) {
                return TrialResult::Failed(if n == 1 {
                    format!("objective returned a non-finite value ({x})")
                } else {
                    format!("objective {i} returned a non-finite value ({x})")
                });
            }
        }
        result
    }

    /// Adds a waiting trial with fixed parameters; the next ask runs it first.
    /// Values are checked when the objective asks for them.
    pub fn enqueue_trial(&self, params: BTreeMap<String, ParamValue>) -> Result<FrozenTrial> {
        self.inner.storage.create_trial(
            self.id(),
            NewTrial {
                waiting: true,
                fixed_params: params,
                ..Default::default()
            },
        )
    }

    /// Asks running trial loops to stop after their current trial.
    pub fn stop(&self) {
        self.inner
            .stop
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// All trials, freshly read, ordered by number.
    pub fn trials(&self) -> Result<Vec<FrozenTrial>> {
        self.inner.refresh()?;
        Ok(self.inner.with_view(|v| v.trials().cloned().collect()))
    }

    /// Trials in one state.
    pub fn trials_with_state(&self, state: TrialState) -> Result<Vec<FrozenTrial>> {
        Ok(self
            .trials()?
            .into_iter()
            .filter(|t| t.state == state)
            .collect())
    }

    /// The best complete trial of a single-objective study.
    pub fn best_trial(&self) -> Result<FrozenTrial> {
        best_trial(&self.trials()?, self.directions(), self.name())
    }

    pub fn best_value(&self) -> Result<f64> {
        Ok(self
            .best_trial()?
            .values
            .expect("complete trials have values")[0])
    }

    pub fn best_params(&self) -> Result<BTreeMap<String, ParamValue>> {
        Ok(self.best_trial()?.params)
    }

    /// The Pareto front of complete trials (for one objective: the trials tied best).
    pub fn best_trials(&self) -> Result<Vec<FrozenTrial>> {
        Ok(pareto_front(&self.trials()?, self.directions()))
    }
}

/// The best complete trial of a single-objective study, earliest first among ties.
pub fn best_trial(
    trials: &[FrozenTrial],
    directions: &[Direction],
    name: &str,
) -> Result<FrozenTrial> {
    if directions.len() != 1 {
        return Err(Error::InvalidObjectiveValue(format!(
            "study `{name}` has {} objectives: use best_trials for its Pareto front",
            directions.len()
        )));
    }
    let d = directions[0];
    trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .fold(None::<&FrozenTrial>, |best, t| match best {
            Some(b) if !d.better(t.values.as_ref().unwrap()[0], b.values.as_ref().unwrap()[0]) => {
                Some(b)
            }
            _ => Some(t),
        })
        .cloned()
        .ok_or_else(|| Error::NoCompletedTrials(name.to_string()))
}

/// Non-dominated complete trials, ordered by number.
pub fn pareto_front(trials: &[FrozenTrial], directions: &[Direction]) -> Vec<FrozenTrial> {
    let mut pts: Vec<(Vec<f64>, &FrozenTrial)> = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .filter_map(|t| {
            let v = t.values.as_ref()?;
            (v.len() == directions.len()).then(|| {
                (
                    v.iter()
                        .zip(directions)
                        .map(|(x, d)| d.to_loss(*x))
                        .collect(),
                    t,
                )
            })
        })
        .collect();
    // Lexicographic order: anything that dominates a point comes before it.
    pts.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    let mut front: Vec<(Vec<f64>, &FrozenTrial)> = Vec::new();
    for (v, t) in pts {
        let dominated = front.iter().any(|(f, _)| {
            f.iter().zip(&v).all(|(a, b)| a <= b) && f.iter().zip(&v).any(|(a, b)| a < b)
        });
        if !dominated {
            front.push((v, t));
        }
    }
    let mut out: Vec<FrozenTrial> = front.into_iter().map(|(_, t)| t.clone()).collect();
    out.sort_by_key(|t| t.number);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_study_without_a_sampler_gets_auto() {
        let s = Study::builder("default").build().unwrap();
        assert_eq!(s.inner.sampler().name(), "auto");
        let spec = crate::study::spec::StudySpec::new(Default::default(), vec![]);
        assert_eq!(spec.sampler, "auto");
    }
}

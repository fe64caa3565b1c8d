//! A study that carries its objective: the typed, versioned [`StudySpec`].
//!
//! `hyperscape study create` stores what a worker needs to run a study (the space, the
//! objective command, the sampler and its seed, the trial budget, timeouts, heartbeats
//! and retries) in ONE study system attribute, [`STUDY_SPEC_ATTR`], as JSON with a
//! `version` field. `hyperscape worker` then needs only the study's name and storage.
//!
//! Compatibility: a spec whose `version` is newer than [`StudySpec::VERSION`] is refused
//! with [`Error::StudySpecTooNew`]; fields added later within one version must be
//! optional (`#[serde(default)]`), so older specs keep loading.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::HeartbeatConfig;
use crate::error::{Error, Result};
use crate::sampler::{sampler_by_name_with_budget, Sampler, SAMPLERS};
use crate::space::SpaceDecl;
use crate::storage::{Storage, StudyId, StudyRecord};

/// The study system attribute that holds the spec.
pub const STUDY_SPEC_ATTR: &str = "study_spec";

/// Default seconds between heartbeats of a worker.
pub const DEFAULT_HEARTBEAT_INTERVAL_SECS: f64 = 2.0;

/// Everything a worker needs to run trials of a study. See the module documentation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudySpec {
    /// Format version of this record ([`StudySpec::VERSION`] when written).
    pub version: u32,
    /// The declared search space.
    pub space: SpaceDecl,
    /// The objective command and its arguments (empty: an in-process objective, as in
    /// `hyperscape bench storage`).
    #[serde(default)]
    pub command: Vec<String>,
    /// Sampler name (see [`SAMPLERS`]).
    pub sampler: String,
    /// Sampler seed, shared by every worker (`study create` draws one when none is
    /// given, so that all workers follow one sequence and one grid order).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Trial budget of the whole study: trials that end complete or pruned. `None`:
    /// no budget (workers stop on their own `--trials`, or a finished grid).
    #[serde(default)]
    pub n_trials: Option<u64>,
    /// Kill the objective command and fail the trial after this many seconds.
    #[serde(default)]
    pub trial_timeout_secs: Option<f64>,
    /// Seconds between heartbeats; a trial without one for twice as long is failed.
    pub heartbeat_interval_secs: f64,
    /// Times the configuration of a trial whose worker died is retried.
    #[serde(default)]
    pub max_retry: u32,
    /// Workers stop (with an error) once this many budgeted trials have failed.
    /// `None`: as many as the budget.
    #[serde(default)]
    pub max_failed: Option<u64>,
    /// Pruner name (see `pruner::PRUNERS`) and settings; `None`: no pruning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pruner: Option<String>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub pruner_options: crate::pruner::PrunerOptions,
    /// Budget-assigning scheduler (see `scheduler::SCHEDULERS`) and settings, used
    /// instead of a pruner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduler: Option<String>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub scheduler_options: crate::scheduler::SchedulerOptions,
    /// Where trials keep checkpoints (every worker must see the same directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_root: Option<std::path::PathBuf>,
    /// Seconds a pruned command has to exit after SIGTERM (`None`: the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune_grace_secs: Option<f64>,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

impl StudySpec {
    /// The version this build writes, and the newest it reads.
    pub const VERSION: u32 = 1;

    /// A spec with defaults: the `auto` sampler, no seed, no budget, no timeout, heartbeats
    /// every [`DEFAULT_HEARTBEAT_INTERVAL_SECS`], no retries.
    pub fn new(space: SpaceDecl, command: Vec<String>) -> Self {
        Self {
            version: Self::VERSION,
            space,
            command,
            sampler: "auto".into(),
            seed: None,
            n_trials: None,
            trial_timeout_secs: None,
            heartbeat_interval_secs: DEFAULT_HEARTBEAT_INTERVAL_SECS,
            max_retry: 0,
            max_failed: None,
            pruner: None,
            pruner_options: Default::default(),
            scheduler: None,
            scheduler_options: Default::default(),
            checkpoint_root: None,
            prune_grace_secs: None,
        }
    }

    /// The pruner or scheduler of the spec (`None`: neither). A scheduler and a
    /// pruner together are an error.
    pub fn pruner(&self) -> Result<Option<Box<dyn crate::pruner::Pruner>>> {
        match (&self.scheduler, &self.pruner) {
            (Some(s), Some(p)) if p != "none" => Err(Error::InvalidScheduler(format!(
                "the study spec has both the scheduler `{s}` and the pruner `{p}`"
            ))),
            (Some(s), _) => Ok(Some(crate::scheduler::scheduler_by_name(
                s,
                &self.scheduler_options,
            )?)),
            (None, Some(p)) => Ok(Some(crate::pruner::pruner_by_name(
                p,
                &self.pruner_options,
            )?)),
            (None, None) => Ok(None),
        }
    }

    /// Checks the values a worker relies on.
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: String| Error::InvalidSpace {
            location: Some("the study spec".into()),
            reason,
        };
        if self.version == 0 || self.version > Self::VERSION {
            return Err(bad(format!("unsupported version {}", self.version)));
        }
        if !SAMPLERS.contains(&self.sampler.as_str()) {
            return Err(bad(format!(
                "unknown sampler `{}` (available: {})",
                self.sampler,
                SAMPLERS.join(", ")
            )));
        }
        let h = self.heartbeat_interval_secs;
        if !(h.is_finite() && h > 0.0) {
            return Err(bad(format!(
                "the heartbeat interval must be a positive number of seconds, not {h}"
            )));
        }
        if let Some(t) = self.trial_timeout_secs {
            if !(t.is_finite() && t > 0.0) {
                return Err(bad(format!(
                    "the trial timeout must be a positive number of seconds, not {t}"
                )));
            }
        }
        if self.n_trials == Some(0) {
            return Err(bad("the trial budget must be at least 1".into()));
        }
        if self.max_failed == Some(0) {
            return Err(bad("the failed-trial limit must be at least 1".into()));
        }
        if self.sampler == "grid" {
            self.space.grid_size()?;
        }
        if let Some(g) = self.prune_grace_secs {
            if !(g.is_finite() && g >= 0.0) {
                return Err(bad(format!(
                    "the prune grace must be a number of seconds >= 0, not {g}"
                )));
            }
        }
        self.pruner()?;
        Ok(())
    }

    /// The spec as the JSON stored in the study.
    pub fn to_json(&self) -> Result<serde_json::Value> {
        Ok(serde_json::to_value(self)?)
    }

    /// Reads a stored spec of study `study` (the name is for messages).
    /// [`Error::StudySpecTooNew`] if it was written by a newer hyperscape.
    pub fn from_json(study: &str, value: &serde_json::Value) -> Result<Self> {
        let version = value
            .get("version")
            .and_then(|v| v.as_u64())
            .ok_or_else(|| {
                Error::Serde(format!(
                    "the spec of study `{study}` has no numeric `version` field"
                ))
            })?;
        if version > u64::from(Self::VERSION) {
            return Err(Error::StudySpecTooNew {
                study: study.to_string(),
                found: version,
                supported: Self::VERSION,
            });
        }
        let spec: StudySpec = serde_json::from_value(value.clone())
            .map_err(|e| Error::Serde(format!("cannot read the spec of study `{study}`: {e}")))?;
        spec.validate()?;
        Ok(spec)
    }

    /// The spec stored in a study record, if it has one.
    pub fn from_record(record: &StudyRecord) -> Result<Option<Self>> {
        record
            .system_attrs
            .get(STUDY_SPEC_ATTR)
            .map(|v| Self::from_json(&record.name, v))
            .transpose()
    }

    /// Reads the spec of study `name` from `storage` (`None` if it has none).
    pub fn load(storage: &Arc<dyn Storage>, name: &str) -> Result<Option<Self>> {
        Self::from_record(&storage.get_study(name)?)
    }

    /// Stores the spec in study `study` (replacing any previous one).
    pub fn save(&self, storage: &Arc<dyn Storage>, study: StudyId) -> Result<()> {
        self.validate()?;
        storage.set_study_system_attr(study, STUDY_SPEC_ATTR, self.to_json()?)
    }

    /// The budget in trials: `n_trials`, and for the grid sampler at most the number of
    /// grid points (every point once when `n_trials` is absent). `None`: unbounded.
    pub fn budget(&self) -> Result<Option<u64>> {
        if self.sampler == "grid" {
            let g = self.space.grid_size()? as u64;
            return Ok(Some(self.n_trials.map_or(g, |n| n.min(g))));
        }
        Ok(self.n_trials)
    }

    /// The limit on failed budgeted trials (defaults to the budget).
    pub fn failed_limit(&self) -> Result<Option<u64>> {
        Ok(match self.max_failed {
            Some(m) => Some(m),
            None => self.budget()?,
        })
    }

    /// The trial timeout as a duration.
    pub fn trial_timeout(&self) -> Option<Duration> {
        self.trial_timeout_secs.map(Duration::from_secs_f64)
    }

    /// Heartbeats as configured; retries are left to [`super::BudgetSampler`] when the
    /// study has a budget (see [`StudySpec::sampler`]), to the engine otherwise.
    pub fn heartbeat(&self) -> Result<HeartbeatConfig> {
        let hb = HeartbeatConfig::new(Duration::from_secs_f64(self.heartbeat_interval_secs));
        Ok(if self.budget()?.is_some() {
            hb
        } else {
            hb.max_retries(self.max_retry)
        })
    }

    /// The sampler of a worker: the named sampler with the spec's seed, wrapped in a
    /// [`super::BudgetSampler`] when the study has a budget.
    pub fn sampler(&self) -> Result<Box<dyn Sampler>> {
        let budget = self.budget()?;
        let inner = sampler_by_name_with_budget(
            &self.sampler,
            self.seed,
            Some(&self.space),
            budget.map(|b| b as usize),
        )?;
        let Some(slots) = budget else {
            return Ok(inner);
        };
        let mut b = super::BudgetSampler::new(inner, slots)
            .max_retries(self.max_retry)
            .max_failed(self.failed_limit()?);
        if self.sampler == "grid" {
            b = b.with_points(super::budget::grid_points(&self.space, self.seed)?)?;
        }
        Ok(Box::new(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::param::Distribution;
    use crate::storage::InMemoryStorage;
    use crate::trial::Direction;

    fn spec() -> StudySpec {
        let space = SpaceDecl::new()
            .param("x", Distribution::float(0.0, 1.0))
            .unwrap()
            .param("k", Distribution::categorical(["a", "b"]))
            .unwrap();
        let mut s = StudySpec::new(space, vec!["echo".into(), "{x}".into()]);
        s.seed = Some(7);
        s.n_trials = Some(12);
        s.trial_timeout_secs = Some(1.5);
        s.max_retry = 2;
        s
    }

    #[test]
    fn round_trips_through_storage() {
        let storage: Arc<dyn Storage> = Arc::new(InMemoryStorage::new());
        let rec = storage.create_study("s", &[Direction::Minimize]).unwrap();
        assert_eq!(StudySpec::load(&storage, "s").unwrap(), None);
        let s = spec();
        s.save(&storage, rec.id).unwrap();
        assert_eq!(StudySpec::load(&storage, "s").unwrap(), Some(s));
    }

    #[test]
    fn carries_a_pruner_or_a_scheduler() {
        let mut s = spec();
        assert!(s.pruner().unwrap().is_none());
        // Older specs (no such fields) still load.
        assert!(!s
            .to_json()
            .unwrap()
            .as_object()
            .unwrap()
            .contains_key("scheduler"));
        s.scheduler = Some("asha".into());
        s.scheduler_options.max_budget = Some(9);
        s.checkpoint_root = Some("/shared/ck".into());
        let back = StudySpec::from_json("s", &s.to_json().unwrap()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.pruner().unwrap().unwrap().name(), "asha");
        s.pruner = Some("median".into());
        assert!(s.validate().is_err(), "a scheduler and a pruner");
        s.scheduler = None;
        s.pruner_options.n_startup_trials = Some(3);
        assert_eq!(s.pruner().unwrap().unwrap().name(), "median");
        s.pruner_options.patience = Some(3);
        assert!(
            s.validate().is_err(),
            "a setting the median pruner does not take"
        );
    }

    #[test]
    fn a_newer_version_is_a_clear_error() {
        let mut v = spec().to_json().unwrap();
        v["version"] = 99.into();
        v["something_new"] = "x".into();
        let e = StudySpec::from_json("s", &v).unwrap_err();
        assert!(matches!(e, Error::StudySpecTooNew { found: 99, .. }), "{e}");
        assert!(e.to_string().contains("study `s`"), "{e}");
        assert!(e.to_string().contains("upgrade hyperscape"), "{e}");
        let mut v = spec().to_json().unwrap();
        v.as_object_mut().unwrap().remove("version");
        assert!(StudySpec::from_json("s", &v).is_err());
    }

    #[test]
    fn optional_fields_may_be_absent() {
        let mut v = spec().to_json().unwrap();
        for k in [
            "seed",
            "n_trials",
            "trial_timeout_secs",
            "max_retry",
            "max_failed",
        ] {
            v.as_object_mut().unwrap().remove(k);
        }
        let s = StudySpec::from_json("s", &v).unwrap();
        assert_eq!((s.n_trials, s.max_retry), (None, 0));
    }

    #[test]
    fn grid_budget_is_capped_by_the_grid() {
        let mut s = spec();
        s.sampler = "grid".into();
        s.space.params[0].grid = Some(vec![0.25.into(), 0.75.into()]);
        assert_eq!(s.budget().unwrap(), Some(4));
        s.n_trials = Some(3);
        assert_eq!(s.budget().unwrap(), Some(3));
        s.n_trials = None;
        assert_eq!(s.budget().unwrap(), Some(4));
    }

    #[test]
    fn bad_values_are_refused() {
        let mut s = spec();
        s.heartbeat_interval_secs = 0.0;
        assert!(s.validate().is_err());
        let mut s = spec();
        s.sampler = "annealing".into();
        assert!(s.validate().is_err());
        let mut s = spec();
        s.n_trials = Some(0);
        assert!(s.validate().is_err());
    }
}

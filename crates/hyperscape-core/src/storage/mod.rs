//! Storage: where studies and trials live.
//!
//! Workers are stateless: everything a study knows is in its [`Storage`]. The trait is
//! synchronous and object-safe, takes `&self` (backends lock internally, callers never
//! do), and returns owned snapshots. Every mutation of a trial bumps a per-study change
//! sequence, so [`Storage::trials_since`] can return only what changed since a cursor:
//! a study's cost per ask does not grow with the number of trials stored.
//!
//! Backends: [`InMemoryStorage`], and `SqliteStorage` (feature `sqlite`). Open one from
//! a URL with [`open_storage`]. Every backend passes the same conformance suite
//! (`storage::conformance`, feature `testkit`: the `storage_conformance_tests!` macro).

#[cfg(any(test, feature = "testkit"))]
#[doc(hidden)]
pub mod conformance;
mod memory;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use memory::InMemoryStorage;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStorage;

use crate::error::{Error, Result};
use crate::param::{Distribution, ParamValue};
use crate::trial::{Direction, FrozenTrial, NewTrial, TrialResult, TrialState};

/// Storage-wide identifier of a study.
pub type StudyId = i64;
/// Storage-wide identifier of a trial.
pub type TrialId = i64;

/// A study as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyRecord {
    pub id: StudyId,
    pub name: String,
    pub directions: Vec<Direction>,
    pub user_attrs: BTreeMap<String, serde_json::Value>,
    pub system_attrs: BTreeMap<String, serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

/// A study with counts of its trials by state, for listings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudySummary {
    pub study: StudyRecord,
    pub n_trials: u64,
    pub counts: BTreeMap<TrialState, u64>,
}

/// Trials changed since a cursor, and the cursor to pass next time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrialDelta {
    pub trials: Vec<FrozenTrial>,
    pub cursor: u64,
}

/// The storage contract. See the module documentation.
pub trait Storage: Send + Sync + std::fmt::Debug {
    // ---- studies ----
    /// Creates a study; [`Error::StudyExists`] if the name is taken.
    fn create_study(&self, name: &str, directions: &[Direction]) -> Result<StudyRecord>;
    /// Looks a study up by name; [`Error::StudyNotFound`] if absent.
    fn get_study(&self, name: &str) -> Result<StudyRecord>;
    fn list_studies(&self) -> Result<Vec<StudySummary>>;
    /// Deletes a study and all its trials.
    fn delete_study(&self, study: StudyId) -> Result<()>;
    fn set_study_user_attr(
        &self,
        study: StudyId,
        key: &str,
        value: serde_json::Value,
    ) -> Result<()>;
    fn set_study_system_attr(
        &self,
        study: StudyId,
        key: &str,
        value: serde_json::Value,
    ) -> Result<()>;

    // ---- trials ----
    /// Creates a trial with the next free number of the study (numbers are unique and
    /// gap-free). A `Running` trial gets its start time now. If `new.claim_key` is taken
    /// by another trial of the study, returns [`Error::ClaimTaken`] and creates nothing.
    fn create_trial(&self, study: StudyId, new: NewTrial) -> Result<FrozenTrial>;
    /// Atomically moves the oldest `Waiting` trial of the study to `Running` and returns
    /// it; exactly one caller gets each waiting trial.
    fn claim_waiting_trial(&self, study: StudyId, heartbeat: bool) -> Result<Option<FrozenTrial>>;
    /// Records a parameter of a running trial.
    fn set_trial_param(
        &self,
        trial: TrialId,
        name: &str,
        distribution: &Distribution,
        value: &ParamValue,
    ) -> Result<()>;
    /// Records an intermediate value of a running trial (a later report at the same
    /// step replaces the earlier one).
    fn report_intermediate(&self, trial: TrialId, step: u64, value: f64) -> Result<()>;
    fn set_trial_user_attr(
        &self,
        trial: TrialId,
        key: &str,
        value: serde_json::Value,
    ) -> Result<()>;
    fn set_trial_system_attr(
        &self,
        trial: TrialId,
        key: &str,
        value: serde_json::Value,
    ) -> Result<()>;
    /// Refreshes the heartbeat of running trials.
    fn heartbeat(&self, trials: &[TrialId]) -> Result<()>;
    /// Finishes a running trial. [`Error::TrialFinished`] if it is not running (so a
    /// trial is finished exactly once, even when two workers race).
    fn finish_trial(&self, trial: TrialId, result: &TrialResult) -> Result<FrozenTrial>;
    /// Fails running trials of the study whose heartbeat is older than `stale_after`,
    /// and returns them. Trials without a heartbeat are never stale. Each stale trial
    /// is failed by exactly one caller.
    fn fail_stale_trials(&self, study: StudyId, stale_after: Duration) -> Result<Vec<FrozenTrial>>;

    // ---- reads ----
    fn get_trial(&self, trial: TrialId) -> Result<FrozenTrial>;
    fn get_trial_by_number(&self, study: StudyId, number: u64) -> Result<FrozenTrial>;
    /// Trials of the study changed after `cursor` (0 for all), ordered by number.
    fn trials_since(&self, study: StudyId, cursor: u64) -> Result<TrialDelta>;

    /// All trials of the study, ordered by number.
    fn all_trials(&self, study: StudyId) -> Result<Vec<FrozenTrial>> {
        Ok(self.trials_since(study, 0)?.trials)
    }
}

/// Opens a storage from a URL:
/// - `memory:` (or `:memory:`): a fresh in-memory storage;
/// - `sqlite:///abs/path.db`, `sqlite://rel/path.db`, `sqlite:path.db`, or a bare path
///   ending in `.db`/`.sqlite`/`.sqlite3`: a SQLite file (feature `sqlite`).
pub fn open_storage(url: &str) -> Result<Arc<dyn Storage>> {
    let bad = |reason: &str| Error::InvalidStorageUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    if url == "memory:" || url == ":memory:" || url == "memory://" {
        return Ok(Arc::new(InMemoryStorage::new()));
    }
    if let Some(path) = sqlite_path(url) {
        if path.is_empty() {
            return Err(bad("the SQLite URL has no file path"));
        }
        #[cfg(feature = "sqlite")]
        {
            return Ok(Arc::new(SqliteStorage::open(path)?));
        }
        #[cfg(not(feature = "sqlite"))]
        {
            return Err(bad(
                "this build of hyperscape has no SQLite support (feature `sqlite`)",
            ));
        }
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Err(bad("PostgreSQL storage is not available in this build"));
    }
    Err(bad(
        "unknown scheme (expected sqlite:///path/to/file.db or memory:)",
    ))
}

/// The file path of a SQLite URL, if `url` is one.
pub fn sqlite_path(url: &str) -> Option<&str> {
    if let Some(rest) = url.strip_prefix("sqlite://") {
        // sqlite:///abs/path -> /abs/path ; sqlite://rel/path -> rel/path
        return Some(rest);
    }
    if let Some(rest) = url.strip_prefix("sqlite:") {
        return Some(rest);
    }
    let lower = url.to_ascii_lowercase();
    if !url.contains("://")
        && [".db", ".sqlite", ".sqlite3"]
            .iter()
            .any(|e| lower.ends_with(e))
    {
        return Some(url);
    }
    None
}

/// Start of the failure reason of a trial failed by [`Storage::fail_stale_trials`].
pub const STALE_REASON_PREFIX: &str = "worker presumed dead:";

/// Whether `trial` was failed because its worker stopped sending heartbeats (as
/// opposed to an objective failure or an interruption).
pub fn is_stale_failure(trial: &FrozenTrial) -> bool {
    trial.state == TrialState::Failed
        && trial
            .fail_reason
            .as_deref()
            .is_some_and(|r| r.starts_with(STALE_REASON_PREFIX))
}

/// Shared helpers for backends.
pub(crate) mod util {
    use super::*;

    /// Values to store when a trial finishes, or the reason to refuse.
    pub fn finished_values(
        result: &TrialResult,
        intermediate: &BTreeMap<u64, f64>,
    ) -> (TrialState, Option<Vec<f64>>, Option<String>) {
        match result {
            TrialResult::Complete(v) => (TrialState::Complete, Some(v.clone()), None),
            TrialResult::Pruned => (
                TrialState::Pruned,
                intermediate.iter().next_back().map(|(_, v)| vec![*v]),
                None,
            ),
            TrialResult::Failed(r) => (TrialState::Failed, None, Some(r.clone())),
        }
    }

    pub fn stale_reason(stale_after: Duration) -> String {
        format!(
            "{STALE_REASON_PREFIX} no heartbeat for more than {:.1}s",
            stale_after.as_secs_f64()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parsing() {
        assert_eq!(sqlite_path("sqlite:///tmp/a.db"), Some("/tmp/a.db"));
        assert_eq!(sqlite_path("sqlite://a.db"), Some("a.db"));
        assert_eq!(sqlite_path("hyperscape.db"), Some("hyperscape.db"));
        assert_eq!(sqlite_path("postgres://x/y"), None);
        assert!(matches!(
            open_storage("ftp://x").unwrap_err(),
            Error::InvalidStorageUrl { .. }
        ));
        assert!(open_storage("memory:").is_ok());
    }
}

//! Storage: where studies and trials live.
//!
//! Workers are stateless: everything a study knows is in its [`Storage`]. The trait is
//! synchronous and object-safe, takes `&self` (backends lock internally, callers never
//! do), and returns owned snapshots. Every mutation of a trial bumps a per-study change
//! sequence, so [`Storage::trials_since`] can return only what changed since a cursor:
//! a study's cost per ask does not grow with the number of trials stored.
//!
//! Backends: [`InMemoryStorage`], `SqliteStorage` (feature `sqlite`) and
//! `PostgresStorage` (feature `postgres`). Open one from a URL with [`open_storage`];
//! show a URL with [`redact_url`], never as given (it may hold a password). Every backend passes the same conformance suite
//! (`storage::conformance`, feature `testkit`: the `storage_conformance_tests!` macro).

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod codec;
#[cfg(any(test, feature = "testkit"))]
#[doc(hidden)]
pub mod conformance;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use memory::InMemoryStorage;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStorage;
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
///   ending in `.db`/`.sqlite`/`.sqlite3`: a SQLite file (feature `sqlite`);
/// - `postgresql://user[:password]@host[:port]/db[?sslmode=...]` (or `postgres://`): a
///   PostgreSQL database (feature `postgres`, see `PostgresStorage`).
///
/// Errors never show the password of a URL (see [`redact_url`]).
pub fn open_storage(url: &str) -> Result<Arc<dyn Storage>> {
    let bad = |reason: &str| Error::InvalidStorageUrl {
        url: redact_url(url),
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
    if is_postgres_url(url) {
        #[cfg(feature = "postgres")]
        {
            return Ok(Arc::new(PostgresStorage::open(url)?));
        }
        #[cfg(not(feature = "postgres"))]
        {
            return Err(bad(
                "this build of hyperscape has no PostgreSQL support (feature `postgres`)",
            ));
        }
    }
    Err(bad(
        "unknown scheme (expected sqlite:///path/to/file.db, postgresql://user@host/db or memory:)",
    ))
}

/// Whether `url` names a PostgreSQL database (`postgresql://` or `postgres://`).
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// `url` with its password replaced by `***`, for messages, logs and `Debug` output.
///
/// The password is what follows the first `:` of the user information (everything
/// before the last `@` of the authority), so passwords holding `@`, `:` or `/` are
/// hidden whole; a `password=` query parameter is hidden too. Other URLs and plain
/// paths come back unchanged.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let (head, rest) = url.split_at(scheme_end + 3);
    let (before_query, query) = match rest.find('?') {
        Some(q) => (&rest[..q], Some(&rest[q + 1..])),
        None => (rest, None),
    };
    let mut out = String::from(head);
    match before_query.rfind('@') {
        Some(at) => {
            let userinfo = &before_query[..at];
            match userinfo.find(':') {
                Some(colon) => {
                    out.push_str(&userinfo[..colon]);
                    out.push_str(":***");
                }
                None => out.push_str(userinfo),
            }
            out.push_str(&before_query[at..]);
        }
        None => out.push_str(before_query),
    }
    if let Some(query) = query {
        out.push('?');
        let parts: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect();
        out.push_str(&parts.join("&"));
    }
    out
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

    #[test]
    fn redaction_hides_every_password() {
        let cases = [
            ("postgresql://u:secret@h/db", "postgresql://u:***@h/db"),
            (
                "postgres://u:secret@h:5433/db?sslmode=disable",
                "postgres://u:***@h:5433/db?sslmode=disable",
            ),
            ("postgresql://u:p@ss@h/db", "postgresql://u:***@h/db"),
            ("postgresql://u:a:b:c@h/db", "postgresql://u:***@h/db"),
            ("postgresql://u:p%40ss%3A@h/db", "postgresql://u:***@h/db"),
            ("postgresql://u:sl/ash@h/db", "postgresql://u:***@h/db"),
            ("postgresql://u:@h/db", "postgresql://u:***@h/db"),
            ("postgresql://u@h/db", "postgresql://u@h/db"),
            (
                "postgresql://h/db?password=x&sslmode=prefer",
                "postgresql://h/db?password=***&sslmode=prefer",
            ),
            (
                "postgresql://u:pw@h/db?application_name=a@b",
                "postgresql://u:***@h/db?application_name=a@b",
            ),
            ("sqlite:///tmp/a.db", "sqlite:///tmp/a.db"),
            ("memory:", "memory:"),
            ("plain.db", "plain.db"),
        ];
        for (url, want) in cases {
            assert_eq!(redact_url(url), want, "{url}");
        }
        for secret in ["secret", "p@ss", "a:b:c", "p%40ss%3A", "sl/ash"] {
            let url = format!("postgresql://u:{secret}@nowhere.invalid/db?hyperscape_retry_secs=0");
            match open_storage(&url) {
                Ok(_) => panic!("opened {url}"),
                Err(e) => {
                    let (shown, debug) = (e.to_string(), format!("{e:?}"));
                    assert!(
                        !shown.contains(secret) && !debug.contains(secret),
                        "{shown} / {debug}"
                    );
                }
            }
        }
    }
}

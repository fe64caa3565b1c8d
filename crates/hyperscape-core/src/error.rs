//! Typed errors of the core library.

use crate::param::{Distribution, ParamValue};

/// Every error the core library returns. Callers can match on the variant.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A distribution was declared with bounds or choices that make no sense.
    #[error("invalid distribution for parameter `{name}`: {reason}")]
    InvalidDistribution { name: String, reason: String },

    /// The same parameter name was used with a different distribution.
    #[error("parameter `{name}` was already declared as {previous}, cannot redeclare it as {new}")]
    IncompatibleDistribution {
        name: String,
        previous: Box<Distribution>,
        new: Box<Distribution>,
    },

    /// A value does not belong to its distribution (out of bounds, off-step, not a choice, wrong type).
    #[error("value {value} for parameter `{name}` is invalid: {reason}")]
    InvalidValue {
        name: String,
        value: ParamValue,
        reason: String,
    },

    /// A search-space file or table could not be parsed.
    #[error("invalid search space{}: {reason}", location.as_ref().map(|l| format!(" in {l}")).unwrap_or_default())]
    InvalidSpace {
        location: Option<String>,
        reason: String,
    },

    /// An objective value that cannot be recorded (NaN, infinite, wrong count).
    #[error("invalid objective value: {0}")]
    InvalidObjectiveValue(String),

    #[error("study `{0}` does not exist")]
    StudyNotFound(String),

    #[error("study `{0}` already exists (use load_if_exists to resume it)")]
    StudyExists(String),

    #[error("study `{name}` has directions {stored:?}, but {requested:?} were requested")]
    DirectionMismatch {
        name: String,
        stored: Vec<crate::trial::Direction>,
        requested: Vec<crate::trial::Direction>,
    },

    /// A study spec (`study::StudySpec`) written by a newer hyperscape than this one.
    #[error("the spec of study `{study}` has version {found}, newer than this hyperscape supports (version {supported}); upgrade hyperscape")]
    StudySpecTooNew {
        study: String,
        found: u64,
        supported: u32,
    },

    #[error("trial {0} does not exist")]
    TrialNotFound(String),

    /// The trial has already finished, so it cannot be changed any more.
    #[error("trial {number} is already {state} and cannot be updated")]
    TrialFinished {
        number: u64,
        state: crate::trial::TrialState,
    },

    /// The study has no completed trial yet.
    #[error("study `{0}` has no completed trial yet")]
    NoCompletedTrials(String),

    /// Another trial of the study already holds this claim key (for example a grid
    /// point taken by a parallel worker). The engine asks the sampler again.
    #[error("claim `{0}` is already taken by another trial")]
    ClaimTaken(String),

    /// The sampler has nothing left to propose (for example, the grid is exhausted).
    #[error("search space exhausted: {0}")]
    SpaceExhausted(String),

    /// Nothing can be handed out now, but trials still running (maybe in a dead worker,
    /// whose trial heartbeat recovery will fail and free) may free something: the trial
    /// loop waits and asks again.
    #[error("nothing to claim yet: {0}")]
    NothingToClaim(String),

    /// A checkpoint directory could not be created or filled (see
    /// `StudyBuilder::checkpoint_root`).
    #[error("checkpoint: {0}")]
    Checkpoint(String),

    /// A scheduler's settings are invalid (see `crate::scheduler`).
    #[error("invalid scheduler: {0}")]
    InvalidScheduler(String),

    /// So many trials failed that going on is pointless (a study's failure limit).
    #[error("too many failed trials: {0}")]
    TooManyFailures(String),

    /// Raised by `Trial::report` when the pruner decides to stop the trial.
    /// Objectives propagate it with `?`, and the trial is recorded as pruned.
    #[error("trial pruned at step {step}")]
    Pruned { step: u64 },

    /// The storage was written by a newer hyperscape than this one.
    #[error("storage schema version {found} is newer than this hyperscape supports (version {supported}); upgrade hyperscape")]
    SchemaTooNew { found: i64, supported: i64 },

    /// The storage has an older schema that must be upgraded first.
    #[error("storage schema version {found} is older than this hyperscape needs (version {supported}); run `hyperscape storage upgrade`")]
    SchemaTooOld { found: i64, supported: i64 },

    /// A storage URL that names no known backend, or is malformed.
    #[error("invalid storage URL `{url}`: {reason}")]
    InvalidStorageUrl { url: String, reason: String },

    /// A backend failure (I/O, SQL, lock timeouts...).
    #[error("storage error: {0}")]
    Storage(String),

    #[error("I/O error{}: {source}", path.as_ref().map(|p| format!(" on {p}")).unwrap_or_default())]
    Io {
        path: Option<String>,
        #[source]
        source: std::io::Error,
    },

    #[error("serialization error: {0}")]
    Serde(String),

    /// A sampler was configured with settings it cannot use.
    #[error("invalid sampler settings: {0}")]
    InvalidSampler(String),

    /// A pruner was configured with settings it cannot use, or used on a study it
    /// cannot judge.
    #[error("invalid pruner settings: {0}")]
    InvalidPruner(String),

    /// A benchmark problem name that [`crate::problems::problem_by_name`] does not know.
    #[error("unknown problem `{name}`; known problems: {known}")]
    UnknownProblem { name: String, known: String },
}

impl Error {
    pub(crate) fn invalid_dist(name: &str, reason: impl Into<String>) -> Self {
        Error::InvalidDistribution {
            name: name.to_string(),
            reason: reason.into(),
        }
    }
    pub(crate) fn invalid_value(name: &str, value: &ParamValue, reason: impl Into<String>) -> Self {
        Error::InvalidValue {
            name: name.to_string(),
            value: value.clone(),
            reason: reason.into(),
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Serde(e.to_string())
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io {
            path: None,
            source: e,
        }
    }
}

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

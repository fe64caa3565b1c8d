//! Typed errors of the ML workloads crate.

use std::path::PathBuf;

/// Everything that can go wrong while loading data, splitting it, or training a model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A data file is malformed; `line` is 1-based where the format has lines
    /// (CSV, ARFF), and the record index otherwise (IDX).
    #[error("{}{}: {reason}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Parse {
        path: PathBuf,
        line: Option<usize>,
        reason: String,
    },

    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A dataset name that is not known, or known but not installed.
    #[error("dataset `{name}`: {reason}")]
    Dataset { name: String, reason: String },

    /// A model name that is not known, or not built into this binary.
    #[error("model `{name}`: {reason}")]
    UnknownModel { name: String, reason: String },

    /// A hyperparameter that is missing, of the wrong type, or out of its valid range.
    #[error("model `{model}`, hyperparameter `{param}`: {reason}")]
    Param {
        model: String,
        param: String,
        reason: String,
    },

    /// The data do not fit the model or the request (too few samples, wrong task, ...).
    #[error("{0}")]
    Invalid(String),

    /// Training failed inside a backend (candle, smartcore, LightGBM).
    #[error("training {model} failed: {reason}")]
    Training { model: String, reason: String },

    /// A training checkpoint that cannot be written or read.
    #[error("checkpoint {}: {reason}", path.display())]
    Checkpoint { path: PathBuf, reason: String },

    #[error(transparent)]
    Core(#[from] hyperscape_core::Error),

    /// A tensor operation failed inside candle (neural models).
    #[cfg(feature = "neural")]
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

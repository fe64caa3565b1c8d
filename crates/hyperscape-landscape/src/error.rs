//! Typed errors of landscape loading and analysis.

use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong while loading or analysing a landscape.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("malformed CSV {what}: {source}")]
    Csv {
        what: String,
        #[source]
        source: csv::Error,
    },
    #[error("column `{column}` not found in {what} (columns: {available})")]
    MissingColumn {
        column: String,
        what: String,
        available: String,
    },
    #[error("none of the parameter columns {requested} are in {what} (columns: {available})")]
    NoParamColumns {
        requested: String,
        what: String,
        available: String,
    },
    #[error("parameter column(s) {missing} not found in {what} (columns: {available})")]
    MissingParamColumns {
        missing: String,
        what: String,
        available: String,
    },
    #[error("{what} has no parameter column (pass --params a,b,c)")]
    NoParams { what: String },
    #[error("column `{column}` is both a parameter and a measure")]
    ParamIsMeasure { column: String },
    #[error("--categorical names `{column}`, which is not a parameter column")]
    UnknownCategorical { column: String },
    #[error(
        "line {line}: parameter `{column}` is empty (every configuration needs every parameter)"
    )]
    EmptyParam { column: String, line: usize },
    #[error(
        "line {line}: ordinal parameter `{column}` has the non-numeric value `{value}` \
         (declare it with --categorical {column})"
    )]
    NonNumericOrdinal {
        column: String,
        value: String,
        line: usize,
    },
    #[error("line {line}: measure `{column}` has the non-numeric value `{value}`")]
    BadNumber {
        column: String,
        value: String,
        line: usize,
    },
    #[error(
        "duplicate configuration {config} on lines {first_line} and {line} \
         (pass --aggregate-duplicates to average duplicates)"
    )]
    Duplicate {
        config: String,
        first_line: usize,
        line: usize,
    },
    #[error("no configuration left ({dropped} row(s) dropped for missing or non-finite fitness)")]
    Empty { dropped: usize },
    #[error("parameter `{column}` has {levels} levels; at most {max} are supported")]
    TooManyLevels {
        column: String,
        levels: usize,
        max: usize,
    },
    #[error("the grid has more than 2^64 points; reduce the parameters or their levels")]
    GridTooLarge,
    #[error("invalid landscape: {0}")]
    Invalid(String),
    #[error("invalid setting: {0}")]
    Setting(String),
    #[error("the landscapes share no configuration ({0})")]
    NothingShared(String),
    #[error(
        "duplicate configuration {config} in {what}, rows {first_row} and {row} \
         (pass --aggregate-duplicates to average duplicates)"
    )]
    DuplicateRows {
        config: String,
        what: String,
        first_row: usize,
        row: usize,
    },
    #[cfg(feature = "arrow")]
    #[error("malformed Arrow file {what}: {source}")]
    Arrow {
        what: String,
        #[source]
        source: arrow_schema::ArrowError,
    },
    #[error("{what} is not an Arrow IPC file (it does not start with `ARROW1`)")]
    NotArrow { what: String },
    #[error(
        "{what} is an Arrow file without hyperscape landscape metadata \
         (write it with `hyperscape landscape import`)"
    )]
    NoMetadata { what: String },
    #[error("{what}: bad landscape metadata: {reason}")]
    BadMetadata { what: String, reason: String },
    #[error("{what}: parameter column `{column}` has missing (null) values")]
    NullParam { column: String, what: String },
    #[error("{what}, row {row}: parameter `{column}` has the non-finite value {value}")]
    BadParamValue {
        column: String,
        what: String,
        row: usize,
        value: String,
    },
    #[error("{what} is an Arrow file, but this build has no Arrow support (feature `arrow`)")]
    ArrowDisabled { what: String },
    #[error("plot: {0}")]
    Plot(String),
}

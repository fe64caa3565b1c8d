//! Trials: one evaluation of the objective at one configuration.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::param::{Distribution, ParamValue};

/// Whether an objective is minimised or maximised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Minimize,
    Maximize,
}

impl Direction {
    /// True when `a` is strictly better than `b` in this direction.
    pub fn better(self, a: f64, b: f64) -> bool {
        match self {
            Direction::Minimize => a < b,
            Direction::Maximize => a > b,
        }
    }
    /// The value turned into one to minimise.
    pub fn to_loss(self, v: f64) -> f64 {
        match self {
            Direction::Minimize => v,
            Direction::Maximize => -v,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Minimize => "minimize",
            Direction::Maximize => "maximize",
        })
    }
}

impl FromStr for Direction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "minimize" | "min" | "minimise" => Ok(Direction::Minimize),
            "maximize" | "max" | "maximise" => Ok(Direction::Maximize),
            _ => Err(format!(
                "unknown direction `{s}` (expected minimize or maximize)"
            )),
        }
    }
}

/// Life-cycle state of a trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum TrialState {
    /// Enqueued (fixed parameters, or a retry), not yet claimed by a worker.
    Waiting,
    /// Claimed by a worker and being evaluated.
    Running,
    /// Finished with objective value(s).
    Complete,
    /// Stopped early by a pruner.
    Pruned,
    /// Failed: the objective errored, panicked, returned NaN/inf, timed out, or its
    /// worker died.
    Failed,
}

impl TrialState {
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            TrialState::Complete | TrialState::Pruned | TrialState::Failed
        )
    }
    pub fn as_str(self) -> &'static str {
        match self {
            TrialState::Waiting => "waiting",
            TrialState::Running => "running",
            TrialState::Complete => "complete",
            TrialState::Pruned => "pruned",
            TrialState::Failed => "failed",
        }
    }
}

impl fmt::Display for TrialState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TrialState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "waiting" => Ok(TrialState::Waiting),
            "running" => Ok(TrialState::Running),
            "complete" => Ok(TrialState::Complete),
            "pruned" => Ok(TrialState::Pruned),
            "failed" => Ok(TrialState::Failed),
            _ => Err(format!("unknown trial state `{s}`")),
        }
    }
}

/// How a trial ended. A trial cannot be complete without its values.
#[derive(Debug, Clone, PartialEq)]
pub enum TrialResult {
    /// The objective value(s), one per direction of the study.
    Complete(Vec<f64>),
    /// Stopped by a pruner; the last reported value, if any, is kept as its value.
    Pruned,
    /// Failed, with the reason.
    Failed(String),
}

/// A snapshot of a trial as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrozenTrial {
    /// Storage-wide identifier.
    pub id: i64,
    /// Number of the trial within its study: 0, 1, 2, ... without gaps.
    pub number: u64,
    pub state: TrialState,
    /// Objective values (one per direction) for complete trials; for pruned trials, the
    /// last intermediate value when there is one.
    pub values: Option<Vec<f64>>,
    pub params: BTreeMap<String, ParamValue>,
    pub distributions: BTreeMap<String, Distribution>,
    /// Intermediate values by step, from `Trial::report`.
    pub intermediate_values: BTreeMap<u64, f64>,
    pub user_attrs: BTreeMap<String, serde_json::Value>,
    /// Attributes for hyperscape's own bookkeeping (samplers, CLI).
    pub system_attrs: BTreeMap<String, serde_json::Value>,
    pub datetime_start: Option<DateTime<Utc>>,
    pub datetime_complete: Option<DateTime<Utc>>,
    /// Last heartbeat of the worker running this trial.
    pub heartbeat: Option<DateTime<Utc>>,
    pub fail_reason: Option<String>,
    /// Number of the trial this one retries, after its worker died.
    pub retried_from: Option<u64>,
    /// Set by samplers that must claim a point exclusively (the grid sampler): unique
    /// within a study, enforced by the storage.
    pub claim_key: Option<String>,
}

impl FrozenTrial {
    /// The single objective value, for single-objective studies.
    pub fn value(&self) -> Option<f64> {
        match &self.values {
            Some(v) if v.len() == 1 => Some(v[0]),
            _ => None,
        }
    }

    /// Duration between start and completion, if both are known.
    pub fn duration(&self) -> Option<chrono::Duration> {
        Some(self.datetime_complete? - self.datetime_start?)
    }

    /// The last reported intermediate value, if any.
    pub fn last_intermediate(&self) -> Option<(u64, f64)> {
        self.intermediate_values
            .iter()
            .next_back()
            .map(|(s, v)| (*s, *v))
    }

    /// The constraint values reported with `Trial::set_constraints` (`<= 0` satisfied):
    /// `None` when none were reported, `Some(Err(()))` when the attribute is not a list
    /// of finite numbers (written by something else).
    pub fn constraints(&self) -> Option<Result<Vec<f64>, ()>> {
        self.system_attrs.get(CONSTRAINTS_ATTR).map(|v| {
            serde_json::from_value::<Vec<f64>>(v.clone())
                .ok()
                .filter(|c| c.iter().all(|x| x.is_finite()))
                .ok_or(())
        })
    }

    /// Total constraint violation (the sum of the positive parts): `None` without
    /// constraints, infinite when the stored values are unreadable, 0 when feasible.
    pub fn constraint_violation(&self) -> Option<f64> {
        self.constraints()
            .map(|c| c.map_or(f64::INFINITY, |c| c.iter().map(|x| x.max(0.0)).sum()))
    }
}

/// A trial to create: its starting state and any fixed parameters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewTrial {
    /// `Waiting` for an enqueued trial, otherwise `Running`.
    pub waiting: bool,
    /// Parameters fixed in advance (enqueued trials, retries). Stored as system
    /// attribute `fixed_params`, and used when the objective asks for these names.
    pub fixed_params: BTreeMap<String, ParamValue>,
    pub retried_from: Option<u64>,
    pub claim_key: Option<String>,
    /// Start the heartbeat now (the engine refreshes it while the trial runs).
    pub heartbeat: bool,
    pub user_attrs: BTreeMap<String, serde_json::Value>,
    pub system_attrs: BTreeMap<String, serde_json::Value>,
}

/// System attribute that holds the fixed parameters of an enqueued trial.
pub const FIXED_PARAMS_ATTR: &str = "fixed_params";

/// System attribute holding a trial's constraint values (a JSON array of numbers;
/// a value `<= 0` means that constraint is satisfied). Set by `Trial::set_constraints`
/// and read by constraint-aware samplers (TPE).
pub const CONSTRAINTS_ATTR: &str = "constraints";

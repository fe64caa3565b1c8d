//! Export of trials to JSON and CSV.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::param::ParamValue;
use crate::trial::FrozenTrial;

/// The public JSON shape of a trial (used by `hyperscape trials --format json`).
#[derive(Debug, Clone, Serialize)]
pub struct TrialRecord<'a> {
    pub number: u64,
    pub state: &'static str,
    pub params: &'a BTreeMap<String, ParamValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<&'a Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub intermediate_values: &'a BTreeMap<u64, f64>,
    /// The last reported step of a pruned trial (where it was stopped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pruned_at_step: Option<u64>,
    /// The bracket the pruner assigned (Hyperband).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bracket: Option<u32>,
    /// The budget (last step) a pruner or scheduler gave the trial.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<u64>,
    /// The budget of the checkpoint it started from (promotions, PBT intervals).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_budget: Option<u64>,
    /// The trial it continues (a promotion's parent, PBT's exploited or own member).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<u64>,
    /// Its rung in a scheduler's budget ladder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rung: Option<u64>,
    /// Under PBT: member, generation, and the member it exploited (if it did).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pbt: Option<PbtRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_dir: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub user_attrs: &'a BTreeMap<String, serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datetime_start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datetime_complete: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retried_from: Option<u64>,
}

/// A PBT trial's place in the population.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PbtRecord {
    pub member: u64,
    pub generation: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exploited_member: Option<u64>,
}

impl<'a> TrialRecord<'a> {
    /// `value` for one objective, `values` for several.
    pub fn new(t: &'a FrozenTrial, n_objectives: usize) -> Self {
        let (value, values) = match &t.values {
            Some(v) if n_objectives == 1 && v.len() == 1 => (Some(v[0]), None),
            Some(v) => (None, Some(v)),
            None => (None, None),
        };
        let attr = |k: &str| t.system_attrs.get(k).and_then(|v| v.as_u64());
        Self {
            number: t.number,
            state: t.state.as_str(),
            params: &t.params,
            value,
            values,
            fail_reason: t.fail_reason.as_deref(),
            intermediate_values: &t.intermediate_values,
            pruned_at_step: match t.state {
                crate::trial::TrialState::Pruned => t.last_intermediate().map(|(s, _)| s),
                _ => None,
            },
            bracket: crate::view::trial_bracket(t),
            budget: attr(crate::pruner::BUDGET_ATTR),
            previous_budget: attr(crate::scheduler::PREVIOUS_BUDGET_ATTR),
            parent: attr(crate::scheduler::PARENT_ATTR),
            rung: attr(crate::scheduler::RUNG_ATTR),
            pbt: match (
                attr(crate::scheduler::pbt::MEMBER_ATTR),
                attr(crate::scheduler::pbt::GENERATION_ATTR),
            ) {
                (Some(member), Some(generation)) => Some(PbtRecord {
                    member,
                    generation,
                    exploited_member: attr(crate::scheduler::pbt::EXPLOITED_ATTR),
                }),
                _ => None,
            },
            checkpoint_dir: t
                .system_attrs
                .get(crate::scheduler::CHECKPOINT_DIR_ATTR)
                .and_then(|v| v.as_str()),
            user_attrs: &t.user_attrs,
            datetime_start: t.datetime_start.map(|d| d.to_rfc3339()),
            datetime_complete: t.datetime_complete.map(|d| d.to_rfc3339()),
            duration_seconds: t
                .duration()
                .map(|d| d.num_microseconds().unwrap_or(0) as f64 / 1e6),
            retried_from: t.retried_from,
        }
    }
}

/// Trials as a JSON array.
pub fn to_json(trials: &[FrozenTrial], n_objectives: usize) -> serde_json::Value {
    serde_json::Value::Array(
        trials
            .iter()
            .map(|t| serde_json::to_value(TrialRecord::new(t, n_objectives)).expect("serialisable"))
            .collect(),
    )
}

/// Trials as CSV: number, state, value(s), one `params_NAME` column per parameter
/// seen in any trial, then times and the failure reason.
pub fn write_csv(trials: &[FrozenTrial], n_objectives: usize, out: impl Write) -> Result<()> {
    let names: BTreeSet<&String> = trials.iter().flat_map(|t| t.params.keys()).collect();
    let mut w = csv::Writer::from_writer(out);
    let mut header = vec!["number".to_string(), "state".to_string()];
    if n_objectives == 1 {
        header.push("value".into());
    } else {
        header.extend((0..n_objectives).map(|i| format!("values_{i}")));
    }
    header.extend(names.iter().map(|n| format!("params_{n}")));
    header.extend(
        [
            "datetime_start",
            "datetime_complete",
            "duration_seconds",
            "fail_reason",
        ]
        .map(String::from),
    );
    w.write_record(&header).map_err(csv_err)?;
    for t in trials {
        let mut row = vec![t.number.to_string(), t.state.to_string()];
        for i in 0..n_objectives {
            row.push(
                t.values
                    .as_ref()
                    .and_then(|v| v.get(i))
                    .map(|x| x.to_string())
                    .unwrap_or_default(),
            );
        }
        row.extend(
            names
                .iter()
                .map(|n| t.params.get(*n).map(|v| v.to_string()).unwrap_or_default()),
        );
        row.push(t.datetime_start.map(|d| d.to_rfc3339()).unwrap_or_default());
        row.push(
            t.datetime_complete
                .map(|d| d.to_rfc3339())
                .unwrap_or_default(),
        );
        row.push(
            t.duration()
                .map(|d| (d.num_microseconds().unwrap_or(0) as f64 / 1e6).to_string())
                .unwrap_or_default(),
        );
        row.push(t.fail_reason.clone().unwrap_or_default());
        w.write_record(&row).map_err(csv_err)?;
    }
    w.flush()?;
    Ok(())
}

fn csv_err(e: csv::Error) -> Error {
    Error::Serde(format!("CSV: {e}"))
}

//! `hyperscape studies`: list the studies of a storage.

use anyhow::{Context, Result};
use hyperscape_core::study::pareto_front;
use hyperscape_core::TrialState;
use serde_json::json;

use crate::cli::{ListFormat, StudiesArgs};
use crate::common;
use crate::output;

pub fn execute(a: StudiesArgs) -> Result<i32> {
    let storage = common::open_storage(&a.storage.storage)?;
    let studies = storage.list_studies().with_context(|| {
        format!(
            "cannot list the studies in `{}`",
            common::redact(&a.storage.storage)
        )
    })?;
    let mut rows = Vec::new();
    let mut objects = Vec::new();
    for s in &studies {
        let trials = storage
            .all_trials(s.study.id)
            .with_context(|| format!("cannot read the trials of study `{}`", s.study.name))?;
        let best = if s.study.directions.len() == 1 {
            hyperscape_core::study::best_trial(&trials, &s.study.directions, &s.study.name)
                .ok()
                .and_then(|t| t.value())
        } else {
            None
        };
        let count = |st: TrialState| s.counts.get(&st).copied().unwrap_or(0);
        rows.push(vec![
            s.study.name.clone(),
            common::fmt_directions(&s.study.directions),
            s.n_trials.to_string(),
            count(TrialState::Complete).to_string(),
            count(TrialState::Failed).to_string(),
            count(TrialState::Pruned).to_string(),
            (count(TrialState::Running) + count(TrialState::Waiting)).to_string(),
            match best {
                Some(b) => output::format_number(b),
                None if s.study.directions.len() > 1 => format!(
                    "{} on the Pareto front",
                    pareto_front(&trials, &s.study.directions).len()
                ),
                None => "-".into(),
            },
        ]);
        let counts: serde_json::Map<String, serde_json::Value> = s
            .counts
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        objects.push(json!({
            "name": s.study.name,
            "directions": s.study.directions,
            "n_trials": s.n_trials,
            "counts": counts,
            "best_value": best,
            "created_at": s.study.created_at.to_rfc3339(),
        }));
    }
    match a.format {
        ListFormat::Json => output::json(&serde_json::Value::Array(objects))?,
        ListFormat::Table if rows.is_empty() => {
            eprintln!("no studies in `{}`", common::redact(&a.storage.storage))
        }
        ListFormat::Table => output::out(&output::table(
            &[
                "study",
                "direction",
                "trials",
                "complete",
                "failed",
                "pruned",
                "running",
                "best",
            ],
            &rows,
        ))?,
    }
    Ok(0)
}

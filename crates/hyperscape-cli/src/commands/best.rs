//! `hyperscape best`: the best trial, or the Pareto front for several objectives.

use anyhow::{bail, Context, Result};

use crate::cli::{BestArgs, ListFormat};
use crate::common;
use crate::output;

pub fn execute(a: BestArgs) -> Result<i32> {
    let study = common::load_existing(common::open_storage(&a.storage.storage)?, &a.study)?;
    let n = study.directions().len();
    if n == 1 {
        let best = match study.best_trial() {
            Ok(t) => t,
            Err(hyperscape_core::Error::NoCompletedTrials(_)) => {
                bail!("study `{}` has no complete trial yet", a.study)
            }
            Err(e) => return Err(e).with_context(|| format!("study `{}`", a.study)),
        };
        match a.format {
            ListFormat::Json => output::json(&output::trial_json(&best, n)?)?,
            ListFormat::Table => output::out(&output::trial_detail(&best))?,
        }
    } else {
        let front = study
            .best_trials()
            .with_context(|| format!("study `{}`", a.study))?;
        if front.is_empty() {
            bail!("study `{}` has no complete trial yet", a.study);
        }
        match a.format {
            ListFormat::Json => {
                let items = front
                    .iter()
                    .map(|t| output::trial_json(t, n))
                    .collect::<Result<Vec<_>>>()?;
                output::json(&serde_json::Value::Array(items))?
            }
            ListFormat::Table => {
                let mut text = format!(
                    "Pareto front of study `{}` ({}): {} trial(s)\n",
                    a.study,
                    common::fmt_directions(study.directions()),
                    front.len()
                );
                text.push_str(&output::trials_table(&front));
                output::out(&text)?
            }
        }
    }
    Ok(0)
}

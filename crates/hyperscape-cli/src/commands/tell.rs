//! `hyperscape tell`: finish a trial started with `ask`.

use anyhow::{Context, Result};
use hyperscape_core::TrialResult;

use crate::cli::{TellArgs, TellState};
use crate::common;
use crate::output;

pub fn execute(a: TellArgs) -> Result<i32> {
    let study = common::load_existing(common::open_storage(&a.storage.storage)?, &a.study)?;
    let result = match (a.value, a.values, a.state) {
        (Some(v), _, _) => TrialResult::Complete(vec![v]),
        (_, Some(vs), _) => TrialResult::Complete(vs),
        (_, _, Some(TellState::Pruned)) => TrialResult::Pruned,
        (_, _, Some(TellState::Failed)) => TrialResult::Failed(
            a.reason
                .unwrap_or_else(|| "reported failed by `tell`".into()),
        ),
        (None, None, None) => anyhow::bail!("give --value, --values or --state"),
    };
    let t = study
        .tell_number(a.trial, result)
        .with_context(|| format!("cannot finish trial {} of study `{}`", a.trial, a.study))?;
    let mut line = format!("trial {} of study `{}`: {}", t.number, a.study, t.state);
    if t.values.is_some() {
        line.push_str(&format!(" ({})", output::values_cell(&t)));
    }
    if let Some(r) = &t.fail_reason {
        line.push_str(&format!(": {r}"));
    }
    output::out(&format!("{line}\n"))?;
    Ok(0)
}

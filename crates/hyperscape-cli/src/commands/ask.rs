//! `hyperscape ask`: start a trial and print its parameters as JSON.
//!
//! The trial stays running (without heartbeat) until `hyperscape tell` finishes it.

use anyhow::{Context, Result};
use hyperscape_core::TrialResult;
use serde_json::json;

use crate::cli::AskArgs;
use crate::common::{self, OpenStudy};
use crate::output;

pub fn execute(a: AskArgs) -> Result<i32> {
    let space = common::load_space(&a.space)?;
    let sampler = common::sampler(&a.sampler.sampler, a.sampler.seed, &space, None)?;
    let study = common::create_or_load(OpenStudy {
        name: &a.study,
        storage: common::open_storage(&a.storage.storage)?,
        directions: common::requested_directions(a.direction, &space),
        sampler,
        heartbeat: None,
        space: &space,
        pruner: None,
        checkpoint_root: None,
    })?;
    let mut trial = match study.ask() {
        Ok(t) => t,
        Err(hyperscape_core::Error::SpaceExhausted(r)) => {
            anyhow::bail!("study `{}`: no trial left to ask ({r})", a.study)
        }
        Err(e) => return Err(e).with_context(|| format!("cannot start a trial of `{}`", a.study)),
    };
    let number = trial.number();
    let params = match trial.suggest_space(&space) {
        Ok(p) => p,
        Err(e) => {
            let reason = format!("cannot suggest parameters: {e}");
            study.tell(trial, TrialResult::Failed(reason.clone()))?;
            anyhow::bail!("trial {number} of study `{}`: {reason}", a.study);
        }
    };
    output::out(&format!(
        "{}\n",
        json!({ "trial": number, "params": params })
    ))?;
    Ok(0)
}

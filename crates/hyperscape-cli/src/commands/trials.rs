//! `hyperscape trials`: the trials of a study as a table, CSV or JSON.

use anyhow::{Context, Result};
use hyperscape_core::export;

use crate::cli::{TrialsArgs, TrialsFormat};
use crate::common;
use crate::output;

pub fn execute(a: TrialsArgs) -> Result<i32> {
    let study = common::load_existing(common::open_storage(&a.storage.storage)?, &a.study)?;
    let trials = study
        .trials()
        .with_context(|| format!("cannot read the trials of study `{}`", a.study))?;
    let n = study.directions().len();
    match a.format {
        TrialsFormat::Json => output::json(&export::to_json(&trials, n))?,
        TrialsFormat::Csv => {
            let mut buf = Vec::new();
            export::write_csv(&trials, n, &mut buf).context("cannot write CSV")?;
            output::out(&String::from_utf8_lossy(&buf))?;
        }
        TrialsFormat::Table if trials.is_empty() => {
            eprintln!("study `{}` has no trials yet", a.study)
        }
        TrialsFormat::Table => output::out(&output::trials_table(&trials))?,
    }
    Ok(0)
}

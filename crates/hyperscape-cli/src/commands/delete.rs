//! `hyperscape delete`: delete a study and its trials.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{bail, Context, Result};

use crate::cli::DeleteArgs;
use crate::common;

pub fn execute(a: DeleteArgs) -> Result<i32> {
    let storage = common::open_storage(&a.storage.storage)?;
    let study = common::load_existing(storage.clone(), &a.study)?;
    let n = study.trials()?.len();
    if !a.yes {
        if !std::io::stdin().is_terminal() {
            bail!(
                "refusing to delete study `{}` ({n} trial(s)) without confirmation: pass --yes",
                a.study
            );
        }
        eprint!("Delete study `{}` and its {n} trial(s)? [y/N] ", a.study);
        std::io::stderr().flush().ok();
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .context("cannot read the confirmation")?;
        if !matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
            eprintln!("not deleted");
            return Ok(1);
        }
    }
    storage
        .delete_study(study.id())
        .with_context(|| format!("cannot delete study `{}`", a.study))?;
    eprintln!("deleted study `{}` ({n} trial(s))", a.study);
    Ok(0)
}

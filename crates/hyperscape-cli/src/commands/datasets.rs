//! `hyperscape datasets`: the named datasets of `hyperscape-ml`, where each comes from,
//! and whether it can be loaded on this machine now.

use anyhow::{Context, Result};
use clap::Args;
use hyperscape_ml::data;

use crate::cli::ListFormat;
use crate::output;

#[derive(Debug, Args)]
#[command(
    after_help = "Registry datasets (MNIST, mnist-5k, Fashion-MNIST) are fetched by \
    scripts/fetch-datasets.sh into $HYPERSCAPE_DATA_DIR, else the repository's .datasets.\n\n\
    Examples:\n  hyperscape datasets\n  \
    hyperscape datasets --format json | jq '.[] | select(.installed)'"
)]
pub struct DatasetsArgs {
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

pub fn execute(a: DatasetsArgs) -> Result<i32> {
    let catalog = data::catalog();
    match a.format {
        ListFormat::Json => output::json(
            &serde_json::to_value(&catalog).context("cannot serialise the catalogue")?,
        )?,
        ListFormat::Table => {
            let rows: Vec<Vec<String>> = catalog
                .iter()
                .map(|e| {
                    vec![
                        e.name.to_string(),
                        match e.task {
                            hyperscape_ml::Task::Classification => "classification".into(),
                            hyperscape_ml::Task::Regression => "regression".into(),
                        },
                        match e.n_test {
                            Some(t) => format!("{} ({} test)", e.n_samples, t),
                            None => e.n_samples.to_string(),
                        },
                        e.n_features.to_string(),
                        e.n_classes.map_or("-".into(), |c| c.to_string()),
                        if e.installed { "yes" } else { "no" }.into(),
                        e.source.to_string(),
                    ]
                })
                .collect();
            output::out(&output::table(
                &[
                    "dataset",
                    "task",
                    "samples",
                    "features",
                    "classes",
                    "installed",
                    "source",
                ],
                &rows,
            ))?;
            if catalog.iter().any(|e| !e.installed) {
                eprintln!(
                    "not installed: run scripts/fetch-datasets.sh (data directory: {})",
                    data::data_dir().display()
                );
            }
        }
    }
    Ok(0)
}

//! `hyperscape demo`: a real study on the Branin function, with a conditional twist.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use hyperscape_core::functions::{branin, BRANIN_MIN};
use hyperscape_core::{Direction, ParamValue, SpaceDecl};

use crate::cli::DemoArgs;
use crate::common::{self, OpenStudy};
use crate::output::{self, Progress};
use crate::signal;
use crate::trial_loop::{self, LoopSpec, Outcome};

/// Branin's domain, plus an optional penalty whose weight exists only when it is on.
const DEMO_SPACE: &str = r#"
direction = "minimize"
[params.x1]
type = "float"
low = -5.0
high = 10.0
[params.x2]
type = "float"
low = 0.0
high = 15.0
[params.penalty]
type = "categorical"
choices = ["none", "l2"]
[params.weight]
type = "float"
low = 0.0001
high = 0.1
log = true
when = { penalty = "l2" }
"#;

/// The demo objective: Branin, plus `weight * (x1² + x2²) / 100` under the l2 penalty.
pub fn objective(params: &BTreeMap<String, ParamValue>) -> Option<f64> {
    let x1 = params.get("x1")?.as_f64()?;
    let x2 = params.get("x2")?.as_f64()?;
    let penalty = match params.get("penalty").and_then(|p| p.as_str()) {
        Some("l2") => params.get("weight")?.as_f64()? * (x1 * x1 + x2 * x2) / 100.0,
        _ => 0.0,
    };
    Some(branin(x1, x2) + penalty)
}

pub fn execute(a: DemoArgs) -> Result<i32> {
    if a.jobs == 0 {
        anyhow::bail!("--jobs must be at least 1");
    }
    let space = SpaceDecl::from_toml_str(DEMO_SPACE).context("the built-in demo space")?;
    let interrupted = signal::install()?;
    let study = common::create_or_load(OpenStudy {
        name: &a.study,
        storage: common::open_storage(&a.storage.storage)?,
        directions: Some(vec![Direction::Minimize]),
        sampler: common::sampler(&a.sampler, a.seed, &space, Some(a.trials))?,
        heartbeat: None,
        space: &space,
        pruner: None,
        checkpoint_root: None,
    })?;
    let progress = Progress::new(a.trials, study.directions(), study.best_value().ok());
    let spec = LoopSpec {
        study: &study,
        space: &space,
        n_trials: a.trials,
        jobs: a.jobs,
        interrupted,
        poll_interval: std::time::Duration::from_millis(100),
    };
    let result = trial_loop::run(
        &spec,
        |_, params| match objective(params) {
            Some(v) => Outcome::Values(vec![v]),
            None => Outcome::Failed(format!(
                "missing demo parameters in {}",
                output::params_inline(params)
            )),
        },
        |t| progress.done(t),
    );
    progress.finish();
    let summary = result?;
    let best = study.best_trial()?;
    let value = best.value().unwrap_or(f64::NAN);
    output::out(&format!(
        "Branin demo: study `{}` in {} ({} trial(s) this run, {} in the study)\n\
         best value: {value:.6} (trial {})\n\
         best params: {}\n\
         known optimum: {BRANIN_MIN:.6} at (-pi, 12.275), (pi, 2.275), (9.42478, 2.475)\n\
         gap to the optimum: {:.6}\n\
         see all trials: hyperscape trials --study {} --storage {}\n",
        study.name(),
        common::redact(&a.storage.storage),
        summary.total(),
        study.trials()?.len(),
        best.number,
        output::params_inline(&best.params),
        value - BRANIN_MIN,
        study.name(),
        common::redact(&a.storage.storage),
    ))?;
    Ok(if summary.interrupted {
        signal::EXIT_INTERRUPTED
    } else {
        0
    })
}

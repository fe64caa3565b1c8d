//! `hyperscape demo`: the README's first command. By default it tunes a real model on
//! bundled data — an SVM on breast cancer through `hyperscape tune`, with a held-out
//! test set — in `./hyperscape.db`; `--branin` runs a synthetic study on the Branin
//! function with a conditional twist instead.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use clap::Parser;
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
    if a.branin {
        branin_demo(a)
    } else {
        model_demo(a)
    }
}

/// The model demo: exactly `hyperscape tune` with the demo's settings, parsed by the
/// same parser, so every `tune` rule (resuming, the test split, reporting) applies.
fn model_demo(a: DemoArgs) -> Result<i32> {
    let mut argv: Vec<String> = [
        "hyperscape",
        "tune",
        "--model",
        "svm",
        "--dataset",
        "breast_cancer",
        "--cv",
        "5",
    ]
    .map(String::from)
    .to_vec();
    let mut flag = |name: &str, value: String| {
        argv.push(format!("--{name}"));
        argv.push(value);
    };
    let study = a.study.unwrap_or_else(|| "demo".into());
    flag("study", study.clone());
    flag("trials", a.trials.unwrap_or(40).to_string());
    flag("sampler", a.sampler.unwrap_or_else(|| "tpe".into()));
    flag("jobs", a.jobs.to_string());
    if let Some(seed) = a.seed {
        flag("seed", seed.to_string());
    }
    // What the user would type (the storage comes from their flag or environment).
    let shown = argv[1..].join(" ");
    argv.extend(["--storage".to_string(), a.storage.storage.clone()]);
    let cli = crate::cli::Cli::try_parse_from(&argv).context("the demo's tune arguments")?;
    let crate::cli::Command::Tune(tune) = cli.command else {
        unreachable!("the demo's argument list starts with `tune`")
    };
    let code = crate::commands::tune::execute(*tune)?;
    output::out(&format!(
        "\nThis was `hyperscape {shown}`.\nNext: `hyperscape demo` again adds trials to the \
         same study; `hyperscape trials --study {study}` lists them; `hyperscape datasets` \
         and `hyperscape tune --help` show what else can be tuned.\n"
    ))?;
    Ok(code)
}

fn branin_demo(a: DemoArgs) -> Result<i32> {
    let trials = a.trials.unwrap_or(200);
    let study_name = a.study.clone().unwrap_or_else(|| "branin-demo".into());
    let sampler = a.sampler.clone().unwrap_or_else(|| "sobol".into());
    let space = SpaceDecl::from_toml_str(DEMO_SPACE).context("the built-in demo space")?;
    let interrupted = signal::install()?;
    let study = common::create_or_load(OpenStudy {
        name: &study_name,
        storage: common::open_storage(&a.storage.storage)?,
        directions: Some(vec![Direction::Minimize]),
        sampler: common::sampler(&sampler, a.seed, &space, Some(trials))?,
        heartbeat: None,
        space: &space,
        pruner: None,
        checkpoint_root: None,
    })?;
    let progress = Progress::new(trials, study.directions(), study.best_value().ok());
    let spec = LoopSpec {
        study: &study,
        space: &space,
        n_trials: trials,
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

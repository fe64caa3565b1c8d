//! `hyperscape train`: train ONE configuration of a built-in model on a dataset, with
//! the splits of `hyperscape tune`, streaming `{"step": epoch, "value": metric}` lines
//! on stdout. An external objective for `hyperscape run` (and for other tuners, such as
//! an Optuna driver) that runs the very workload `tune` runs; see docs/tune.md.
//!
//! Stop protocol (as every external command of docs/pruning.md): on SIGTERM (or
//! SIGINT) training stops at the end of the current epoch, the checkpoint (if any) is
//! saved, and the command exits with status 0 without printing a result line.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use anyhow::{bail, Context, Result};
use clap::Args;
use hyperscape_core::ParamValue;
use hyperscape_ml::tune::{self, TuneConfig, Tuner};
use hyperscape_ml::{Checkpoint, Control, Fidelity, Params};

use crate::commands::tune::{dataset_arg, DataArgs, DataFlags};
use crate::signal;

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    hyperscape train --model mlp --dataset digits --param n_units=64 --param learning_rate=0.01 --epochs 10\n  \
    hyperscape train --model mlp --dataset fashion-mnist --subsample 15000 --valid-fraction 0.3333 \\\n      \
      --params '{\"n_units\": 128, \"learning_rate\": 0.001}' --epochs 27 --threads 1\n  \
    hyperscape run --study s --space mlp.toml --scheduler asha --max-budget 27 -- \\\n      \
      hyperscape train --model mlp --dataset digits --param n_units={n_units} \\\n      \
      --epochs {budget} --checkpoint-dir {checkpoint_dir} --resume-from {previous_budget}\n\n\
Splits are tune's (same --seed, fractions and --subsample give the same rows): the\n\
fit sees the training split only and each epoch's validation metric is printed as\n\
{\"step\": epoch, \"value\": v}; the last line is the final validation value.\n\
--final instead refits on all non-test samples and prints one JSON object with the\n\
test metrics (never use it to choose a configuration).\n\n\
Stop protocol: SIGTERM (or Ctrl-C) stops training after the current epoch, saves the\n\
checkpoint (with --checkpoint-dir) and exits 0 without a result line.")]
pub struct TrainArgs {
    /// Model: logreg, svm, knn, rf, gbt, mlp, lenet.
    #[arg(long)]
    pub model: String,
    #[command(flatten)]
    pub data: DataArgs,
    /// A hyperparameter, NAME=VALUE (VALUE read as JSON when it parses: 64, 0.01,
    /// true; otherwise as a string). Repeatable. An empty VALUE leaves NAME out.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub param: Vec<String>,
    /// Hyperparameters as one JSON object (merged before --param).
    #[arg(long, value_name = "JSON")]
    pub params: Option<String>,
    /// Train to this epoch (round); default: the configuration's own `epochs`.
    #[arg(long, value_name = "N")]
    pub epochs: Option<u32>,
    /// Metric to report, as for `tune` (default accuracy / rmse).
    #[arg(long, value_name = "NAME")]
    pub metric: Option<String>,
    /// Seed of the splits and the fit (as `tune --seed`).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Share of the non-test samples held out for validation (default 0.2).
    #[arg(long, value_name = "F")]
    pub valid_fraction: Option<f64>,
    /// Share of the samples held out as the test set without an official one (0.2).
    #[arg(long, value_name = "F")]
    pub test_fraction: Option<f64>,
    /// Threads of the fit (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Keep the model's state here (weights and optimiser state of the neural models)
    /// after training, and resume from it with --resume-from.
    #[arg(long, value_name = "DIR", env = "HYPERSCAPE_CHECKPOINT_DIR")]
    pub checkpoint_dir: Option<PathBuf>,
    /// The epoch the checkpoint in --checkpoint-dir reached: resume from it (an empty
    /// value: train from scratch; a model that cannot resume retrains from scratch and
    /// says so on stderr).
    #[arg(long, value_name = "EPOCH", env = "HYPERSCAPE_PREVIOUS_BUDGET")]
    pub resume_from: Option<String>,
    /// Refit on all non-test samples and print the test metrics as one JSON object.
    #[arg(long = "final")]
    pub final_eval: bool,
}

/// `NAME=VALUE` pairs and a JSON object into a configuration.
fn parse_params(a: &TrainArgs) -> Result<Params> {
    let mut out = Params::new();
    if let Some(json) = &a.params {
        let v: serde_json::Value =
            serde_json::from_str(json).with_context(|| format!("--params `{json}`"))?;
        let obj = v
            .as_object()
            .with_context(|| format!("--params must be a JSON object, not `{json}`"))?;
        for (k, v) in obj {
            if v.is_null() {
                continue;
            }
            out.insert(k.clone(), json_param(k, v)?);
        }
    }
    for p in &a.param {
        let (k, v) = p
            .split_once('=')
            .with_context(|| format!("--param `{p}`: expected NAME=VALUE"))?;
        let k = k.trim();
        if k.is_empty() {
            bail!("--param `{p}`: the name is empty");
        }
        if v.is_empty() {
            out.remove(k);
            continue;
        }
        let value = match serde_json::from_str::<serde_json::Value>(v) {
            Ok(j) if !j.is_object() && !j.is_array() && !j.is_null() => json_param(k, &j)?,
            _ => ParamValue::Str(v.to_string()),
        };
        out.insert(k.to_string(), value);
    }
    Ok(out)
}

fn json_param(name: &str, v: &serde_json::Value) -> Result<ParamValue> {
    Ok(match v {
        serde_json::Value::Bool(b) => ParamValue::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => ParamValue::Int(i),
            None => ParamValue::Float(n.as_f64().context("a number")?),
        },
        serde_json::Value::String(s) => ParamValue::Str(s.clone()),
        other => bail!("hyperparameter `{name}`: {other} is not a number, string or boolean"),
    })
}

fn fraction(flag: &str, v: Option<f64>) -> Result<Option<f64>> {
    match v {
        Some(f) if !(f > 0.0 && f < 1.0) => bail!("{flag} must be in (0, 1), not {f}"),
        v => Ok(v),
    }
}

pub fn execute(a: TrainArgs) -> Result<i32> {
    let params = parse_params(&a)?;
    let valid_fraction = fraction("--valid-fraction", a.valid_fraction)?;
    let test_fraction = fraction("--test-fraction", a.test_fraction)?;
    if a.epochs == Some(0) {
        bail!("--epochs must be at least 1");
    }
    let resume_from = match a.resume_from.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(s.parse::<u32>().map_err(|_| {
            anyhow::anyhow!("--resume-from must be an epoch number (or empty), not `{s}`")
        })?),
    };
    if resume_from.is_some() && a.checkpoint_dir.is_none() {
        bail!("--resume-from needs --checkpoint-dir (where the checkpoint is)");
    }
    if a.final_eval && (a.checkpoint_dir.is_some() || resume_from.is_some()) {
        bail!("--final refits from scratch on all non-test samples: drop --checkpoint-dir");
    }
    let (data, _) = dataset_arg(&DataFlags::of(&a.data, a.seed))?;
    let model = hyperscape_ml::model_by_name(&a.model)?;
    let tuner = Tuner::new(TuneConfig {
        model,
        data,
        space: Some(hyperscape_core::SpaceDecl::new()),
        cv: None,
        valid_fraction: valid_fraction.unwrap_or(tune::DEFAULT_VALID_FRACTION),
        test_fraction: test_fraction.unwrap_or(tune::DEFAULT_TEST_FRACTION),
        seed: a.seed,
        metric: a.metric.clone(),
        threads: a.threads,
        fidelity: Fidelity::full(),
    })?;
    let out = std::io::stdout();
    if a.final_eval {
        let r = tuner.final_evaluation_at(&params, Default::default(), a.epochs)?;
        let obj = serde_json::json!({
            "model": a.model,
            "params": tune::params_json(&params),
            "epochs": a.epochs,
            "test": r.test,
            "n_refit": r.n_refit,
            "n_test": r.n_test,
        });
        writeln!(out.lock(), "{obj}")?;
        return Ok(0);
    }
    let interrupted = signal::install()?;
    if let Some(dir) = &a.checkpoint_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create --checkpoint-dir {}", dir.display()))?;
    }
    let checkpoint = a.checkpoint_dir.as_deref().map(|dir| Checkpoint {
        dir,
        resume: resume_from.is_some(),
    });
    let mut write_err: Option<std::io::Error> = None;
    let mut last: Option<(u32, f64)> = None;
    let mut report = |step: u32, v: f64| -> Control {
        last = Some((step, v));
        let mut lock = out.lock();
        if let Err(e) =
            writeln!(lock, "{{\"step\": {step}, \"value\": {v}}}").and_then(|_| lock.flush())
        {
            // The reader is gone (a closed pipe): stop, as on a signal.
            write_err.get_or_insert(e);
            return Control::Stop;
        }
        if interrupted.load(Ordering::SeqCst) {
            Control::Stop
        } else {
            Control::Continue
        }
    };
    // The reporter checks the stop flag after printing the epoch's line, so the last
    // line printed is the epoch the checkpoint holds.
    let ev = tuner.train_one(&params, a.epochs, checkpoint, None, &mut report)?;
    if let Some(from) = resume_from {
        match &ev.not_resumed {
            Some(why) => eprintln!("not resumed from epoch {from}: {why}; trained from scratch"),
            None if ev.start_epoch != from => eprintln!(
                "note: --resume-from {from}, but the checkpoint holds epoch {}",
                ev.start_epoch
            ),
            None => {}
        }
    }
    eprintln!(
        "trained {} epoch(s) after epoch {}",
        ev.epochs_trained, ev.start_epoch
    );
    if let Some(e) = write_err {
        eprintln!("stopped: cannot write to stdout ({e})");
        return Ok(0);
    }
    if ev.pruned || ev.interrupted || interrupted.load(Ordering::SeqCst) {
        let at = last.map_or(String::from("before the first epoch"), |(s, _)| {
            format!("after epoch {s}")
        });
        eprintln!("stopped {at} on request");
        return Ok(0);
    }
    let metric = &tuner.metric().name;
    let value = ev
        .metrics
        .get(metric)
        .copied()
        .or(last.map(|(_, v)| v))
        .with_context(|| format!("no validation {metric}"))?;
    writeln!(out.lock(), "{value}")?;
    Ok(0)
}

//! `hyperscape tune`: tune a built-in model on a dataset, then score the best
//! configuration once on the held-out test set (see docs/tune.md).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use hyperscape_core::{Error as CoreError, HeartbeatConfig, OptimizeOptions, Study, TrialState};
use hyperscape_ml::data::LoadOptions;
use hyperscape_ml::tune::{self, TuneConfig, TuneData, TuneReport, TuneSettings, Tuner};
use hyperscape_ml::{Fidelity, Metrics, Task};

use crate::cli::{ListFormat, PrunerArgs, SchedulerArgs, StorageArg};
use crate::commands::run::{scheduler_config, scheduler_message};
use crate::common::{self, OpenStudy};
use crate::output::{self, Progress};
use crate::signal;

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    hyperscape tune --model knn --dataset iris --trials 30\n  \
    hyperscape tune --model svm --dataset breast_cancer --trials 40 --cv 5 --jobs 2\n  \
    hyperscape tune --model mlp --dataset digits --trials 50 --pruner median --format json\n  \
    hyperscape tune --model rf --dataset wine --space my-rf.toml --metric cross_entropy\n  \
    hyperscape tune --model knn --dataset iris --trials 30     # again: 30 more trials\n\n\
The test set is split off first (the dataset's official test set where it has one,\n\
otherwise --test-fraction of the samples, stratified, fixed by --seed) and is never\n\
seen while tuning: each trial fits on the training split and is scored on the\n\
validation split (or on --cv K folds). The best configuration is then refitted on\n\
all non-test samples and scored once on the test set.\n\n\
Iterative models (mlp, lenet, logreg, gbt) report their validation score after\n\
every epoch, so --pruner stops bad trials early; with --cv the running mean after\n\
each fold is reported instead.\n\n\
--scheduler sha|hyperband|asha|bohb|dehb|pbt gives each trial its budget in epochs\n\
(rounds for gbt) between --min-budget and --max-budget; a promotion resumes from\n\
its parent's checkpoint (weights and optimiser state of mlp, lenet, logreg; gbt\n\
retrains). The report counts the epochs spent (epochs_spent).\n\n\
The study (default `tune-<model>-<dataset>`) records its settings; running the\n\
same command again adds --trials trials to it. --seed, --metric, --cv and the\n\
fractions default to the study's own when it exists.\n\n\
--format json prints one object: best_params, validation and test (metrics by\n\
name, with accuracy for classifiers), n_trials, study, wall_seconds, and more.")]
pub struct TuneArgs {
    /// Model to tune: logreg, svm, knn, rf, gbt, mlp, lenet.
    #[arg(long)]
    pub model: String,
    #[command(flatten)]
    pub data: DataArgs,
    /// Train every fit (and the final refit) for N epochs (rounds for gbt), whatever
    /// the configuration's `epochs`; a scheduler's budget overrides it per trial.
    #[arg(long, value_name = "N")]
    pub epochs: Option<u32>,
    /// Trials to add in this invocation.
    #[arg(long, default_value_t = 20)]
    pub trials: usize,
    /// Sampler: auto (picks one from the space and --trials), tpe, random, sobol, gp,
    /// cmaes, grid, ... (see docs/samplers.md).
    #[arg(long, default_value = "auto")]
    pub sampler: String,
    /// Seed of the splits, of every fit and of the sampler (default: the study's, else 0).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Search space file (TOML) instead of the model's default space.
    #[arg(long, value_name = "FILE")]
    pub space: Option<PathBuf>,
    /// Score each configuration by stratified K-fold cross-validation of the non-test
    /// samples instead of one validation split.
    #[arg(long, value_name = "K")]
    pub cv: Option<usize>,
    /// Metric to optimise: accuracy (default) or cross_entropy for classifiers, rmse
    /// (default), mse, mae or r2 for regressors, or NAME:max / NAME:min.
    #[arg(long, value_name = "NAME")]
    pub metric: Option<String>,
    /// Share of the non-test samples held out for validation (default 0.2).
    #[arg(long, value_name = "F")]
    pub valid_fraction: Option<f64>,
    /// Share of the samples held out as the test set when the dataset has no official
    /// one (default 0.2).
    #[arg(long, value_name = "F")]
    pub test_fraction: Option<f64>,
    /// Trials to run in parallel.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Threads per fit (default: the cores shared out among --jobs).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Name of the study (created if needed, resumed otherwise).
    #[arg(long, value_name = "NAME")]
    pub study: Option<String>,
    #[command(flatten)]
    pub storage: StorageArg,
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
    #[command(flatten)]
    pub pruner: PrunerArgs,
    #[command(flatten)]
    pub scheduler: SchedulerArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TaskArg {
    Classification,
    Regression,
}

/// Seconds between heartbeats of running trials, so a resumed study fails the trials
/// of a process that died.
const HEARTBEAT: Duration = Duration::from_secs(2);

/// Whether `--dataset`, not a catalogue name, names a file.
fn is_path(arg: &str) -> bool {
    let p = Path::new(arg);
    let ext = p
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    p.exists()
        || arg.contains('/')
        || arg.contains(std::path::MAIN_SEPARATOR)
        || matches!(
            ext.as_deref(),
            Some("csv" | "arff" | "idx" | "gz" | "ubyte" | "tsv")
        )
}

/// The dataset flags `tune` and `train` share.
#[derive(Debug, Args)]
pub struct DataArgs {
    /// Dataset: a name (iris, wine, breast_cancer, digits, diabetes, mnist, mnist-5k,
    /// fashion-mnist: see `hyperscape datasets`), or a CSV, ARFF or IDX file (see
    /// docs/datasets.md; --label, --task, --categorical and --ignore declare its layout).
    #[arg(long)]
    pub dataset: String,
    /// The label (target) column of a CSV or ARFF --dataset file (default: the last).
    #[arg(long, value_name = "COLUMN", help_heading = "Data files")]
    pub label: Option<String>,
    /// The task of a --dataset file's label (default: inferred from its values).
    #[arg(long, value_enum, help_heading = "Data files")]
    pub task: Option<TaskArg>,
    /// Feature columns of a --dataset file to encode as categories (comma-separated).
    #[arg(
        long,
        value_name = "COLUMNS",
        value_delimiter = ',',
        help_heading = "Data files"
    )]
    pub categorical: Vec<String>,
    /// Columns of a --dataset file to leave out, such as identifiers (comma-separated).
    #[arg(
        long,
        value_name = "COLUMNS",
        value_delimiter = ',',
        help_heading = "Data files"
    )]
    pub ignore: Vec<String>,
    /// Keep a stratified subset of N samples of the training part of the dataset,
    /// seeded by --seed (the official test set stays whole): fits a large dataset
    /// into a CPU budget. The study records the subset as its own dataset.
    #[arg(long, value_name = "N", help_heading = "Data files")]
    pub subsample: Option<usize>,
}

/// The data flags `tune` and `train` share.
pub(crate) struct DataFlags<'a> {
    pub dataset: &'a str,
    pub label: Option<&'a str>,
    pub task: Option<TaskArg>,
    pub categorical: &'a [String],
    pub ignore: &'a [String],
    /// Keep a stratified subset of this many training samples (`--subsample`).
    pub subsample: Option<usize>,
    /// Seeds the subset.
    pub seed: u64,
}

impl<'a> DataFlags<'a> {
    pub(crate) fn of(a: &'a DataArgs, seed: u64) -> Self {
        Self {
            dataset: &a.dataset,
            label: a.label.as_deref(),
            task: a.task,
            categorical: &a.categorical,
            ignore: &a.ignore,
            subsample: a.subsample,
            seed,
        }
    }
}

/// What `--dataset` (and the data-file flags) select, and the name used in the study's
/// name; with `--subsample N`, a stratified subset of N training samples (the
/// official test set stays whole).
pub(crate) fn dataset_arg(a: &DataFlags<'_>) -> Result<(TuneData, String)> {
    let (data, name) = dataset_full(a)?;
    let Some(n) = a.subsample else {
        return Ok((data, name));
    };
    if n < 2 {
        bail!("--subsample must keep at least 2 samples, not {n}");
    }
    let loaded = match data {
        TuneData::Loaded(l) => *l,
        TuneData::Named(name) => hyperscape_ml::data::load(&name)?,
    };
    let loaded = tune::subsample(loaded, n, a.seed)?;
    Ok((TuneData::from(loaded), format!("{name}-{n}")))
}

fn dataset_full(a: &DataFlags<'_>) -> Result<(TuneData, String)> {
    let named = tune::check_dataset_name(a.dataset);
    if named.is_err() && is_path(a.dataset) {
        let path = Path::new(&a.dataset);
        let mut opts = LoadOptions::default()
            .categorical(a.categorical.iter().cloned())
            .ignore(a.ignore.iter().cloned());
        if let Some(label) = a.label {
            opts = opts.label(label);
        }
        if let Some(task) = a.task {
            opts = opts.task(match task {
                TaskArg::Classification => Task::Classification,
                TaskArg::Regression => Task::Regression,
            });
        }
        let mut data = hyperscape_ml::data::load_path(path, &opts)
            .with_context(|| format!("--dataset `{}`", a.dataset))?;
        let stem = data.name.clone();
        // The study records the file by its absolute path, so that a study resumed on
        // another file of the same name is refused.
        data.name = std::fs::canonicalize(path)
            .map_or_else(|_| a.dataset.to_string(), |p| p.display().to_string());
        return Ok((TuneData::from(data), stem));
    }
    let file_flag = [
        ("--label", a.label.is_some()),
        ("--task", a.task.is_some()),
        ("--categorical", !a.categorical.is_empty()),
        ("--ignore", !a.ignore.is_empty()),
    ]
    .into_iter()
    .find(|(_, given)| *given);
    if let Some((flag, _)) = file_flag {
        bail!(
            "{flag} applies to a CSV, ARFF or IDX --dataset file; `{}` is a named dataset",
            a.dataset
        );
    }
    let name = named?;
    Ok((TuneData::Named(name.to_string()), name.to_string()))
}

fn fraction(flag: &str, v: Option<f64>) -> Result<Option<f64>> {
    match v {
        Some(f) if !(f > 0.0 && f < 1.0) => bail!("{flag} must be in (0, 1), not {f}"),
        v => Ok(v),
    }
}

pub fn execute(a: TuneArgs) -> Result<i32> {
    let start = Instant::now();
    if a.jobs == 0 {
        bail!("--jobs must be at least 1");
    }
    if a.trials == 0 {
        bail!("--trials must be at least 1");
    }
    if a.cv.is_some_and(|k| k < 2) {
        bail!("--cv needs at least 2 folds");
    }
    let valid_fraction = fraction("--valid-fraction", a.valid_fraction)?;
    let test_fraction = fraction("--test-fraction", a.test_fraction)?;
    let pruner_options = a.pruner.options();
    // Fail early on an unknown pruner or settings it does not take.
    common::pruner(&a.pruner.pruner, &pruner_options)?;
    let scheduler = scheduler_config(&a.scheduler, &a.pruner.pruner, None)?;
    if scheduler.is_some() && a.cv.is_some() {
        bail!(
            "--scheduler and --cv cannot be combined: a scheduler's budget is epochs of one \
             fit on the validation split"
        );
    }
    // Unknown names first (each error lists the known ones), then what may be missing
    // from this build.
    if !hyperscape_ml::MODELS.contains(&a.model.as_str()) {
        hyperscape_ml::model_by_name(&a.model)?;
    }
    if a.data.subsample.is_some() && a.seed.is_none() {
        // The subset is drawn before the study (and its stored seed) is looked up.
        bail!("--subsample needs an explicit --seed (it seeds the subset)");
    }
    let (data, data_name) = dataset_arg(&DataFlags::of(&a.data, a.seed.unwrap_or(0)))?;
    let model = hyperscape_ml::model_by_name(&a.model)?;
    let space = a.space.as_deref().map(common::load_space).transpose()?;
    let study_name = a
        .study
        .clone()
        .unwrap_or_else(|| format!("tune-{}-{data_name}", a.model));

    // Settings not given on the command line are the study's own when it exists.
    let storage = common::open_storage(&a.storage.storage)?;
    let stored = match storage.get_study(&study_name) {
        Ok(record) => TuneSettings::from_record(&record).transpose()?,
        Err(CoreError::StudyNotFound(_)) => None,
        Err(e) => return Err(e).with_context(|| format!("cannot look study `{study_name}` up")),
    };
    let seed = a.seed.or(stored.as_ref().map(|s| s.seed)).unwrap_or(0);
    let threads = a.threads.unwrap_or_else(|| {
        if a.jobs > 1 {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            (cores / a.jobs).max(1)
        } else {
            0
        }
    });
    let cfg = TuneConfig {
        model,
        data,
        space,
        cv: a.cv.or(stored.as_ref().and_then(|s| s.cv)),
        valid_fraction: valid_fraction
            .or(stored.as_ref().map(|s| s.valid_fraction))
            .unwrap_or(tune::DEFAULT_VALID_FRACTION),
        test_fraction: test_fraction
            .or(stored
                .as_ref()
                .filter(|s| !s.official_test)
                .map(|s| s.test_fraction))
            .unwrap_or(tune::DEFAULT_TEST_FRACTION),
        seed,
        metric: a.metric.clone().or(stored
            .as_ref()
            .map(|s| format!("{}:{}", s.metric.name, s.metric.direction))),
        threads,
        fidelity: Fidelity {
            epochs: a.epochs,
            ..Fidelity::full()
        },
    };
    if a.epochs == Some(0) {
        bail!("--epochs must be at least 1");
    }
    let mut tuner = Tuner::new(cfg)?;
    // A scheduler's budget sets the epochs: the default space's `epochs` would be a
    // parameter without effect (and noise in BOHB's model).
    if scheduler.is_some() && a.space.is_none() {
        tuner.drop_param("epochs");
    }
    // BOHB, DEHB and PBT draw with the tuning seed.
    let scheduler = scheduler.map(|(name, mut o)| {
        if matches!(name.as_str(), "bohb" | "dehb" | "pbt") {
            o.seed = Some(seed);
        }
        (name, o)
    });
    if let Some((name, _)) = &scheduler {
        if !tuner.model().iterative() {
            bail!(
                "--scheduler {name}: model `{}` does not train in epochs or rounds, so a \
                 budget does not apply to it (use an iterative model: mlp, lenet, logreg, gbt)",
                a.model
            );
        }
    }
    let pruner = match &scheduler {
        Some((name, o)) => hyperscape_core::scheduler_by_name(name, o)
            .map_err(|e| anyhow::anyhow!("{}", scheduler_message(&e)))?,
        None => common::pruner(&a.pruner.pruner, &pruner_options)?,
    };
    let checkpoint_root = match (&scheduler, &a.scheduler.checkpoint_root) {
        (_, Some(root)) => Some(root.clone()),
        (Some(_), None) => Some(PathBuf::from("hyperscape-checkpoints")),
        (None, None) => None,
    }
    .map(|r| std::path::absolute(&r).unwrap_or(r));

    let study = common::create_or_load(OpenStudy {
        name: &study_name,
        storage,
        directions: Some(vec![tuner.direction()]),
        sampler: common::sampler(&a.sampler, Some(seed), tuner.space(), Some(a.trials))?,
        heartbeat: Some(HeartbeatConfig::new(HEARTBEAT)),
        space: tuner.space(),
        pruner: Some(pruner),
        checkpoint_root,
    })?;
    let before = study.trials()?.len();
    let interrupted = signal::install()?;
    let progress = Progress::new(a.trials, study.directions(), study.best_value().ok());
    let opts = OptimizeOptions::n_trials(a.trials)
        .n_jobs(a.jobs)
        .interrupt(interrupted)
        .callback(|_, t| progress.done(t));
    let result = tuner.run(&study, opts);
    progress.finish();
    let summary = result.context("tuning stopped")?;
    let trials = study.trials()?;
    let this_run = &trials[before.min(trials.len())..];
    let count = |s: TrialState| this_run.iter().filter(|t| t.state == s).count();
    let epochs = Epochs {
        study: tune::epochs_spent(&trials),
        this_run: tune::epochs_spent(this_run),
    };
    let counts = format!(
        "study `{}`: {} trial(s) in this run ({} complete, {} pruned, {} failed; {} epochs \
         trained); {} in the study ({} epochs)",
        study.name(),
        this_run.len(),
        count(TrialState::Complete),
        count(TrialState::Pruned),
        count(TrialState::Failed),
        epochs.this_run,
        trials.len(),
        epochs.study,
    );
    if summary.interrupted {
        eprintln!("{counts}");
        eprintln!(
            "interrupted: the running trial was marked failed (reason `interrupted`); \
             no test score without a finished study (run the command again to resume)"
        );
        return Ok(signal::EXIT_INTERRUPTED);
    }
    let pbt_done = summary.exhausted && scheduler.as_ref().is_some_and(|(n, _)| n == "pbt");
    if pbt_done {
        eprintln!("pbt: every member reached the max budget; the schedule is complete");
    }
    if study.best_trial().is_err() {
        let reason = this_run
            .iter()
            .find_map(|t| t.fail_reason.as_deref())
            .unwrap_or("every trial was pruned");
        bail!("{counts}\nno trial completed; the first failure: {reason}");
    }
    let report = tuner
        .report(&study)
        .context("the final evaluation of the best configuration failed")?;
    let wall = start.elapsed().as_secs_f64();
    match a.format {
        ListFormat::Json => {
            output::json(&json_report(&tuner, &study, &report, &trials, epochs, wall))?
        }
        ListFormat::Table => output::out(&text_report(
            &tuner,
            &counts,
            &report,
            wall,
            &a.storage.storage,
        ))?,
    }
    Ok(0)
}

fn metrics_object(m: &Metrics) -> serde_json::Value {
    serde_json::Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), serde_json::json!(v)))
            .collect(),
    )
}

/// Epochs (boosting rounds) trained, summed over trials: promotions that resumed
/// from a checkpoint count only their own epochs.
#[derive(Debug, Clone, Copy)]
struct Epochs {
    study: u64,
    this_run: u64,
}

fn json_report(
    tuner: &Tuner,
    study: &Study,
    r: &TuneReport,
    trials: &[hyperscape_core::FrozenTrial],
    epochs: Epochs,
    wall: f64,
) -> serde_json::Value {
    let n_trials = trials.len();
    let count = |s: TrialState| trials.iter().filter(|t| t.state == s).count();
    // Each trial's budget, epochs trained and value, in trial order: the anytime curve
    // (epochs spent against the best value at a budget) of the study.
    let trace: Vec<serde_json::Value> = trials
        .iter()
        .map(|t| {
            serde_json::json!({
                "number": t.number,
                "state": t.state.to_string(),
                "budget": t.system_attrs.get(hyperscape_core::pruner::BUDGET_ATTR),
                "parent": t.system_attrs.get(hyperscape_core::scheduler::PARENT_ATTR),
                "epochs_trained": t.user_attrs.get(tune::EPOCHS_TRAINED_ATTR),
                "last_step": t.intermediate_values.keys().next_back(),
                "value": t.values.as_ref().and_then(|v| v.first()),
            })
        })
        .collect();
    let s = tuner.settings();
    serde_json::json!({
        "study": study.name(),
        "model": s.model,
        "dataset": s.dataset,
        "metric": r.metric.name,
        "direction": r.metric.direction,
        "best_trial": r.best_trial,
        "best_params": tune::params_json(&r.best_params),
        "validation": metrics_object(&r.validation),
        "test": metrics_object(&r.test),
        "n_trials": n_trials,
        "n_complete": count(TrialState::Complete),
        "n_pruned": count(TrialState::Pruned),
        "n_failed": count(TrialState::Failed),
        "epochs_spent": epochs.study,
        "epochs_spent_this_run": epochs.this_run,
        "best_budget": r.budget,
        "trials": trace,
        "seed": s.seed,
        "cv": s.cv,
        "n_refit": r.n_refit,
        "n_test": r.n_test,
        "wall_seconds": wall,
    })
}

fn text_report(tuner: &Tuner, counts: &str, r: &TuneReport, wall: f64, storage: &str) -> String {
    let s = tuner.settings();
    let sp = tuner.splits();
    let scheme = match s.cv {
        Some(k) => format!(
            "{k}-fold cross-validation of {} samples",
            sp.pool.n_samples()
        ),
        None => format!(
            "{} train + {} validation samples",
            sp.train.len(),
            sp.valid.len()
        ),
    };
    let test = if sp.official_test {
        format!("the official test set ({} samples)", r.n_test)
    } else {
        format!("{} test samples held out", r.n_test)
    };
    let mut names: Vec<&String> = r.validation.keys().chain(r.test.keys()).collect();
    names.sort();
    names.dedup();
    let cell = |m: &Metrics, k: &str| {
        m.get(k)
            .map(|v| output::format_number(*v))
            .unwrap_or_default()
    };
    let rows: Vec<Vec<String>> = names
        .iter()
        .map(|k| vec![k.to_string(), cell(&r.validation, k), cell(&r.test, k)])
        .collect();
    format!(
        "{counts} ({})\n\
         {} on {}: {scheme}; {test} (seed {})\n\
         best trial {}: validation {} {}\n\
         best params: {}\n\n\
         {}\n\
         test: the best configuration refitted on all {} non-test samples, scored once\n\
         time: {wall:.1} s\n",
        common::redact(storage),
        s.model,
        s.dataset,
        s.seed,
        r.best_trial,
        r.metric.name,
        cell(&r.validation, &r.metric.name),
        output::params_inline(&r.best_params),
        output::table(&["metric", "validation", "test"], &rows),
        r.n_refit,
    )
}

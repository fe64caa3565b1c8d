//! Tuning a model on a dataset: the library side of `hyperscape tune`.
//!
//! A [`Tuner`] turns (model, dataset, search space, splits) into a study objective and,
//! once the study is done, into a final, honest score:
//!
//! 1. **Splits.** The held-out *test set* is fixed first, by the seed alone: the
//!    dataset's official test set where it has one ([`Loaded::test`]), otherwise a
//!    stratified `test_fraction` of the samples. Everything else is the *pool*, the only
//!    data tuning ever sees. The pool is split again into train and validation
//!    (`valid_fraction` of the pool, stratified), or into `cv` stratified folds.
//! 2. **Objective.** Each trial suggests the space's parameters (conditions honoured),
//!    fits on train and scores on validation, or averages the scores over the folds.
//!    Iterative models report their validation score after every epoch; the score is
//!    passed to [`Trial::report`] and training stops ([`Control::Stop`]) as soon as the
//!    study's pruner prunes the trial. With `cv`, the running mean after each fold is
//!    reported instead (step = folds done), so a hopeless configuration skips its
//!    remaining folds. The validation metrics are stored as the trial's user
//!    attributes [`VALIDATION_ATTR`] (and [`FOLDS_ATTR`], per fold).
//! 3. **Final evaluation.** The best configuration is refitted on the whole pool
//!    (train and validation) with the same seed and scored once on the test set. Its validation
//!    score (the one tuning selected it by) and its test score are reported separately.
//!
//! Every random step takes a seed derived from [`TuneConfig::seed`] (test split,
//! validation split, folds, model fits), and every trial fits with the same seed, so a
//! configuration scores the same whichever trial, thread or invocation runs it. A study
//! records its settings ([`TuneSettings`], the study user attribute [`TUNE_ATTR`]) and
//! refuses to be resumed with others: a different seed would move rows between the test
//! set and the pool.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use hyperscape_core::storage::StudyRecord;
use hyperscape_core::{
    Direction, OptimizeOptions, OptimizeSummary, SpaceDecl, Study, Trial, TrialResult,
};
use serde::{Deserialize, Serialize};

use crate::data::{self, Dataset, Loaded, Task};
use crate::error::{Error, Result};
use crate::metrics::{evaluate, Metrics};
use crate::model::{Checkpoint, Control, Fidelity, FitOptions, Model, Params};
use crate::split;

/// Default share of the pool (all non-test samples) held out for validation.
pub const DEFAULT_VALID_FRACTION: f64 = 0.2;
/// Default share of the samples held out as the test set, for datasets without an
/// official one.
pub const DEFAULT_TEST_FRACTION: f64 = 0.2;
/// Trial user attribute: the validation metrics (the mean over folds with `cv`).
pub const VALIDATION_ATTR: &str = "validation";
/// Trial user attribute: the validation metrics of each fold (with `cv`).
pub const FOLDS_ATTR: &str = "cv_folds";
/// Study user attribute: the [`TuneSettings`] the study was created with.
pub const TUNE_ATTR: &str = "tune";
/// Trial user attribute: the epochs (or boosting rounds) this trial actually trained,
/// those of a checkpoint it resumed from excluded. Summed over a study:
/// [`epochs_spent`].
pub const EPOCHS_TRAINED_ATTR: &str = "epochs_trained";
/// Trial user attribute: the epoch a scheduled trial's training started after (its
/// checkpoint's epoch when it resumed, 0 from scratch).
pub const START_EPOCH_ATTR: &str = "start_epoch";
/// Trial user attribute: why a promoted trial trained from scratch instead of resuming
/// from its parent's checkpoint.
pub const NOT_RESUMED_ATTR: &str = "not_resumed";
/// Failure reason of a trial stopped by the `interrupt` flag.
pub const INTERRUPTED_REASON: &str = "interrupted";

/// Metrics whose direction is known; any other name needs an explicit one (`NAME:max`).
pub const KNOWN_METRICS: &[(&str, Direction)] = &[
    ("accuracy", Direction::Maximize),
    ("cross_entropy", Direction::Minimize),
    ("mse", Direction::Minimize),
    ("rmse", Direction::Minimize),
    ("mae", Direction::Minimize),
    ("r2", Direction::Maximize),
];

/// The data to tune on.
#[derive(Debug, Clone)]
pub enum TuneData {
    /// A dataset of the catalogue ([`data::catalog`]), loaded by [`data::load`].
    Named(String),
    /// Data already in memory; with `test: None` the test set is split off `train`.
    Loaded(Box<Loaded>),
}

impl From<&str> for TuneData {
    fn from(name: &str) -> Self {
        TuneData::Named(name.to_string())
    }
}
impl From<String> for TuneData {
    fn from(name: String) -> Self {
        TuneData::Named(name)
    }
}
impl From<Loaded> for TuneData {
    fn from(l: Loaded) -> Self {
        TuneData::Loaded(Box::new(l))
    }
}
impl From<Dataset> for TuneData {
    fn from(d: Dataset) -> Self {
        TuneData::Loaded(Box::new(Loaded {
            train: d,
            test: None,
        }))
    }
}

/// The score a study optimises: a metric of [`evaluate`] and its direction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metric {
    pub name: String,
    pub direction: Direction,
}

impl Metric {
    /// Accuracy (maximised) for classification, RMSE (minimised) for regression.
    pub fn default_for(task: Task) -> Self {
        let name = match task {
            Task::Classification => "accuracy",
            Task::Regression => "rmse",
        };
        Self::parse(name, task).expect("default metrics are known")
    }

    /// `NAME` for a metric of [`KNOWN_METRICS`] (with its direction), or `NAME:max` /
    /// `NAME:min` for any other metric name. A known metric of the other task (RMSE for
    /// a classifier) is an error.
    pub fn parse(spec: &str, task: Task) -> Result<Self> {
        let (name, dir) = match spec.split_once(':') {
            Some((n, d)) => {
                let d: Direction = d.parse().map_err(|e: String| {
                    Error::Invalid(format!("metric `{spec}`: {e} after the colon"))
                })?;
                (n.trim(), Some(d))
            }
            None => (spec.trim(), None),
        };
        if name.is_empty() {
            return Err(Error::Invalid(format!("metric `{spec}` has no name")));
        }
        let known = KNOWN_METRICS.iter().find(|(n, _)| *n == name);
        if let Some((_, d)) = known {
            let classification = matches!(name, "accuracy" | "cross_entropy");
            if classification != (task == Task::Classification) {
                return Err(Error::Invalid(format!(
                    "metric `{name}` does not apply to {} (use one of {})",
                    task_name(task),
                    metrics_for(task).join(", ")
                )));
            }
            if let Some(asked) = dir.filter(|a| a != d) {
                return Err(Error::Invalid(format!(
                    "metric `{name}` is {}d, not {asked}d",
                    d
                )));
            }
        }
        let direction = match (known, dir) {
            (Some((_, d)), _) => *d,
            (None, Some(d)) => d,
            (None, None) => {
                return Err(Error::Invalid(format!(
                    "unknown metric `{name}`: use one of {} for {}, or give any other \
                     metric's direction as `{name}:max` or `{name}:min`",
                    metrics_for(task).join(", "),
                    task_name(task)
                )))
            }
        };
        Ok(Self {
            name: name.to_string(),
            direction,
        })
    }
}

fn task_name(task: Task) -> &'static str {
    match task {
        Task::Classification => "classification",
        Task::Regression => "regression",
    }
}

fn metrics_for(task: Task) -> Vec<&'static str> {
    match task {
        Task::Classification => vec!["accuracy", "cross_entropy"],
        Task::Regression => vec!["rmse", "mse", "mae", "r2"],
    }
}

/// What to tune and how.
pub struct TuneConfig {
    pub model: Box<dyn Model>,
    pub data: TuneData,
    /// The search space; `None` takes the model's [`Model::default_space`], sized on
    /// the pool (never on the test set).
    pub space: Option<SpaceDecl>,
    /// Score each configuration by stratified k-fold cross-validation of the pool
    /// instead of one train/validation split.
    pub cv: Option<usize>,
    /// Share of the pool held out for validation (without `cv`).
    pub valid_fraction: f64,
    /// Share of the samples held out as the test set, when the dataset has no official
    /// test set.
    pub test_fraction: f64,
    /// Seeds the splits and every fit.
    pub seed: u64,
    /// The score to optimise ([`Metric::parse`]); `None`: [`Metric::default_for`].
    pub metric: Option<String>,
    /// Worker threads per fit (0: the backend's default).
    pub threads: usize,
    /// Training budget of every fit, the final refit included.
    pub fidelity: Fidelity,
}

impl TuneConfig {
    /// Defaults: the model's space, a 20 % validation split, a 20 % test split, seed 0,
    /// the task's default metric, the backend's threads, full fidelity.
    pub fn new(model: Box<dyn Model>, data: impl Into<TuneData>) -> Self {
        Self {
            model,
            data: data.into(),
            space: None,
            cv: None,
            valid_fraction: DEFAULT_VALID_FRACTION,
            test_fraction: DEFAULT_TEST_FRACTION,
            seed: 0,
            metric: None,
            threads: 0,
            fidelity: Fidelity::full(),
        }
    }
}

/// The settings a study was tuned with, stored as its user attribute [`TUNE_ATTR`]. A
/// study resumes only with the same settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuneSettings {
    pub model: String,
    pub dataset: String,
    pub metric: Metric,
    pub seed: u64,
    pub cv: Option<usize>,
    pub valid_fraction: f64,
    pub test_fraction: f64,
    pub official_test: bool,
}

impl TuneSettings {
    /// The settings recorded in a study, if it was created by a tuner.
    pub fn from_record(record: &StudyRecord) -> Option<Result<Self>> {
        record.user_attrs.get(TUNE_ATTR).map(|v| {
            serde_json::from_value(v.clone()).map_err(|e| {
                Error::Invalid(format!(
                    "study `{}` has an unreadable `{TUNE_ATTR}` attribute: {e}",
                    record.name
                ))
            })
        })
    }

    /// The first setting that differs, as `name: stored vs requested`.
    fn difference(&self, other: &Self) -> Option<String> {
        let pairs: [(&str, String, String); 8] = [
            ("model", self.model.clone(), other.model.clone()),
            ("dataset", self.dataset.clone(), other.dataset.clone()),
            (
                "metric",
                format!("{} ({})", self.metric.name, self.metric.direction),
                format!("{} ({})", other.metric.name, other.metric.direction),
            ),
            ("seed", self.seed.to_string(), other.seed.to_string()),
            ("cv", fmt_cv(self.cv), fmt_cv(other.cv)),
            (
                "valid_fraction",
                self.valid_fraction.to_string(),
                other.valid_fraction.to_string(),
            ),
            (
                "test_fraction",
                self.test_fraction.to_string(),
                other.test_fraction.to_string(),
            ),
            (
                "official_test",
                self.official_test.to_string(),
                other.official_test.to_string(),
            ),
        ];
        pairs
            .into_iter()
            .find(|(_, a, b)| a != b)
            .map(|(k, a, b)| format!("{k}: {a} in the study, {b} now"))
    }
}

fn fmt_cv(cv: Option<usize>) -> String {
    cv.map_or("none".into(), |k| k.to_string())
}

/// How the samples were divided. Row indices refer to [`TuneSplits::pool`].
#[derive(Debug, Clone)]
pub struct TuneSplits {
    /// Every sample tuning may see (train + validation, or all folds).
    pub pool: Dataset,
    /// The held-out test set: never passed to a fit or a score during tuning.
    pub test: Dataset,
    /// Whether `test` is the dataset's official test set.
    pub official_test: bool,
    /// Training rows of the train/validation split (without `cv`).
    pub train: Vec<usize>,
    /// Validation rows of the train/validation split (without `cv`).
    pub valid: Vec<usize>,
    /// (train rows, validation rows) of each fold (with `cv`).
    pub folds: Option<Vec<(Vec<usize>, Vec<usize>)>>,
}

/// Independent seeds for the steps of a tuning run, derived from its one seed.
mod stream {
    pub const TEST: u64 = 1;
    pub const VALID: u64 = 2;
    pub const FOLDS: u64 = 3;
    pub const FIT: u64 = 4;
    pub const SUBSAMPLE: u64 = 5;

    /// SplitMix64 of `seed` and the stream id: distinct, well-mixed seeds per step.
    pub fn seed(seed: u64, stream: u64) -> u64 {
        let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Splits `data` into a test set and a pool, then the pool into train/validation (or
/// `cv` folds). The test set depends only on `seed` and `test_fraction` (or is the
/// official one), not on how the pool is used.
pub fn split_for_tuning(
    data: Loaded,
    valid_fraction: f64,
    test_fraction: f64,
    cv: Option<usize>,
    seed: u64,
) -> Result<TuneSplits> {
    if !(valid_fraction > 0.0 && valid_fraction < 1.0) {
        return Err(Error::Invalid(format!(
            "the validation fraction must be in (0, 1), got {valid_fraction}"
        )));
    }
    let (pool, test, official_test) = match data.test {
        Some(test) => {
            if test.n_features != data.train.n_features || test.task() != data.train.task() {
                return Err(Error::Invalid(format!(
                    "dataset `{}`: the test set ({} features, {}) does not match the \
                     training set ({} features, {})",
                    data.train.name,
                    test.n_features,
                    task_name(test.task()),
                    data.train.n_features,
                    task_name(data.train.task())
                )));
            }
            if test.n_samples() == 0 {
                return Err(Error::Invalid(format!(
                    "dataset `{}` has an empty test set",
                    data.train.name
                )));
            }
            (data.train, test, true)
        }
        None => {
            if !(test_fraction > 0.0 && test_fraction < 1.0) {
                return Err(Error::Invalid(format!(
                    "the test fraction must be in (0, 1), got {test_fraction}"
                )));
            }
            let s = split::train_valid_test(
                &data.train,
                0.0,
                test_fraction,
                stream::seed(seed, stream::TEST),
            )?;
            if s.test.is_empty() {
                return Err(Error::Invalid(format!(
                    "dataset `{}` has too few samples ({}) to hold out a test set of {test_fraction}",
                    data.train.name,
                    data.train.n_samples()
                )));
            }
            (
                data.train.select(&s.train),
                data.train.select(&s.test),
                false,
            )
        }
    };
    let (train, valid, folds) = match cv {
        Some(k) => {
            let folds = split::kfold(&pool, k, stream::seed(seed, stream::FOLDS))
                .map_err(|e| Error::Invalid(format!("--cv {k} on `{}`: {e}", pool.name)))?;
            (Vec::new(), Vec::new(), Some(folds))
        }
        None => {
            let s = split::train_valid_test(
                &pool,
                valid_fraction,
                0.0,
                stream::seed(seed, stream::VALID),
            )?;
            if s.valid.is_empty() {
                return Err(Error::Invalid(format!(
                    "dataset `{}`: a validation fraction of {valid_fraction} leaves no \
                     validation samples out of {}",
                    pool.name,
                    pool.n_samples()
                )));
            }
            (s.train, s.valid, None)
        }
    };
    Ok(TuneSplits {
        pool,
        test,
        official_test,
        train,
        valid,
        folds,
    })
}

/// The validation scores of one configuration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evaluation {
    /// Validation metrics (the mean over folds with `cv`).
    pub metrics: Metrics,
    /// Each fold's metrics (with `cv`; empty otherwise).
    pub folds: Vec<Metrics>,
    /// The pruner stopped the trial; `metrics` is empty.
    pub pruned: bool,
    /// The interrupt flag stopped the trial; `metrics` is empty.
    pub interrupted: bool,
    /// Epochs (rounds) trained by this evaluation, over every fold.
    pub epochs_trained: u32,
    /// The epoch training started after (a resumed checkpoint's), 0 from scratch.
    pub start_epoch: u32,
    /// Why a requested resume did not happen.
    pub not_resumed: Option<String>,
}

/// How a trial of a scheduler trains: to its budget, from its checkpoint.
#[derive(Debug, Clone, Default)]
struct TrialPlan {
    /// Train to this epoch (the trial's budget); `None`: the configuration's own.
    epochs: Option<u32>,
    /// The trial's checkpoint directory and whether to resume from it.
    checkpoint: Option<(std::path::PathBuf, bool)>,
}

/// The outcome of a study: the best configuration, its validation score and its test
/// score after the refit on the whole pool.
#[derive(Debug, Clone, PartialEq)]
pub struct TuneReport {
    /// Number of the best trial.
    pub best_trial: u64,
    pub best_params: Params,
    pub metric: Metric,
    /// The best trial's validation metrics (what tuning selected it by).
    pub validation: Metrics,
    /// The refitted model's metrics on the held-out test set.
    pub test: Metrics,
    /// Samples of the refit (the pool) and of the test set.
    pub n_refit: usize,
    pub n_test: usize,
    /// The epochs of the refit when a scheduler gave the best trial a budget.
    pub budget: Option<u32>,
}

/// Why an evaluation stopped early: the trial fails, or the whole study must stop
/// (a space the model rejects, a broken storage).
enum Stop {
    Trial(Error),
    Fatal(Error),
}

impl Stop {
    fn from_fit(e: Error) -> Stop {
        match e {
            // The space gives the model a name or a value it rejects: every further
            // trial would fail the same way.
            Error::Param { .. } | Error::UnknownModel { .. } | Error::Core(_) => Stop::Fatal(e),
            other => Stop::Trial(other),
        }
    }
    fn into_error(self) -> Error {
        match self {
            Stop::Trial(e) | Stop::Fatal(e) => e,
        }
    }
}

/// A model, its data split for tuning, its search space and its metric.
pub struct Tuner {
    model: Box<dyn Model>,
    space: SpaceDecl,
    metric: Metric,
    splits: TuneSplits,
    /// Materialised train/validation sets of the holdout split.
    holdout: Option<(Dataset, Dataset)>,
    settings: TuneSettings,
    fit_seed: u64,
    threads: usize,
    fidelity: Fidelity,
}

impl std::fmt::Debug for Tuner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tuner")
            .field("settings", &self.settings)
            .field("space", &self.space)
            .finish()
    }
}

impl Tuner {
    /// Loads the data, splits it and settles the space and the metric. Errors name what
    /// is wrong: an unknown dataset (with the known ones), a model that does not handle
    /// the task, a metric of the other task, a space whose direction contradicts the
    /// metric's.
    pub fn new(cfg: TuneConfig) -> Result<Self> {
        let loaded = match cfg.data {
            TuneData::Named(name) => {
                check_dataset_name(&name)?;
                data::load(&name)?
            }
            TuneData::Loaded(l) => *l,
        };
        let dataset = loaded.train.name.clone();
        let task = loaded.train.task();
        if !cfg.model.supports(task) {
            return Err(Error::Invalid(format!(
                "model `{}` does not handle {} (dataset `{dataset}`)",
                cfg.model.name(),
                task_name(task)
            )));
        }
        let metric = match &cfg.metric {
            Some(m) => Metric::parse(m, task)?,
            None => Metric::default_for(task),
        };
        let splits = split_for_tuning(
            loaded,
            cfg.valid_fraction,
            cfg.test_fraction,
            cfg.cv,
            cfg.seed,
        )?;
        let space = match cfg.space {
            Some(s) => s,
            None => cfg.model.default_space(&splits.pool)?,
        };
        if let Some(d) = &space.directions {
            if d.as_slice() != [metric.direction] {
                return Err(Error::Invalid(format!(
                    "the space declares direction(s) {}, but metric `{}` is {}d",
                    d.iter()
                        .map(|d| d.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    metric.name,
                    metric.direction
                )));
            }
        }
        let holdout = splits.folds.is_none().then(|| {
            (
                splits.pool.select(&splits.train),
                splits.pool.select(&splits.valid),
            )
        });
        let settings = TuneSettings {
            model: cfg.model.name().to_string(),
            dataset,
            metric: metric.clone(),
            seed: cfg.seed,
            cv: cfg.cv,
            valid_fraction: cfg.valid_fraction,
            // Unused with an official test set: recorded as 0 so that it never counts
            // as a difference.
            test_fraction: if splits.official_test {
                0.0
            } else {
                cfg.test_fraction
            },
            official_test: splits.official_test,
        };
        Ok(Self {
            model: cfg.model,
            space,
            metric,
            splits,
            holdout,
            settings,
            fit_seed: stream::seed(cfg.seed, stream::FIT),
            threads: cfg.threads,
            fidelity: cfg.fidelity,
        })
    }

    pub fn model(&self) -> &dyn Model {
        self.model.as_ref()
    }

    /// Leaves the parameter `name` out of the space (a scheduler's budget replaces the
    /// model's `epochs`); a parameter that another one's condition depends on stays.
    /// Returns whether it was removed.
    pub fn drop_param(&mut self, name: &str) -> bool {
        let depended = self
            .space
            .params
            .iter()
            .any(|p| p.condition.as_ref().is_some_and(|c| c.param == name));
        let before = self.space.params.len();
        if !depended {
            self.space.params.retain(|p| p.name != name);
        }
        self.space.params.len() < before
    }
    pub fn space(&self) -> &SpaceDecl {
        &self.space
    }
    pub fn metric(&self) -> &Metric {
        &self.metric
    }
    /// The direction a study of this tuner must have.
    pub fn direction(&self) -> Direction {
        self.metric.direction
    }
    pub fn splits(&self) -> &TuneSplits {
        &self.splits
    }
    pub fn settings(&self) -> &TuneSettings {
        &self.settings
    }

    fn fit_options<'a>(&self) -> FitOptions<'a> {
        FitOptions {
            seed: self.fit_seed,
            fidelity: self.fidelity,
            threads: self.threads,
            valid: None,
            on_epoch: None,
        }
    }

    /// Records this tuner's settings in a new study, or checks them against those of
    /// the study being resumed. A study with trials but no settings was not made by a
    /// tuner, and is refused.
    pub fn attach(&self, study: &Study) -> Result<()> {
        if study.directions() != [self.metric.direction] {
            return Err(Error::Invalid(format!(
                "study `{}` has direction(s) {:?}, but metric `{}` is {}d",
                study.name(),
                study.directions(),
                self.metric.name,
                self.metric.direction
            )));
        }
        match TuneSettings::from_record(study.record()) {
            Some(stored) => {
                let stored = stored?;
                if let Some(diff) = stored.difference(&self.settings) {
                    return Err(Error::Invalid(format!(
                        "study `{}` was tuned with other settings ({diff}); resume it with \
                         the same settings, or use another study name",
                        study.name()
                    )));
                }
                Ok(())
            }
            None => {
                if !study.trials()?.is_empty() {
                    return Err(Error::Invalid(format!(
                        "study `{}` already has trials and was not created by a tuner; \
                         use another study name",
                        study.name()
                    )));
                }
                let value = serde_json::to_value(&self.settings)
                    .map_err(|e| Error::Invalid(format!("cannot record the settings: {e}")))?;
                study
                    .storage()
                    .set_study_user_attr(study.id(), TUNE_ATTR, value)?;
                Ok(())
            }
        }
    }

    /// Scores one configuration on validation, without a trial (no reports, no
    /// pruning).
    pub fn evaluate(&self, params: &Params) -> Result<Evaluation> {
        self.evaluate_inner(params, None, None, &TrialPlan::default(), None)
            .map_err(Stop::into_error)
    }

    /// Trains one configuration on the training split as a trial would, without a
    /// study: `report` gets the tuned validation metric after each epoch (it may answer
    /// [`Control::Stop`]; the evaluation is then `pruned`, the model as it was is
    /// checkpointed), `epochs` overrides the configuration's epochs, and with a
    /// `checkpoint` the fit resumes from it (when `resume`) and leaves its state there.
    /// `interrupt` stops the fit at its next epoch. The command behind
    /// `hyperscape train` (an external objective with the tuner's splits).
    pub fn train_one(
        &self,
        params: &Params,
        epochs: Option<u32>,
        checkpoint: Option<Checkpoint<'_>>,
        interrupt: Option<&AtomicBool>,
        report: &mut dyn FnMut(u32, f64) -> Control,
    ) -> Result<Evaluation> {
        if self.holdout.is_none() && checkpoint.is_some() {
            return Err(Error::Invalid(
                "a checkpointed fit needs a validation split, not cross-validation".into(),
            ));
        }
        let plan = TrialPlan {
            epochs,
            checkpoint: checkpoint.map(|c| (c.dir.to_path_buf(), c.resume)),
        };
        self.evaluate_inner(params, None, interrupt, &plan, Some(report))
            .map_err(Stop::into_error)
    }

    fn evaluate_inner(
        &self,
        params: &Params,
        mut trial: Option<&mut Trial>,
        interrupt: Option<&AtomicBool>,
        plan: &TrialPlan,
        mut reporter: Option<&mut dyn FnMut(u32, f64) -> Control>,
    ) -> std::result::Result<Evaluation, Stop> {
        let interrupted = || interrupt.is_some_and(|f| f.load(Ordering::SeqCst));
        if let Some((train, valid)) = &self.holdout {
            let mut out = Evaluation::default();
            let mut stop: Option<Stop> = None;
            let predictor = {
                let metric = &self.metric.name;
                let mut on_epoch = |step: u32, m: &Metrics| -> Control {
                    out.epochs_trained += 1;
                    if interrupted() {
                        out.interrupted = true;
                        return Control::Stop;
                    }
                    if trial.is_none() && reporter.is_none() {
                        return Control::Continue;
                    }
                    let v = match m.get(metric) {
                        Some(v) => *v,
                        None => {
                            stop = Some(Stop::Fatal(missing_metric(
                                metric,
                                m,
                                self.model.name(),
                                "per-epoch ",
                            )));
                            return Control::Stop;
                        }
                    };
                    if !v.is_finite() {
                        stop = Some(Stop::Trial(Error::Training {
                            model: self.model.name().into(),
                            reason: format!("validation {metric} is {v} at epoch {step}"),
                        }));
                        return Control::Stop;
                    }
                    let Some(trial) = trial.as_deref_mut() else {
                        let report = reporter.as_mut().expect("checked above");
                        if report(step, v) == Control::Stop {
                            out.pruned = true;
                            return Control::Stop;
                        }
                        return Control::Continue;
                    };
                    match trial.report(u64::from(step), v) {
                        Ok(()) => Control::Continue,
                        Err(hyperscape_core::Error::Pruned { .. }) => {
                            out.pruned = true;
                            Control::Stop
                        }
                        Err(e) => {
                            stop = Some(Stop::Fatal(e.into()));
                            Control::Stop
                        }
                    }
                };
                let mut opts = self.fit_options();
                if plan.epochs.is_some() {
                    opts.fidelity.epochs = plan.epochs;
                }
                opts.valid = Some(valid);
                opts.on_epoch = Some(&mut on_epoch);
                match &plan.checkpoint {
                    None => self.model.fit(params, train, opts).map(|p| (p, 0, None)),
                    Some((dir, resume)) => self
                        .model
                        .fit_checkpointed(
                            params,
                            train,
                            opts,
                            Checkpoint {
                                dir,
                                resume: *resume,
                            },
                        )
                        .map(|f| (f.predictor, f.start_epoch, f.not_resumed)),
                }
            };
            let predictor = predictor.map(|(p, start, why)| {
                out.start_epoch = start;
                out.not_resumed = why;
                p
            });
            if let Some(s) = stop {
                return Err(s);
            }
            if out.pruned || out.interrupted {
                return Ok(out);
            }
            let predictor = predictor.map_err(Stop::from_fit)?;
            out.metrics = self.score(predictor.as_ref(), valid)?;
            return Ok(out);
        }

        // Cross-validation: the running mean after each fold is the trial's report.
        let folds = self.splits.folds.as_ref().expect("cv or holdout");
        let mut out = Evaluation::default();
        for (f, (train_rows, valid_rows)) in folds.iter().enumerate() {
            if interrupted() {
                out.interrupted = true;
                return Ok(out);
            }
            let train = self.splits.pool.select(train_rows);
            let valid = self.splits.pool.select(valid_rows);
            let predictor = {
                let mut on_epoch = |_: u32, _: &Metrics| -> Control {
                    out.epochs_trained += 1;
                    if interrupted() {
                        Control::Stop
                    } else {
                        Control::Continue
                    }
                };
                let mut opts = self.fit_options();
                if plan.epochs.is_some() {
                    opts.fidelity.epochs = plan.epochs;
                }
                opts.valid = Some(&valid);
                opts.on_epoch = Some(&mut on_epoch);
                self.model.fit(params, &train, opts)
            };
            if interrupted() {
                out.interrupted = true;
                return Ok(out);
            }
            let predictor = predictor.map_err(Stop::from_fit)?;
            out.folds.push(self.score(predictor.as_ref(), &valid)?);
            let mean = mean_metrics(&out.folds);
            if let Some(trial) = trial.as_deref_mut() {
                let v = mean[&self.metric.name];
                match trial.report(f as u64 + 1, v) {
                    Ok(()) => {}
                    Err(hyperscape_core::Error::Pruned { .. }) => {
                        out.pruned = true;
                        return Ok(out);
                    }
                    Err(hyperscape_core::Error::InvalidObjectiveValue(r)) => {
                        return Err(Stop::Trial(Error::Training {
                            model: self.model.name().into(),
                            reason: r,
                        }))
                    }
                    Err(e) => return Err(Stop::Fatal(e.into())),
                }
            }
            out.metrics = mean;
        }
        Ok(out)
    }

    /// Metrics of `predictor` on `data`, which must include the tuned metric.
    fn score(
        &self,
        predictor: &dyn crate::model::Predictor,
        data: &Dataset,
    ) -> std::result::Result<Metrics, Stop> {
        let prediction = predictor.predict(data).map_err(Stop::Trial)?;
        let m = evaluate(&prediction, &data.target).map_err(Stop::Trial)?;
        if !m.contains_key(&self.metric.name) {
            return Err(Stop::Fatal(missing_metric(
                &self.metric.name,
                &m,
                self.model.name(),
                "",
            )));
        }
        Ok(m)
    }

    /// One trial: suggests the space's parameters, scores them, stores the validation
    /// metrics as user attributes and returns the result to tell. `Err` is reserved for
    /// errors that doom every trial (a space the model rejects, a metric it does not
    /// give, a failing storage): stop the study on it. A fit that fails for this
    /// configuration only fails the trial.
    pub fn run_trial(
        &self,
        trial: &mut Trial,
        interrupt: Option<&AtomicBool>,
    ) -> Result<TrialResult> {
        if interrupt.is_some_and(|f| f.load(Ordering::SeqCst)) {
            return Ok(TrialResult::Failed(INTERRUPTED_REASON.into()));
        }
        let params = trial.suggest_space(&self.space)?;
        let plan = self.plan_of(trial)?;
        let result = self.evaluate_inner(&params, Some(trial), interrupt, &plan, None);
        if let Ok(ev) = &result {
            trial.set_user_attr(EPOCHS_TRAINED_ATTR, ev.epochs_trained)?;
            if plan.epochs.is_some() {
                trial.set_user_attr(START_EPOCH_ATTR, ev.start_epoch)?;
            }
            if let Some(why) = &ev.not_resumed {
                trial.set_user_attr(NOT_RESUMED_ATTR, why.as_str())?;
            }
        }
        match result {
            Ok(ev) if ev.interrupted => Ok(TrialResult::Failed(INTERRUPTED_REASON.into())),
            Ok(ev) if ev.pruned => Ok(TrialResult::Pruned),
            Ok(ev) => {
                trial.set_user_attr(VALIDATION_ATTR, metrics_json(&ev.metrics))?;
                if !ev.folds.is_empty() {
                    let folds: Vec<serde_json::Value> = ev.folds.iter().map(metrics_json).collect();
                    trial.set_user_attr(FOLDS_ATTR, folds)?;
                }
                Ok(TrialResult::Complete(vec![ev.metrics[&self.metric.name]]))
            }
            Err(Stop::Trial(e)) => Ok(TrialResult::Failed(e.to_string())),
            Err(Stop::Fatal(e)) => Err(e),
        }
    }

    /// What a scheduler told the trial: its budget (the epoch to train to) and its
    /// checkpoint directory, resumed from when the trial continues a parent's training.
    fn plan_of(&self, trial: &Trial) -> Result<TrialPlan> {
        let Some(budget) = trial.budget() else {
            return Ok(TrialPlan::default());
        };
        if !self.model.iterative() {
            return Err(Error::Invalid(format!(
                "model `{}` does not train in epochs or rounds: a scheduler's budget does \
                 not apply to it",
                self.model.name()
            )));
        }
        let epochs = u32::try_from(budget).map_err(|_| {
            Error::Invalid(format!("budget {budget} is too large for an epoch count"))
        })?;
        let checkpoint = match (trial.checkpoint_dir(), &self.splits.folds) {
            (Some(dir), None) => Some((dir, trial.previous_budget().is_some())),
            _ => None,
        };
        Ok(TrialPlan {
            epochs: Some(epochs.max(1)),
            checkpoint,
        })
    }

    /// Runs trials of `study` (see [`Study::run_trials`] for `opts`): checks or records
    /// the settings ([`attach`](Self::attach)), then runs [`run_trial`](Self::run_trial)
    /// in each. An error that dooms every trial stops the run and is returned (its
    /// trial is recorded as failed with the reason). `opts.interrupt`, when set, also
    /// stops a running fit at its next epoch.
    pub fn run(&self, study: &Study, opts: OptimizeOptions<'_>) -> Result<OptimizeSummary> {
        self.attach(study)?;
        let interrupt = opts.interrupt;
        run_until_fatal(study, opts, |trial| self.run_trial(trial, interrupt))
    }

    /// Refits `params` on the whole pool (train + validation, every non-test sample)
    /// with the tuning seed and scores the refit once on the test set. `validation` is
    /// passed through: the score tuning selected the configuration by.
    pub fn final_evaluation(&self, params: &Params, validation: Metrics) -> Result<TuneReport> {
        self.final_evaluation_at(params, validation, None)
    }

    /// The best trial of `study` and its [`final_evaluation`](Self::final_evaluation).
    /// Its validation metrics come from its user attribute; a trial without them (told
    /// by hand) is scored again.
    ///
    /// In a study run by a scheduler (trials with a budget), the best trial is the best
    /// complete trial at the largest budget any complete trial reached (a trial stopped
    /// at a low rung is not compared with trials trained longer), and the refit trains
    /// to that budget. Under PBT that is the best member's last interval: the refit
    /// trains its final hyperparameters for the whole budget, not the schedule that
    /// led to them ([`hyperscape_core::scheduler::lineage`] gives the schedule).
    pub fn report(&self, study: &Study) -> Result<TuneReport> {
        let best = best_trial(study, self.metric.direction)?;
        let validation = match best.user_attrs.get(VALIDATION_ATTR) {
            Some(v) => serde_json::from_value::<Metrics>(v.clone()).map_err(|e| {
                Error::Invalid(format!(
                    "trial {} has unreadable validation metrics: {e}",
                    best.number
                ))
            })?,
            None => self.evaluate(&best.params)?.metrics,
        };
        let budget = best
            .system_attrs
            .get(hyperscape_core::pruner::BUDGET_ATTR)
            .and_then(|v| v.as_u64())
            .map(|b| b.min(u64::from(u32::MAX)) as u32);
        let mut report = self.final_evaluation_at(&best.params, validation, budget)?;
        report.best_trial = best.number;
        report.budget = budget;
        Ok(report)
    }

    /// [`final_evaluation`](Self::final_evaluation) trained to `epochs` (`None`: the
    /// tuner's fidelity).
    pub fn final_evaluation_at(
        &self,
        params: &Params,
        validation: Metrics,
        epochs: Option<u32>,
    ) -> Result<TuneReport> {
        let mut opts = self.fit_options();
        if epochs.is_some() {
            opts.fidelity.epochs = epochs;
        }
        let predictor = self.model.fit(params, &self.splits.pool, opts)?;
        let prediction = predictor.predict(&self.splits.test)?;
        let test = evaluate(&prediction, &self.splits.test.target)?;
        Ok(TuneReport {
            best_trial: 0,
            best_params: params.clone(),
            metric: self.metric.clone(),
            validation,
            test,
            n_refit: self.splits.pool.n_samples(),
            n_test: self.splits.test.n_samples(),
            budget: epochs,
        })
    }
}

/// The best trial of a tuned study (see [`Tuner::report`]): among complete trials at
/// the largest budget reached when trials have budgets.
pub fn best_trial(study: &Study, direction: Direction) -> Result<hyperscape_core::FrozenTrial> {
    let trials = study.trials()?;
    let budget_of = |t: &hyperscape_core::FrozenTrial| {
        t.system_attrs
            .get(hyperscape_core::pruner::BUDGET_ATTR)
            .and_then(|v| v.as_u64())
    };
    let complete = || {
        trials
            .iter()
            .filter(|t| t.state == hyperscape_core::TrialState::Complete && t.values.is_some())
    };
    let top = complete().filter_map(budget_of).max();
    let best = complete()
        .filter(|t| top.is_none() || budget_of(t) == top)
        .min_by(|a, b| {
            let v = |t: &hyperscape_core::FrozenTrial| {
                direction.to_loss(t.values.as_ref().map_or(f64::NAN, |v| v[0]))
            };
            v(a).total_cmp(&v(b)).then(a.number.cmp(&b.number))
        });
    match best {
        Some(t) => Ok(t.clone()),
        None => Ok(study.best_trial()?),
    }
}

/// The epochs (rounds) trained by all trials of `study`, from their
/// [`EPOCHS_TRAINED_ATTR`]: promotions that resumed count only their new epochs.
pub fn epochs_spent(trials: &[hyperscape_core::FrozenTrial]) -> u64 {
    trials
        .iter()
        .filter_map(|t| t.user_attrs.get(EPOCHS_TRAINED_ATTR)?.as_u64())
        .sum()
}

/// Keeps a stratified, seeded subset of `n` samples of the training part of `data`
/// (the whole of it when it has no more); an official test set stays whole. The
/// subset's name gets a `[n]` suffix, so a study records it as another dataset.
/// Used to fit a large dataset's tuning into a CPU budget (`--subsample`).
pub fn subsample(mut data: Loaded, n: usize, seed: u64) -> Result<Loaded> {
    let total = data.train.n_samples();
    if n == 0 {
        return Err(Error::Invalid(
            "the subsample must keep at least one sample".into(),
        ));
    }
    if n >= total {
        return Ok(data);
    }
    let s = split::train_valid_test(
        &data.train,
        0.0,
        1.0 - n as f64 / total as f64,
        stream::seed(seed, stream::SUBSAMPLE),
    )?;
    let name = format!("{}[{n}]", data.train.name);
    data.train = data.train.select(&s.train);
    data.train.name = name;
    Ok(data)
}

/// The catalogue's name for `name` (case, `-` and `_` do not matter), or an error
/// naming the known datasets.
pub fn check_dataset_name(name: &str) -> Result<&'static str> {
    let key = |s: &str| s.trim().to_ascii_lowercase().replace('_', "-");
    let catalog = data::catalog();
    if let Some(d) = catalog.iter().find(|d| key(d.name) == key(name)) {
        return Ok(d.name);
    }
    let known: Vec<&str> = catalog.iter().map(|d| d.name).collect();
    Err(Error::Dataset {
        name: name.to_string(),
        reason: if known.is_empty() {
            "unknown dataset; this build has no named datasets".into()
        } else {
            format!(
                "unknown dataset; known datasets: {} (or a data file: .csv, .tsv, .arff, IDX)",
                known.join(", ")
            )
        },
    })
}

fn missing_metric(metric: &str, got: &Metrics, model: &str, what: &str) -> Error {
    Error::Invalid(format!(
        "metric `{metric}` is not among the {what}validation metrics of model `{model}` ({})",
        got.keys().cloned().collect::<Vec<_>>().join(", ")
    ))
}

/// The mean of each metric present in every fold.
fn mean_metrics(folds: &[Metrics]) -> Metrics {
    let Some(first) = folds.first() else {
        return Metrics::new();
    };
    first
        .keys()
        .filter(|k| folds.iter().all(|f| f.contains_key(*k)))
        .map(|k| {
            let sum: f64 = folds.iter().map(|f| f[k]).sum();
            (k.clone(), sum / folds.len() as f64)
        })
        .collect()
}

fn metrics_json(m: &Metrics) -> serde_json::Value {
    serde_json::Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), serde_json::json!(v)))
            .collect(),
    )
}

/// `params` as a JSON object (for reports).
pub fn params_json(params: &Params) -> serde_json::Value {
    serde_json::to_value(params).unwrap_or(serde_json::Value::Null)
}

/// `Tuner::run` shares one tuner between worker threads.
const _: fn() = || {
    fn is<T: Send + Sync>() {}
    is::<Tuner>();
};

/// [`Study::run_trials`] with an objective that can fail for good: the first error
/// (say, a model that cannot handle the data) is recorded on its trial as the failure
/// reason, stops the study and is returned, instead of failing every later trial the
/// same way.
pub(crate) fn run_until_fatal<F>(
    study: &Study,
    opts: OptimizeOptions<'_>,
    objective: F,
) -> Result<OptimizeSummary>
where
    F: Fn(&mut Trial) -> Result<TrialResult> + Sync,
{
    let fatal: Mutex<Option<Error>> = Mutex::new(None);
    let summary = study.run_trials(
        |trial| match objective(trial) {
            Ok(r) => r,
            Err(e) => {
                let reason = e.to_string();
                fatal
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_or_insert(e);
                study.stop();
                TrialResult::Failed(reason)
            }
        },
        opts,
    )?;
    match fatal.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(summary),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use std::collections::BTreeMap;

    use hyperscape_core::{
        Distribution, NopPruner, Pruner, RandomSampler, ThresholdPruner, TrialState,
    };
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::data::Target;
    use crate::model::{ParamReader, Prediction, Predictor};

    /// What one fit saw.
    #[derive(Debug, Clone, Default)]
    struct FitLog {
        train_ids: Vec<u32>,
        valid_ids: Vec<u32>,
        epochs_run: u32,
        threshold: f64,
    }

    /// A one-parameter classifier: class 1 when feature 1 exceeds `threshold`. Feature
    /// 0 of the test data is the row's id, so the log shows which rows each fit saw.
    /// Training runs `epochs` epochs, each reporting the validation metrics.
    struct Threshold {
        log: Arc<Mutex<Vec<FitLog>>>,
        /// Sets the flag at this epoch (a Ctrl-C arriving during training).
        trip: Option<(u32, Arc<AtomicBool>)>,
    }

    impl Threshold {
        fn boxed() -> (Box<dyn Model>, Arc<Mutex<Vec<FitLog>>>) {
            let log = Arc::new(Mutex::new(Vec::new()));
            let model = Threshold {
                log: log.clone(),
                trip: None,
            };
            (Box::new(model), log)
        }
    }

    struct ThresholdPredictor {
        threshold: f64,
    }

    impl Predictor for ThresholdPredictor {
        fn predict(&self, data: &Dataset) -> Result<Prediction> {
            Ok(Prediction::Labels(
                (0..data.n_samples())
                    .map(|i| u32::from(f64::from(data.row(i)[1]) > self.threshold))
                    .collect(),
            ))
        }
    }

    fn ids(d: &Dataset) -> Vec<u32> {
        (0..d.n_samples()).map(|i| d.row(i)[0] as u32).collect()
    }

    impl Model for Threshold {
        fn name(&self) -> &'static str {
            "threshold"
        }
        fn supports(&self, task: Task) -> bool {
            task == Task::Classification
        }
        fn iterative(&self) -> bool {
            true
        }
        fn default_space(&self, _: &Dataset) -> Result<SpaceDecl> {
            Ok(SpaceDecl::new().param("threshold", Distribution::float(0.0, 1.0))?)
        }
        fn fit(
            &self,
            params: &Params,
            train: &Dataset,
            mut opts: FitOptions<'_>,
        ) -> Result<Box<dyn Predictor>> {
            let mut r = ParamReader::new("threshold", params);
            let threshold = r.float("threshold", 0.5, 0.0, 1.0)?;
            let epochs = r.int("epochs", 1, 1, 100)? as u32;
            let epochs = opts.fidelity.epochs.unwrap_or(epochs);
            r.finish()?;
            let mut entry = FitLog {
                train_ids: ids(train),
                valid_ids: opts.valid.map(ids).unwrap_or_default(),
                epochs_run: 0,
                threshold,
            };
            let predictor = ThresholdPredictor { threshold };
            for step in 1..=epochs {
                entry.epochs_run = step;
                if let Some((at, flag)) = &self.trip {
                    if step == *at {
                        flag.store(true, Ordering::SeqCst);
                    }
                }
                if let (Some(valid), Some(cb)) = (opts.valid, opts.on_epoch.as_mut()) {
                    let m = evaluate(&predictor.predict(valid)?, &valid.target)?;
                    if cb(step, &m) == Control::Stop {
                        break;
                    }
                }
            }
            self.log.lock().unwrap().push(entry);
            Ok(Box::new(predictor))
        }
    }

    /// `n` rows `[id, x]` with x uniform in [0, 1) and class `x > 0.3`, 10 % flipped.
    fn synthetic(n: usize) -> Dataset {
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let mut features = Vec::new();
        let mut labels = Vec::new();
        for i in 0..n {
            let x: f32 = rng.random();
            let flip = rng.random::<f64>() < 0.1;
            features.extend_from_slice(&[i as f32, x]);
            labels.push(u32::from((x > 0.3) != flip));
        }
        let target = Target::Classes {
            labels,
            n_classes: 2,
            names: vec!["no".into(), "yes".into()],
        };
        Dataset::new("synthetic", features, 2, target).unwrap()
    }

    fn study(tuner: &Tuner, seed: u64, pruner: Box<dyn Pruner>) -> Study {
        Study::builder("tune-test")
            .direction(tuner.direction())
            .sampler(RandomSampler::new(Some(seed)))
            .boxed_pruner(pruner)
            .build()
            .unwrap()
    }

    fn sorted(mut v: Vec<u32>) -> Vec<u32> {
        v.sort_unstable();
        v
    }

    #[test]
    fn tuning_never_sees_the_test_set() {
        for cv in [None, Some(3)] {
            let (model, log) = Threshold::boxed();
            let mut cfg = TuneConfig::new(model, synthetic(200));
            cfg.cv = cv;
            let tuner = Tuner::new(cfg).unwrap();
            let test = ids(&tuner.splits().test);
            let pool = sorted(ids(&tuner.splits().pool));
            assert_eq!(test.len(), 40, "20 % of 200 samples");
            assert_eq!(pool.len(), 160);
            let s = study(&tuner, 1, Box::new(NopPruner));
            tuner.run(&s, OptimizeOptions::n_trials(6)).unwrap();
            let fits = std::mem::take(&mut *log.lock().unwrap());
            assert_eq!(fits.len(), 6 * cv.unwrap_or(1));
            for fit in &fits {
                for id in fit.train_ids.iter().chain(&fit.valid_ids) {
                    assert!(
                        !test.contains(id),
                        "row {id} of the test set was seen by tuning"
                    );
                }
                let mut seen = fit.train_ids.clone();
                seen.extend(&fit.valid_ids);
                assert_eq!(sorted(seen), pool, "each fit sees the pool, split");
                assert!(!fit.valid_ids.is_empty());
            }
            // The refit trains on the whole pool (train + validation) and nothing else.
            let report = tuner.report(&s).unwrap();
            let refit = log.lock().unwrap().pop().unwrap();
            assert_eq!(sorted(refit.train_ids), pool);
            assert!(refit.valid_ids.is_empty());
            assert_eq!((report.n_refit, report.n_test), (160, 40));
            assert!(report.test.contains_key("accuracy"));
            assert_eq!(
                report.validation[&tuner.metric().name],
                s.best_value().unwrap(),
                "validation is the best trial's tuned score"
            );
        }
    }

    #[test]
    fn official_test_set_is_the_test_set() {
        let all = synthetic(150);
        let rows: Vec<usize> = (0..150).collect();
        let loaded = Loaded {
            train: all.select(&rows[..100]),
            test: Some(all.select(&rows[100..])),
        };
        let (model, _) = Threshold::boxed();
        let tuner = Tuner::new(TuneConfig::new(model, loaded)).unwrap();
        assert!(tuner.splits().official_test);
        assert_eq!(ids(&tuner.splits().test), (100..150).collect::<Vec<u32>>());
        assert_eq!(
            sorted(ids(&tuner.splits().pool)),
            (0..100).collect::<Vec<u32>>()
        );
        assert_eq!(
            tuner.splits().valid.len(),
            20,
            "20 % of the official training set"
        );
    }

    #[test]
    fn the_test_set_depends_on_the_seed_only() {
        let test_rows = |seed: u64, cv: Option<usize>, valid: f64| {
            let (model, _) = Threshold::boxed();
            let mut cfg = TuneConfig::new(model, synthetic(200));
            cfg.seed = seed;
            cfg.cv = cv;
            cfg.valid_fraction = valid;
            sorted(ids(&Tuner::new(cfg).unwrap().splits().test))
        };
        let base = test_rows(5, None, 0.2);
        assert_eq!(base, test_rows(5, Some(4), 0.2));
        assert_eq!(base, test_rows(5, None, 0.3));
        assert_ne!(base, test_rows(6, None, 0.2));
        // Stratified: the class shares of the test set follow the data's.
        let (model, _) = Threshold::boxed();
        let tuner = Tuner::new(TuneConfig::new(model, synthetic(200))).unwrap();
        let share = |d: &Dataset| {
            let l = d.target.labels().unwrap();
            l.iter().filter(|&&c| c == 1).count() as f64 / l.len() as f64
        };
        assert!((share(&tuner.splits().test) - share(&synthetic(200))).abs() < 0.02);
    }

    #[test]
    fn cv_scores_the_mean_over_folds() {
        let (model, log) = Threshold::boxed();
        let mut cfg = TuneConfig::new(model, synthetic(200));
        cfg.cv = Some(4);
        let tuner = Tuner::new(cfg).unwrap();
        let s = study(&tuner, 2, Box::new(NopPruner));
        tuner.run(&s, OptimizeOptions::n_trials(3)).unwrap();
        let fits = log.lock().unwrap().clone();
        let pool = sorted(ids(&tuner.splits().pool));
        for (t, trial) in s.trials().unwrap().iter().enumerate() {
            assert_eq!(trial.state, TrialState::Complete);
            let folds = trial.user_attrs[FOLDS_ATTR].as_array().unwrap();
            assert_eq!(folds.len(), 4);
            let accs: Vec<f64> = folds
                .iter()
                .map(|f| f["accuracy"].as_f64().unwrap())
                .collect();
            let mean = accs.iter().sum::<f64>() / 4.0;
            assert!((trial.value().unwrap() - mean).abs() < 1e-12);
            assert_eq!(trial.user_attrs[VALIDATION_ATTR]["accuracy"], mean);
            // Reports: the running mean after each fold.
            let running: Vec<f64> = (1..=4)
                .map(|k| accs[..k].iter().sum::<f64>() / k as f64)
                .collect();
            assert_eq!(
                trial
                    .intermediate_values
                    .values()
                    .copied()
                    .collect::<Vec<_>>(),
                running
            );
            // The four validation folds partition the pool, with the same rows for
            // every trial, and each fold is scored on rows its fit did not train on.
            let trial_fits = &fits[4 * t..4 * t + 4];
            let all_valid: Vec<u32> = trial_fits
                .iter()
                .flat_map(|f| f.valid_ids.clone())
                .collect();
            assert_eq!(sorted(all_valid), pool);
            for f in trial_fits {
                assert!(f.valid_ids.iter().all(|id| !f.train_ids.contains(id)));
            }
        }
        // Every trial uses the same folds.
        for k in 0..4 {
            assert_eq!(fits[k].valid_ids, fits[4 + k].valid_ids);
            assert_eq!(fits[k].valid_ids, fits[8 + k].valid_ids);
        }
    }

    #[test]
    fn pruning_stops_training_at_the_epoch_it_is_pruned() {
        let space = SpaceDecl::from_toml_str(
            "[params.threshold]\ntype = \"float\"\nlow = 0.0\nhigh = 1.0\n\
             [params.epochs]\ntype = \"categorical\"\nchoices = [10]\n",
        )
        .unwrap();
        let run = |pruner: Box<dyn Pruner>| {
            let (model, log) = Threshold::boxed();
            let mut cfg = TuneConfig::new(model, synthetic(200));
            cfg.space = Some(space.clone());
            let tuner = Tuner::new(cfg).unwrap();
            let s = study(&tuner, 3, pruner);
            tuner.run(&s, OptimizeOptions::n_trials(12)).unwrap();
            let fits = log.lock().unwrap().clone();
            (s.trials().unwrap(), fits)
        };
        // Without pruning every fit runs its 10 epochs and reports each.
        let (trials, fits) = run(Box::new(NopPruner));
        assert!(fits.iter().all(|f| f.epochs_run == 10));
        assert!(trials.iter().all(|t| t.intermediate_values.len() == 10));
        // A threshold pruner stops trials below 0.75 validation accuracy at epoch 1.
        let (trials, fits) = run(Box::new(ThresholdPruner::new(Some(0.75), None).unwrap()));
        let pruned: Vec<_> = trials
            .iter()
            .filter(|t| t.state == TrialState::Pruned)
            .collect();
        assert!(
            !pruned.is_empty() && pruned.len() < trials.len(),
            "some but not all of 12 random thresholds are bad"
        );
        for (t, f) in trials.iter().zip(&fits) {
            let acc = t.intermediate_values[&1];
            assert_eq!(t.params["threshold"].as_f64().unwrap(), f.threshold);
            if acc < 0.75 {
                assert_eq!(t.state, TrialState::Pruned);
                assert_eq!(f.epochs_run, 1, "training stopped when pruned");
                assert_eq!(t.intermediate_values.len(), 1);
                // Recorded as pruned with its last step, and the epochs it ran.
                assert_eq!(t.intermediate_values.keys().next_back(), Some(&1));
                assert_eq!(t.user_attrs[EPOCHS_TRAINED_ATTR], 1);
                assert!(!t.user_attrs.contains_key(VALIDATION_ATTR));
            } else {
                assert_eq!(t.state, TrialState::Complete);
                assert_eq!(f.epochs_run, 10);
            }
        }
    }

    #[test]
    fn seeded_runs_are_reproducible() {
        let run = |seed: u64| {
            let (model, _) = Threshold::boxed();
            let mut cfg = TuneConfig::new(model, synthetic(200));
            cfg.seed = seed;
            let tuner = Tuner::new(cfg).unwrap();
            let s = study(&tuner, seed, Box::new(NopPruner));
            tuner.run(&s, OptimizeOptions::n_trials(8)).unwrap();
            let trials: Vec<_> = s
                .trials()
                .unwrap()
                .into_iter()
                .map(|t| (t.params, t.values))
                .collect();
            (trials, tuner.report(&s).unwrap())
        };
        let (a, ra) = run(11);
        let (b, rb) = run(11);
        assert_eq!(a, b);
        assert_eq!(ra, rb);
        let (c, _) = run(12);
        assert_ne!(a, c);
    }

    #[test]
    fn a_custom_space_is_used() {
        let (model, log) = Threshold::boxed();
        let mut cfg = TuneConfig::new(model, synthetic(200));
        cfg.space = Some(
            SpaceDecl::from_toml_str(
                "direction = \"maximize\"\n[params.threshold]\ntype = \"float\"\n\
                 low = 0.25\nhigh = 0.35\nstep = 0.05\n",
            )
            .unwrap(),
        );
        let tuner = Tuner::new(cfg).unwrap();
        let s = study(&tuner, 4, Box::new(NopPruner));
        tuner.run(&s, OptimizeOptions::n_trials(10)).unwrap();
        let levels = [0.25, 0.3, 0.35];
        for t in s.trials().unwrap() {
            let x = t.params["threshold"].as_f64().unwrap();
            assert!(levels.iter().any(|l| (l - x).abs() < 1e-9), "{x}");
        }
        for f in log.lock().unwrap().iter() {
            assert!(levels.iter().any(|l| (l - f.threshold).abs() < 1e-9));
        }
    }

    #[test]
    fn a_space_with_a_name_the_model_does_not_know_stops_with_a_clear_error() {
        let (model, log) = Threshold::boxed();
        let mut cfg = TuneConfig::new(model, synthetic(200));
        cfg.space = Some(
            SpaceDecl::from_toml_str("[params.treshold]\ntype = \"float\"\nlow = 0\nhigh = 1\n")
                .unwrap(),
        );
        let tuner = Tuner::new(cfg).unwrap();
        let s = study(&tuner, 5, Box::new(NopPruner));
        let err = tuner
            .run(&s, OptimizeOptions::n_trials(10))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`treshold`"), "{err}");
        assert!(
            err.contains("epochs, threshold"),
            "names the known ones: {err}"
        );
        let trials = s.trials().unwrap();
        assert_eq!(trials.len(), 1, "the study stopped at the first trial");
        assert_eq!(trials[0].state, TrialState::Failed);
        assert!(trials[0].fail_reason.as_ref().unwrap().contains("treshold"));
        assert!(log.lock().unwrap().is_empty());
    }

    #[test]
    fn metrics_and_directions() {
        let m = Metric::default_for(Task::Classification);
        assert_eq!(
            (m.name.as_str(), m.direction),
            ("accuracy", Direction::Maximize)
        );
        let m = Metric::default_for(Task::Regression);
        assert_eq!(
            (m.name.as_str(), m.direction),
            ("rmse", Direction::Minimize)
        );
        let m = Metric::parse("r2", Task::Regression).unwrap();
        assert_eq!(m.direction, Direction::Maximize);
        let m = Metric::parse("f1:max", Task::Classification).unwrap();
        assert_eq!((m.name.as_str(), m.direction), ("f1", Direction::Maximize));
        let e = Metric::parse("f1", Task::Classification)
            .unwrap_err()
            .to_string();
        assert!(e.contains("accuracy") && e.contains("f1:max"), "{e}");
        let e = Metric::parse("rmse", Task::Classification)
            .unwrap_err()
            .to_string();
        assert!(e.contains("classification"), "{e}");
        let e = Metric::parse("accuracy:min", Task::Classification)
            .unwrap_err()
            .to_string();
        assert!(e.contains("maximized"), "{e}");
        assert!(Metric::parse("accuracy:up", Task::Classification).is_err());

        // A metric the model does not give stops the study and names those it gives.
        let (model, _) = Threshold::boxed();
        let mut cfg = TuneConfig::new(model, synthetic(100));
        cfg.metric = Some("f1:max".into());
        let tuner = Tuner::new(cfg).unwrap();
        let s = study(&tuner, 6, Box::new(NopPruner));
        let e = tuner
            .run(&s, OptimizeOptions::n_trials(3))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`f1`") && e.contains("accuracy"), "{e}");
        // A space declaring the other direction contradicts the metric.
        let (model, _) = Threshold::boxed();
        let mut cfg = TuneConfig::new(model, synthetic(100));
        cfg.space = Some(
            SpaceDecl::from_toml_str(
                "direction = \"minimize\"\n[params.threshold]\ntype = \"float\"\nlow = 0\nhigh = 1\n",
            )
            .unwrap(),
        );
        let e = Tuner::new(cfg).unwrap_err().to_string();
        assert!(e.contains("accuracy") && e.contains("maximized"), "{e}");
    }

    #[test]
    fn bad_inputs_are_clear_errors() {
        let (model, _) = Threshold::boxed();
        let e = Tuner::new(TuneConfig::new(model, "no-such-data"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no-such-data") && e.contains("unknown dataset"),
            "{e}"
        );
        for name in data::catalog().iter().map(|d| d.name) {
            assert!(e.contains(name), "{e} should list {name}");
        }
        let (model, _) = Threshold::boxed();
        let regression =
            Dataset::new("reg", vec![0.0; 20], 2, Target::Values(vec![0.0; 10])).unwrap();
        let e = Tuner::new(TuneConfig::new(model, regression))
            .unwrap_err()
            .to_string();
        assert!(e.contains("regression") && e.contains("threshold"), "{e}");
        let (model, _) = Threshold::boxed();
        let mut cfg = TuneConfig::new(model, synthetic(20));
        cfg.cv = Some(40);
        let e = Tuner::new(cfg).unwrap_err().to_string();
        assert!(e.contains("--cv 40"), "{e}");
        let (model, _) = Threshold::boxed();
        let mut cfg = TuneConfig::new(model, synthetic(20));
        cfg.test_fraction = 1.5;
        assert!(Tuner::new(cfg).unwrap_err().to_string().contains("1.5"));
    }

    #[test]
    fn a_study_resumes_only_with_the_same_settings() {
        let make = |seed: u64| {
            let (model, _) = Threshold::boxed();
            let mut cfg = TuneConfig::new(model, synthetic(100));
            cfg.seed = seed;
            Tuner::new(cfg).unwrap()
        };
        let storage: Arc<dyn hyperscape_core::Storage> =
            Arc::new(hyperscape_core::InMemoryStorage::new());
        let open = |tuner: &Tuner| {
            Study::builder("resumed")
                .storage(storage.clone())
                .direction(tuner.direction())
                .sampler(RandomSampler::new(Some(1)))
                .load_if_exists(true)
                .build()
                .unwrap()
        };
        let t0 = make(0);
        t0.run(&open(&t0), OptimizeOptions::n_trials(2)).unwrap();
        // Resuming with the same settings adds trials.
        let s = open(&t0);
        t0.run(&s, OptimizeOptions::n_trials(2)).unwrap();
        assert_eq!(s.trials().unwrap().len(), 4);
        let stored = TuneSettings::from_record(s.record()).unwrap().unwrap();
        assert_eq!(&stored, t0.settings());
        // Another seed would move rows between the pool and the test set.
        let t1 = make(1);
        let e = t1
            .run(&open(&t1), OptimizeOptions::n_trials(2))
            .unwrap_err();
        assert!(e.to_string().contains("seed: 0 in the study, 1 now"), "{e}");
        assert_eq!(open(&t1).trials().unwrap().len(), 4);
    }

    #[test]
    fn an_interrupt_stops_the_running_fit_and_the_study() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let flag = Arc::new(AtomicBool::new(false));
        let model = Threshold {
            log: log.clone(),
            trip: Some((2, flag.clone())),
        };
        let mut cfg = TuneConfig::new(Box::new(model), synthetic(100));
        cfg.space = Some(
            SpaceDecl::from_toml_str(
                "[params.threshold]\ntype = \"float\"\nlow = 0\nhigh = 1\n\
                 [params.epochs]\ntype = \"categorical\"\nchoices = [5]\n",
            )
            .unwrap(),
        );
        let tuner = Tuner::new(cfg).unwrap();
        let s = study(&tuner, 7, Box::new(NopPruner));
        let summary = tuner
            .run(&s, OptimizeOptions::n_trials(5).interrupt(&flag))
            .unwrap();
        assert!(summary.interrupted);
        let trials = s.trials().unwrap();
        assert_eq!(trials.len(), 1, "no trial starts after the interrupt");
        assert_eq!(trials[0].state, TrialState::Failed);
        assert_eq!(trials[0].fail_reason.as_deref(), Some(INTERRUPTED_REASON));
        let fits = log.lock().unwrap();
        assert_eq!(fits.len(), 1);
        assert_eq!(
            fits[0].epochs_run, 2,
            "the fit stopped at the epoch of the signal"
        );
    }

    /// Trials of a scheduler study by number.
    fn by_number(
        trials: &[hyperscape_core::FrozenTrial],
    ) -> BTreeMap<u64, &hyperscape_core::FrozenTrial> {
        trials.iter().map(|t| (t.number, t)).collect()
    }

    fn user_u64(t: &hyperscape_core::FrozenTrial, key: &str) -> Option<u64> {
        t.user_attrs.get(key).and_then(|v| v.as_u64())
    }

    fn sys_u64(t: &hyperscape_core::FrozenTrial, key: &str) -> Option<u64> {
        t.system_attrs.get(key).and_then(|v| v.as_u64())
    }

    fn scheduled_study(tuner: &Tuner, scheduler: Box<dyn Pruner>, root: &std::path::Path) -> Study {
        Study::builder("sched-test")
            .direction(tuner.direction())
            .sampler(RandomSampler::new(Some(5)))
            .boxed_pruner(scheduler)
            .checkpoint_root(root)
            .build()
            .unwrap()
    }

    /// Logistic regression on iris, scored by validation cross-entropy (a continuous
    /// value, so that equal values mean equal weights).
    #[cfg(all(feature = "neural", feature = "classic"))]
    fn logreg_tuner() -> Tuner {
        let space = SpaceDecl::from_toml_str(
            "[params.learning_rate]\ntype = \"float\"\nlow = 0.01\nhigh = 0.5\nlog = true\n\
             [params.momentum]\ntype = \"float\"\nlow = 0.0\nhigh = 0.9\n",
        )
        .unwrap();
        let mut cfg = TuneConfig::new(crate::model_by_name("logreg").unwrap(), "iris");
        cfg.space = Some(space);
        cfg.metric = Some("cross_entropy".into());
        cfg.threads = 1;
        Tuner::new(cfg).unwrap()
    }

    #[test]
    #[cfg(all(feature = "neural", feature = "classic"))]
    fn hyperband_promotions_resume_and_count_each_epoch_once() {
        use hyperscape_core::scheduler::{bracket_rungs, budget_levels, BracketScheduler};
        let tuner = logreg_tuner();
        let dir = tempfile::tempdir().unwrap();
        let (min, max, eta) = (1, 9, 3);
        let hb = BracketScheduler::hyperband(min, Some(max), eta).unwrap();
        let s = scheduled_study(&tuner, Box::new(hb), dir.path());
        // One whole Hyperband iteration: the trials of every rung of every bracket.
        let levels = budget_levels(min, max, eta).unwrap();
        let brackets: Vec<_> = (0..levels.len())
            .rev()
            .map(|b| bracket_rungs(&levels, eta, b, None))
            .collect();
        let n_trials: u64 = brackets.iter().flatten().map(|r| r.count).sum();
        tuner
            .run(&s, OptimizeOptions::n_trials(n_trials as usize))
            .unwrap();
        let trials = s.trials().unwrap();
        assert_eq!(trials.len() as u64, n_trials);
        assert!(trials.iter().all(|t| t.state == TrialState::Complete));
        // Rung arithmetic: a configuration promoted from b_(i-1) to b_i trains only
        // b_i - b_(i-1) more epochs.
        let expected: u64 = brackets
            .iter()
            .map(|rungs| {
                let mut prev = 0;
                rungs
                    .iter()
                    .map(|r| {
                        let e = r.count * (r.budget - prev);
                        prev = r.budget;
                        e
                    })
                    .sum::<u64>()
            })
            .sum();
        assert_eq!(epochs_spent(&trials), expected);
        let all = by_number(&trials);
        let mut promoted = 0;
        for t in &trials {
            let budget = sys_u64(t, hyperscape_core::pruner::BUDGET_ATTR).unwrap();
            assert!(levels.contains(&budget));
            match sys_u64(t, hyperscape_core::scheduler::PARENT_ATTR) {
                None => {
                    assert_eq!(user_u64(t, START_EPOCH_ATTR), Some(0));
                    assert_eq!(user_u64(t, EPOCHS_TRAINED_ATTR), Some(budget));
                    assert_eq!(t.intermediate_values.keys().next(), Some(&1));
                }
                Some(p) => {
                    promoted += 1;
                    let parent = all[&p];
                    let prev = sys_u64(parent, hyperscape_core::pruner::BUDGET_ATTR).unwrap();
                    assert_eq!(t.params, parent.params);
                    assert_eq!(
                        user_u64(t, START_EPOCH_ATTR),
                        Some(prev),
                        "trial {}",
                        t.number
                    );
                    assert_eq!(user_u64(t, EPOCHS_TRAINED_ATTR), Some(budget - prev));
                    assert!(!t.user_attrs.contains_key(NOT_RESUMED_ATTR));
                    // It reports only the epochs it trains.
                    let steps: Vec<u64> = t.intermediate_values.keys().copied().collect();
                    assert_eq!(steps, (prev + 1..=budget).collect::<Vec<_>>());
                }
            }
        }
        assert!(promoted > 0);
        // A promotion that resumed ends where one fit of the same length ends: the
        // same validation curve (exact: weights and optimiser state carry over).
        let t = trials
            .iter()
            .find(|t| {
                t.system_attrs
                    .contains_key(hyperscape_core::scheduler::PARENT_ATTR)
                    && sys_u64(t, hyperscape_core::pruner::BUDGET_ATTR) == Some(max)
            })
            .expect("a configuration promoted to the top rung");
        let mut curve = BTreeMap::new();
        let direct = tuner
            .train_one(&t.params, Some(max as u32), None, None, &mut |e, v| {
                curve.insert(u64::from(e), v);
                Control::Continue
            })
            .unwrap();
        assert_eq!(direct.epochs_trained, max as u32);
        for (step, v) in &t.intermediate_values {
            assert_eq!(curve[step], *v, "step {step}");
        }
        assert_eq!(t.values.as_ref().unwrap()[0], curve[&max]);
    }

    #[test]
    fn a_model_that_cannot_resume_retrains_and_counts_every_epoch() {
        use hyperscape_core::scheduler::AshaScheduler;
        let space = SpaceDecl::from_toml_str(
            "[params.threshold]\ntype = \"float\"\nlow = 0.0\nhigh = 1.0\n",
        )
        .unwrap();
        let (model, log) = Threshold::boxed();
        let mut cfg = TuneConfig::new(model, synthetic(200));
        cfg.space = Some(space);
        let tuner = Tuner::new(cfg).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let asha = AshaScheduler::new(1, Some(9), 3).unwrap();
        let s = scheduled_study(&tuner, Box::new(asha), dir.path());
        tuner.run(&s, OptimizeOptions::n_trials(20)).unwrap();
        let trials = s.trials().unwrap();
        let fits = log.lock().unwrap().clone();
        let mut promoted = 0;
        for (t, f) in trials.iter().zip(&fits) {
            let budget = sys_u64(t, hyperscape_core::pruner::BUDGET_ATTR).unwrap();
            // Every trial trains from epoch 1 to its budget, and says so.
            assert_eq!(u64::from(f.epochs_run), budget);
            assert_eq!(user_u64(t, EPOCHS_TRAINED_ATTR), Some(budget));
            assert_eq!(user_u64(t, START_EPOCH_ATTR), Some(0));
            if t.system_attrs
                .contains_key(hyperscape_core::scheduler::PARENT_ATTR)
            {
                promoted += 1;
                let why = t.user_attrs[NOT_RESUMED_ATTR].as_str().unwrap();
                assert!(why.contains("cannot resume"), "{why}");
            }
        }
        assert!(promoted > 0, "ASHA promoted some of 20 trials");
        let total: u64 = fits.iter().map(|f| u64::from(f.epochs_run)).sum();
        assert_eq!(epochs_spent(&trials), total);
    }

    #[test]
    #[cfg(all(feature = "neural", feature = "classic"))]
    fn pbt_members_resume_their_own_or_the_exploited_checkpoint() {
        use hyperscape_core::scheduler::{lineage, PbtScheduler};
        let tuner = logreg_tuner();
        let dir = tempfile::tempdir().unwrap();
        let (population, interval, max) = (4usize, 2u64, 6u64);
        let pbt = PbtScheduler::new(population, interval, max, Some(3)).unwrap();
        let s = scheduled_study(&tuner, Box::new(pbt), dir.path());
        let summary = tuner.run(&s, OptimizeOptions::n_trials(100)).unwrap();
        assert!(summary.exhausted, "the schedule completes");
        let trials = s.trials().unwrap();
        assert_eq!(trials.len(), population * (max / interval) as usize);
        // Each member trains each interval once: no epoch is trained twice.
        assert_eq!(epochs_spent(&trials), population as u64 * max);
        let mut exploits = 0;
        for t in &trials {
            let budget = sys_u64(t, hyperscape_core::pruner::BUDGET_ATTR).unwrap();
            let start = user_u64(t, START_EPOCH_ATTR).unwrap();
            assert_eq!(budget - start, interval, "trial {}", t.number);
            assert!(!t.user_attrs.contains_key(NOT_RESUMED_ATTR));
            if t.system_attrs.contains_key("pbt_exploited_member") {
                exploits += 1;
            }
        }
        assert!(exploits > 0, "the bottom quantile exploited");
        // The lineage of a last-generation member covers every interval.
        let last = trials.last().unwrap();
        let chain = lineage(&trials, last.number);
        assert_eq!(chain.len() as u64, max / interval);
        assert_eq!(
            chain
                .iter()
                .map(|t| sys_u64(t, hyperscape_core::pruner::BUDGET_ATTR).unwrap())
                .collect::<Vec<_>>(),
            (1..=max / interval)
                .map(|g| g * interval)
                .collect::<Vec<_>>()
        );
    }
}

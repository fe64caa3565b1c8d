//! The model interface: a [`Model`] turns hyperparameters and training data into a
//! [`Predictor`], under a seed and a [`Fidelity`].

use std::collections::BTreeMap;

use hyperscape_core::{ParamValue, SpaceDecl};

use crate::data::{Dataset, Task};
use crate::error::{Error, Result};
use crate::metrics::Metrics;

/// One configuration: hyperparameter name → value, as a trial holds them.
pub type Params = BTreeMap<String, ParamValue>;

/// How much of the full training budget a fit may use. Landscape mapping and
/// multi-fidelity search lower these; `Fidelity::full()` is the model's own setting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fidelity {
    /// The fraction of the training rows used, in (0, 1].
    pub train_fraction: f64,
    /// Overrides the epochs (neural models), iterations / trees (boosting, forests)
    /// of the configuration; `None` keeps the configuration's own value.
    pub epochs: Option<u32>,
}

impl Fidelity {
    pub fn full() -> Self {
        Self {
            train_fraction: 1.0,
            epochs: None,
        }
    }
}

impl Default for Fidelity {
    fn default() -> Self {
        Self::full()
    }
}

/// The answer of an epoch callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Continue,
    /// Stop training now (a pruner said so); the fit returns the model as it is.
    Stop,
}

/// Called after each epoch or iteration of an iterative model with the 1-based step
/// and the validation metrics at that step.
pub type EpochCallback<'a> = dyn FnMut(u32, &Metrics) -> Control + 'a;

/// Everything a fit needs besides the hyperparameters and the training data.
pub struct FitOptions<'a> {
    /// Seeds every random step of the fit (initialisation, shuffling, bagging).
    pub seed: u64,
    pub fidelity: Fidelity,
    /// Worker threads the fit may use (0: the backend's default).
    pub threads: usize,
    /// Validation data for per-epoch reports and early stopping.
    pub valid: Option<&'a Dataset>,
    /// Per-epoch reports (only called when `valid` is set and the model is iterative).
    pub on_epoch: Option<&'a mut EpochCallback<'a>>,
}

impl<'a> FitOptions<'a> {
    pub fn seeded(seed: u64) -> Self {
        Self {
            seed,
            fidelity: Fidelity::full(),
            threads: 0,
            valid: None,
            on_epoch: None,
        }
    }
}

/// What a fitted model predicts.
#[derive(Debug, Clone, PartialEq)]
pub enum Prediction {
    /// Row-major class probabilities, `n_samples × n_classes`.
    Probabilities { p: Vec<f32>, n_classes: usize },
    /// Hard class labels, for models without probabilities.
    Labels(Vec<u32>),
    /// Regression outputs.
    Values(Vec<f64>),
}

/// A trained model.
pub trait Predictor: Send + Sync {
    fn predict(&self, data: &Dataset) -> Result<Prediction>;
}

/// Where a checkpointed fit keeps its state, and whether it resumes from it.
#[derive(Debug, Clone, Copy)]
pub struct Checkpoint<'a> {
    /// The directory of the checkpoint files (it exists).
    pub dir: &'a std::path::Path,
    /// Resume from the checkpoint in `dir` (written by an earlier fit of a
    /// configuration of the same model on the same data), instead of starting afresh.
    pub resume: bool,
}

/// The outcome of [`Model::fit_checkpointed`].
pub struct CheckpointedFit {
    pub predictor: Box<dyn Predictor>,
    /// The epoch the fit started after: the checkpoint's epoch when it resumed, 0 when
    /// it trained from scratch.
    pub start_epoch: u32,
    /// Why a requested resume did not happen (the model cannot resume, or the
    /// checkpoint does not fit this configuration).
    pub not_resumed: Option<String>,
}

/// A model family with its hyperparameters.
pub trait Model: Send + Sync {
    /// The registry name (`svm`, `mlp`, ...).
    fn name(&self) -> &'static str;
    /// Whether the model handles this task.
    fn supports(&self, task: Task) -> bool;
    /// Whether training is iterative (epochs / iterations), so `on_epoch` reports and
    /// `Fidelity::epochs` apply.
    fn iterative(&self) -> bool;
    /// The search space `hyperscape tune` uses when the user gives none, sized for
    /// `data` (for example k of KNN up to a share of the sample count).
    fn default_space(&self, data: &Dataset) -> Result<SpaceDecl>;
    /// Trains on `train` with the hyperparameters `params`. Missing hyperparameters
    /// take the model's defaults; unknown names and bad values are errors.
    fn fit(
        &self,
        params: &Params,
        train: &Dataset,
        opts: FitOptions<'_>,
    ) -> Result<Box<dyn Predictor>>;

    /// Whether [`fit_checkpointed`](Self::fit_checkpointed) resumes from a checkpoint
    /// (the neural models do: weights and optimiser state).
    fn resumable(&self) -> bool {
        false
    }

    /// [`fit`](Self::fit), resuming from the checkpoint in `ckpt.dir` when asked and
    /// possible, and leaving the state reached there for a later resume.
    /// `opts.fidelity.epochs` is the epoch to train to; the epoch callback receives the
    /// epochs actually trained (`start_epoch + 1 ..`). The default cannot resume: it
    /// trains from scratch (`start_epoch` 0) and says so in `not_resumed`.
    fn fit_checkpointed(
        &self,
        params: &Params,
        train: &Dataset,
        opts: FitOptions<'_>,
        ckpt: Checkpoint<'_>,
    ) -> Result<CheckpointedFit> {
        Ok(CheckpointedFit {
            predictor: self.fit(params, train, opts)?,
            start_epoch: 0,
            not_resumed: ckpt
                .resume
                .then(|| format!("model `{}` cannot resume from a checkpoint", self.name())),
        })
    }
}

/// The models of the registry, in the order `hyperscape tune --help` lists them.
pub const MODELS: &[&str] = &["logreg", "svm", "knn", "rf", "gbt", "mlp", "lenet"];

/// A model by registry name.
pub fn model_by_name(name: &str) -> Result<Box<dyn Model>> {
    crate::models::by_name(name).unwrap_or_else(|| {
        Err(Error::UnknownModel {
            name: name.to_string(),
            reason: format!("unknown model; known models: {}", MODELS.join(", ")),
        })
    })
}

/// Reads typed hyperparameters with defaults, and rejects names the model does not
/// know, so a typo in a space file is an error rather than a silently ignored value.
pub struct ParamReader<'a> {
    model: &'static str,
    params: &'a Params,
    known: Vec<&'static str>,
}

impl<'a> ParamReader<'a> {
    pub fn new(model: &'static str, params: &'a Params) -> Self {
        Self {
            model,
            params,
            known: Vec::new(),
        }
    }

    fn err(&self, param: &str, reason: impl Into<String>) -> Error {
        Error::Param {
            model: self.model.to_string(),
            param: param.to_string(),
            reason: reason.into(),
        }
    }

    /// A float hyperparameter in `[low, high]`.
    pub fn float(&mut self, name: &'static str, default: f64, low: f64, high: f64) -> Result<f64> {
        self.known.push(name);
        let v = match self.params.get(name) {
            None => return Ok(default),
            Some(v) => v
                .as_f64()
                .ok_or_else(|| self.err(name, format!("expected a number, got {v}")))?,
        };
        if !(low..=high).contains(&v) {
            return Err(self.err(name, format!("{v} is outside [{low}, {high}]")));
        }
        Ok(v)
    }

    /// An integer hyperparameter in `[low, high]`.
    pub fn int(&mut self, name: &'static str, default: i64, low: i64, high: i64) -> Result<i64> {
        self.known.push(name);
        let v = match self.params.get(name) {
            None => return Ok(default),
            Some(v) => v
                .as_i64()
                .ok_or_else(|| self.err(name, format!("expected an integer, got {v}")))?,
        };
        if !(low..=high).contains(&v) {
            return Err(self.err(name, format!("{v} is outside [{low}, {high}]")));
        }
        Ok(v)
    }

    /// A choice among `choices`.
    pub fn choice(
        &mut self,
        name: &'static str,
        default: &'static str,
        choices: &[&'static str],
    ) -> Result<&'static str> {
        self.known.push(name);
        let v = match self.params.get(name) {
            None => return Ok(default),
            Some(v) => v.to_string(),
        };
        choices
            .iter()
            .copied()
            .find(|c| *c == v)
            .ok_or_else(|| self.err(name, format!("`{v}` is not one of {}", choices.join(", "))))
    }

    /// A boolean hyperparameter.
    pub fn boolean(&mut self, name: &'static str, default: bool) -> Result<bool> {
        self.known.push(name);
        match self.params.get(name) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| self.err(name, format!("expected true or false, got {v}"))),
        }
    }

    /// Fails on any hyperparameter that no reader call asked for.
    pub fn finish(self) -> Result<()> {
        if let Some(unknown) = self
            .params
            .keys()
            .find(|k| !self.known.contains(&k.as_str()))
        {
            let mut known = self.known.clone();
            known.sort_unstable();
            return Err(self.err(
                unknown,
                format!(
                    "unknown hyperparameter; this model takes {}",
                    known.join(", ")
                ),
            ));
        }
        Ok(())
    }
}

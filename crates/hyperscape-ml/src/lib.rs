//! # hyperscape-ml
//!
//! Real ML workloads for hyperscape, kept out of the light core because of their
//! dependencies: datasets (built-in and from package registries), loaders for IDX, CSV
//! and ARFF, seeded stratified splits and k-fold cross-validation, and a model zoo whose
//! hyperparameters are the ones people tune. Every model takes a seed, trains
//! reproducibly, honours the fidelity parameters (fraction of the training data,
//! epochs or iterations) and, where training is iterative, reports a validation value
//! per epoch so pruners and multi-fidelity schedulers can use it.

#[cfg(feature = "neural")]
pub mod bilevel;
pub mod data;
pub mod error;
pub mod landscape_map;
pub mod metrics;
pub mod model;
pub mod models;
pub mod split;
pub mod tune;

pub use data::{Dataset, ImageShape, Target, Task};
pub use error::{Error, Result};
pub use metrics::{evaluate, Metrics};
pub use model::{
    model_by_name, Checkpoint, CheckpointedFit, Control, Fidelity, FitOptions, Model, Params,
    Prediction, Predictor, MODELS,
};
pub use tune::{Metric, TuneConfig, TuneData, TuneReport, TuneSettings, Tuner};

//! # hyperscape-core
//!
//! The light core of hyperscape, a hyperparameter optimisation engine: search spaces,
//! trials, studies (ask/tell and the closure-driven `optimize`), samplers, pruners and
//! storage. No ML dependencies live here.
//!
//! ```
//! use hyperscape_core::{Study, Direction, SobolSampler};
//!
//! let study = Study::builder("quickstart")
//!     .direction(Direction::Minimize)
//!     .sampler(SobolSampler::new(Some(42)))
//!     .build()?;
//! study.optimize(|t| -> hyperscape_core::Result<f64> {
//!     let x = t.suggest_float("x", -10.0, 10.0)?;
//!     let kind = t.suggest_categorical("kind", ["square", "abs"])?;
//!     Ok(if kind.as_str() == Some("square") { x * x } else { x.abs() })
//! }, 64)?;
//! println!("best: {:?}", study.best_trial()?.params);
//! # Ok::<(), hyperscape_core::Error>(())
//! ```

pub mod error;
pub mod export;
pub mod functions;
pub mod param;
pub mod paths;
pub mod problems;
pub mod pruner;
pub mod sampler;
pub mod scheduler;
pub mod space;
pub(crate) mod special;
pub mod storage;
pub mod study;
pub mod tabular;
pub mod trial;
pub mod view;

pub use error::{Error, Result};
pub use param::{Distribution, ParamValue};
pub use problems::{problem_by_name, Problem};
pub use pruner::{
    pruner_by_name, Decision, HyperbandPruner, MedianPruner, NopPruner, ParetoPruner,
    PatientPruner, PercentilePruner, PruneContext, Pruner, PrunerOptions, SuccessiveHalvingPruner,
    ThresholdPruner, WilcoxonPruner,
};
pub use sampler::{
    CmaEsSampler, GpSampler, GridSampler, RandomSampler, Sampler, SobolSampler, TpeSampler,
};
pub use scheduler::{
    scheduler_by_name, AshaScheduler, BohbDensity, BohbScheduler, BracketScheduler, DehbScheduler,
    PbtScheduler, SchedulerOptions,
};
pub use space::{SearchSpace, SpaceDecl};
pub use storage::{open_storage, InMemoryStorage, Storage};
pub use study::{
    HeartbeatConfig, ObjectiveValue, OptimizeOptions, OptimizeSummary, Study, StudyBuilder, Trial,
};
pub use trial::{Direction, FrozenTrial, TrialResult, TrialState};
pub use view::StudyView;

//! Gradient-based bilevel hyperparameter optimisation of differentiable models
//! (feature `neural`).
//!
//! - [`gbho`]: the GP-value-function / augmented-Lagrangian method of Sinha, Gunwal and
//!   Kumar (arXiv 2208.12118), with the design choices of `docs/bilevel.md`.
//! - [`ift`]: implicit-differentiation hypergradients (Lorraine et al. 2020), beyond
//!   the paper.
//! - [`gp`]: the value-function GP φ̂(λ) with an analytic gradient.
//! - [`lower`]: the lower-level solver (φ(λ) on the full training set), shared by
//!   every method and baseline.
//! - [`search`]: grid, random, GP-BO, TPE and Hyperband baselines on hyperscape's
//!   samplers.
//! - [`upper`]: GBHO's global phase, GP-EI on the upper-level value F(w*(λ)) through
//!   hyperscape-core's GP sampler.
//! - [`model`]: the [`DiffModel`] trait, the data as tensors, the objectives.
//!
//! λ is the log of the L2 weight: `f(λ, w) = L(w; train) + Σ_l exp(λ_l)·½‖W_l‖²/n`.

pub mod gbho;
pub mod gp;
pub mod ift;
pub mod lower;
pub mod model;
pub mod search;
pub mod upper;

pub use gbho::{
    design_points, gbho, latin_hypercube, Evaluation, GbhoConfig, GbhoResult, GbhoScheme,
    GlobalStep, OuterStep, Problem,
};
pub use gp::ValueGp;
pub use ift::{hypergradient, ift, IftConfig};
pub use lower::{solve_lower, solve_lower_from_cut, solve_lower_to, LowerConfig, LowerSolution};
pub use model::{
    data_loss, lower as lower_objective, paper_splits, penalty, set_metrics, Data, Dense,
    DiffModel, HpKind, ModelSpec, SetMetrics, Splits,
};
pub use search::{search, search_in, SearchConfig, SearchMethod, SharedStudy};
pub use upper::UpperBo;

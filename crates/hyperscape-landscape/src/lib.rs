//! Fitness landscape analysis of hyperparameter grids, after "On the Hyperparameter
//! Loss Landscapes of Machine Learning Models: An Exploratory Study" (Huang and Li).
//!
//! A [`Landscape`] is a set of configurations (level codes of each hyperparameter)
//! with one fitness each. Neighbours differ in exactly one hyperparameter (ordinal:
//! adjacent level; categorical: any other level; boolean: the flip). [`analyze`]
//! computes the profile ([`Report`]): improvement graph, local and global optima,
//! FDC, neutrality, autocorrelation (ruggedness), basins, fitness flattening,
//! assortativity and optionally a local optima network. [`similarity`] compares two
//! landscapes on a shared grid. Formulas: `docs/landscape.md`.
//!
//! ```
//! use hyperscape_landscape::{analyze, Landscape, Param, Settings};
//! // f(x) = -(x - 3)^2 on 0..7: unimodal, optimum at x = 3.
//! let l = Landscape::full_grid(vec![Param::ordinal_range("x", 7)], "f", true, |c| {
//!     -((c[0] as f64 - 3.0).powi(2))
//! })
//! .unwrap();
//! let r = analyze(&l, &Settings::default()).unwrap();
//! assert_eq!(r.n_local_optima, 1);
//! assert_eq!(r.basins.global_basin_size, 7);
//! ```

#[cfg(feature = "arrow")]
pub mod columnar;
pub mod embedding;
pub mod error;
pub mod forest;
pub mod importance;
pub mod landscape;
pub mod lon;
pub mod metrics;
#[cfg(feature = "plot")]
pub mod plot;
pub mod recommend;
pub mod report;
pub mod similarity;
pub mod stats;
pub mod table;

pub use error::{Error, Result};
pub use forest::{forest_fanova, ForestFanova, ForestSettings};
pub use importance::{functional_anova, ped_anova, AnovaTarget, Importance, PedAnova};
pub use landscape::{Landscape, Param, ParamKind};
pub use metrics::Epsilon;
pub use recommend::{low_fidelity_is_safe_proxy, recommend, Recommendation};
pub use report::{analyze, ImportanceReport, Report, Settings};
pub use similarity::{
    compare_landscapes, similarity, similarity_matrix_of_columns, similarity_matrix_of_landscapes,
    Similarity, SimilarityMatrix, SimilarityMeasure, DEFAULT_GAMMAS,
};
pub use table::{load_csv, load_file, load_reader, LoadInfo, LoadOptions, Table};

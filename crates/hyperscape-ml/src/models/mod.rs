//! The model zoo. Each model is one file; `by_name` is the registry.

use crate::error::{Error, Result};
use crate::model::Model;

#[cfg(feature = "classic")]
pub(crate) mod common;
#[cfg(feature = "classic")]
pub mod gbt;
#[cfg(feature = "classic")]
pub mod knn;
#[cfg(feature = "classic")]
pub mod rf;
#[cfg(feature = "classic")]
pub mod svm;

/// A model by name: `None` for unknown names, an error for known models that this
/// build leaves out (a cargo feature is off).
pub(crate) fn by_name(name: &str) -> Option<Result<Box<dyn Model>>> {
    let missing = |feature: &str| {
        Some(Err(Error::UnknownModel {
            name: name.to_string(),
            reason: format!(
                "this build has no `{feature}` feature; rebuild with `--features {feature}`"
            ),
        }))
    };
    match name {
        #[cfg(feature = "classic")]
        "svm" => Some(Ok(Box::new(svm::SupportVectorMachine))),
        #[cfg(feature = "classic")]
        "knn" => Some(Ok(Box::new(knn::Knn))),
        #[cfg(feature = "classic")]
        "rf" => Some(Ok(Box::new(rf::RandomForest))),
        #[cfg(feature = "classic")]
        "gbt" => Some(Ok(Box::new(gbt::GradientBoosting))),
        #[cfg(not(feature = "classic"))]
        "svm" | "knn" | "rf" | "gbt" => missing("classic"),
        "logreg" | "mlp" | "lenet" => missing("classic/neural"),
        _ => None,
    }
}

//! The model zoo. Each model is one file; `by_name` is the registry.

use crate::error::{Error, Result};
use crate::model::Model;

#[cfg(feature = "classic")]
pub(crate) mod common;
#[cfg(feature = "classic")]
pub mod gbt;
#[cfg(feature = "classic")]
pub mod knn;
#[cfg(feature = "neural")]
pub mod lenet;
#[cfg(feature = "neural")]
pub mod logreg;
#[cfg(feature = "neural")]
pub mod mlp;
#[cfg(feature = "neural")]
mod neural;
/// The network core shared by the neural models (and the bilevel method).
#[cfg(feature = "neural")]
pub mod nn;
#[cfg(feature = "classic")]
pub mod rf;
#[cfg(feature = "classic")]
pub mod svm;

/// A model by name: `None` for unknown names, an error for known models that this
/// build leaves out (a cargo feature is off).
pub(crate) fn by_name(name: &str) -> Option<Result<Box<dyn Model>>> {
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
        "svm" | "knn" | "rf" | "gbt" => missing(name, "classic"),
        #[cfg(feature = "neural")]
        "logreg" => Some(Ok(Box::new(logreg::LogReg))),
        #[cfg(feature = "neural")]
        "mlp" => Some(Ok(Box::new(mlp::Mlp))),
        #[cfg(feature = "neural")]
        "lenet" => Some(Ok(Box::new(lenet::LeNet))),
        #[cfg(not(feature = "neural"))]
        "logreg" | "mlp" | "lenet" => missing(name, "neural"),
        _ => None,
    }
}

/// The answer for a known model whose cargo feature this build leaves out.
#[allow(dead_code)] // unused when every model feature is on
fn missing(name: &str, feature: &str) -> Option<Result<Box<dyn Model>>> {
    Some(Err(Error::UnknownModel {
        name: name.to_string(),
        reason: format!(
            "this build has no `{feature}` feature; rebuild with `--features {feature}`"
        ),
    }))
}

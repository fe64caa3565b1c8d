//! The model zoo. Each model is one file; `by_name` is the registry.

use crate::error::{Error, Result};
use crate::model::Model;

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
        #[cfg(feature = "neural")]
        "logreg" => Some(Ok(Box::new(logreg::LogReg))),
        #[cfg(feature = "neural")]
        "mlp" => Some(Ok(Box::new(mlp::Mlp))),
        #[cfg(feature = "neural")]
        "lenet" => Some(Ok(Box::new(lenet::LeNet))),
        #[cfg(not(feature = "neural"))]
        "logreg" | "mlp" | "lenet" => missing("neural"),
        "svm" | "knn" | "rf" | "gbt" => missing("classic"),
        _ => None,
    }
}

//! The model zoo. Each model is one file; `by_name` is the registry.

use crate::error::{Error, Result};
use crate::model::Model;

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
        "logreg" | "svm" | "knn" | "rf" | "gbt" | "mlp" | "lenet" => missing("classic/neural"),
        _ => None,
    }
}

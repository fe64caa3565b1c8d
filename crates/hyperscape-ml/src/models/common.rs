//! Plumbing shared by the classical models (SVM, KNN, random forest, gradient-boosted
//! trees): the training subset of a fidelity, feature standardisation fitted on the
//! training rows only, checks of the data a predictor is given, and thread pools.

use std::borrow::Cow;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::data::{Dataset, Task};
use crate::error::{Error, Result};
use crate::model::{Fidelity, Model};
use crate::split::fraction_of;

/// Mixed into the fit seed for the fidelity subset, so the subset and the model's own
/// random streams (bagging, feature sampling) are not the same stream.
const SUBSET_SALT: u64 = 0x9E37_79B9_7F4A_7C15;

/// Checks that `model` handles the task of `train` and that the fidelity is valid, and
/// returns the rows the fit trains on: all of `train`, or for `train_fraction < 1` a
/// seeded random subset (a prefix of one seeded permutation, so a larger fraction
/// always contains a smaller one under the same seed). Non-finite features are
/// rejected here, naming the row and column.
pub(crate) fn training_rows<'d>(
    model: &dyn Model,
    train: &'d Dataset,
    fidelity: &Fidelity,
    seed: u64,
) -> Result<Cow<'d, Dataset>> {
    if !model.supports(train.task()) {
        return Err(Error::Invalid(format!(
            "model `{}` does not handle {} (dataset `{}`)",
            model.name(),
            task_name(train.task()),
            train.name
        )));
    }
    let fraction = fidelity.train_fraction;
    if !(fraction > 0.0 && fraction <= 1.0) {
        return Err(Error::Invalid(format!(
            "fidelity train_fraction must be in (0, 1], got {fraction}"
        )));
    }
    if fidelity.epochs == Some(0) {
        return Err(Error::Invalid(
            "fidelity epochs must be at least 1".to_string(),
        ));
    }
    if train.n_samples() == 0 {
        return Err(Error::Invalid(format!(
            "dataset `{}` has no training samples",
            train.name
        )));
    }
    check_finite(train)?;
    if fraction >= 1.0 {
        return Ok(Cow::Borrowed(train));
    }
    let mut rows: Vec<usize> = (0..train.n_samples()).collect();
    rows.shuffle(&mut ChaCha8Rng::seed_from_u64(seed ^ SUBSET_SALT));
    Ok(Cow::Owned(train.select(fraction_of(&rows, fraction))))
}

fn task_name(task: Task) -> &'static str {
    match task {
        Task::Classification => "classification",
        Task::Regression => "regression",
    }
}

/// Rejects NaN and infinite feature values, naming the first one.
pub(crate) fn check_finite(data: &Dataset) -> Result<()> {
    if let Some(pos) = data.features.iter().position(|x| !x.is_finite()) {
        let (row, col) = (pos / data.n_features, pos % data.n_features);
        return Err(Error::Invalid(format!(
            "dataset `{}`: feature `{}` of sample {row} is {} (impute or drop it first)",
            data.name, data.feature_names[col], data.features[pos]
        )));
    }
    Ok(())
}

/// Checks that `data` has the feature count a predictor was trained with.
pub(crate) fn check_features(model: &str, n_features: usize, data: &Dataset) -> Result<()> {
    if data.n_features != n_features {
        return Err(Error::Invalid(format!(
            "model `{model}` was trained on {n_features} features; dataset `{}` has {}",
            data.name, data.n_features
        )));
    }
    check_finite(data)
}

/// Per-feature standardisation `(x − mean) / std`, fitted on training rows only.
///
/// Written here rather than taken from smartcore's `StandardScaler`, which divides a
/// constant training column by the smallest positive float: a test value that differs
/// from the constant then becomes ~1e308. Here a constant column keeps scale 1 (as in
/// scikit-learn), so it maps to `x − mean` and stays harmless.
#[derive(Debug, Clone)]
pub(crate) struct Standardizer {
    mean: Vec<f64>,
    scale: Vec<f64>,
}

impl Standardizer {
    pub(crate) fn fit(data: &Dataset) -> Self {
        let d = data.n_features;
        let n = data.n_samples().max(1) as f64;
        let mut mean = vec![0.0f64; d];
        for i in 0..data.n_samples() {
            for (m, &x) in mean.iter_mut().zip(data.row(i)) {
                *m += x as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = vec![0.0f64; d];
        for i in 0..data.n_samples() {
            for ((v, &x), m) in var.iter_mut().zip(data.row(i)).zip(&mean) {
                let c = x as f64 - m;
                *v += c * c;
            }
        }
        let scale = var
            .into_iter()
            .map(|v| {
                let s = (v / n).sqrt();
                if s > 1e-12 {
                    s
                } else {
                    1.0
                }
            })
            .collect();
        Self { mean, scale }
    }

    /// The standardised features of `data`, row-major `f64`.
    pub(crate) fn transform(&self, data: &Dataset) -> Vec<f64> {
        let mut out = Vec::with_capacity(data.features.len());
        for i in 0..data.n_samples() {
            out.extend(
                data.row(i)
                    .iter()
                    .zip(self.mean.iter().zip(&self.scale))
                    .map(|(&x, (m, s))| (x as f64 - m) / s),
            );
        }
        out
    }
}

/// The features of `data` as row-major `f64`, unscaled (trees do not need scaling).
pub(crate) fn features_f64(data: &Dataset) -> Vec<f64> {
    data.features.iter().map(|&x| x as f64).collect()
}

/// A rayon pool with `threads` workers (0: rayon's default, one per core).
pub(crate) fn thread_pool(model: &str, threads: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::Training {
            model: model.to_string(),
            reason: format!("cannot start {threads} worker threads: {e}"),
        })
}

/// A smartcore failure as a training error of `model`.
pub(crate) fn backend_err(model: &str, e: impl std::fmt::Display) -> Error {
    Error::Training {
        model: model.to_string(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Target;

    fn toy() -> Dataset {
        Dataset::new(
            "toy",
            vec![1.0, 5.0, 3.0, 5.0, 5.0, 5.0],
            2,
            Target::Values(vec![0.0, 1.0, 2.0]),
        )
        .unwrap()
    }

    #[test]
    fn standardizer_centres_scales_and_keeps_constant_columns_finite() {
        let data = toy();
        let s = Standardizer::fit(&data);
        let z = s.transform(&data);
        let col0: Vec<f64> = z.iter().step_by(2).copied().collect();
        let sd = (8.0f64 / 3.0).sqrt();
        assert!((col0[0] + 2.0 / sd).abs() < 1e-12 && col0[1].abs() < 1e-12);
        // The constant column maps to x - mean, so a different test value stays finite.
        let test = Dataset::new("t", vec![3.0, 7.0], 2, Target::Values(vec![0.0])).unwrap();
        assert_eq!(s.transform(&test)[1], 2.0);
    }

    #[test]
    fn non_finite_features_are_rejected_by_name() {
        let data = Dataset::new("bad", vec![1.0, f32::NAN], 2, Target::Values(vec![0.0])).unwrap();
        let err = check_finite(&data).unwrap_err().to_string();
        assert!(err.contains("`x1`") && err.contains("sample 0"), "{err}");
    }
}

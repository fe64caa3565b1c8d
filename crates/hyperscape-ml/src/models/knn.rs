//! `knn`: k-nearest neighbours (smartcore's `KNNClassifier` / `KNNRegressor`) on
//! standardised features.
//!
//! Hyperparameters: `k` (neighbours, capped at the training-sample count), `weights`
//! (`uniform`, or `distance`: inverse-distance votes), `metric` (`euclidean`,
//! `manhattan`, `minkowski` with order `p`, `cosine`). Classification predicts the
//! (weighted) vote shares as probabilities; regression the (weighted) mean.
//!
//! The search is smartcore's linear scan: its cover tree was slower on every built-in
//! dataset (`benches/classic.rs`: breast-cancer predictions 17 ms against 2 ms), and
//! cosine distance breaks the triangle inequality a cover tree relies on. Prediction
//! runs in parallel over chunks of the query rows (`FitOptions::threads`).
//! Training is not random, so the seed only picks the fidelity subset.

use hyperscape_core::{Distribution, ParamValue, SpaceDecl};
use rayon::prelude::*;
use smartcore::algorithm::neighbour::KNNAlgorithmName;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::metrics::distance::Distance;
use smartcore::neighbors::knn_classifier::{KNNClassifier, KNNClassifierParameters};
use smartcore::neighbors::knn_regressor::{KNNRegressor, KNNRegressorParameters};
use smartcore::neighbors::KNNWeightFunction;

use super::common::{self, Standardizer};
use crate::data::{Dataset, Target, Task};
use crate::error::Result;
use crate::model::{FitOptions, Model, ParamReader, Params, Prediction, Predictor};

const NAME: &str = "knn";
/// Query rows per parallel prediction task.
const CHUNK: usize = 256;

/// The k-nearest-neighbours model.
pub struct Knn;

/// A distance between standardised rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Metric {
    Euclidean,
    Manhattan,
    /// Minkowski distance of order `p >= 1`.
    Minkowski(f64),
    /// `1 − cos(a, b)`; 1 when either row is all zeros.
    Cosine,
}

impl Distance<Vec<f64>> for Metric {
    fn distance(&self, a: &Vec<f64>, b: &Vec<f64>) -> f64 {
        let pairs = a.iter().zip(b.iter());
        match *self {
            Metric::Euclidean => pairs.map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt(),
            Metric::Manhattan => pairs.map(|(x, y)| (x - y).abs()).sum(),
            Metric::Minkowski(p) => pairs
                .map(|(x, y)| (x - y).abs().powf(p))
                .sum::<f64>()
                .powf(1.0 / p),
            Metric::Cosine => {
                let (mut dot, mut na, mut nb) = (0.0, 0.0, 0.0);
                for (x, y) in pairs {
                    dot += x * y;
                    na += x * x;
                    nb += y * y;
                }
                if na == 0.0 || nb == 0.0 {
                    1.0
                } else {
                    (1.0 - dot / (na.sqrt() * nb.sqrt())).max(0.0)
                }
            }
        }
    }
}

struct Config {
    k: usize,
    weights: KNNWeightFunction,
    metric: Metric,
}

fn read_config(params: &Params) -> Result<Config> {
    let mut r = ParamReader::new(NAME, params);
    let k = r.int("k", 5, 1, 100_000)? as usize;
    let weights = match r.choice("weights", "uniform", &["uniform", "distance"])? {
        "distance" => KNNWeightFunction::Distance,
        _ => KNNWeightFunction::Uniform,
    };
    let metric = r.choice(
        "metric",
        "euclidean",
        &["euclidean", "manhattan", "minkowski", "cosine"],
    )?;
    // `p` is checked whatever the metric, and used by the Minkowski metric only.
    let p = r.float("p", 3.0, 1.0, 100.0)?;
    let metric = match metric {
        "manhattan" => Metric::Manhattan,
        "minkowski" => Metric::Minkowski(p),
        "cosine" => Metric::Cosine,
        _ => Metric::Euclidean,
    };
    r.finish()?;
    Ok(Config { k, weights, metric })
}

type Classifier = KNNClassifier<f64, u32, DenseMatrix<f64>, Vec<u32>, Metric>;
type Regressor = KNNRegressor<f64, f64, DenseMatrix<f64>, Vec<f64>, Metric>;

enum Fitted {
    Classifier {
        knn: Classifier,
        /// The classes present in training, in smartcore's column order.
        classes: Vec<u32>,
        n_classes: usize,
    },
    Regressor(Regressor),
}

struct KnnPredictor {
    scaler: Standardizer,
    n_features: usize,
    fitted: Fitted,
    pool: rayon::ThreadPool,
}

impl Model for Knn {
    fn name(&self) -> &'static str {
        NAME
    }

    fn supports(&self, _task: Task) -> bool {
        true
    }

    fn iterative(&self) -> bool {
        false
    }

    fn default_space(&self, data: &Dataset) -> Result<SpaceDecl> {
        // Up to 50 neighbours, but never more than a tenth of the samples.
        let k_max = (data.n_samples() / 10).clamp(2, 50) as i64;
        Ok(SpaceDecl::new()
            .param("k", Distribution::int_log(1, k_max))?
            .param(
                "weights",
                Distribution::categorical(["uniform", "distance"]),
            )?
            .param(
                "metric",
                Distribution::categorical(["euclidean", "manhattan", "minkowski", "cosine"]),
            )?
            .conditional_param(
                "p",
                Distribution::float(1.0, 4.0),
                "metric",
                vec![ParamValue::from("minkowski")],
            )?)
    }

    fn fit(
        &self,
        params: &Params,
        train: &Dataset,
        opts: FitOptions<'_>,
    ) -> Result<Box<dyn Predictor>> {
        let config = read_config(params)?;
        let train = common::training_rows(self, train, &opts.fidelity, opts.seed)?;
        let scaler = Standardizer::fit(&train);
        let x = DenseMatrix::new(
            train.n_samples(),
            train.n_features,
            scaler.transform(&train),
            false,
        )
        .map_err(|e| common::backend_err(NAME, e))?;
        let k = config.k.min(train.n_samples());
        let fitted = match &train.target {
            Target::Classes {
                labels: y,
                n_classes,
                ..
            } => {
                let mut classes = y.clone();
                classes.sort_unstable();
                classes.dedup();
                let p = KNNClassifierParameters::default()
                    .with_k(k)
                    .with_weight(config.weights)
                    .with_algorithm(KNNAlgorithmName::LinearSearch)
                    .with_distance(config.metric);
                let knn = KNNClassifier::fit(&x, y, p).map_err(|e| common::backend_err(NAME, e))?;
                Fitted::Classifier {
                    knn,
                    classes,
                    n_classes: *n_classes,
                }
            }
            Target::Values(y) => {
                let p = KNNRegressorParameters::default()
                    .with_k(k)
                    .with_weight(config.weights)
                    .with_algorithm(KNNAlgorithmName::LinearSearch)
                    .with_distance(config.metric);
                Fitted::Regressor(
                    KNNRegressor::fit(&x, y, p).map_err(|e| common::backend_err(NAME, e))?,
                )
            }
        };
        Ok(Box::new(KnnPredictor {
            scaler,
            n_features: train.n_features,
            fitted,
            pool: common::thread_pool(NAME, opts.threads)?,
        }))
    }
}

impl Predictor for KnnPredictor {
    fn predict(&self, data: &Dataset) -> Result<Prediction> {
        common::check_features(NAME, self.n_features, data)?;
        let z = self.scaler.transform(data);
        let d = self.n_features;
        let chunks: Vec<&[f64]> = z.chunks(CHUNK * d).collect();
        let to_matrix = |c: &[f64]| {
            DenseMatrix::new(c.len() / d, d, c.to_vec(), false)
                .map_err(|e| common::backend_err(NAME, e))
        };
        match &self.fitted {
            Fitted::Classifier {
                knn,
                classes,
                n_classes,
            } => {
                let parts: Vec<Vec<Vec<f64>>> = self.pool.install(|| {
                    chunks
                        .par_iter()
                        .map(|c| {
                            knn.predict_proba(&to_matrix(c)?)
                                .map_err(|e| common::backend_err(NAME, e))
                        })
                        .collect::<Result<_>>()
                })?;
                let mut p = vec![0.0f32; data.n_samples() * n_classes];
                for (i, row) in parts.into_iter().flatten().enumerate() {
                    for (&class, share) in classes.iter().zip(row) {
                        p[i * n_classes + class as usize] = share as f32;
                    }
                }
                Ok(Prediction::Probabilities {
                    p,
                    n_classes: *n_classes,
                })
            }
            Fitted::Regressor(knn) => {
                let parts: Vec<Vec<f64>> = self.pool.install(|| {
                    chunks
                        .par_iter()
                        .map(|c| {
                            knn.predict(&to_matrix(c)?)
                                .map_err(|e| common::backend_err(NAME, e))
                        })
                        .collect::<Result<_>>()
                })?;
                Ok(Prediction::Values(parts.into_iter().flatten().collect()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_match_their_definitions() {
        let a = vec![0.0, 3.0];
        let b = vec![4.0, 0.0];
        assert_eq!(Metric::Euclidean.distance(&a, &b), 5.0);
        assert_eq!(Metric::Manhattan.distance(&a, &b), 7.0);
        assert!((Metric::Minkowski(2.0).distance(&a, &b) - 5.0).abs() < 1e-12);
        assert!((Metric::Minkowski(1.0).distance(&a, &b) - 7.0).abs() < 1e-12);
        assert_eq!(Metric::Cosine.distance(&a, &b), 1.0);
        assert!(Metric::Cosine.distance(&a, &vec![0.0, 6.0]).abs() < 1e-12);
        assert_eq!(Metric::Cosine.distance(&a, &vec![0.0, 0.0]), 1.0);
    }
}

//! `rf`: random forest of smartcore's CART trees (`RandomForestClassifier` /
//! `RandomForestRegressor`).
//!
//! Hyperparameters: `n_trees`, `max_depth` (0: unlimited), `min_samples_split`,
//! `min_samples_leaf`, `max_features` (`sqrt`, `log2`, or a fraction of the features,
//! drawn afresh at every split) and, for classification, `criterion` (`gini`,
//! `entropy`). `Fidelity::epochs` overrides `n_trees`.
//!
//! Each tree is grown as a one-tree smartcore forest with its own seed (derived from
//! the fit seed and the tree's index), on its own bootstrap sample. That keeps the
//! algorithm smartcore's, lets the trees grow in parallel (`FitOptions::threads`), and
//! exposes what smartcore's forest hides: the vote shares, which are the predicted
//! class probabilities, and the per-tree outputs that a regression forest averages.
//! The result does not depend on the thread count.

use hyperscape_core::{Distribution, SpaceDecl};
use rayon::prelude::*;
use smartcore::ensemble::random_forest_classifier::{
    RandomForestClassifier, RandomForestClassifierParameters,
};
use smartcore::ensemble::random_forest_regressor::{
    RandomForestRegressor, RandomForestRegressorParameters,
};
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::tree::decision_tree_classifier::SplitCriterion;

use super::common;
use crate::data::{Dataset, Target, Task};
use crate::error::Result;
use crate::model::{FitOptions, Model, ParamReader, Params, Prediction, Predictor};

const NAME: &str = "rf";

/// The random-forest model.
pub struct RandomForest;

/// How many features each split considers.
#[derive(Debug, Clone, Copy, PartialEq)]
enum MaxFeatures {
    Sqrt,
    Log2,
    Fraction(f64),
}

impl MaxFeatures {
    fn count(self, n_features: usize) -> usize {
        let d = n_features as f64;
        let m = match self {
            MaxFeatures::Sqrt => d.sqrt().floor(),
            MaxFeatures::Log2 => d.log2().floor(),
            MaxFeatures::Fraction(f) => (f * d).round(),
        };
        (m as usize).clamp(1, n_features)
    }
}

struct Config {
    n_trees: usize,
    max_depth: Option<u16>,
    min_samples_split: usize,
    min_samples_leaf: usize,
    max_features: MaxFeatures,
    criterion: SplitCriterion,
}

fn read_config(params: &Params, task: Task) -> Result<Config> {
    let mut r = ParamReader::new(NAME, params);
    let n_trees = r.int("n_trees", 100, 1, 10_000)? as usize;
    let max_depth = match r.int("max_depth", 0, 0, 1000)? {
        0 => None,
        d => Some(d as u16),
    };
    let min_samples_split = r.int("min_samples_split", 2, 2, 1_000_000)? as usize;
    let min_samples_leaf = r.int("min_samples_leaf", 1, 1, 1_000_000)? as usize;
    // Like scikit-learn: sqrt of the features for classification, all for regression.
    let max_features = match params.get("max_features") {
        Some(v) if v.as_str().is_some() => {
            match r.choice("max_features", "sqrt", &["sqrt", "log2"])? {
                "log2" => MaxFeatures::Log2,
                _ => MaxFeatures::Sqrt,
            }
        }
        Some(_) => MaxFeatures::Fraction(r.float("max_features", 1.0, f64::MIN_POSITIVE, 1.0)?),
        None => {
            r.float("max_features", 1.0, 0.0, 1.0)?;
            match task {
                Task::Classification => MaxFeatures::Sqrt,
                Task::Regression => MaxFeatures::Fraction(1.0),
            }
        }
    };
    // The split criterion is checked for every task and used for classification
    // (regression trees split on variance).
    let criterion = match r.choice("criterion", "gini", &["gini", "entropy"])? {
        "entropy" => SplitCriterion::Entropy,
        _ => SplitCriterion::Gini,
    };
    r.finish()?;
    Ok(Config {
        n_trees,
        max_depth,
        min_samples_split,
        min_samples_leaf,
        max_features,
        criterion,
    })
}

/// The seed of tree `t` (splitmix64 of the fit seed and the index), so trees differ
/// and a forest with more trees extends one with fewer.
fn tree_seed(seed: u64, t: usize) -> u64 {
    let mut z = seed.wrapping_add((t as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

type TreeClassifier = RandomForestClassifier<f64, u32, DenseMatrix<f64>, Vec<u32>>;
type TreeRegressor = RandomForestRegressor<f64, f64, DenseMatrix<f64>, Vec<f64>>;

enum Trees {
    Classifier {
        trees: Vec<TreeClassifier>,
        n_classes: usize,
    },
    Regressor(Vec<TreeRegressor>),
}

struct ForestPredictor {
    n_features: usize,
    trees: Trees,
    pool: rayon::ThreadPool,
}

impl Model for RandomForest {
    fn name(&self) -> &'static str {
        NAME
    }

    fn supports(&self, _task: Task) -> bool {
        true
    }

    /// Trees are not trained in rounds that can be scored one by one; the tree count
    /// is still a fidelity (`Fidelity::epochs`).
    fn iterative(&self) -> bool {
        false
    }

    fn default_space(&self, data: &Dataset) -> Result<SpaceDecl> {
        let mut space = SpaceDecl::new()
            .param("n_trees", Distribution::int_log(50, 500))?
            .param("max_depth", Distribution::int_log(2, 32))?
            .param("min_samples_split", Distribution::int(2, 20))?
            .param("min_samples_leaf", Distribution::int_log(1, 20))?
            .param(
                "max_features",
                Distribution::categorical(["sqrt", "log2", "0.25", "0.5", "1.0"]),
            )?;
        if data.task() == Task::Classification {
            space = space.param("criterion", Distribution::categorical(["gini", "entropy"]))?;
        }
        Ok(space)
    }

    fn fit(
        &self,
        params: &Params,
        train: &Dataset,
        opts: FitOptions<'_>,
    ) -> Result<Box<dyn Predictor>> {
        let config = read_config(&normalise(params), train.task())?;
        let train = common::training_rows(self, train, &opts.fidelity, opts.seed)?;
        let n_trees = opts.fidelity.epochs.map_or(config.n_trees, |e| e as usize);
        let x = DenseMatrix::new(
            train.n_samples(),
            train.n_features,
            common::features_f64(&train),
            false,
        )
        .map_err(|e| common::backend_err(NAME, e))?;
        let m = config.max_features.count(train.n_features);
        let pool = common::thread_pool(NAME, opts.threads)?;
        let seeds: Vec<u64> = (0..n_trees).map(|t| tree_seed(opts.seed, t)).collect();
        let trees = match &train.target {
            Target::Classes {
                labels, n_classes, ..
            } => {
                let p = RandomForestClassifierParameters {
                    criterion: config.criterion.clone(),
                    max_depth: config.max_depth,
                    min_samples_leaf: config.min_samples_leaf,
                    min_samples_split: config.min_samples_split,
                    n_trees: 1,
                    m: Some(m),
                    keep_samples: false,
                    seed: 0,
                };
                let trees = pool.install(|| {
                    seeds
                        .par_iter()
                        .map(|&s| {
                            RandomForestClassifier::fit(&x, labels, p.clone().with_seed(s))
                                .map_err(|e| common::backend_err(NAME, e))
                        })
                        .collect::<Result<Vec<_>>>()
                })?;
                Trees::Classifier {
                    trees,
                    n_classes: *n_classes,
                }
            }
            Target::Values(y) => {
                let p = RandomForestRegressorParameters {
                    max_depth: config.max_depth,
                    min_samples_leaf: config.min_samples_leaf,
                    min_samples_split: config.min_samples_split,
                    n_trees: 1,
                    m: Some(m),
                    keep_samples: false,
                    seed: 0,
                };
                Trees::Regressor(pool.install(|| {
                    seeds
                        .par_iter()
                        .map(|&s| {
                            RandomForestRegressor::fit(&x, y, p.clone().with_seed(s))
                                .map_err(|e| common::backend_err(NAME, e))
                        })
                        .collect::<Result<Vec<_>>>()
                })?)
            }
        };
        Ok(Box::new(ForestPredictor {
            n_features: train.n_features,
            trees,
            pool,
        }))
    }
}

/// `max_features` may come from a space file as a numeric string (`"0.5"`), since a
/// categorical mixes it with `sqrt` and `log2`; read such a string as the number.
fn normalise(params: &Params) -> std::borrow::Cow<'_, Params> {
    match params.get("max_features").and_then(|v| v.as_str()) {
        Some(s) if s.parse::<f64>().is_ok() => {
            let mut p = params.clone();
            p.insert(
                "max_features".into(),
                hyperscape_core::ParamValue::Float(s.parse().unwrap_or(1.0)),
            );
            std::borrow::Cow::Owned(p)
        }
        _ => std::borrow::Cow::Borrowed(params),
    }
}

impl Predictor for ForestPredictor {
    fn predict(&self, data: &Dataset) -> Result<Prediction> {
        common::check_features(NAME, self.n_features, data)?;
        let n = data.n_samples();
        let x = DenseMatrix::new(n, data.n_features, common::features_f64(data), false)
            .map_err(|e| common::backend_err(NAME, e))?;
        match &self.trees {
            Trees::Classifier { trees, n_classes } => {
                let k = *n_classes;
                let votes: Vec<u32> = self.pool.install(|| {
                    trees
                        .par_iter()
                        .map(|t| {
                            let labels = t.predict(&x).map_err(|e| common::backend_err(NAME, e))?;
                            let mut v = vec![0u32; n * k];
                            for (i, &l) in labels.iter().enumerate() {
                                v[i * k + l as usize] += 1;
                            }
                            Ok::<_, crate::error::Error>(v)
                        })
                        .try_reduce(
                            || vec![0u32; n * k],
                            |mut a, b| {
                                a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
                                Ok(a)
                            },
                        )
                })?;
                let total = trees.len() as f32;
                Ok(Prediction::Probabilities {
                    p: votes.into_iter().map(|v| v as f32 / total).collect(),
                    n_classes: k,
                })
            }
            Trees::Regressor(trees) => {
                let sum: Vec<f64> = self.pool.install(|| {
                    trees
                        .par_iter()
                        .map(|t| t.predict(&x).map_err(|e| common::backend_err(NAME, e)))
                        .try_reduce(
                            || vec![0.0; n],
                            |mut a, b| {
                                a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
                                Ok(a)
                            },
                        )
                })?;
                let total = trees.len() as f64;
                Ok(Prediction::Values(
                    sum.into_iter().map(|s| s / total).collect(),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_features_counts() {
        assert_eq!(MaxFeatures::Sqrt.count(64), 8);
        assert_eq!(MaxFeatures::Log2.count(64), 6);
        assert_eq!(MaxFeatures::Fraction(0.5).count(30), 15);
        assert_eq!(MaxFeatures::Fraction(0.01).count(30), 1);
        assert_eq!(MaxFeatures::Log2.count(1), 1);
    }

    #[test]
    fn tree_seeds_differ() {
        let s: std::collections::BTreeSet<u64> = (0..1000).map(|t| tree_seed(7, t)).collect();
        assert_eq!(s.len(), 1000);
        assert_ne!(tree_seed(7, 0), tree_seed(8, 0));
    }
}

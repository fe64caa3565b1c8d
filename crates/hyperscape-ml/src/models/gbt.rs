//! `gbt`: gradient-boosted trees through the pure-Rust `forust-ml` booster
//! (second-order histogram boosting, XGBoost/LightGBM-style regularised leaves).
//!
//! Hyperparameters: `learning_rate`, `n_estimators` (boosting rounds; overridden by
//! `Fidelity::epochs`), `max_depth`, `num_leaves` (0: no limit besides the depth),
//! `subsample` (row fraction per round), `colsample` (feature fraction per tree),
//! `lambda_l1`, `lambda_l2` (leaf-weight penalties) and `min_child_weight` (minimum
//! hessian sum in a leaf).
//!
//! Objectives: squared error for regression, log loss for two classes, and for more
//! classes one log-loss booster per class (one-vs-rest) whose probabilities are
//! normalised to sum to one: forust has no softmax objective. See `docs/models.md` for
//! why this is not LightGBM.
//!
//! With a validation set and an `on_epoch` callback, the validation metrics after each
//! boosting round are reported in order (rounds `1..=n`), and `Control::Stop` truncates
//! the model to the rounds reported so far. forust cannot resume training a booster,
//! so the rounds are grown first and scored afterwards: a stop shortens the model and
//! the report sequence, not the training time.

use forust_ml::objective::ObjectiveType;
use forust_ml::sampler::SampleMethod;
use forust_ml::{GradientBooster, Matrix};
use hyperscape_core::{Distribution, SpaceDecl};

use super::common;
use crate::data::{Dataset, Target, Task};
use crate::error::Result;
use crate::metrics::evaluate;
use crate::model::{Control, FitOptions, Model, ParamReader, Params, Prediction, Predictor};

const NAME: &str = "gbt";

/// The gradient-boosted-trees model.
pub struct GradientBoosting;

#[derive(Debug, Clone)]
struct Config {
    learning_rate: f64,
    n_estimators: usize,
    max_depth: usize,
    num_leaves: usize,
    subsample: f64,
    colsample: f64,
    lambda_l1: f64,
    lambda_l2: f64,
    min_child_weight: f64,
}

fn read_config(params: &Params) -> Result<Config> {
    let mut r = ParamReader::new(NAME, params);
    let c = Config {
        learning_rate: r.float("learning_rate", 0.1, 1e-6, 1.0)?,
        n_estimators: r.int("n_estimators", 100, 1, 100_000)? as usize,
        max_depth: r.int("max_depth", 6, 1, 64)? as usize,
        num_leaves: r.int("num_leaves", 0, 0, 1 << 20)? as usize,
        subsample: r.float("subsample", 1.0, 1e-3, 1.0)?,
        colsample: r.float("colsample", 1.0, 1e-3, 1.0)?,
        lambda_l1: r.float("lambda_l1", 0.0, 0.0, 1e4)?,
        lambda_l2: r.float("lambda_l2", 1.0, 0.0, 1e4)?,
        min_child_weight: r.float("min_child_weight", 1.0, 0.0, 1e4)?,
    };
    r.finish()?;
    Ok(c)
}

/// What the boosters' raw scores mean.
#[derive(Debug, Clone, PartialEq)]
enum Output {
    /// One squared-loss booster.
    Regression,
    /// A single class was seen in training: it is always predicted.
    Constant { class: u32, n_classes: usize },
    /// One log-loss booster per entry of `classes` (a single booster for
    /// `classes[1]` against `classes[0]` when there are two).
    Classes { classes: Vec<u32>, n_classes: usize },
}

struct GbtPredictor {
    boosters: Vec<GradientBooster>,
    output: Output,
    n_features: usize,
    threads: usize,
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl Output {
    /// The prediction for raw scores `raw[b][i]` (booster `b`, row `i`).
    fn predict(&self, raw: &[Vec<f64>], n_rows: usize) -> Prediction {
        match self {
            Output::Regression => Prediction::Values(raw[0].clone()),
            Output::Constant { class, n_classes } => {
                let mut p = vec![0.0f32; n_rows * n_classes];
                for i in 0..n_rows {
                    p[i * n_classes + *class as usize] = 1.0;
                }
                Prediction::Probabilities {
                    p,
                    n_classes: *n_classes,
                }
            }
            Output::Classes { classes, n_classes } => {
                let k = *n_classes;
                let mut p = vec![0.0f32; n_rows * k];
                for i in 0..n_rows {
                    let row = &mut p[i * k..(i + 1) * k];
                    if classes.len() == 2 {
                        let p1 = sigmoid(raw[0][i]);
                        row[classes[0] as usize] = (1.0 - p1) as f32;
                        row[classes[1] as usize] = p1 as f32;
                    } else {
                        let s: Vec<f64> = raw.iter().map(|r| sigmoid(r[i])).collect();
                        let total: f64 = s.iter().sum::<f64>().max(f64::MIN_POSITIVE);
                        for (&c, v) in classes.iter().zip(s) {
                            row[c as usize] = (v / total) as f32;
                        }
                    }
                }
                Prediction::Probabilities { p, n_classes: k }
            }
        }
    }
}

/// Row-major `f64` rows to forust's column-major matrix storage.
fn column_major(data: &Dataset) -> Vec<f64> {
    let (n, d) = (data.n_samples(), data.n_features);
    let mut out = vec![0.0f64; n * d];
    for i in 0..n {
        for (j, &x) in data.row(i).iter().enumerate() {
            out[j * n + i] = x as f64;
        }
    }
    out
}

impl Model for GradientBoosting {
    fn name(&self) -> &'static str {
        NAME
    }

    fn supports(&self, _task: Task) -> bool {
        true
    }

    fn iterative(&self) -> bool {
        true
    }

    fn default_space(&self, _data: &Dataset) -> Result<SpaceDecl> {
        Ok(SpaceDecl::new()
            .param("learning_rate", Distribution::float_log(1e-3, 0.3))?
            .param("n_estimators", Distribution::int_log(50, 1000))?
            .param("max_depth", Distribution::int(2, 12))?
            .param("num_leaves", Distribution::int_log(8, 256))?
            .param("subsample", Distribution::float(0.5, 1.0))?
            .param("colsample", Distribution::float(0.5, 1.0))?
            .param("lambda_l1", Distribution::float_log(1e-8, 10.0))?
            .param("lambda_l2", Distribution::float_log(1e-8, 10.0))?)
    }

    fn fit(
        &self,
        params: &Params,
        train: &Dataset,
        mut opts: FitOptions<'_>,
    ) -> Result<Box<dyn Predictor>> {
        let config = read_config(params)?;
        let train = common::training_rows(self, train, &opts.fidelity, opts.seed)?;
        let rounds = opts
            .fidelity
            .epochs
            .map_or(config.n_estimators, |e| e as usize);
        let threads = (opts.threads > 0).then_some(opts.threads);
        let booster = || {
            GradientBooster::default()
                .set_iterations(rounds)
                .set_learning_rate(config.learning_rate as f32)
                .set_max_depth(config.max_depth)
                .set_max_leaves(if config.num_leaves == 0 {
                    usize::MAX
                } else {
                    config.num_leaves.max(2)
                })
                .set_l1(config.lambda_l1 as f32)
                .set_l2(config.lambda_l2 as f32)
                .set_min_leaf_weight(config.min_child_weight as f32)
                .set_subsample(config.subsample as f32)
                .set_sample_method(if config.subsample < 1.0 {
                    SampleMethod::Random
                } else {
                    SampleMethod::None
                })
                .set_colsample_bytree(config.colsample)
                .set_initialize_base_score(true)
                .set_parallel(true)
                .set_num_threads(threads)
        };

        let x = column_major(&train);
        let matrix = Matrix::new(&x, train.n_samples(), train.n_features);
        // Each booster gets its own seed so one-vs-rest boosters do not share samples.
        let fit_one = |objective: ObjectiveType, y: &[f64], b: u64| -> Result<GradientBooster> {
            let mut booster = booster().set_objective_type(objective).set_seed(
                opts.seed
                    .wrapping_add(b.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            );
            booster
                .fit_unweighted(&matrix, y, None)
                .map_err(|e| common::backend_err(NAME, e))?;
            Ok(booster)
        };

        let (boosters, output) = match &train.target {
            Target::Values(y) => (
                vec![fit_one(ObjectiveType::SquaredLoss, y, 0)?],
                Output::Regression,
            ),
            Target::Classes {
                labels, n_classes, ..
            } => {
                let mut classes = labels.clone();
                classes.sort_unstable();
                classes.dedup();
                let n_classes = *n_classes;
                match classes.len() {
                    1 => (
                        Vec::new(),
                        Output::Constant {
                            class: classes[0],
                            n_classes,
                        },
                    ),
                    2 => {
                        let y: Vec<f64> = labels
                            .iter()
                            .map(|&l| f64::from(u8::from(l == classes[1])))
                            .collect();
                        (
                            vec![fit_one(ObjectiveType::LogLoss, &y, 0)?],
                            Output::Classes { classes, n_classes },
                        )
                    }
                    _ => {
                        let boosters = classes
                            .iter()
                            .enumerate()
                            .map(|(b, &c)| {
                                let y: Vec<f64> = labels
                                    .iter()
                                    .map(|&l| f64::from(u8::from(l == c)))
                                    .collect();
                                fit_one(ObjectiveType::LogLoss, &y, b as u64)
                            })
                            .collect::<Result<Vec<_>>>()?;
                        (boosters, Output::Classes { classes, n_classes })
                    }
                }
            }
        };
        let mut predictor = GbtPredictor {
            boosters,
            output,
            n_features: train.n_features,
            threads: opts.threads,
        };
        if let (Some(valid), Some(callback)) = (opts.valid, opts.on_epoch.as_mut()) {
            common::check_features(NAME, predictor.n_features, valid)?;
            let rows = common::features_f64(valid);
            let n = valid.n_samples();
            let d = predictor.n_features;
            let mut raw: Vec<Vec<f64>> = predictor
                .boosters
                .iter()
                .map(|b| vec![b.base_score; n])
                .collect();
            let grown = predictor
                .boosters
                .iter()
                .map(|b| b.trees.len())
                .min()
                .unwrap_or(0);
            for t in 0..grown {
                for (b, scores) in predictor.boosters.iter().zip(raw.iter_mut()) {
                    let tree = &b.trees[t];
                    for (i, s) in scores.iter_mut().enumerate() {
                        *s +=
                            tree.predict_row_from_row_slice(&rows[i * d..(i + 1) * d], &b.missing);
                    }
                }
                let metrics = evaluate(&predictor.output.predict(&raw, n), &valid.target)?;
                if callback(t as u32 + 1, &metrics) == Control::Stop {
                    for b in &mut predictor.boosters {
                        b.trees.truncate(t + 1);
                    }
                    break;
                }
            }
        }
        Ok(Box::new(predictor))
    }
}

impl Predictor for GbtPredictor {
    fn predict(&self, data: &Dataset) -> Result<Prediction> {
        common::check_features(NAME, self.n_features, data)?;
        let n = data.n_samples();
        let x = column_major(data);
        let matrix = Matrix::new(&x, n, data.n_features);
        let pool = common::thread_pool(NAME, self.threads)?;
        let raw: Vec<Vec<f64>> = pool.install(|| {
            self.boosters
                .iter()
                .map(|b| b.predict(&matrix, true))
                .collect()
        });
        Ok(self.output.predict(&raw, n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_and_many_class_outputs_are_distributions() {
        let two = Output::Classes {
            classes: vec![0, 2],
            n_classes: 3,
        };
        let Prediction::Probabilities { p, .. } = two.predict(&[vec![0.0, 100.0]], 2) else {
            panic!()
        };
        assert_eq!(p, vec![0.5, 0.0, 0.5, 0.0, 0.0, 1.0]);
        let many = Output::Classes {
            classes: vec![0, 1, 2],
            n_classes: 3,
        };
        let raw = vec![vec![0.0], vec![0.0], vec![-100.0]];
        let Prediction::Probabilities { p, .. } = many.predict(&raw, 1) else {
            panic!()
        };
        assert!((p[0] - 0.5).abs() < 1e-6 && (p[1] - 0.5).abs() < 1e-6 && p[2] < 1e-6);
    }

    #[test]
    fn column_major_transposes() {
        let d = Dataset::new(
            "t",
            vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            3,
            Target::Values(vec![0.0, 0.0]),
        )
        .unwrap();
        assert_eq!(column_major(&d), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    }
}

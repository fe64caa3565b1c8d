//! `svm`: support-vector machine (linfa-svm's SMO solver, the libsvm algorithm) on
//! standardised features; C-SVC for classification, ε-SVR for regression.
//!
//! Hyperparameters: `C` (log scale), `kernel` (`linear`, `rbf`, `poly`), `gamma` (a
//! positive number, or `"scale"` = 1 / (n_features · Var(X)) as in scikit-learn, the
//! default), `degree` and `coef0` of the polynomial kernel `(gamma·⟨x, x'⟩ + coef0)^degree`,
//! and for regression `epsilon`, the width of the insensitive tube in units of the
//! target's standard deviation (the target is standardised too), and `tol`, the
//! solver's stopping tolerance (1e-3, as in libsvm). Parameters of
//! another kernel (`gamma` with `linear`, `degree` with `rbf`) are checked and then
//! ignored, so flat search spaces work as well as conditional ones.
//!
//! Multi-class problems are one-vs-one, as in libsvm: a binary SVM per pair of
//! classes, each trained on those two classes' rows only (cheaper than one-vs-rest
//! for kernel SVMs, whose cost grows quadratically with the rows), in parallel on
//! `FitOptions::threads`. The class with the most pairwise wins is predicted; ties go
//! to the larger summed decision margin. The SVM predicts hard labels
//! (`Prediction::Labels`): calibrated probabilities would need Platt scaling fitted
//! on held-out decision values (libsvm's internal cross-validation), which is not
//! implemented; in-sample Platt scaling would be over-confident.
//!
//! The sigmoid kernel is not offered: linfa-svm has no sigmoid kernel, and it is not
//! positive semi-definite, so the SVM dual is not convex with it.
//!
//! The SMO solver is deterministic, so the seed only picks the fidelity subset.
//! linfa-svm holds the full `n × n` kernel matrix of each binary problem in memory:
//! comfortable up to ~10⁴ rows per pair of classes.

use hyperscape_core::{Distribution, ParamValue, SpaceDecl};
use linfa::traits::{Fit, Predict};
use linfa_svm::Svm;
use ndarray::{Array1, Array2};
use rayon::prelude::*;

use super::common::{self, Standardizer};
use crate::data::{Dataset, Target, Task};
use crate::error::Result;
use crate::model::{FitOptions, Model, ParamReader, Params, Prediction, Predictor};

const NAME: &str = "svm";

/// The support-vector machine model.
pub struct SupportVectorMachine;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Gamma {
    Scale,
    Value(f64),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kernel {
    Linear,
    Rbf,
    Poly { degree: f64, coef0: f64 },
}

struct Config {
    c: f64,
    kernel: Kernel,
    gamma: Gamma,
    epsilon: f64,
    /// The solver's stopping tolerance on the maximal KKT violation.
    tol: f64,
}

fn read_config(params: &Params) -> Result<Config> {
    let mut r = ParamReader::new(NAME, params);
    let c = r.float("C", 1.0, 1e-8, 1e8)?;
    let kernel = r.choice("kernel", "rbf", &["linear", "rbf", "poly"])?;
    let gamma = match params.get("gamma") {
        Some(ParamValue::Str(_)) => {
            r.choice("gamma", "scale", &["scale"])?;
            Gamma::Scale
        }
        Some(_) => Gamma::Value(r.float("gamma", 1.0, 1e-12, 1e6)?),
        None => {
            r.float("gamma", 1.0, 1e-12, 1e6)?;
            Gamma::Scale
        }
    };
    let degree = r.int("degree", 3, 1, 10)? as f64;
    let coef0 = r.float("coef0", 1.0, 0.0, 1e3)?;
    let epsilon = r.float("epsilon", 0.1, 0.0, 10.0)?;
    let tol = r.float("tol", 1e-3, 1e-12, 1.0)?;
    r.finish()?;
    let kernel = match kernel {
        "linear" => Kernel::Linear,
        "poly" => Kernel::Poly { degree, coef0 },
        _ => Kernel::Rbf,
    };
    Ok(Config {
        c,
        kernel,
        gamma,
        epsilon,
        tol,
    })
}

/// The kernel's view of the standardised features: rows scaled by √gamma for the
/// polynomial kernel (so ⟨x, x'⟩ becomes gamma·⟨x, x'⟩), untouched otherwise.
#[derive(Debug, Clone)]
struct FeatureMap {
    scaler: Standardizer,
    factor: f64,
    n_features: usize,
}

impl FeatureMap {
    fn apply(&self, data: &Dataset) -> Result<Array2<f64>> {
        let mut z = self.scaler.transform(data);
        if self.factor != 1.0 {
            z.iter_mut().for_each(|v| *v *= self.factor);
        }
        Array2::from_shape_vec((data.n_samples(), self.n_features), z)
            .map_err(|e| common::backend_err(NAME, e))
    }
}

/// Sets the kernel on linfa-svm parameters (a macro because classification and
/// regression parameters are different types with the same builder methods).
macro_rules! with_kernel {
    ($params:expr, $kernel:expr, $gamma:expr, $tol:expr) => {
        // libsvm's tolerance, 1e-3 (linfa's default, 1e-7, costs several times the
        // time for no accuracy). linfa's shrinking stays off: in linfa-svm 0.8.1 it
        // underflows an index (solver_smo.rs:655) on multi-class problems.
        match $kernel {
            Kernel::Linear => $params.linear_kernel(),
            // linfa's Gaussian kernel is exp(-|x - x'|² / eps).
            Kernel::Rbf => $params.gaussian_kernel(1.0 / $gamma),
            Kernel::Poly { degree, coef0 } => $params.polynomial_kernel(coef0, degree),
        }
        .eps($tol)
    };
}

/// One binary problem of the one-vs-one scheme.
struct Pair {
    /// Predicted when the decision value is negative / non-negative.
    neg: u32,
    pos: u32,
    svm: Svm<f64, bool>,
}

enum Fitted {
    /// One-vs-one binary SVMs; `only` is set when training saw a single class.
    Classifier {
        pairs: Vec<Pair>,
        /// The classes seen in training, ascending.
        classes: Vec<u32>,
        only: Option<u32>,
    },
    Regressor {
        svm: Svm<f64, f64>,
        y_mean: f64,
        y_scale: f64,
    },
}

struct SvmPredictor {
    map: FeatureMap,
    fitted: Fitted,
    pool: rayon::ThreadPool,
    n_classes: usize,
}

impl Model for SupportVectorMachine {
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
        let kernels = vec![ParamValue::from("rbf"), ParamValue::from("poly")];
        let mut space = SpaceDecl::new()
            .param("C", Distribution::float_log(1e-2, 1e3))?
            .param(
                "kernel",
                Distribution::categorical(["linear", "rbf", "poly"]),
            )?
            .conditional_param(
                "gamma",
                Distribution::float_log(1e-4, 1e1),
                "kernel",
                kernels,
            )?
            .conditional_param(
                "degree",
                Distribution::int(2, 5),
                "kernel",
                vec![ParamValue::from("poly")],
            )?;
        if data.task() == Task::Regression {
            space = space.param("epsilon", Distribution::float_log(1e-3, 1.0))?;
        }
        Ok(space)
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
        let gamma = match config.gamma {
            Gamma::Value(g) => g,
            Gamma::Scale => {
                let z = scaler.transform(&train);
                let n = z.len().max(1) as f64;
                let mean = z.iter().sum::<f64>() / n;
                let var = z.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
                if var > 0.0 {
                    1.0 / (train.n_features as f64 * var)
                } else {
                    1.0
                }
            }
        };
        let factor = match config.kernel {
            Kernel::Poly { .. } => gamma.sqrt(),
            _ => 1.0,
        };
        let map = FeatureMap {
            scaler,
            factor,
            n_features: train.n_features,
        };
        let x = map.apply(&train)?;
        let pool = common::thread_pool(NAME, opts.threads)?;
        let (fitted, n_classes) = match &train.target {
            Target::Classes {
                labels, n_classes, ..
            } => {
                let mut classes = labels.clone();
                classes.sort_unstable();
                classes.dedup();
                let pairs: Vec<(u32, u32)> = classes
                    .iter()
                    .enumerate()
                    .flat_map(|(i, &a)| classes[i + 1..].iter().map(move |&b| (a, b)))
                    .collect();
                let fit_pair = |&(neg, pos): &(u32, u32)| -> Result<Pair> {
                    let rows: Vec<usize> = (0..labels.len())
                        .filter(|&i| labels[i] == neg || labels[i] == pos)
                        .collect();
                    let xs = x.select(ndarray::Axis(0), &rows);
                    let ys: Array1<bool> = rows.iter().map(|&i| labels[i] == pos).collect();
                    let params = Svm::<f64, bool>::params().pos_neg_weights(config.c, config.c);
                    let svm = with_kernel!(params, config.kernel, gamma, config.tol)
                        .fit(&linfa::Dataset::new(xs, ys))
                        .map_err(|e| common::backend_err(NAME, e))?;
                    Ok(Pair { neg, pos, svm })
                };
                let pairs =
                    pool.install(|| pairs.par_iter().map(fit_pair).collect::<Result<_>>())?;
                let only = (classes.len() == 1).then(|| classes[0]);
                (
                    Fitted::Classifier {
                        pairs,
                        classes,
                        only,
                    },
                    *n_classes,
                )
            }
            Target::Values(y) => {
                let n = y.len() as f64;
                let y_mean = y.iter().sum::<f64>() / n;
                let sd = (y.iter().map(|v| (v - y_mean) * (v - y_mean)).sum::<f64>() / n).sqrt();
                let y_scale = if sd > 0.0 { sd } else { 1.0 };
                let ys: Array1<f64> = y.iter().map(|v| (v - y_mean) / y_scale).collect();
                let params = Svm::<f64, f64>::params().c_svr(config.c, Some(config.epsilon));
                let svm = with_kernel!(params, config.kernel, gamma, config.tol)
                    .fit(&linfa::Dataset::new(x, ys))
                    .map_err(|e| common::backend_err(NAME, e))?;
                (
                    Fitted::Regressor {
                        svm,
                        y_mean,
                        y_scale,
                    },
                    0,
                )
            }
        };
        Ok(Box::new(SvmPredictor {
            map,
            fitted,
            pool,
            n_classes,
        }))
    }
}

impl Predictor for SvmPredictor {
    fn predict(&self, data: &Dataset) -> Result<Prediction> {
        common::check_features(NAME, self.map.n_features, data)?;
        let x = self.map.apply(data)?;
        match &self.fitted {
            Fitted::Classifier {
                pairs,
                classes,
                only,
            } => {
                if let Some(c) = only {
                    return Ok(Prediction::Labels(vec![*c; data.n_samples()]));
                }
                let k = self.n_classes;
                let labels = self.pool.install(|| {
                    (0..x.nrows())
                        .into_par_iter()
                        .map(|i| {
                            let row = x.row(i);
                            let mut votes = vec![0.0f64; k];
                            let mut margin = vec![0.0f64; k];
                            for p in pairs {
                                let f = p.svm.weighted_sum(&row) - p.svm.rho;
                                let win = if f >= 0.0 { p.pos } else { p.neg };
                                votes[win as usize] += 1.0;
                                margin[p.pos as usize] += f;
                                margin[p.neg as usize] -= f;
                            }
                            // Votes first; the margin term is below 1/3 so it only breaks ties
                            // (scikit-learn's `ovr` decision function does the same).
                            let score =
                                |c: usize| votes[c] + margin[c] / (3.0 * (margin[c].abs() + 1.0));
                            classes
                                .iter()
                                .copied()
                                .max_by(|&a, &b| score(a as usize).total_cmp(&score(b as usize)))
                                .unwrap_or(0)
                        })
                        .collect::<Vec<u32>>()
                });
                Ok(Prediction::Labels(labels))
            }
            Fitted::Regressor {
                svm,
                y_mean,
                y_scale,
            } => {
                let values = self.pool.install(|| {
                    (0..x.nrows())
                        .into_par_iter()
                        .map(|i| svm.predict(x.row(i)) * y_scale + y_mean)
                        .collect::<Vec<f64>>()
                });
                Ok(Prediction::Values(values))
            }
        }
    }
}

//! Multinomial logistic regression, trained with candle (see [`super::nn`]).
//!
//! The objective is scikit-learn's divided by C·n: the mean cross-entropy plus
//! `(1 − ρ)/(C·n)·½‖W‖² + ρ/(C·n)·‖W‖₁` with ρ = 1 for `l1`, 0 for `l2` and `l1_ratio`
//! for `elasticnet` (the intercepts are not penalised). Training is proximal SGD with
//! momentum from zero weights: the L1 part is a soft-threshold step after every
//! update, so L1 weights reach exact zeros. Features are standardised on the training
//! rows.
//!
//! | Hyperparameter | Default | Range |
//! |---|---|---|
//! | `C` | 1.0 | (0, 1e10], log |
//! | `penalty` | `l2` | `l2`, `l1`, `elasticnet`, `none` |
//! | `l1_ratio` | 0.5 | [0, 1], used by `elasticnet` |
//! | `learning_rate` | 0.05 | (0, 10] |
//! | `momentum` | 0.9 | [0, 0.999] |
//! | `batch_size` | 64 | 0 (full batch) or 1.. |
//! | `epochs` | 100 | passes over the data; the epoch fidelity overrides it |

use candle_core::Device;
use hyperscape_core::{Distribution, ParamValue, SpaceDecl};

use super::neural::{epochs, prepare, NeuralModel, Prepared};
use super::nn::{Net, Optimiser, TrainConfig};
use crate::data::Dataset;
use crate::error::Result;
use crate::model::{FitOptions, ParamReader, Params};

/// Logistic regression (`logreg`).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogReg;

struct Config {
    c: f64,
    penalty: &'static str,
    l1_ratio: f64,
    lr: f64,
    momentum: f64,
    batch_size: usize,
    epochs: i64,
}

fn read(params: &Params) -> Result<Config> {
    let mut r = ParamReader::new("logreg", params);
    let c = Config {
        c: r.float("C", 1.0, 1e-10, 1e10)?,
        penalty: r.choice("penalty", "l2", &["l2", "l1", "elasticnet", "none"])?,
        l1_ratio: r.float("l1_ratio", 0.5, 0.0, 1.0)?,
        lr: r.float("learning_rate", 0.05, 1e-8, 10.0)?,
        momentum: r.float("momentum", 0.9, 0.0, 0.999)?,
        batch_size: r.int("batch_size", 64, 0, 1 << 24)? as usize,
        epochs: r.int("epochs", 100, 1, 1_000_000)?,
    };
    r.finish()?;
    Ok(c)
}

impl NeuralModel for LogReg {
    const NAME: &'static str = "logreg";

    fn space(&self, _data: &Dataset) -> Result<SpaceDecl> {
        Ok(SpaceDecl::new()
            .param("C", Distribution::float_log(1e-4, 1e4))?
            .param(
                "penalty",
                Distribution::categorical(["l2", "l1", "elasticnet"]),
            )?
            .conditional_param(
                "l1_ratio",
                Distribution::float(0.05, 0.95),
                "penalty",
                vec![ParamValue::from("elasticnet")],
            )?)
    }

    fn setup(
        &self,
        params: &Params,
        train: &Dataset,
        opts: &FitOptions<'_>,
    ) -> Result<(Net, Prepared, TrainConfig)> {
        let c = read(params)?;
        let data = prepare("logreg", train, opts, true)?;
        let n = data.train.len();
        let rho = match c.penalty {
            "l1" => 1.0,
            "elasticnet" => c.l1_ratio,
            _ => 0.0,
        };
        let strength = if c.penalty == "none" {
            0.0
        } else {
            1.0 / (c.c * n as f64)
        };
        let net = Net::logreg(data.n_features, data.n_classes, opts.seed, &Device::Cpu)?;
        let batch_size = if c.batch_size == 0 { n } else { c.batch_size };
        let mut cfg = TrainConfig::new(
            Optimiser::sgd(c.lr, c.momentum),
            batch_size,
            epochs(opts, c.epochs),
            opts.seed,
        );
        cfg.l1 = vec![rho * strength];
        cfg.l2 = vec![(1.0 - rho) * strength];
        cfg.l1_proximal = true;
        Ok((net, data, cfg))
    }
}

#[cfg(test)]
mod tests {
    use super::super::neural::testdata::{digits, iris, majority, params, split};
    use super::*;
    use crate::metrics::{evaluate, Metrics};
    use crate::model::Model;
    use crate::model::{Control, Prediction};
    use crate::Error;

    #[test]
    fn beats_the_majority_baseline_on_iris_and_digits() {
        for (data, floor) in [(iris(), 0.85), (digits(), 0.9)] {
            let (train, _, test) = split(&data, 1);
            let p = params(&[("epochs", 30.into())]);
            let model = LogReg.fit(&p, &train, FitOptions::seeded(0)).unwrap();
            let acc = evaluate(&model.predict(&test).unwrap(), &test.target).unwrap()["accuracy"];
            let base = majority(&test);
            assert!(
                acc >= floor && acc > base + 0.4,
                "{}: {acc} vs {base}",
                data.name
            );
        }
    }

    /// The fraction of exactly-zero weights of a fit, read from the predictor through
    /// a probe: a weight is zero when moving its feature leaves every logit unchanged.
    fn zero_features(p: &Params, train: &Dataset) -> usize {
        let model = LogReg.fit(p, train, FitOptions::seeded(0)).unwrap();
        let k = train.n_features;
        let base = train.select(&[0]);
        let Prediction::Probabilities { p: p0, .. } = model.predict(&base).unwrap() else {
            panic!()
        };
        (0..k)
            .filter(|&j| {
                let mut moved = base.clone();
                moved.features[j] += 1000.0;
                let Prediction::Probabilities { p: p1, .. } = model.predict(&moved).unwrap() else {
                    panic!()
                };
                p0 == p1
            })
            .count()
    }

    #[test]
    fn l1_gives_exact_zeros_and_l2_does_not() {
        let (train, _, _) = split(&digits(), 2);
        let l1 = params(&[
            ("penalty", "l1".into()),
            ("C", 0.003.into()),
            ("epochs", 15.into()),
        ]);
        let l2 = params(&[
            ("penalty", "l2".into()),
            ("C", 0.003.into()),
            ("epochs", 15.into()),
        ]);
        // The constant border pixels of digits are zero features either way.
        let constant = (0..train.n_features)
            .filter(|&j| (0..train.n_samples()).all(|i| train.row(i)[j] == train.row(0)[j]))
            .count();
        let zeros_l1 = zero_features(&l1, &train);
        let zeros_l2 = zero_features(&l2, &train);
        assert_eq!(zeros_l2, constant);
        assert!(
            zeros_l1 >= constant + 10,
            "{zeros_l1} zero features, {constant} constant"
        );
        assert!(zeros_l1 < train.n_features, "every weight is zero");
    }

    #[test]
    fn seeded_fits_are_reproducible_and_report_each_epoch() {
        let (train, valid, test) = split(&iris(), 3);
        let p = params(&[("epochs", 8.into()), ("batch_size", 16.into())]);
        let fit = |seed| {
            LogReg
                .fit(&p, &train, FitOptions::seeded(seed))
                .unwrap()
                .predict(&test)
                .unwrap()
        };
        assert_eq!(fit(4), fit(4));
        assert_ne!(fit(4), fit(5));
        let mut steps = Vec::new();
        let mut cb = |step: u32, m: &Metrics| {
            steps.push(step);
            assert!(m.contains_key("accuracy") && m.contains_key("cross_entropy"));
            if step == 5 {
                Control::Stop
            } else {
                Control::Continue
            }
        };
        let mut opts = FitOptions::seeded(0);
        opts.valid = Some(&valid);
        opts.on_epoch = Some(&mut cb);
        LogReg.fit(&p, &train, opts).unwrap();
        assert_eq!(steps, vec![1, 2, 3, 4, 5]);
    }

    #[test]
    fn bad_params_and_data_are_errors() {
        let (train, _, _) = split(&iris(), 0);
        for (name, value) in [
            ("C", ParamValue::from(0.0)),
            ("penalty", "l3".into()),
            ("l1_ratio", 1.5.into()),
            ("epochs", 0.into()),
            ("gamma", 1.0.into()),
        ] {
            let err = LogReg
                .fit(&params(&[(name, value)]), &train, FitOptions::seeded(0))
                .err()
                .unwrap();
            assert!(
                matches!(&err, Error::Param { param, .. } if param == name),
                "{name}: {err}"
            );
        }
        let regression = Dataset::new(
            "r",
            vec![0.0, 1.0],
            1,
            crate::data::Target::Values(vec![0.0, 1.0]),
        )
        .unwrap();
        let err = LogReg
            .fit(&Params::new(), &regression, FitOptions::seeded(0))
            .err()
            .unwrap();
        assert!(err.to_string().contains("regression"), "{err}");
    }
}

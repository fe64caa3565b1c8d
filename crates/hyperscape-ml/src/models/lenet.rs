//! A LeNet-5 style convolutional network, trained with candle (see [`super::nn`] and
//! [`LeNetSpec`]): conv → activation → pool 2 → conv → activation → pool 2 → two
//! dense hidden layers (`dense_width` and 0.7 of it: 120 and 84 by default, as
//! LeNet-5) with dropout → output. The first convolution pads to keep the image size
//! ("same"), the second does not. It needs image data ([`Dataset::image`]); pixels are
//! used as they are (image data sets are scaled to [0, 1]).
//!
//! `weight_decay` is the coefficient of ½‖W‖² on every weight tensor (not the biases)
//! added to the loss: PyTorch's coupled `weight_decay` for SGD and Adam, minus the
//! biases.
//!
//! | Hyperparameter | Default | Range |
//! |---|---|---|
//! | `kernel_size` | 5 | 1..=15 |
//! | `stride` | 1 | 1..=4 |
//! | `conv1_channels` | 6 | 1..=512 |
//! | `conv2_channels` | 16 | 1..=512 |
//! | `pooling` | `max` | `max`, `avg` |
//! | `dense_width` | 120 | 2..=8192 |
//! | `activation` | `relu` | `relu`, `tanh`, `sigmoid`, `gelu` |
//! | `optimizer` | `adam` | `adam`, `sgd` (with momentum) |
//! | `momentum`, `nesterov` | 0.9, false | SGD only |
//! | `learning_rate` | 1e-3 | (0, 10] |
//! | `lr_schedule` | `constant` | `constant`, `cosine` (annealed to 0 over the epochs) |
//! | `batch_size` | 128 | 1.. |
//! | `epochs` | 10 | the epoch fidelity overrides it |
//! | `dropout` | 0 | [0, 0.95] |
//! | `weight_decay` | 0 | [0, 1] |

use candle_core::Device;
use hyperscape_core::{Distribution, SpaceDecl};

use super::mlp::{read_lr_schedule, read_optimiser};
use super::neural::{epochs, prepare, NeuralModel, Prepared};
use super::nn::{Activation, LeNetSpec, LrSchedule, Net, Pooling, TrainConfig};
use crate::data::{Dataset, ImageShape};
use crate::error::{Error, Result};
use crate::model::{FitOptions, ParamReader, Params};

/// The LeNet-5 style network (`lenet`).
#[derive(Debug, Clone, Copy, Default)]
pub struct LeNet;

/// The second dense layer's width from the first: 120 → 84 as in LeNet-5.
pub fn second_dense(width: usize) -> usize {
    ((width as f64 * 0.7).round() as usize).max(1)
}

struct Config {
    spec: LeNetSpec,
    optimiser: super::nn::Optimiser,
    lr_schedule: LrSchedule,
    batch_size: usize,
    epochs: i64,
    weight_decay: f64,
}

fn read(params: &Params) -> Result<Config> {
    let mut r = ParamReader::new("lenet", params);
    let kernel_size = r.int("kernel_size", 5, 1, 15)? as usize;
    let stride = r.int("stride", 1, 1, 4)? as usize;
    let c1 = r.int("conv1_channels", 6, 1, 512)? as usize;
    let c2 = r.int("conv2_channels", 16, 1, 512)? as usize;
    let pooling = match r.choice("pooling", "max", &["max", "avg"])? {
        "avg" => Pooling::Avg,
        _ => Pooling::Max,
    };
    let dense = r.int("dense_width", 120, 2, 8192)? as usize;
    let activation = r.choice("activation", "relu", Activation::NAMES)?;
    let activation = Activation::parse(activation).expect("a listed activation");
    let optimiser = read_optimiser(&mut r, 1e-3)?;
    let lr_schedule = read_lr_schedule(&mut r)?;
    let batch_size = r.int("batch_size", 128, 1, 1 << 24)? as usize;
    let epochs = r.int("epochs", 10, 1, 1_000_000)?;
    let dropout = r.float("dropout", 0.0, 0.0, 0.95)?;
    let weight_decay = r.float("weight_decay", 0.0, 0.0, 1.0)?;
    r.finish()?;
    Ok(Config {
        spec: LeNetSpec {
            kernel_size,
            stride,
            channels: [c1, c2],
            pooling,
            dense: vec![dense, second_dense(dense)],
            activation,
            dropout,
        },
        optimiser,
        lr_schedule,
        batch_size,
        epochs,
        weight_decay,
    })
}

fn image_shape(data: &Dataset) -> Result<ImageShape> {
    data.image.ok_or_else(|| {
        Error::Invalid(format!(
            "model `lenet` needs image data; dataset `{}` has no image shape (rows of {} \
             plain features); use an image data set (digits, mnist, fashion-mnist) or an \
             IDX file",
            data.name, data.n_features
        ))
    })
}

/// Whether a LeNet with kernel `k` and stride `s` fits images of `shape`.
fn fits(shape: ImageShape, k: usize, s: usize) -> bool {
    LeNetSpec {
        kernel_size: k,
        stride: s,
        ..LeNetSpec::default()
    }
    .feature_sizes(shape)
    .is_ok()
}

impl NeuralModel for LeNet {
    const NAME: &'static str = "lenet";

    /// Kernel sizes 3..=7 (fewer for small images: down to 2..=3) and stride 2 only where every
    /// kernel still fits; channels, pooling, dense width, the optimiser's learning
    /// rate, batch size, epochs, dropout and weight decay.
    fn space(&self, data: &Dataset) -> Result<SpaceDecl> {
        let shape = image_shape(data)?;
        let k_max = (2..=7).rev().find(|&k| fits(shape, k, 1)).ok_or_else(|| {
            Error::Invalid(format!(
                "images of {}×{} are too small for a LeNet (two 2×2 convolutions with 2×2 \
                 pooling need at least 6×6)",
                shape.height, shape.width
            ))
        })? as i64;
        let k_min = (k_max - 1).min(3);
        let s_max = if (k_min as usize..=k_max as usize).all(|k| fits(shape, k, 2)) {
            2
        } else {
            1
        };
        let mut space = SpaceDecl::new().param("kernel_size", Distribution::int(k_min, k_max))?;
        if s_max > 1 {
            space = space.param("stride", Distribution::int(1, s_max))?;
        }
        let (min_epochs, max_epochs) = if data.n_samples() > 20_000 {
            (5, 15)
        } else {
            (3, 40)
        };
        Ok(space
            .param("conv1_channels", Distribution::int_log(6, 24))?
            .param("conv2_channels", Distribution::int_log(16, 48))?
            .param("pooling", Distribution::categorical(["max", "avg"]))?
            .param("dense_width", Distribution::int_log(64, 256))?
            .param("learning_rate", Distribution::float_log(3e-4, 1e-2))?
            .param(
                "lr_schedule",
                Distribution::categorical(LrSchedule::NAMES.iter().copied()),
            )?
            .param("batch_size", Distribution::categorical([64i64, 128, 256]))?
            .param("epochs", Distribution::int(min_epochs, max_epochs))?
            .param("dropout", Distribution::float(0.0, 0.5))?
            .param("weight_decay", Distribution::float_log(1e-7, 1e-3))?)
    }

    fn setup(
        &self,
        params: &Params,
        train: &Dataset,
        opts: &FitOptions<'_>,
    ) -> Result<(Net, Prepared, TrainConfig)> {
        let c = read(params)?;
        let shape = image_shape(train)?;
        c.spec.feature_sizes(shape).map_err(|reason| Error::Param {
            model: "lenet".into(),
            param: "kernel_size".into(),
            reason,
        })?;
        let data = prepare("lenet", train, opts, false)?;
        let net = Net::lenet(shape, &c.spec, data.n_classes, opts.seed, &Device::Cpu)?;
        let mut cfg =
            TrainConfig::new(c.optimiser, c.batch_size, epochs(opts, c.epochs), opts.seed);
        if c.weight_decay > 0.0 {
            cfg.l2 = vec![c.weight_decay];
        }
        cfg.lr_schedule = c.lr_schedule;
        Ok((net, data, cfg))
    }
}

#[cfg(test)]
mod tests {
    use super::super::neural::testdata::{digits, iris, majority, params, split};
    use super::*;
    use crate::metrics::{evaluate, Metrics};
    use crate::model::Control;
    use crate::model::Model;
    use hyperscape_core::ParamValue;

    /// Small LeNets for the 8×8 digits: 3×3 kernels, tanh.
    fn small(extra: &[(&str, ParamValue)]) -> Params {
        let mut p = params(&[
            ("activation", "tanh".into()),
            ("kernel_size", 3.into()),
            ("conv1_channels", 8.into()),
            ("conv2_channels", 16.into()),
            ("dense_width", 64.into()),
            ("learning_rate", 5e-3.into()),
            ("batch_size", 32.into()),
            ("epochs", 12.into()),
        ]);
        p.extend(params(extra));
        p
    }

    #[test]
    fn beats_the_majority_baseline_on_digits_images() {
        let (train, _, test) = split(&digits(), 1);
        for pooling in ["max", "avg"] {
            let p = small(&[("pooling", pooling.into()), ("weight_decay", 1e-4.into())]);
            let model = LeNet.fit(&p, &train, FitOptions::seeded(0)).unwrap();
            let acc = evaluate(&model.predict(&test).unwrap(), &test.target).unwrap()["accuracy"];
            assert!(acc > 0.88, "{pooling}: {acc} vs {}", majority(&test));
        }
    }

    #[test]
    fn seeded_reproducible_reports_epochs_and_stops() {
        let (train, valid, test) = split(&digits(), 2);
        let p = small(&[("dropout", 0.2.into()), ("epochs", 2.into())]);
        let fit = |seed| {
            LeNet
                .fit(&p, &train, FitOptions::seeded(seed))
                .unwrap()
                .predict(&test)
                .unwrap()
        };
        assert_eq!(fit(3), fit(3));
        assert_ne!(fit(3), fit(4));
        let mut steps = Vec::new();
        let mut cb = |step: u32, _: &Metrics| {
            steps.push(step);
            if step == 2 {
                Control::Stop
            } else {
                Control::Continue
            }
        };
        let mut opts = FitOptions::seeded(0);
        opts.valid = Some(&valid);
        opts.on_epoch = Some(&mut cb);
        LeNet
            .fit(&small(&[("epochs", 9.into())]), &train, opts)
            .unwrap();
        assert_eq!(steps, vec![1, 2]);
    }

    #[test]
    fn needs_images_that_fit_and_valid_params() {
        let err = LeNet
            .fit(&Params::new(), &iris(), FitOptions::seeded(0))
            .err()
            .unwrap();
        assert!(err.to_string().contains("needs image data"), "{err}");
        assert!(LeNet.default_space(&iris()).is_err());
        // 5×5 kernels do not fit 8×8 digits.
        let (train, _, _) = split(&digits(), 0);
        let err = LeNet
            .fit(&Params::new(), &train, FitOptions::seeded(0))
            .err()
            .unwrap();
        assert!(
            matches!(&err, Error::Param { param, reason, .. } if param == "kernel_size" && reason.contains("8×8")),
            "{err}"
        );
        for (name, value) in [
            ("pooling", ParamValue::from("median")),
            ("stride", 0.into()),
            ("conv1_channels", 0.into()),
            ("weight_decay", (-0.1).into()),
            ("lr_schedule", ParamValue::from("step")),
            ("channels", 4.into()),
        ] {
            let err = LeNet
                .fit(&small(&[(name, value)]), &train, FitOptions::seeded(0))
                .err()
                .unwrap();
            assert!(
                matches!(&err, Error::Param { param, .. } if param == name),
                "{name}: {err}"
            );
        }
        let space = LeNet.default_space(&train).unwrap();
        let hyperscape_core::Distribution::Int { high, .. } =
            space.get("kernel_size").unwrap().distribution
        else {
            panic!()
        };
        assert_eq!(high, 3);
        assert!(space.get("stride").is_none());
    }
}

//! What the bilevel methods need from a model, the data as tensors, and the lower-
//! and upper-level objectives.
//!
//! The lower level is `f(λ, w) = L(w; train) + Σ_l exp(λ_l) · ½‖W_l‖² / n` with `n`
//! the number of training samples and `W_l` the weight tensor of layer `l` (biases
//! are not penalised); with a shared λ every layer uses `λ_0`. The upper level is
//! `F(w) = L(w; validation)`. `L` is the mean cross-entropy for class targets and the
//! mean squared error for real targets (used by the ridge toy problem).

use candle_core::{DType, Device, Tensor, Var, D};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr_free::normal;
use serde::Serialize;

use crate::data::{Dataset, ImageShape, Target};
use crate::error::{Error, Result};
use crate::models::nn::{Activation, LeNetSpec, Net};

/// Maps a candle error to ours.
pub(crate) fn ce(model: &str) -> impl Fn(candle_core::Error) -> Error + '_ {
    move |e| Error::Training {
        model: model.to_string(),
        reason: e.to_string(),
    }
}

/// A differentiable model the bilevel methods can tune.
pub trait DiffModel {
    /// Every trainable tensor (weights and biases).
    fn vars(&self) -> Vec<Var>;
    /// The penalised weight tensors, one per layer (biases excluded).
    fn penalised(&self) -> Vec<Var>;
    /// Outputs (class logits, or one column of predictions) for rows `x`
    /// (`n × n_features`).
    fn logits(&self, x: &Tensor) -> candle_core::Result<Tensor>;
}

/// Which regularisation hyperparameters are tuned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HpKind {
    /// One λ shared by every layer.
    SharedL2,
    /// One λ per layer.
    PerLayerL2,
}

impl HpKind {
    /// The dimension of λ for a model with `layers` penalised weight tensors.
    pub fn dim(self, layers: usize) -> usize {
        match self {
            HpKind::SharedL2 => 1,
            HpKind::PerLayerL2 => layers,
        }
    }
}

/// One split as tensors: rows `x` and targets `y` (u32 class indices or f32 values).
#[derive(Debug, Clone)]
pub struct Data {
    pub x: Tensor,
    pub y: Tensor,
    pub n: usize,
}

impl Data {
    /// A dataset as tensors on the CPU, in `dtype`.
    pub fn from_dataset(ds: &Dataset, dtype: DType) -> Result<Self> {
        let n = ds.n_samples();
        let dev = Device::Cpu;
        let m = ce("data");
        let x = Tensor::from_slice(&ds.features, (n, ds.n_features), &dev)
            .and_then(|t| t.to_dtype(dtype))
            .map_err(&m)?;
        let y = match &ds.target {
            Target::Classes { labels, .. } => Tensor::from_slice(labels, n, &dev).map_err(&m)?,
            Target::Values(v) => Tensor::from_iter(v.iter().map(|&a| a as f32), &dev)
                .and_then(|t| t.to_dtype(dtype))
                .and_then(|t| t.reshape((n, 1)))
                .map_err(&m)?,
        };
        Ok(Self { x, y, n })
    }

    pub fn is_classification(&self) -> bool {
        self.y.dtype() == DType::U32
    }
}

/// Train, validation and (optionally) test data.
#[derive(Debug, Clone)]
pub struct Splits {
    pub train: Data,
    pub valid: Data,
    pub test: Option<Data>,
}

/// The data loss `L(w; data)` as a scalar tensor.
pub fn data_loss(model: &dyn DiffModel, data: &Data) -> candle_core::Result<Tensor> {
    let out = model.logits(&data.x)?;
    if data.is_classification() {
        candle_nn::loss::cross_entropy(&out, &data.y)
    } else {
        candle_nn::loss::mse(&out, &data.y)
    }
}

/// `Σ_l exp(λ_{i(l)}) · ½‖W_l‖² / n` with `i(l) = 0` for a shared λ and `l` otherwise.
pub fn penalty(model: &dyn DiffModel, lambda: &Tensor, n: usize) -> candle_core::Result<Tensor> {
    let ws = model.penalised();
    let d = lambda.dim(0)?;
    let mut total: Option<Tensor> = None;
    for (l, w) in ws.iter().enumerate() {
        let i = if d == 1 { 0 } else { l };
        let coef = lambda.narrow(0, i, 1)?.exp()?.reshape(())?;
        let term = (w.sqr()?.sum_all()? * (0.5 / n as f64))?.mul(&coef)?;
        total = Some(match total {
            Some(t) => (t + term)?,
            None => term,
        });
    }
    total.ok_or_else(|| candle_core::Error::Msg("model has no penalised weights".into()))
}

/// The lower-level objective `f(λ, w)` on the training data.
pub fn lower(model: &dyn DiffModel, lambda: &Tensor, train: &Data) -> candle_core::Result<Tensor> {
    data_loss(model, train)? + penalty(model, lambda, train.n)?
}

/// Loss and accuracy on one split.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SetMetrics {
    /// Mean cross-entropy (mean squared error for real targets).
    pub cross_entropy: f64,
    /// Accuracy; `None` for real targets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
}

/// Metrics of a model on one split.
pub fn set_metrics(model: &dyn DiffModel, data: &Data) -> Result<SetMetrics> {
    let m = ce("evaluation");
    let out = model.logits(&data.x).map_err(&m)?;
    if data.is_classification() {
        let loss = candle_nn::loss::cross_entropy(&out, &data.y).map_err(&m)?;
        let pred = out.argmax(D::Minus1).map_err(&m)?;
        let hits = pred
            .eq(&data.y)
            .and_then(|t| t.to_dtype(DType::F64))
            .and_then(|t| t.sum_all())
            .and_then(|t| t.to_scalar::<f64>())
            .map_err(&m)?;
        Ok(SetMetrics {
            cross_entropy: scalar(&loss)?,
            accuracy: Some(hits / data.n as f64),
        })
    } else {
        let loss = candle_nn::loss::mse(&out, &data.y).map_err(&m)?;
        Ok(SetMetrics {
            cross_entropy: scalar(&loss)?,
            accuracy: None,
        })
    }
}

/// A scalar tensor as f64.
pub fn scalar(t: &Tensor) -> Result<f64> {
    t.to_dtype(DType::F64)
        .and_then(|t| t.to_scalar::<f64>())
        .map_err(ce("tensor"))
}

/// A 1-D tensor as f64s.
pub fn vec1(t: &Tensor) -> Result<Vec<f64>> {
    t.to_dtype(DType::F64)
        .and_then(|t| t.flatten_all())
        .and_then(|t| t.to_vec1::<f64>())
        .map_err(ce("tensor"))
}

/// A copy of every variable's value.
pub fn snapshot(model: &dyn DiffModel) -> Result<Vec<Tensor>> {
    model
        .vars()
        .iter()
        .map(|v| v.as_tensor().copy().map_err(ce("snapshot")))
        .collect()
}

/// Sets every variable from a snapshot.
pub fn restore(model: &dyn DiffModel, snap: &[Tensor]) -> Result<()> {
    for (v, t) in model.vars().iter().zip(snap) {
        v.set(t).map_err(ce("restore"))?;
    }
    Ok(())
}

/// A seeded Gaussian tensor (candle's own CPU RNG is not seedable per call).
fn randn(rng: &mut ChaCha8Rng, shape: (usize, usize), std: f64, dtype: DType) -> Result<Var> {
    let v: Vec<f32> = (0..shape.0 * shape.1)
        .map(|_| (normal(rng) * std) as f32)
        .collect();
    Tensor::from_vec(v, shape, &Device::Cpu)
        .and_then(|t| t.to_dtype(dtype))
        .and_then(|t| Var::from_tensor(&t))
        .map_err(ce("init"))
}

fn zeros(n: usize, dtype: DType) -> Result<Var> {
    Var::zeros(n, dtype, &Device::Cpu).map_err(ce("init"))
}

/// A reference dense network in any dtype (the zoo's [`Net`] is `f32`): layers
/// `x W_l + b_l` with ReLU between them, the last linear; `layers = [inputs, hidden…,
/// outputs]`; He-normal initialisation, zero biases. Used by the ridge toy problem and
/// by the `f64` gradient checks.
pub struct Dense {
    ws: Vec<Var>,
    bs: Vec<Var>,
}

impl Dense {
    /// `bias = false` gives a model without biases (the ridge toy problem).
    pub fn new(layers: &[usize], bias: bool, dtype: DType, seed: u64) -> Result<Self> {
        if layers.len() < 2 || layers.contains(&0) {
            return Err(Error::Invalid(format!("dense layer sizes {layers:?}")));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut ws = Vec::new();
        let mut bs = Vec::new();
        for pair in layers.windows(2) {
            ws.push(randn(
                &mut rng,
                (pair[0], pair[1]),
                (2.0 / pair[0] as f64).sqrt(),
                dtype,
            )?);
            if bias {
                bs.push(zeros(pair[1], dtype)?);
            }
        }
        Ok(Self { ws, bs })
    }
}

impl DiffModel for Dense {
    fn vars(&self) -> Vec<Var> {
        self.ws.iter().chain(&self.bs).cloned().collect()
    }
    fn penalised(&self) -> Vec<Var> {
        self.ws.clone()
    }
    fn logits(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut h = x.clone();
        for (l, w) in self.ws.iter().enumerate() {
            h = h.matmul(w)?;
            if let Some(b) = self.bs.get(l) {
                h = h.broadcast_add(b)?;
            }
            if l + 1 < self.ws.len() {
                h = h.relu()?;
            }
        }
        Ok(h)
    }
}

/// The model zoo's candle networks (logistic regression, MLP, LeNet) as bilevel
/// models: their per-layer weight tensors are penalised, biases are not. Dropout is
/// off (`forward(x, false)`), so every objective is deterministic.
impl DiffModel for Net {
    fn vars(&self) -> Vec<Var> {
        Net::vars(self)
    }
    fn penalised(&self) -> Vec<Var> {
        self.penalised_weights()
    }
    fn logits(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.forward(x, false)
    }
}

/// Which model the bilevel methods build (freshly, from a seed, for every φ(λ)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelSpec {
    /// Multinomial logistic regression ([`Net::logreg`], one penalised layer).
    Logreg,
    /// MLP with ReLU hidden layers of these widths ([`Net::mlp`]; 784-100-10 in the
    /// paper: two penalised layers).
    Mlp { hidden: Vec<usize> },
    /// LeNet-5 ([`Net::lenet`] with the default [`LeNetSpec`]) on square one-channel
    /// images (`inputs` must be a square: 784 = 28×28); five penalised layers.
    Lenet,
    /// Linear regression without bias ([`Dense`], any dtype: the ridge toy problem).
    Linear,
}

impl ModelSpec {
    /// A fresh model for `inputs` features and `outputs` classes (or 1 output). The
    /// zoo's networks are `f32` only; `dtype` applies to [`ModelSpec::Linear`].
    pub fn build(
        &self,
        inputs: usize,
        outputs: usize,
        dtype: DType,
        seed: u64,
    ) -> Result<Box<dyn DiffModel>> {
        let dev = Device::Cpu;
        let m = ce("model");
        if dtype != DType::F32 && !matches!(self, ModelSpec::Linear) {
            return Err(Error::Invalid(format!(
                "model {self:?} is f32 only (asked for {dtype:?})"
            )));
        }
        Ok(match self {
            ModelSpec::Logreg => Box::new(Net::logreg(inputs, outputs, seed, &dev).map_err(&m)?),
            ModelSpec::Mlp { hidden } => Box::new(
                Net::mlp(inputs, hidden, Activation::Relu, 0.0, outputs, seed, &dev).map_err(&m)?,
            ),
            ModelSpec::Lenet => {
                let side = (inputs as f64).sqrt().round() as usize;
                if side * side != inputs {
                    return Err(Error::Invalid(format!(
                        "lenet needs square one-channel images; {inputs} features is not a square"
                    )));
                }
                let shape = ImageShape {
                    channels: 1,
                    height: side,
                    width: side,
                };
                Box::new(Net::lenet(shape, &LeNetSpec::default(), outputs, seed, &dev).map_err(&m)?)
            }
            ModelSpec::Linear => Box::new(Dense::new(&[inputs, 1], false, dtype, seed)?),
        })
    }
}

/// A standard normal draw (Box–Muller), so no extra distribution crate is needed.
mod rand_distr_free {
    use rand::Rng;
    pub fn normal(rng: &mut impl Rng) -> f64 {
        let u1: f64 = rng.random::<f64>().max(1e-300);
        let u2: f64 = rng.random();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// The paper's splits of a loaded dataset: a seeded random subset of `subset` samples
/// of the pool, split 60/40 (stratified) into training and validation; the test set is
/// the dataset's official one when it has one (Fashion-MNIST), otherwise every pool
/// sample outside the subset (MNIST: the unused digits of the 10,000). Features are
/// divided by the pool's largest value when it exceeds 1 (pixels 0–255 → 0–1).
pub fn paper_splits(loaded: &crate::data::Loaded, subset: usize, seed: u64) -> Result<Splits> {
    use rand::seq::SliceRandom;
    let pool = &loaded.train;
    let n = pool.n_samples();
    // Without an official test set the test set is the pool outside the subset.
    let largest = if loaded.test.is_some() {
        n
    } else {
        n.saturating_sub(1)
    };
    if subset < 10 || subset > largest {
        let why = if loaded.test.is_some() {
            String::new()
        } else {
            " (it has no official test set, so the samples outside the subset are the \
             test set and at least one must be left)"
                .to_string()
        };
        return Err(Error::Invalid(format!(
            "subset of {subset} samples: it must be between 10 and {largest} for `{}`, \
             which has {n}{why}",
            pool.name
        )));
    }
    let mut rows: Vec<usize> = (0..n).collect();
    rows.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let sub = pool.select(&rows[..subset]);
    let split = crate::split::train_valid_test(&sub, 0.4, 0.0, seed)?;
    let max = pool.features.iter().fold(0f32, |m, &v| m.max(v));
    let scale = |mut ds: Dataset| -> Dataset {
        if max > 1.0 {
            ds.features.iter_mut().for_each(|v| *v /= max);
        }
        ds
    };
    let test = match &loaded.test {
        Some(t) => t.clone(),
        None => pool.select(&rows[subset..]),
    };
    Ok(Splits {
        train: Data::from_dataset(&scale(sub.select(&split.train)), DType::F32)?,
        valid: Data::from_dataset(&scale(sub.select(&split.valid)), DType::F32)?,
        test: Some(Data::from_dataset(&scale(test), DType::F32)?),
    })
}

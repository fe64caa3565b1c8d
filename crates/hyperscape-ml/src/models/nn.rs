//! The shared network core of the neural models (logistic regression, MLP, LeNet),
//! on candle's CPU backend with autograd.
//!
//! - [`Net`] is a feed-forward classifier built from a spec: [`Net::logreg`] (one
//!   dense layer), [`Net::mlp`] (dense hidden layers with an [`Activation`] and
//!   dropout) and [`Net::lenet`] (two convolution + pooling blocks, then dense layers:
//!   a LeNet-5 style network, see [`LeNetSpec`]). [`Net::forward`] gives the logits.
//! - [`weight_penalty`] is Σ_l l1_l·‖W_l‖₁ + l2_l·½‖W_l‖² over the weight tensors of
//!   [`Net::penalised_weights`] (biases are never penalised). The coefficients are
//!   scalar tensors, which may be [`Var`]s themselves, so the gradient of a loss with
//!   respect to each regularisation weight is available (the bilevel method uses it).
//! - [`train`] is the minibatch training loop: seeded shuffling, SGD with (Nesterov)
//!   momentum or Adam (candle-nn's `AdamW` update with no decoupled decay, with its
//!   state exposed), L1/L2 penalties per layer (L1 optionally as a proximal
//!   soft-threshold step, which gives exact zeros), validation metrics after every
//!   epoch handed to a callback that may stop training. [`train_from`] resumes it
//!   after a given epoch with saved [`OptimiserState`] (checkpoints of the models).
//!
//! Reproducibility: initial weights, dropout masks and the batch order all come from
//! ChaCha8 streams derived from the seed (candle's own CPU RNG cannot be seeded per
//! call); candle's CPU kernels split work over rows and batch items, never a sum, so a
//! fit with the same seed and thread count gives bit-identical weights.
//!
//! Threads: candle's CPU kernels run on the current rayon pool; [`with_threads`] runs a
//! closure inside a pool of the requested size (`FitOptions::threads`; 0 keeps the
//! global pool). candle's matrix products (the `gemm` crate) additionally split their
//! work into `RAYON_NUM_THREADS` parts (default: the physical core count), a setting
//! read from the environment on every product; with a smaller pool those parts run one
//! after another. For the best single-thread speed set `RAYON_NUM_THREADS` to the pool
//! size as well (the training benchmark does).
//!
//! Memory: [`train`] calls [`keep_freed_memory`] once (glibc `mallopt`), so candle's
//! per-operation buffers are reused instead of mapped and unmapped on every step.

mod conv_block;
mod im2col;
mod pool;

use std::sync::Mutex;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::Optimizer;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::{ImageShape, Target};
use crate::error::{Error, Result};
use crate::metrics::{evaluate, Metrics};
use crate::model::{Control, EpochCallback, Prediction};

/// A hidden-layer activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Relu,
    Tanh,
    Sigmoid,
    /// GELU with the exact (erf) form, as PyTorch's default.
    Gelu,
}

impl Activation {
    /// The hyperparameter names, in [`Activation::parse`] order.
    pub const NAMES: &'static [&'static str] = &["relu", "tanh", "sigmoid", "gelu"];

    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "relu" => Activation::Relu,
            "tanh" => Activation::Tanh,
            "sigmoid" => Activation::Sigmoid,
            "gelu" => Activation::Gelu,
            _ => return None,
        })
    }

    pub fn apply(self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Activation::Relu => x.relu(),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => candle_nn::ops::sigmoid(x),
            Activation::Gelu => x.gelu_erf(),
        }
    }
}

/// The pooling of a convolution block (window 2, stride 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    Max,
    Avg,
}

/// A LeNet-5 style network: conv(k, stride, "same" padding) → activation → pool 2 →
/// conv(k, stride, no padding) → activation → pool 2 → dense hidden layers (with
/// dropout) → output. The default is LeNet-5 itself on 28×28 inputs: 5×5 kernels,
/// 6 and 16 channels, max pooling, dense 120 and 84, ReLU.
#[derive(Debug, Clone, PartialEq)]
pub struct LeNetSpec {
    pub kernel_size: usize,
    pub stride: usize,
    /// Output channels of the two convolutions.
    pub channels: [usize; 2],
    pub pooling: Pooling,
    /// Widths of the dense hidden layers after the convolutions.
    pub dense: Vec<usize>,
    pub activation: Activation,
    /// Dropout probability after each dense hidden layer, in [0, 1).
    pub dropout: f64,
}

impl Default for LeNetSpec {
    fn default() -> Self {
        Self {
            kernel_size: 5,
            stride: 1,
            channels: [6, 16],
            pooling: Pooling::Max,
            dense: vec![120, 84],
            activation: Activation::Relu,
            dropout: 0.0,
        }
    }
}

impl LeNetSpec {
    /// The spatial size (height, width) after each of the two conv + pool blocks, or
    /// why the spec does not fit images of this shape.
    pub fn feature_sizes(
        &self,
        shape: ImageShape,
    ) -> std::result::Result<[(usize, usize); 2], String> {
        let k = self.kernel_size;
        let s = self.stride;
        if k == 0 || s == 0 {
            return Err("kernel size and stride must be positive".into());
        }
        if self.channels.contains(&0) || self.dense.contains(&0) {
            return Err("channel counts and dense widths must be positive".into());
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(format!("dropout {} is outside [0, 1)", self.dropout));
        }
        let conv = |n: usize, pad: usize| (n + 2 * pad).checked_sub(k).map(|m| m / s + 1);
        let mut sizes = [(0, 0); 2];
        let (mut h, mut w) = (shape.height, shape.width);
        for (i, pad) in [k / 2, 0].into_iter().enumerate() {
            let (ch, cw) = match (conv(h, pad), conv(w, pad)) {
                (Some(a), Some(b)) => (a, b),
                _ => {
                    return Err(format!(
                        "convolution {} with kernel {k} does not fit a {h}×{w} input \
                         (images are {}×{})",
                        i + 1,
                        shape.height,
                        shape.width
                    ))
                }
            };
            (h, w) = (ch / 2, cw / 2);
            if h == 0 || w == 0 {
                return Err(format!(
                    "block {} leaves a {ch}×{cw} map, too small to pool 2×2 (images are {}×{}; \
                     use a smaller kernel or stride)",
                    i + 1,
                    shape.height,
                    shape.width
                ));
            }
            sizes[i] = (h, w);
        }
        Ok(sizes)
    }
}

#[derive(Debug)]
struct Dense {
    /// `[in, out]` (the transpose of PyTorch's layout): the forward product and the
    /// weight gradient are then plain row-major products, with no strided operands.
    w: Var,
    b: Var,
}

#[derive(Debug)]
struct Conv {
    /// `[c_out, c_in, k, k]`.
    w: Var,
    b: Var,
    padding: usize,
    stride: usize,
}

impl Conv {
    /// The convolution plus bias of NCHW `x`, as im2col and one matrix product (see
    /// [`im2col`]).
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (b, _, h, w) = x.dims4()?;
        let (c_out, c_in, k, _) = self.w.dims4()?;
        let geometry = im2col::Im2Col {
            kernel: k,
            stride: self.stride,
            padding: self.padding,
        };
        let (ho, wo) = geometry.out_size(h, w);
        let cols = x.contiguous()?.apply_op1(geometry)?;
        let kernel = self.w.reshape((c_out, c_in * k * k))?;
        cols.matmul(&kernel.t()?)?
            .broadcast_add(&self.b)?
            .reshape((b, ho, wo, c_out))?
            .permute((0, 3, 1, 2))
    }

    /// The whole block (convolution + bias → activation → 2×2 pooling) as one fused op
    /// ([`conv_block`]), or `None` where the op does not apply (GELU, not f32 on the
    /// CPU); then [`Net::forward`] takes the unfused path.
    fn fused_block(
        &self,
        x: &Tensor,
        activation: Activation,
        pooling: Pooling,
    ) -> candle_core::Result<Option<Tensor>> {
        if x.dtype() != DType::F32 || !x.device().is_cpu() {
            return Ok(None);
        }
        let geometry = im2col::Im2Col {
            kernel: self.w.dim(2)?,
            stride: self.stride,
            padding: self.padding,
        };
        let Some(op) = conv_block::ConvBlock::new(geometry, activation, pooling) else {
            return Ok(None);
        };
        Ok(Some(x.contiguous()?.apply_op3(
            self.w.as_tensor(),
            self.b.as_tensor(),
            op,
        )?))
    }
}

/// A feed-forward classifier: optional convolution blocks, then dense layers; the last
/// dense layer gives the logits.
#[derive(Debug)]
pub struct Net {
    n_in: usize,
    image: Option<ImageShape>,
    convs: Vec<Conv>,
    pooling: Pooling,
    dense: Vec<Dense>,
    activation: Activation,
    dropout: f64,
    n_classes: usize,
    /// Draws the dropout masks.
    rng: Mutex<ChaCha8Rng>,
}

/// Uniform(−1/√fan_in, 1/√fan_in) values: PyTorch's default initialisation of both
/// the weights and the biases of `Linear` and `Conv2d`.
fn uniform_var(
    rng: &mut ChaCha8Rng,
    shape: &[usize],
    fan_in: usize,
    device: &Device,
) -> candle_core::Result<Var> {
    let bound = 1.0 / (fan_in.max(1) as f32).sqrt();
    let n: usize = shape.iter().product();
    let values: Vec<f32> = (0..n).map(|_| rng.random_range(-bound..bound)).collect();
    Var::from_tensor(&Tensor::from_vec(values, shape, device)?)
}

fn dense_layer(
    rng: &mut ChaCha8Rng,
    n_in: usize,
    n_out: usize,
    device: &Device,
) -> candle_core::Result<Dense> {
    Ok(Dense {
        w: uniform_var(rng, &[n_in, n_out], n_in, device)?,
        b: uniform_var(rng, &[n_out], n_in, device)?,
    })
}

const DROPOUT_STREAM: u64 = 0x6a09_e667_f3bc_c908;

impl Net {
    fn with_layers(
        n_in: usize,
        image: Option<ImageShape>,
        convs: Vec<Conv>,
        dense: Vec<Dense>,
        activation: Activation,
        dropout: f64,
        seed: u64,
    ) -> Self {
        let n_classes = dense.last().map_or(0, |d| d.b.dim(0).unwrap_or(0));
        Self {
            n_in,
            image,
            convs,
            pooling: Pooling::Max,
            dense,
            activation,
            dropout,
            n_classes,
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed ^ DROPOUT_STREAM)),
        }
    }

    /// Multinomial logistic regression: one dense layer, started at zero (the problem is
    /// convex; the seed only matters for the batch order of [`train`]).
    pub fn logreg(
        n_in: usize,
        n_classes: usize,
        seed: u64,
        device: &Device,
    ) -> candle_core::Result<Self> {
        check_sizes(n_in, n_classes)?;
        let layer = Dense {
            w: Var::zeros((n_in, n_classes), DType::F32, device)?,
            b: Var::zeros(n_classes, DType::F32, device)?,
        };
        Ok(Self::with_layers(
            n_in,
            None,
            Vec::new(),
            vec![layer],
            Activation::Relu,
            0.0,
            seed,
        ))
    }

    /// A multilayer perceptron with hidden layers of widths `hidden` (may be empty),
    /// `activation` after each, and dropout with probability `dropout` after each
    /// hidden activation while training.
    pub fn mlp(
        n_in: usize,
        hidden: &[usize],
        activation: Activation,
        dropout: f64,
        n_classes: usize,
        seed: u64,
        device: &Device,
    ) -> candle_core::Result<Self> {
        check_sizes(n_in, n_classes)?;
        if hidden.contains(&0) {
            candle_core::bail!("hidden layer widths must be positive, got {hidden:?}");
        }
        if !(0.0..1.0).contains(&dropout) {
            candle_core::bail!("dropout {dropout} is outside [0, 1)");
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut widths = vec![n_in];
        widths.extend_from_slice(hidden);
        widths.push(n_classes);
        let dense = widths
            .windows(2)
            .map(|w| dense_layer(&mut rng, w[0], w[1], device))
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self::with_layers(
            n_in,
            None,
            Vec::new(),
            dense,
            activation,
            dropout,
            seed,
        ))
    }

    /// A LeNet-5 style convolutional network on images of `shape` (rows of the input
    /// are `channels × height × width`).
    pub fn lenet(
        shape: ImageShape,
        spec: &LeNetSpec,
        n_classes: usize,
        seed: u64,
        device: &Device,
    ) -> candle_core::Result<Self> {
        let n_in = shape.channels * shape.height * shape.width;
        check_sizes(n_in, n_classes)?;
        let sizes = spec.feature_sizes(shape).map_err(candle_core::Error::msg)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let k = spec.kernel_size;
        let mut convs = Vec::new();
        let mut c_in = shape.channels;
        for (i, &c_out) in spec.channels.iter().enumerate() {
            let fan_in = c_in * k * k;
            convs.push(Conv {
                w: uniform_var(&mut rng, &[c_out, c_in, k, k], fan_in, device)?,
                b: uniform_var(&mut rng, &[c_out], fan_in, device)?,
                padding: if i == 0 { k / 2 } else { 0 },
                stride: spec.stride,
            });
            c_in = c_out;
        }
        let (h, w) = sizes[1];
        let mut widths = vec![c_in * h * w];
        widths.extend_from_slice(&spec.dense);
        widths.push(n_classes);
        let dense = widths
            .windows(2)
            .map(|w| dense_layer(&mut rng, w[0], w[1], device))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let mut net = Self::with_layers(
            n_in,
            Some(shape),
            convs,
            dense,
            spec.activation,
            spec.dropout,
            seed,
        );
        net.pooling = spec.pooling;
        Ok(net)
    }

    /// Input features per row.
    pub fn n_in(&self) -> usize {
        self.n_in
    }

    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Reseeds the dropout masks (a fresh fit of the same net starts over).
    pub fn reseed_dropout(&self, seed: u64) {
        *self.rng.lock().unwrap_or_else(|e| e.into_inner()) =
            ChaCha8Rng::seed_from_u64(seed ^ DROPOUT_STREAM);
    }

    /// The logits `[batch, n_classes]` of the rows of `x` (`[batch, n_in]`). Dropout
    /// applies only when `train` is set.
    pub fn forward(&self, x: &Tensor, train: bool) -> candle_core::Result<Tensor> {
        self.forward_with(x, train, true)
    }

    /// [`Net::forward`]; `fused` picks the fused convolution blocks where they apply
    /// (false: the unfused reference chain of candle ops, kept for comparison).
    fn forward_with(&self, x: &Tensor, train: bool, fused: bool) -> candle_core::Result<Tensor> {
        let mut h = x.clone();
        if let Some(shape) = self.image.filter(|_| !self.convs.is_empty()) {
            let b = h.dim(0)?;
            h = h.reshape((b, shape.channels, shape.height, shape.width))?;
            for conv in &self.convs {
                if fused {
                    if let Some(out) = conv.fused_block(&h, self.activation, self.pooling)? {
                        h = out;
                        continue;
                    }
                }
                h = conv.forward(&h)?;
                h = self.activation.apply(&h)?;
                // Pooling drops an odd last row / column; cropping it first gives the
                // same values, and keeps candle's pooling gradients (which upsample
                // back to the input size) aligned.
                let (_, _, ph, pw) = h.dims4()?;
                if ph % 2 == 1 {
                    h = h.narrow(2, 0, ph - 1)?;
                }
                if pw % 2 == 1 {
                    h = h.narrow(3, 0, pw - 1)?;
                }
                h = match self.pooling {
                    Pooling::Max => h.contiguous()?.apply_op1(pool::MaxPool2)?,
                    Pooling::Avg => h.avg_pool2d(2)?,
                };
            }
            h = h.flatten_from(1)?;
        }
        let last = self.dense.len() - 1;
        for (i, layer) in self.dense.iter().enumerate() {
            h = h.matmul(&layer.w)?.broadcast_add(&layer.b)?;
            if i < last {
                h = self.activation.apply(&h)?;
                if train && self.dropout > 0.0 {
                    h = self.dropout_mask(&h)?;
                }
            }
        }
        Ok(h)
    }

    /// Inverted dropout with a mask from the net's own seeded stream.
    fn dropout_mask(&self, h: &Tensor) -> candle_core::Result<Tensor> {
        let keep = 1.0 - self.dropout;
        let scale = (1.0 / keep) as f32;
        let n = h.elem_count();
        let mask: Vec<f32> = {
            let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
            (0..n)
                .map(|_| if rng.random_bool(keep) { scale } else { 0.0 })
                .collect()
        };
        h.mul(&Tensor::from_vec(mask, h.shape(), h.device())?)
    }

    /// The weight tensors of each layer, biases excluded, in layer order (convolutions
    /// first, `[c_out, c_in, k, k]`, then dense layers, `[in, out]`; the output layer
    /// last).
    pub fn penalised_weights(&self) -> Vec<Var> {
        self.convs
            .iter()
            .map(|c| c.w.clone())
            .chain(self.dense.iter().map(|d| d.w.clone()))
            .collect()
    }

    /// Every trainable variable: each layer's weight, then its bias.
    pub fn vars(&self) -> Vec<Var> {
        self.convs
            .iter()
            .flat_map(|c| [c.w.clone(), c.b.clone()])
            .chain(self.dense.iter().flat_map(|d| [d.w.clone(), d.b.clone()]))
            .collect()
    }

    /// Class probabilities of the rows of `x`, row-major, computed in chunks.
    pub fn predict_proba(&self, x: &Tensor) -> candle_core::Result<Vec<f32>> {
        const CHUNK: usize = 2048;
        let n = x.dim(0)?;
        let mut out = Vec::with_capacity(n * self.n_classes);
        let mut start = 0;
        while start < n {
            let len = CHUNK.min(n - start);
            let logits = self.forward(&x.narrow(0, start, len)?, false)?;
            let p = candle_nn::ops::softmax_last_dim(&logits)?;
            out.extend(p.flatten_all()?.to_vec1::<f32>()?);
            start += len;
        }
        Ok(out)
    }
}

fn check_sizes(n_in: usize, n_classes: usize) -> candle_core::Result<()> {
    if n_in == 0 {
        candle_core::bail!("a network needs at least one input feature");
    }
    if n_classes < 2 {
        candle_core::bail!("a classifier needs at least two classes, got {n_classes}");
    }
    Ok(())
}

/// Σ_l l1_l·‖W_l‖₁ + l2_l·½‖W_l‖² as a scalar tensor.
///
/// `l1` and `l2` each hold no coefficient (that term is left out), one (shared by
/// every layer) or one per weight tensor; each coefficient is a scalar (rank-0 or
/// one-element) tensor and may be a [`Var`], so that `backward` yields the gradient of
/// the loss with respect to it.
pub fn weight_penalty(
    weights: &[Var],
    l1: &[Tensor],
    l2: &[Tensor],
) -> candle_core::Result<Tensor> {
    let coef = |c: &[Tensor], i: usize, what: &str| -> candle_core::Result<Option<Tensor>> {
        match c.len() {
            0 => Ok(None),
            1 => Ok(Some(c[0].reshape(())?)),
            n if n == weights.len() => Ok(Some(c[i].reshape(())?)),
            n => candle_core::bail!(
                "{n} {what} coefficients for {} weight tensors (give 0, 1 or one per layer)",
                weights.len()
            ),
        }
    };
    let device = weights
        .first()
        .map(|w| w.device().clone())
        .unwrap_or(Device::Cpu);
    let mut total = Tensor::zeros((), DType::F32, &device)?;
    for (i, w) in weights.iter().enumerate() {
        if let Some(c) = coef(l1, i, "L1")? {
            total = (total + c.mul(&w.abs()?.sum_all()?)?)?;
        }
        if let Some(c) = coef(l2, i, "L2")? {
            total = (total + c.mul(&w.sqr()?.sum_all()?.affine(0.5, 0.0)?)?)?;
        }
    }
    Ok(total)
}

/// A labelled data set as tensors: `x` is `[n, n_in]` f32, `y` is `[n]` u32.
#[derive(Debug, Clone)]
pub struct Data {
    pub x: Tensor,
    pub y: Tensor,
    pub labels: Vec<u32>,
    pub n_classes: usize,
}

impl Data {
    /// From row-major features and class labels; checks the sizes and labels.
    pub fn new(
        features: Vec<f32>,
        n_features: usize,
        labels: Vec<u32>,
        n_classes: usize,
        device: &Device,
    ) -> candle_core::Result<Self> {
        let n = labels.len();
        if n == 0 || n_features == 0 || features.len() != n * n_features {
            candle_core::bail!(
                "{} feature values for {n} labels × {n_features} features",
                features.len()
            );
        }
        if let Some(bad) = labels.iter().find(|&&l| l as usize >= n_classes) {
            candle_core::bail!("label {bad} is not below the class count {n_classes}");
        }
        Ok(Self {
            x: Tensor::from_vec(features, (n, n_features), device)?,
            y: Tensor::from_vec(labels.clone(), n, device)?,
            labels,
            n_classes,
        })
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Accuracy and cross-entropy of `net` on `data` (the definitions of
/// [`crate::metrics::evaluate`]).
pub fn evaluate_net(net: &Net, data: &Data) -> Result<Metrics> {
    let p = net.predict_proba(&data.x)?;
    let target = Target::Classes {
        labels: data.labels.clone(),
        n_classes: data.n_classes,
        names: Vec::new(),
    };
    evaluate(
        &Prediction::Probabilities {
            p,
            n_classes: net.n_classes(),
        },
        &target,
    )
}

/// The optimiser of [`train`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Optimiser {
    /// SGD with heavy-ball momentum (PyTorch's form: v ← μv + g, w ← w − lr·v) or
    /// Nesterov momentum (w ← w − lr·(g + μv)); momentum 0 is plain SGD.
    Sgd {
        lr: f64,
        momentum: f64,
        nesterov: bool,
    },
    /// Adam (candle-nn's `AdamW` update with no decoupled weight decay; implemented
    /// here so that its moments can be checkpointed).
    Adam {
        lr: f64,
        beta1: f64,
        beta2: f64,
        eps: f64,
    },
}

impl Optimiser {
    pub fn adam(lr: f64) -> Self {
        Optimiser::Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }

    pub fn sgd(lr: f64, momentum: f64) -> Self {
        Optimiser::Sgd {
            lr,
            momentum,
            nesterov: false,
        }
    }

    pub fn lr(&self) -> f64 {
        match *self {
            Optimiser::Sgd { lr, .. } | Optimiser::Adam { lr, .. } => lr,
        }
    }
}

/// Settings of [`train`].
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    pub optimiser: Optimiser,
    /// Rows per minibatch; at least the row count means full-batch gradient steps.
    pub batch_size: usize,
    pub epochs: u32,
    /// L1 coefficients of the weight tensors ([`Net::penalised_weights`]): none, one
    /// shared, or one per tensor (as [`weight_penalty`]).
    pub l1: Vec<f64>,
    /// L2 coefficients (of ½‖W‖²), given as `l1` is.
    pub l2: Vec<f64>,
    /// Apply L1 as a proximal soft-threshold step after each update (threshold
    /// lr·l1_l) instead of adding its subgradient to the loss: weights then become
    /// exactly zero.
    pub l1_proximal: bool,
    /// Seeds the batch order.
    pub seed: u64,
    /// Worker threads (0: the current pool), see [`with_threads`].
    pub threads: usize,
    /// How the learning rate changes over the epochs.
    pub lr_schedule: LrSchedule,
}

/// The learning rate of each epoch, as a factor of the optimiser's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LrSchedule {
    /// The same rate in every epoch.
    #[default]
    Constant,
    /// Cosine annealing to zero over the run's epochs, stepped once per epoch
    /// (PyTorch's `CosineAnnealingLR` with `T_max` = epochs, `eta_min` = 0): epoch
    /// `e` of `E` (from 1) trains at `lr · ½(1 + cos(π(e − 1)/E))`. The horizon is
    /// the fit's epoch count, so under an epoch budget every budget anneals fully;
    /// a promotion that resumes a checkpoint to a larger budget continues on the new
    /// horizon's curve (the rate rises again), and is then not the same as a run
    /// trained to the larger budget at once.
    Cosine,
}

impl LrSchedule {
    /// The names `lr_schedule` takes.
    pub const NAMES: &'static [&'static str] = &["constant", "cosine"];

    /// Parses one of [`LrSchedule::NAMES`].
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "constant" => Some(LrSchedule::Constant),
            "cosine" => Some(LrSchedule::Cosine),
            _ => None,
        }
    }

    /// The factor of epoch `epoch` (from 1) of `epochs`.
    pub fn factor(self, epoch: u32, epochs: u32) -> f64 {
        match self {
            LrSchedule::Constant => 1.0,
            LrSchedule::Cosine => {
                let t = f64::from(epoch.saturating_sub(1)) / f64::from(epochs.max(1));
                0.5 * (1.0 + (std::f64::consts::PI * t.min(1.0)).cos())
            }
        }
    }
}

impl TrainConfig {
    pub fn new(optimiser: Optimiser, batch_size: usize, epochs: u32, seed: u64) -> Self {
        Self {
            optimiser,
            batch_size,
            epochs,
            l1: Vec::new(),
            l2: Vec::new(),
            l1_proximal: false,
            seed,
            threads: 0,
            lr_schedule: LrSchedule::Constant,
        }
    }
}

/// What [`train`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainReport {
    /// Epochs completed.
    pub epochs_run: u32,
    /// Whether the callback stopped training early.
    pub stopped: bool,
    /// The mean training objective (cross-entropy plus penalty) over the batches of
    /// each epoch.
    pub train_loss: Vec<f64>,
    /// The validation metrics after each epoch (empty without a validation set).
    pub valid: Vec<Metrics>,
}

/// SGD with momentum; candle-nn's `SGD` has none.
struct MomentumSgd {
    vars: Vec<Var>,
    velocity: Vec<Option<Tensor>>,
    lr: f64,
    momentum: f64,
    nesterov: bool,
}

impl MomentumSgd {
    fn step(&mut self, grads: &candle_core::backprop::GradStore) -> candle_core::Result<()> {
        for (var, vel) in self.vars.iter().zip(self.velocity.iter_mut()) {
            let Some(g) = grads.get(var) else { continue };
            // candle leaves the gradients of variables attached to the graph of the
            // step that produced them; kept in the velocity, each step's graph would
            // stay alive through the next one (memory grew by gigabytes per epoch).
            let g = g.detach();
            let v = match vel.take() {
                None => g.clone(),
                Some(v) => ((v * self.momentum)? + &g)?,
            };
            let update = if self.nesterov {
                (&g + (&v * self.momentum)?)?
            } else {
                v.clone()
            };
            var.set(&(var.as_tensor() - (update * self.lr)?)?)?;
            *vel = Some(v);
        }
        Ok(())
    }
}

/// Adam as candle-nn's `AdamW` with no weight decay (the same operations in the same
/// order, so the same numbers), with its moments and step count readable and
/// restorable: candle-nn keeps them private, and a checkpoint must hold them.
struct Adam {
    vars: Vec<Var>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    steps: usize,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
}

impl Adam {
    fn step(&mut self, grads: &candle_core::backprop::GradStore) -> candle_core::Result<()> {
        self.steps += 1;
        let (b1, b2, lr) = (self.beta1, self.beta2, self.lr);
        let scale_m = 1f64 / (1f64 - b1.powi(self.steps as i32));
        let scale_v = 1f64 / (1f64 - b2.powi(self.steps as i32));
        for ((theta, m), v) in self.vars.iter().zip(&mut self.m).zip(&mut self.v) {
            let Some(g) = grads.get(theta) else { continue };
            let g = g.detach();
            let next_m = ((&*m * b1)? + (&g * (1.0 - b1))?)?;
            let next_v = ((&*v * b2)? + (g.sqr()? * (1.0 - b2))?)?;
            let m_hat = (&next_m * scale_m)?;
            let v_hat = (&next_v * scale_v)?;
            let adjusted = (m_hat / (v_hat.sqrt()? + self.eps)?)?;
            theta.set(&(theta.as_tensor() - (adjusted * lr)?)?)?;
            *m = next_m;
            *v = next_v;
        }
        Ok(())
    }
}

/// The buffers of [`train`]'s optimiser: what a checkpoint must hold, besides the
/// weights, for training to resume exactly where it stopped.
#[derive(Debug, Clone)]
pub enum OptimiserState {
    /// Plain SGD keeps nothing.
    Stateless,
    /// Momentum SGD: each variable's velocity (`None` before its first step).
    Momentum(Vec<Option<Tensor>>),
    /// Adam: the steps taken and each variable's first and second moments.
    Adam {
        steps: usize,
        m: Vec<Tensor>,
        v: Vec<Tensor>,
    },
}

impl OptimiserState {
    /// `stateless`, `momentum` or `adam`.
    pub fn kind(&self) -> &'static str {
        match self {
            OptimiserState::Stateless => "stateless",
            OptimiserState::Momentum(_) => "momentum",
            OptimiserState::Adam { .. } => "adam",
        }
    }
}

enum Opt {
    Plain(candle_nn::SGD),
    Momentum(MomentumSgd),
    Adam(Adam),
}

impl Opt {
    fn new(optimiser: Optimiser, vars: Vec<Var>) -> candle_core::Result<Self> {
        Ok(match optimiser {
            Optimiser::Sgd {
                lr, momentum: 0.0, ..
            } => Opt::Plain(candle_nn::SGD::new(vars, lr)?),
            Optimiser::Sgd {
                lr,
                momentum,
                nesterov,
            } => Opt::Momentum(MomentumSgd {
                velocity: vec![None; vars.len()],
                vars,
                lr,
                momentum,
                nesterov,
            }),
            Optimiser::Adam {
                lr,
                beta1,
                beta2,
                eps,
            } => {
                let zeros = |v: &Var| Tensor::zeros(v.shape(), v.dtype(), v.device());
                Opt::Adam(Adam {
                    m: vars.iter().map(zeros).collect::<candle_core::Result<_>>()?,
                    v: vars.iter().map(zeros).collect::<candle_core::Result<_>>()?,
                    vars,
                    steps: 0,
                    lr,
                    beta1,
                    beta2,
                    eps,
                })
            }
        })
    }

    fn step(&mut self, grads: &candle_core::backprop::GradStore) -> candle_core::Result<()> {
        match self {
            Opt::Plain(o) => o.step(grads),
            Opt::Momentum(o) => o.step(grads),
            Opt::Adam(o) => o.step(grads),
        }
    }

    /// Sets the learning rate of the next steps (the schedule's value for an epoch).
    fn set_lr(&mut self, lr: f64) {
        match self {
            Opt::Plain(o) => o.set_learning_rate(lr),
            Opt::Momentum(o) => o.lr = lr,
            Opt::Adam(o) => o.lr = lr,
        }
    }

    fn state(&self) -> OptimiserState {
        match self {
            Opt::Plain(_) => OptimiserState::Stateless,
            Opt::Momentum(o) => OptimiserState::Momentum(o.velocity.clone()),
            Opt::Adam(o) => OptimiserState::Adam {
                steps: o.steps,
                m: o.m.clone(),
                v: o.v.clone(),
            },
        }
    }

    /// Restores saved buffers. A state of another optimiser, or whose tensors do not
    /// match the variables' shapes, is an error (the caller decides to start afresh).
    fn restore(&mut self, state: OptimiserState) -> Result<()> {
        let shapes_match = |vars: &[Var], ts: &[&Tensor]| {
            vars.len() == ts.len() && vars.iter().zip(ts).all(|(v, t)| v.shape() == t.shape())
        };
        match (self, state) {
            (Opt::Plain(_), OptimiserState::Stateless) => Ok(()),
            (Opt::Momentum(o), OptimiserState::Momentum(vel)) => {
                let present: Vec<(&Var, &Tensor)> = o
                    .vars
                    .iter()
                    .zip(&vel)
                    .filter_map(|(var, t)| t.as_ref().map(|t| (var, t)))
                    .collect();
                if vel.len() != o.vars.len() || present.iter().any(|(v, t)| v.shape() != t.shape())
                {
                    return Err(Error::Invalid(
                        "momentum buffers do not match the network".into(),
                    ));
                }
                o.velocity = vel;
                Ok(())
            }
            (Opt::Adam(o), OptimiserState::Adam { steps, m, v }) => {
                if !shapes_match(&o.vars, &m.iter().collect::<Vec<_>>())
                    || !shapes_match(&o.vars, &v.iter().collect::<Vec<_>>())
                {
                    return Err(Error::Invalid(
                        "Adam moments do not match the network".into(),
                    ));
                }
                o.steps = steps;
                o.m = m;
                o.v = v;
                Ok(())
            }
            (me, other) => Err(Error::Invalid(format!(
                "the checkpoint holds {} optimiser state, this configuration trains with {}",
                other.kind(),
                me.state().kind()
            ))),
        }
    }
}

/// Expands 0, 1 or `n` coefficients to `n`.
fn per_layer(c: &[f64], n: usize, what: &str) -> Result<Vec<f64>> {
    match c.len() {
        0 => Ok(vec![0.0; n]),
        1 => Ok(vec![c[0]; n]),
        m if m == n => Ok(c.to_vec()),
        m => Err(Error::Invalid(format!(
            "{m} {what} coefficients for {n} weight tensors (give 0, 1 or one per layer)"
        ))),
    }
}

/// A rayon pool of a fixed size for candle's CPU kernels (or the current pool).
pub struct Threads(Option<rayon::ThreadPool>);

impl Threads {
    /// A pool of `threads` workers; 0 keeps the current (global) pool.
    pub fn new(threads: usize) -> Result<Self> {
        if threads == 0 {
            return Ok(Self(None));
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map(|p| Self(Some(p)))
            .map_err(|e| Error::Invalid(format!("cannot start {threads} worker threads: {e}")))
    }

    /// Runs `f` with candle's kernels on this pool.
    pub fn run<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.0 {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }
}

/// Runs `f` on a rayon pool of `threads` workers (0: on the current pool), so candle's
/// CPU kernels inside use at most that many threads.
pub fn with_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> Result<R> {
    Ok(Threads::new(threads)?.run(f))
}

/// Tells glibc's allocator to keep freed memory for reuse: blocks up to 32 MiB come
/// from the heap instead of fresh `mmap`s, and the heap is trimmed only above 1 GiB.
///
/// candle allocates a new buffer for every tensor operation. With glibc's defaults the
/// larger ones are mapped and unmapped each time, and every minibatch step pays page
/// faults and page clearing for them: a profile of MLP training showed more time in
/// the kernel's page-fault path than in the matrix products, and these settings made
/// an epoch 2× faster. Called once by [`train`]; a process-wide setting (the freed
/// memory stays with the process, up to its peak use). No-op outside Linux/glibc.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: mallopt only changes allocator parameters; it is called once,
            // before this crate allocates tensors for training.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
                libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
            }
        });
    }
}

/// Trains `net` on `data` for `cfg.epochs` epochs of shuffled minibatches, minimising
/// the mean cross-entropy plus the weight penalty. After each epoch, when `valid` is
/// given, its metrics (accuracy, cross-entropy) go to `on_epoch` with the 1-based
/// epoch; [`Control::Stop`] ends training there. The epochs run on a pool of
/// `cfg.threads` workers; the callback runs on the calling thread.
pub fn train(
    net: &Net,
    data: &Data,
    valid: Option<&Data>,
    cfg: &TrainConfig,
    on_epoch: Option<&mut EpochCallback<'_>>,
) -> Result<TrainReport> {
    train_from(net, data, valid, cfg, on_epoch, 0, None).map(|(r, _)| r)
}

/// [`train`] resumed after epoch `start` (0: from scratch), with the optimiser's
/// buffers `state` (`None`: fresh ones): runs epochs `start + 1 ..= cfg.epochs` and
/// returns the optimiser's buffers at the end with the report (whose `epochs_run` is
/// the last epoch reached, `start` included). The batch order of epoch `e` is the one
/// an uninterrupted run would use (the shuffles of the first `start` epochs are
/// replayed), so without dropout, training to `a` then resuming to `b` gives the same
/// weights as training to `b` at once. Dropout masks after a resume come from a
/// stream seeded by (`cfg.seed`, `start`).
pub fn train_from(
    net: &Net,
    data: &Data,
    valid: Option<&Data>,
    cfg: &TrainConfig,
    mut on_epoch: Option<&mut EpochCallback<'_>>,
    start: u32,
    state: Option<OptimiserState>,
) -> Result<(TrainReport, OptimiserState)> {
    if cfg.batch_size == 0 {
        return Err(Error::Invalid("batch size must be positive".into()));
    }
    if data.x.dim(1)? != net.n_in() || data.n_classes != net.n_classes() {
        return Err(Error::Invalid(format!(
            "data with {} features and {} classes for a net of {} inputs and {} classes",
            data.x.dim(1)?,
            data.n_classes,
            net.n_in(),
            net.n_classes()
        )));
    }
    let lr = cfg.optimiser.lr();
    if !(lr > 0.0 && lr.is_finite()) {
        return Err(Error::Invalid(format!(
            "learning rate must be positive, got {lr}"
        )));
    }
    let weights = net.penalised_weights();
    let l1 = per_layer(&cfg.l1, weights.len(), "L1")?;
    let l2 = per_layer(&cfg.l2, weights.len(), "L2")?;
    if l1.iter().chain(&l2).any(|c| !(*c >= 0.0 && c.is_finite())) {
        return Err(Error::Invalid(
            "penalty coefficients must be finite and non-negative".into(),
        ));
    }
    keep_freed_memory();
    let threads = Threads::new(cfg.threads)?;
    let device = data.x.device();
    let scalars = |c: &[f64]| -> candle_core::Result<Vec<Tensor>> {
        if c.iter().all(|&v| v == 0.0) {
            return Ok(Vec::new());
        }
        c.iter().map(|&v| Tensor::new(v as f32, device)).collect()
    };
    let prox = cfg.l1_proximal && l1.iter().any(|&v| v > 0.0);
    let mut step = Step {
        net,
        weights: &weights,
        l1_loss: if prox { Vec::new() } else { scalars(&l1)? },
        l2_loss: scalars(&l2)?,
        prox: if prox { l1.clone() } else { Vec::new() },
        opt: Opt::new(cfg.optimiser, net.vars())?,
        lr,
    };
    if let Some(state) = state {
        step.opt.restore(state)?;
    }
    let n = data.len();
    let full_batch = cfg.batch_size >= n;
    let mut order: Vec<u32> = (0..n as u32).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut report = TrainReport {
        epochs_run: start,
        stopped: false,
        train_loss: Vec::new(),
        valid: Vec::new(),
    };
    if start > 0 {
        if !full_batch {
            for _ in 0..start {
                order.shuffle(&mut rng);
            }
        }
        net.reseed_dropout(cfg.seed ^ u64::from(start).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    }
    for epoch in start + 1..=cfg.epochs {
        if !full_batch {
            order.shuffle(&mut rng);
        }
        if cfg.lr_schedule != LrSchedule::Constant {
            step.lr = lr * cfg.lr_schedule.factor(epoch, cfg.epochs);
            step.opt.set_lr(step.lr);
        }
        let (mean_loss, metrics) = threads.run(|| -> Result<(f64, Option<Metrics>)> {
            let mut loss_sum = 0.0f64;
            let mut batches = 0usize;
            for chunk in order.chunks(cfg.batch_size) {
                let (x, y) = if full_batch {
                    (data.x.clone(), data.y.clone())
                } else {
                    let idx = Tensor::from_slice(chunk, chunk.len(), device)?;
                    (data.x.index_select(&idx, 0)?, data.y.index_select(&idx, 0)?)
                };
                loss_sum += step.run(&x, &y)?;
                batches += 1;
            }
            let metrics = valid.map(|v| evaluate_net(net, v)).transpose()?;
            Ok((loss_sum / batches.max(1) as f64, metrics))
        })?;
        if !mean_loss.is_finite() {
            return Err(Error::Training {
                model: "network".into(),
                reason: format!(
                    "the training loss diverged to {mean_loss} in epoch {epoch}; \
                     lower the learning rate"
                ),
            });
        }
        report.train_loss.push(mean_loss);
        report.epochs_run = epoch;
        if let Some(metrics) = metrics {
            let control = match on_epoch.as_mut() {
                Some(f) => f(epoch, &metrics),
                None => Control::Continue,
            };
            report.valid.push(metrics);
            if control == Control::Stop {
                report.stopped = true;
                break;
            }
        }
    }
    Ok((report, step.opt.state()))
}

/// One optimisation step on a minibatch.
struct Step<'a> {
    net: &'a Net,
    weights: &'a [Var],
    l1_loss: Vec<Tensor>,
    l2_loss: Vec<Tensor>,
    /// L1 coefficients applied by soft-thresholding (empty: none).
    prox: Vec<f64>,
    opt: Opt,
    lr: f64,
}

impl Step<'_> {
    /// Takes the step; returns the batch objective before it.
    fn run(&mut self, x: &Tensor, y: &Tensor) -> candle_core::Result<f64> {
        let logits = self.net.forward(x, true)?;
        let mut loss = candle_nn::loss::cross_entropy(&logits, y)?;
        if !self.l1_loss.is_empty() || !self.l2_loss.is_empty() {
            loss = (loss + weight_penalty(self.weights, &self.l1_loss, &self.l2_loss)?)?;
        }
        let grads = loss.backward()?;
        self.opt.step(&grads)?;
        for (w, &c) in self.weights.iter().zip(&self.prox) {
            if c > 0.0 {
                let t = self.lr * c;
                // soft(w, t) = w − clamp(w, −t, t)
                let shrunk = (w.as_tensor() - w.as_tensor().clamp(-t, t)?)?;
                w.set(&shrunk)?;
            }
        }
        Ok(loss.to_scalar::<f32>()? as f64)
    }
}

/// The argmax class of each row of row-major probabilities.
pub fn argmax_rows(p: &[f32], n_classes: usize) -> Vec<u32> {
    p.chunks(n_classes)
        .map(|row| {
            let mut best = 0;
            for (j, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = j;
                }
            }
            best as u32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small 3-class problem: Gaussian blobs in 4 dimensions, seeded.
    fn blobs(n: usize, seed: u64) -> Data {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let centres = [
            [2.0, 0.0, 0.0, 1.0],
            [0.0, 2.0, 0.0, -1.0],
            [0.0, 0.0, 2.0, 0.0],
        ];
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let c = i % 3;
            for &m in &centres[c] {
                x.push(m as f32 + rng.random_range(-1.0f32..1.0));
            }
            y.push(c as u32);
        }
        Data::new(x, 4, y, 3, &Device::Cpu).unwrap()
    }

    fn ce_plus_penalty(
        net: &Net,
        data: &Data,
        l1: &[Tensor],
        l2: &[Tensor],
    ) -> candle_core::Result<Tensor> {
        let logits = net.forward(&data.x, false)?;
        let ce = candle_nn::loss::cross_entropy(&logits, &data.y)?;
        ce + weight_penalty(&net.penalised_weights(), l1, l2)?
    }

    /// A velocity that kept the step's graph alive chained every minibatch's graph to
    /// the next: a Fashion-MNIST `tune` study grew to 24 GiB and was killed.
    #[test]
    fn momentum_buffers_hold_no_graph() {
        let data = blobs(30, 1);
        let dev = Device::Cpu;
        let net = Net::mlp(4, &[5], Activation::Tanh, 0.0, 3, 7, &dev).unwrap();
        for nesterov in [false, true] {
            let optimiser = Optimiser::Sgd {
                lr: 0.1,
                momentum: 0.9,
                nesterov,
            };
            let mut opt = Opt::new(optimiser, net.vars()).unwrap();
            for _ in 0..3 {
                let logits = net.forward(&data.x, true).unwrap();
                let loss = candle_nn::loss::cross_entropy(&logits, &data.y).unwrap();
                opt.step(&loss.backward().unwrap()).unwrap();
            }
            let Opt::Momentum(m) = &opt else {
                panic!("momentum 0.9 must give the momentum optimiser")
            };
            assert_eq!(m.velocity.iter().flatten().count(), net.vars().len());
            assert!(m.velocity.iter().flatten().all(|v| !v.track_op()));
        }
    }

    #[test]
    fn cosine_schedule_factors_and_names() {
        let c = LrSchedule::Cosine;
        let want = [
            1.0,
            0.5 + 0.5 * (std::f64::consts::FRAC_PI_4).cos(),
            0.5,
            0.5 - 0.5 * (std::f64::consts::FRAC_PI_4).cos(),
        ];
        for (e, w) in (1..=4).zip(want) {
            assert!(
                (c.factor(e, 4) - w).abs() < 1e-12,
                "epoch {e}: {} vs {w}",
                c.factor(e, 4)
            );
            assert_eq!(LrSchedule::Constant.factor(e, 4), 1.0);
        }
        // Every epoch keeps a positive rate, and a resume past the horizon is clamped.
        assert!(c.factor(4, 4) > 0.0);
        assert_eq!(c.factor(9, 4), 0.0);
        for name in LrSchedule::NAMES {
            assert!(LrSchedule::parse(name).is_some());
        }
        assert_eq!(LrSchedule::parse("step"), None);
    }

    /// Cosine over two full-batch SGD epochs = one epoch at lr, then one at lr/2.
    #[test]
    fn cosine_schedule_trains_each_epoch_at_its_rate() {
        let data = blobs(30, 1);
        let dev = Device::Cpu;
        let mk = || Net::mlp(4, &[5], Activation::Tanh, 0.0, 3, 7, &dev).unwrap();
        let sgd = |lr| Optimiser::Sgd {
            lr,
            momentum: 0.0,
            nesterov: false,
        };
        let annealed = mk();
        let mut cfg = TrainConfig::new(sgd(0.4), 1000, 2, 3);
        cfg.lr_schedule = LrSchedule::Cosine;
        train(&annealed, &data, None, &cfg, None).unwrap();
        let by_hand = mk();
        let first = TrainConfig::new(sgd(0.4), 1000, 1, 3);
        let (_, state) = train_from(&by_hand, &data, None, &first, None, 0, None).unwrap();
        let second = TrainConfig::new(sgd(0.2), 1000, 2, 3);
        train_from(&by_hand, &data, None, &second, None, 1, Some(state)).unwrap();
        let constant = mk();
        train(
            &constant,
            &data,
            None,
            &TrainConfig::new(sgd(0.4), 1000, 2, 3),
            None,
        )
        .unwrap();
        let flat = |n: &Net| -> Vec<f32> {
            n.vars()
                .iter()
                .flat_map(|v| {
                    v.as_tensor()
                        .flatten_all()
                        .unwrap()
                        .to_vec1::<f32>()
                        .unwrap()
                })
                .collect()
        };
        let (a, b, c) = (flat(&annealed), flat(&by_hand), flat(&constant));
        let max_diff = |x: &[f32], y: &[f32]| {
            x.iter()
                .zip(y)
                .map(|(p, q)| (p - q).abs())
                .fold(0.0f32, f32::max)
        };
        assert!(
            max_diff(&a, &b) < 1e-6,
            "cosine != lr then lr/2: {}",
            max_diff(&a, &b)
        );
        assert!(max_diff(&a, &c) > 1e-4, "the schedule changed nothing");
    }

    #[test]
    fn gradient_wrt_log_regularisation_weights_matches_finite_differences() {
        let data = blobs(30, 1);
        let dev = Device::Cpu;
        let net = Net::mlp(4, &[5], Activation::Tanh, 0.0, 3, 7, &dev).unwrap();
        // One log-weight per layer for L2, one shared for L1: l = exp(λ).
        let lam2 = [
            Var::new(-1.0f32, &dev).unwrap(),
            Var::new(0.5f32, &dev).unwrap(),
        ];
        let lam1 = Var::new(-2.0f32, &dev).unwrap();
        let loss_at = |l2v: [f32; 2], l1v: f32| -> f64 {
            let l2 = l2v.map(|v| Tensor::new(v.exp(), &dev).unwrap());
            let l1 = [Tensor::new(l1v.exp(), &dev).unwrap()];
            ce_plus_penalty(&net, &data, &l1, &l2)
                .unwrap()
                .to_scalar::<f32>()
                .unwrap() as f64
        };
        let l2 = lam2.each_ref().map(|v| v.as_tensor().exp().unwrap());
        let l1 = [lam1.as_tensor().exp().unwrap()];
        let loss = ce_plus_penalty(&net, &data, &l1, &l2).unwrap();
        let grads = loss.backward().unwrap();
        let h = 1e-2f32;
        let base = [-1.0f32, 0.5];
        for (i, var) in lam2.iter().enumerate() {
            let g = grads.get(var).unwrap().to_scalar::<f32>().unwrap() as f64;
            let (mut up, mut down) = (base, base);
            up[i] += h;
            down[i] -= h;
            let fd = (loss_at(up, -2.0) - loss_at(down, -2.0)) / (2.0 * h as f64);
            assert!(g > 0.0);
            assert!(
                (g - fd).abs() <= 2e-3 * fd.abs().max(1.0),
                "layer {i}: {g} vs {fd}"
            );
        }
        let g = grads.get(&lam1).unwrap().to_scalar::<f32>().unwrap() as f64;
        let fd = (loss_at(base, -2.0 + h) - loss_at(base, -2.0 - h)) / (2.0 * h as f64);
        assert!(
            (g - fd).abs() <= 2e-3 * fd.abs().max(1.0),
            "L1: {g} vs {fd}"
        );
        // The analytic values: d/dλ exp(λ)·½‖W‖² = exp(λ)·½‖W‖².
        let w0 = net.penalised_weights()[0]
            .sqr()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap() as f64;
        let g0 = grads.get(&lam2[0]).unwrap().to_scalar::<f32>().unwrap() as f64;
        assert!((g0 - (-1.0f64).exp() * 0.5 * w0).abs() < 1e-4 * w0.max(1.0));
        // Gradients reach the weights too.
        for w in net.vars() {
            assert!(grads.get(&w).is_some());
        }
    }

    #[test]
    fn lenet_gradients_match_finite_differences_on_odd_sizes() {
        let dev = Device::Cpu;
        // 9×9 images: the first conv keeps 9×9, an odd size for the pooling.
        let shape = ImageShape {
            channels: 1,
            height: 9,
            width: 9,
        };
        for pooling in [Pooling::Avg, Pooling::Max] {
            let spec = LeNetSpec {
                kernel_size: 3,
                channels: [2, 3],
                pooling,
                dense: vec![5],
                activation: Activation::Tanh,
                ..LeNetSpec::default()
            };
            let net = Net::lenet(shape, &spec, 3, 1, &dev).unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(2);
            let x: Vec<f32> = (0..4 * 81).map(|_| rng.random_range(0.0..1.0)).collect();
            let data = Data::new(x, 81, vec![0, 1, 2, 1], 3, &dev).unwrap();
            let loss = |net: &Net| {
                let logits = net.forward(&data.x, false).unwrap();
                candle_nn::loss::cross_entropy(&logits, &data.y).unwrap()
            };
            let grads = loss(&net).backward().unwrap();
            let w = &net.penalised_weights()[0];
            let g = grads
                .get(w)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let w0 = w.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let h = 1e-2f32;
            for i in [0, 4, 8, 13, 17] {
                let at = |d: f32| {
                    let mut v = w0.clone();
                    v[i] += d;
                    w.set(&Tensor::from_vec(v, w.shape(), &dev).unwrap())
                        .unwrap();
                    loss(&net).to_scalar::<f32>().unwrap() as f64
                };
                let fd = (at(h) - at(-h)) / (2.0 * h as f64);
                at(0.0);
                let tol = 2e-3 + 0.05 * fd.abs();
                assert!(
                    (g[i] as f64 - fd).abs() <= tol,
                    "{pooling:?} weight {i}: {} vs {fd}",
                    g[i]
                );
            }
        }
    }

    /// The largest absolute difference between two tensors of one shape.
    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        assert_eq!(a.dims(), b.dims());
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    }

    #[test]
    fn fused_conv_blocks_match_the_unfused_chain_in_values_and_gradients() {
        let dev = Device::Cpu;
        // Two input channels, odd sizes (odd maps to pool), stride 1 and 2.
        let shape = ImageShape {
            channels: 2,
            height: 21,
            width: 19,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let x: Vec<f32> = (0..6 * 2 * 21 * 19)
            .map(|_| rng.random_range(0.0..1.0))
            .collect();
        let data = Data::new(x, 2 * 21 * 19, vec![0, 1, 2, 1, 0, 2], 3, &dev).unwrap();
        for activation in [Activation::Relu, Activation::Tanh, Activation::Sigmoid] {
            for pooling in [Pooling::Max, Pooling::Avg] {
                for (kernel_size, stride) in [(3, 1), (3, 2)] {
                    let spec = LeNetSpec {
                        kernel_size,
                        stride,
                        channels: [3, 4],
                        pooling,
                        dense: vec![5],
                        activation,
                        ..LeNetSpec::default()
                    };
                    let net = Net::lenet(shape, &spec, 3, 7, &dev).unwrap();
                    let what = format!("{activation:?} {pooling:?} k{kernel_size} s{stride}");
                    // A differentiable input too, so the input gradient is compared.
                    let input = Var::from_tensor(&data.x).unwrap();
                    let run = |fused: bool| {
                        let logits = net.forward_with(input.as_tensor(), false, fused).unwrap();
                        let loss = candle_nn::loss::cross_entropy(&logits, &data.y).unwrap();
                        (logits, loss.backward().unwrap())
                    };
                    let (fused, gf) = run(true);
                    let (plain, gp) = run(false);
                    assert!(max_diff(&fused, &plain) < 1e-5, "{what}: logits");
                    let mut vars = net.vars();
                    vars.push(input.clone());
                    for (i, v) in vars.iter().enumerate() {
                        let (a, b) = (gf.get(v).unwrap(), gp.get(v).unwrap());
                        let scale = b.abs().unwrap().max_all().unwrap();
                        let scale = scale.to_scalar::<f32>().unwrap().max(1.0);
                        let d = max_diff(a, b);
                        assert!(d < 1e-5 * scale, "{what}: gradient of var {i}: {d}");
                    }
                }
            }
        }
    }

    #[test]
    fn im2col_convolution_matches_candle_conv2d() {
        let dev = Device::Cpu;
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for (k, stride, padding) in [(3, 1, 1), (5, 1, 2), (3, 2, 0), (4, 3, 1)] {
            let conv = Conv {
                w: uniform_var(&mut rng, &[4, 2, k, k], 2 * k * k, &dev).unwrap(),
                b: uniform_var(&mut rng, &[4], 2 * k * k, &dev).unwrap(),
                padding,
                stride,
            };
            let x: Vec<f32> = (0..3 * 2 * 11 * 9)
                .map(|_| rng.random_range(-1.0..1.0))
                .collect();
            let x = Tensor::from_vec(x, (3, 2, 11, 9), &dev).unwrap();
            let ours = conv.forward(&x).unwrap();
            let want = x
                .conv2d(&conv.w, padding, stride, 1, 1)
                .unwrap()
                .broadcast_add(&conv.b.reshape((1, 4, 1, 1)).unwrap())
                .unwrap();
            assert_eq!(ours.dims(), want.dims());
            let diff = (ours - want)
                .unwrap()
                .abs()
                .unwrap()
                .flatten_all()
                .unwrap()
                .max(0)
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(
                diff < 1e-5,
                "k {k} stride {stride} padding {padding}: {diff}"
            );
        }
    }

    #[test]
    fn penalty_needs_zero_one_or_one_coefficient_per_layer() {
        let dev = Device::Cpu;
        let net = Net::mlp(4, &[5, 5], Activation::Relu, 0.0, 3, 0, &dev).unwrap();
        let w = net.penalised_weights();
        assert_eq!(w.len(), 3);
        let c = |v: f32| Tensor::new(v, &dev).unwrap();
        assert!(weight_penalty(&w, &[c(1.0), c(1.0)], &[]).is_err());
        let none = weight_penalty(&w, &[], &[]).unwrap();
        assert_eq!(none.to_scalar::<f32>().unwrap(), 0.0);
        let shared = weight_penalty(&w, &[], &[c(2.0)]).unwrap();
        let each = weight_penalty(&w, &[], &[c(2.0), c(2.0), c(2.0)]).unwrap();
        let total: f32 = w
            .iter()
            .map(|w| {
                w.sqr()
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap()
            })
            .sum();
        assert!((shared.to_scalar::<f32>().unwrap() - total).abs() < 1e-4 * total);
        assert_eq!(
            shared.to_scalar::<f32>().unwrap(),
            each.to_scalar::<f32>().unwrap()
        );
    }

    #[test]
    fn dropout_only_in_training_and_seeded() {
        let dev = Device::Cpu;
        let data = blobs(12, 2);
        let net = Net::mlp(4, &[64], Activation::Relu, 0.5, 3, 3, &dev).unwrap();
        let eval1 = net
            .forward(&data.x, false)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        let eval2 = net
            .forward(&data.x, false)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(eval1, eval2);
        net.reseed_dropout(9);
        let t1 = net
            .forward(&data.x, true)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        let t2 = net
            .forward(&data.x, true)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        assert_ne!(t1, eval1);
        assert_ne!(t1, t2);
        net.reseed_dropout(9);
        let t1_again = net
            .forward(&data.x, true)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(t1, t1_again);
    }

    #[test]
    fn lenet_shapes_and_spec_checks() {
        let dev = Device::Cpu;
        let shape = ImageShape {
            channels: 1,
            height: 28,
            width: 28,
        };
        let spec = LeNetSpec::default();
        assert_eq!(spec.feature_sizes(shape).unwrap(), [(14, 14), (5, 5)]);
        let net = Net::lenet(shape, &spec, 10, 0, &dev).unwrap();
        let x = Tensor::zeros((3, 784), DType::F32, &dev).unwrap();
        assert_eq!(net.forward(&x, true).unwrap().dims(), &[3, 10]);
        // conv1, conv2, dense 400→120, 120→84, 84→10
        let shapes: Vec<Vec<usize>> = net
            .penalised_weights()
            .iter()
            .map(|w| w.dims().to_vec())
            .collect();
        assert_eq!(
            shapes,
            vec![
                vec![6, 1, 5, 5],
                vec![16, 6, 5, 5],
                vec![400, 120],
                vec![120, 84],
                vec![84, 10]
            ]
        );
        assert_eq!(net.vars().len(), 10);
        let tiny = ImageShape {
            channels: 1,
            height: 8,
            width: 8,
        };
        let err = spec.feature_sizes(tiny).unwrap_err();
        assert!(err.contains("8×8"), "{err}");
        assert!(Net::lenet(tiny, &spec, 10, 0, &dev).is_err());
    }

    #[test]
    fn training_learns_reports_each_epoch_and_stops_on_request() {
        let dev = Device::Cpu;
        let data = blobs(90, 3);
        let valid = blobs(60, 4);
        for opt in [
            Optimiser::adam(0.01),
            Optimiser::sgd(0.1, 0.9),
            Optimiser::Sgd {
                lr: 0.1,
                momentum: 0.9,
                nesterov: true,
            },
            Optimiser::sgd(0.3, 0.0),
        ] {
            let net = Net::mlp(4, &[16], Activation::Relu, 0.0, 3, 5, &dev).unwrap();
            let before = evaluate_net(&net, &valid).unwrap()["cross_entropy"];
            let mut cfg = TrainConfig::new(opt, 16, 30, 5);
            cfg.l2 = vec![1e-4];
            let mut seen = Vec::new();
            let mut cb = |epoch: u32, m: &Metrics| {
                seen.push((epoch, m["accuracy"]));
                Control::Continue
            };
            let report = train(&net, &data, Some(&valid), &cfg, Some(&mut cb)).unwrap();
            assert_eq!(
                seen.iter().map(|s| s.0).collect::<Vec<_>>(),
                (1..=30).collect::<Vec<_>>()
            );
            assert_eq!(report.epochs_run, 30);
            assert!(!report.stopped);
            let after = evaluate_net(&net, &valid).unwrap();
            assert!(
                after["cross_entropy"] < 0.6 * before,
                "{opt:?}: {before} -> {after:?}"
            );
            assert!(after["accuracy"] > 0.85, "{opt:?}: {after:?}");
            assert!(report.train_loss.last() < report.train_loss.first());
        }
        let net = Net::mlp(4, &[16], Activation::Relu, 0.0, 3, 5, &dev).unwrap();
        let cfg = TrainConfig::new(Optimiser::adam(0.01), 16, 30, 5);
        let mut calls = 0;
        let mut stop_at_3 = |epoch: u32, _: &Metrics| {
            calls += 1;
            if epoch == 3 {
                Control::Stop
            } else {
                Control::Continue
            }
        };
        let report = train(&net, &data, Some(&valid), &cfg, Some(&mut stop_at_3)).unwrap();
        assert_eq!(calls, 3);
        assert_eq!(report.epochs_run, 3);
        assert!(report.stopped);
    }

    #[test]
    fn same_seed_same_weights() {
        let dev = Device::Cpu;
        let data = blobs(60, 5);
        let run = |seed: u64| {
            let net = Net::mlp(4, &[8], Activation::Gelu, 0.3, 3, seed, &dev).unwrap();
            let cfg = TrainConfig::new(Optimiser::adam(0.01), 7, 3, seed);
            train(&net, &data, None, &cfg, None).unwrap();
            net.predict_proba(&data.x).unwrap()
        };
        assert_eq!(run(11), run(11));
        assert_ne!(run(11), run(12));
    }

    #[test]
    fn proximal_l1_gives_exact_zeros() {
        let dev = Device::Cpu;
        let data = blobs(90, 6);
        let net = Net::logreg(4, 3, 0, &dev).unwrap();
        let mut cfg = TrainConfig::new(Optimiser::sgd(0.1, 0.0), 90, 200, 0);
        cfg.l1 = vec![0.05];
        cfg.l1_proximal = true;
        train(&net, &data, None, &cfg, None).unwrap();
        let w = net.penalised_weights()[0]
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let zeros = w.iter().filter(|&&v| v == 0.0).count();
        assert!(zeros >= 3, "{w:?}");
        assert!(zeros < w.len(), "{w:?}");
        // Without the penalty no weight is exactly zero.
        let net = Net::logreg(4, 3, 0, &dev).unwrap();
        cfg.l1 = vec![];
        train(&net, &data, None, &cfg, None).unwrap();
        let w = net.penalised_weights()[0]
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert!(w.iter().all(|&v| v != 0.0), "{w:?}");
    }

    #[test]
    fn bad_training_settings_are_errors() {
        let dev = Device::Cpu;
        let data = blobs(30, 7);
        let net = Net::logreg(4, 3, 0, &dev).unwrap();
        let mut cfg = TrainConfig::new(Optimiser::adam(0.01), 0, 1, 0);
        assert!(train(&net, &data, None, &cfg, None).is_err());
        cfg.batch_size = 8;
        cfg.l2 = vec![1.0, 2.0];
        assert!(train(&net, &data, None, &cfg, None).is_err());
        cfg.l2 = vec![-1.0];
        assert!(train(&net, &data, None, &cfg, None).is_err());
        let other = Net::logreg(5, 3, 0, &dev).unwrap();
        cfg.l2 = vec![];
        assert!(train(&other, &data, None, &cfg, None).is_err());
        assert!(Net::mlp(4, &[0], Activation::Relu, 0.0, 3, 0, &dev).is_err());
        assert!(Net::mlp(4, &[3], Activation::Relu, 1.0, 3, 0, &dev).is_err());
        assert!(Net::logreg(4, 1, 0, &dev).is_err());
    }
}

//! What the neural models share between their hyperparameters and [`nn`]: checking
//! the data, the training-fraction fidelity, input standardisation, the fit driver and
//! the predictor.

use candle_core::{Device, Tensor};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::nn::{train_from, Data, Net, Optimiser, OptimiserState, TrainConfig};
use crate::data::{Dataset, Task};
use crate::error::{Error, Result};
use crate::model::{Checkpoint, CheckpointedFit, FitOptions, Model, Params, Prediction, Predictor};
use crate::split::fraction_of;
use hyperscape_core::SpaceDecl;

/// Per-feature standardisation `(x − mean) / std`, fitted on the training rows; a
/// constant feature keeps scale 1 (it is only centred).
#[derive(Debug, Clone)]
pub(crate) struct Standardiser {
    mean: Vec<f32>,
    inv_std: Vec<f32>,
}

impl Standardiser {
    pub(crate) fn fit(features: &[f32], n_features: usize) -> Self {
        let n = (features.len() / n_features).max(1) as f64;
        let mut mean = vec![0.0f64; n_features];
        for row in features.chunks(n_features) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += v as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = vec![0.0f64; n_features];
        for row in features.chunks(n_features) {
            for ((s, &v), m) in var.iter_mut().zip(row).zip(&mean) {
                let d = v as f64 - m;
                *s += d * d;
            }
        }
        let inv_std = var
            .iter()
            .map(|s| {
                let sd = (s / n).sqrt();
                if sd > 1e-12 {
                    (1.0 / sd) as f32
                } else {
                    1.0
                }
            })
            .collect();
        Self {
            mean: mean.into_iter().map(|m| m as f32).collect(),
            inv_std,
        }
    }

    pub(crate) fn apply(&self, features: &[f32]) -> Vec<f32> {
        let k = self.mean.len();
        let mut out = features.to_vec();
        for row in out.chunks_mut(k) {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.inv_std) {
                *v = (*v - m) * s;
            }
        }
        out
    }
}

/// Training (and validation) data as tensors, after the fidelity subsample and the
/// standardisation.
pub(crate) struct Prepared {
    pub train: Data,
    pub valid: Option<Data>,
    pub scaler: Option<Standardiser>,
    pub n_features: usize,
    pub n_classes: usize,
}

/// Separates the seed of the training-fraction subsample from the other streams.
const SUBSAMPLE_STREAM: u64 = 0xbb67_ae85_84ca_a73b;

/// Checks that `train` (and the validation set) suit a classifier, keeps the
/// `fidelity.train_fraction` share of the training rows (a seeded random subset; a
/// larger fraction contains a smaller one) and standardises the features when
/// `standardise` is set.
pub(crate) fn prepare(
    model: &'static str,
    train: &Dataset,
    opts: &FitOptions<'_>,
    standardise: bool,
) -> Result<Prepared> {
    let n_classes = classes_of(model, train)?;
    let fraction = opts.fidelity.train_fraction;
    if !(fraction > 0.0 && fraction <= 1.0) {
        return Err(Error::Invalid(format!(
            "training fraction {fraction} is outside (0, 1]"
        )));
    }
    if opts.fidelity.epochs == Some(0) {
        return Err(Error::Invalid("the epoch fidelity must be positive".into()));
    }
    let subset;
    let train = if fraction < 1.0 {
        let mut rows: Vec<usize> = (0..train.n_samples()).collect();
        rows.shuffle(&mut ChaCha8Rng::seed_from_u64(opts.seed ^ SUBSAMPLE_STREAM));
        subset = train.select(fraction_of(&rows, fraction));
        &subset
    } else {
        train
    };
    if train.n_samples() == 0 {
        return Err(Error::Invalid(format!(
            "model `{model}`: dataset `{}` has no training rows",
            train.name
        )));
    }
    let k = train.n_features;
    let scaler = standardise.then(|| Standardiser::fit(&train.features, k));
    let tensors = |d: &Dataset| -> Result<Data> {
        let x = match &scaler {
            Some(s) => s.apply(&d.features),
            None => d.features.clone(),
        };
        let labels = d.target.labels().unwrap_or_default().to_vec();
        Ok(Data::new(x, k, labels, n_classes, &Device::Cpu)?)
    };
    let valid = match opts.valid {
        None => None,
        Some(v) => {
            if v.n_features != k {
                return Err(Error::Invalid(format!(
                    "validation set `{}` has {} features, training set `{}` has {k}",
                    v.name, v.n_features, train.name
                )));
            }
            let vk = classes_of(model, v)?;
            if vk != n_classes {
                return Err(Error::Invalid(format!(
                    "validation set `{}` has {vk} classes, training set `{}` has {n_classes}",
                    v.name, train.name
                )));
            }
            (v.n_samples() > 0).then(|| tensors(v)).transpose()?
        }
    };
    Ok(Prepared {
        train: tensors(train)?,
        valid,
        scaler,
        n_features: k,
        n_classes,
    })
}

fn classes_of(model: &'static str, data: &Dataset) -> Result<usize> {
    match data.target.n_classes() {
        Some(k) if k >= 2 => Ok(k),
        Some(k) => Err(Error::Invalid(format!(
            "model `{model}` needs at least two classes; dataset `{}` has {k}",
            data.name
        ))),
        None => Err(Error::Invalid(format!(
            "model `{model}` is a classifier; dataset `{}` has a regression target",
            data.name
        ))),
    }
}

/// A classifier built on the network core: what differs between `logreg`, `mlp` and
/// `lenet` (the name, the default space and how hyperparameters become a network and
/// its training settings). Everything else of [`Model`] (fit, checkpointed fit and
/// resume) is shared, through the blanket implementation below.
pub(crate) trait NeuralModel: Send + Sync {
    /// The registry name.
    const NAME: &'static str;
    /// The default search space for `data` ([`Model::default_space`]).
    fn space(&self, data: &Dataset) -> Result<SpaceDecl>;
    /// The network, the prepared data and the training settings of a fit.
    fn setup(
        &self,
        params: &Params,
        train: &Dataset,
        opts: &FitOptions<'_>,
    ) -> Result<(Net, Prepared, TrainConfig)>;
}

impl<T: NeuralModel> Model for T {
    fn name(&self) -> &'static str {
        T::NAME
    }

    fn supports(&self, task: Task) -> bool {
        task == Task::Classification
    }

    fn iterative(&self) -> bool {
        true
    }

    fn default_space(&self, data: &Dataset) -> Result<SpaceDecl> {
        self.space(data)
    }

    fn fit(
        &self,
        params: &Params,
        train: &Dataset,
        opts: FitOptions<'_>,
    ) -> Result<Box<dyn Predictor>> {
        let (net, data, cfg) = self.setup(params, train, &opts)?;
        fit_net(T::NAME, net, data, cfg, opts)
    }

    fn resumable(&self) -> bool {
        true
    }

    fn fit_checkpointed(
        &self,
        params: &Params,
        train: &Dataset,
        opts: FitOptions<'_>,
        ckpt: Checkpoint<'_>,
    ) -> Result<CheckpointedFit> {
        let (net, data, cfg) = self.setup(params, train, &opts)?;
        fit_net_checkpointed(T::NAME, net, data, cfg, opts, Some(ckpt))
    }
}

/// Trains `net` with `cfg` (epochs already resolved against the fidelity) and wraps
/// it as a predictor. The epoch callback is used when a validation set is given.
pub(crate) fn fit_net(
    model: &'static str,
    net: Net,
    data: Prepared,
    cfg: TrainConfig,
    opts: FitOptions<'_>,
) -> Result<Box<dyn Predictor>> {
    fit_net_checkpointed(model, net, data, cfg, opts, None).map(|f| f.predictor)
}

/// [`fit_net`] with a checkpoint: resumes from the one in `ckpt.dir` when asked (and
/// when it fits this network), then saves the weights and the optimiser state reached.
pub(crate) fn fit_net_checkpointed(
    model: &'static str,
    net: Net,
    data: Prepared,
    mut cfg: TrainConfig,
    opts: FitOptions<'_>,
    ckpt: Option<Checkpoint<'_>>,
) -> Result<CheckpointedFit> {
    cfg.threads = opts.threads;
    let on_epoch = if data.valid.is_some() {
        opts.on_epoch
    } else {
        None
    };
    let mut start = 0;
    let mut state = None;
    let mut not_resumed = None;
    if let Some(c) = ckpt.filter(|c| c.resume) {
        match load_checkpoint(c.dir, model, &net)? {
            Ok((epoch, st)) => {
                start = epoch.min(cfg.epochs);
                // Another optimiser (PBT may change it): the weights carry over, the
                // optimiser starts with fresh buffers.
                let kind = match cfg.optimiser {
                    Optimiser::Sgd { momentum: 0.0, .. } => "stateless",
                    Optimiser::Sgd { .. } => "momentum",
                    Optimiser::Adam { .. } => "adam",
                };
                state = st.filter(|s| s.kind() == kind);
            }
            Err(why) => not_resumed = Some(why),
        }
    }
    let (report, reached) = train_from(
        &net,
        &data.train,
        data.valid.as_ref(),
        &cfg,
        on_epoch,
        start,
        state,
    )
    .map_err(|e| match e {
        Error::Training { reason, .. } => Error::Training {
            model: model.to_string(),
            reason,
        },
        other => other,
    })?;
    if let Some(c) = ckpt {
        save_checkpoint(c.dir, model, &net, report.epochs_run, &reached)?;
    }
    Ok(CheckpointedFit {
        predictor: Box::new(NetPredictor {
            model,
            net,
            scaler: data.scaler,
            n_features: data.n_features,
            n_classes: data.n_classes,
        }),
        start_epoch: start,
        not_resumed,
    })
}

/// The checkpoint files in a trial's directory.
const CKPT_META: &str = "network.json";
const CKPT_TENSORS: &str = "network.safetensors";

#[derive(serde::Serialize, serde::Deserialize)]
struct CheckpointMeta {
    model: String,
    /// The last epoch trained.
    epoch: u32,
    /// `stateless`, `momentum` or `adam`.
    optimiser: String,
    adam_steps: usize,
    /// Shapes of the network's variables, in [`Net::vars`] order.
    shapes: Vec<Vec<usize>>,
}

fn ckpt_err(path: &std::path::Path, reason: impl std::fmt::Display) -> Error {
    Error::Checkpoint {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Writes the weights and the optimiser buffers (safetensors) and a JSON description
/// into `dir`; each file is written beside and renamed into place.
fn save_checkpoint(
    dir: &std::path::Path,
    model: &str,
    net: &Net,
    epoch: u32,
    state: &OptimiserState,
) -> Result<()> {
    let vars = net.vars();
    let mut tensors = std::collections::HashMap::new();
    for (i, v) in vars.iter().enumerate() {
        tensors.insert(format!("var.{i}"), v.as_tensor().detach());
    }
    let mut adam_steps = 0;
    match state {
        OptimiserState::Stateless => {}
        OptimiserState::Momentum(vel) => {
            for (i, t) in vel.iter().enumerate() {
                if let Some(t) = t {
                    tensors.insert(format!("velocity.{i}"), t.clone());
                }
            }
        }
        OptimiserState::Adam { steps, m, v } => {
            adam_steps = *steps;
            for (i, (m, v)) in m.iter().zip(v).enumerate() {
                tensors.insert(format!("adam_m.{i}"), m.clone());
                tensors.insert(format!("adam_v.{i}"), v.clone());
            }
        }
    }
    let meta = CheckpointMeta {
        model: model.to_string(),
        epoch,
        optimiser: state.kind().to_string(),
        adam_steps,
        shapes: vars.iter().map(|v| v.dims().to_vec()).collect(),
    };
    let tensors_path = dir.join(CKPT_TENSORS);
    let tmp = dir.join(format!("{CKPT_TENSORS}.tmp"));
    candle_core::safetensors::save(&tensors, &tmp).map_err(|e| ckpt_err(&tmp, e))?;
    std::fs::rename(&tmp, &tensors_path).map_err(|e| ckpt_err(&tensors_path, e))?;
    let meta_path = dir.join(CKPT_META);
    let tmp = dir.join(format!("{CKPT_META}.tmp"));
    let text = serde_json::to_string_pretty(&meta).map_err(|e| ckpt_err(&meta_path, e))?;
    std::fs::write(&tmp, text).map_err(|e| ckpt_err(&tmp, e))?;
    std::fs::rename(&tmp, &meta_path).map_err(|e| ckpt_err(&meta_path, e))?;
    Ok(())
}

/// Loads the checkpoint in `dir` into `net`: `Ok(Ok((epoch, optimiser state)))`, or
/// `Ok(Err(why))` when there is none or it does not fit `net` (another model or other
/// layer shapes: the fit starts afresh). Optimiser buffers are returned only when
/// complete; the caller's optimiser refuses those of another kind. Unreadable files
/// are errors.
#[allow(clippy::type_complexity)]
fn load_checkpoint(
    dir: &std::path::Path,
    model: &str,
    net: &Net,
) -> Result<std::result::Result<(u32, Option<OptimiserState>), String>> {
    let meta_path = dir.join(CKPT_META);
    if !meta_path.exists() {
        return Ok(Err(format!("no checkpoint in {}", dir.display())));
    }
    let text = std::fs::read_to_string(&meta_path).map_err(|e| ckpt_err(&meta_path, e))?;
    let meta: CheckpointMeta = serde_json::from_str(&text).map_err(|e| ckpt_err(&meta_path, e))?;
    if meta.model != model {
        return Ok(Err(format!(
            "the checkpoint is of model `{}`, not `{model}`",
            meta.model
        )));
    }
    let vars = net.vars();
    let shapes: Vec<Vec<usize>> = vars.iter().map(|v| v.dims().to_vec()).collect();
    if shapes != meta.shapes {
        return Ok(Err(
            "the checkpoint's layer shapes differ from this configuration's network".into(),
        ));
    }
    let path = dir.join(CKPT_TENSORS);
    let mut t = candle_core::safetensors::load(&path, &candle_core::Device::Cpu)
        .map_err(|e| ckpt_err(&path, e))?;
    for (i, v) in vars.iter().enumerate() {
        let w = t
            .remove(&format!("var.{i}"))
            .ok_or_else(|| ckpt_err(&path, format!("tensor `var.{i}` is missing")))?;
        v.set(&w).map_err(|e| ckpt_err(&path, e))?;
    }
    let n = vars.len();
    let state = match meta.optimiser.as_str() {
        "stateless" => Some(OptimiserState::Stateless),
        "momentum" => Some(OptimiserState::Momentum(
            (0..n).map(|i| t.remove(&format!("velocity.{i}"))).collect(),
        )),
        "adam" => {
            let m: Option<Vec<_>> = (0..n).map(|i| t.remove(&format!("adam_m.{i}"))).collect();
            let v: Option<Vec<_>> = (0..n).map(|i| t.remove(&format!("adam_v.{i}"))).collect();
            m.zip(v).map(|(m, v)| OptimiserState::Adam {
                steps: meta.adam_steps,
                m,
                v,
            })
        }
        other => {
            return Err(ckpt_err(
                &meta_path,
                format!("unknown optimiser state `{other}`"),
            ))
        }
    };
    Ok(Ok((meta.epoch, state)))
}

/// A trained network with its input standardisation.
pub(crate) struct NetPredictor {
    model: &'static str,
    net: Net,
    scaler: Option<Standardiser>,
    n_features: usize,
    n_classes: usize,
}

impl Predictor for NetPredictor {
    fn predict(&self, data: &Dataset) -> Result<Prediction> {
        if data.n_features != self.n_features {
            return Err(Error::Invalid(format!(
                "model `{}` was trained on {} features; dataset `{}` has {}",
                self.model, self.n_features, data.name, data.n_features
            )));
        }
        let n = data.n_samples();
        if n == 0 {
            return Ok(Prediction::Probabilities {
                p: Vec::new(),
                n_classes: self.n_classes,
            });
        }
        let x = match &self.scaler {
            Some(s) => s.apply(&data.features),
            None => data.features.clone(),
        };
        let x = Tensor::from_vec(x, (n, self.n_features), &Device::Cpu)?;
        Ok(Prediction::Probabilities {
            p: self.net.predict_proba(&x)?,
            n_classes: self.n_classes,
        })
    }
}

/// The epochs of a fit: the fidelity's when set, else the configuration's.
pub(crate) fn epochs(opts: &FitOptions<'_>, configured: i64) -> u32 {
    opts.fidelity.epochs.unwrap_or(configured as u32)
}

#[cfg(test)]
pub(crate) mod testdata {
    //! Small real data sets for the neural model tests.
    use crate::data::{Dataset, ImageShape, Target};
    use crate::model::Params;
    use crate::split::train_valid_test;
    use hyperscape_core::ParamValue;

    /// A configuration from name/value pairs.
    pub fn params(pairs: &[(&str, ParamValue)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn classes(labels: Vec<u32>) -> Target {
        let n_classes = *labels.iter().max().unwrap() as usize + 1;
        Target::Classes {
            labels,
            n_classes,
            names: (0..n_classes).map(|c| c.to_string()).collect(),
        }
    }

    pub fn iris() -> Dataset {
        let d = smartcore::dataset::iris::load_dataset();
        Dataset::new("iris", d.data, d.num_features, classes(d.target)).unwrap()
    }

    /// The 1,797 8×8 digits (pixel values 0..16), as images scaled to [0, 1].
    pub fn digits() -> Dataset {
        let d = smartcore::dataset::digits::load_dataset();
        let labels = d.target.iter().map(|&y| y as u32).collect();
        let x = d.data.iter().map(|&v| v / 16.0).collect();
        Dataset::new("digits", x, d.num_features, classes(labels))
            .unwrap()
            .with_image(ImageShape {
                channels: 1,
                height: 8,
                width: 8,
            })
    }

    /// Stratified train / validation / test parts.
    pub fn split(d: &Dataset, seed: u64) -> (Dataset, Dataset, Dataset) {
        let s = train_valid_test(d, 0.2, 0.2, seed).unwrap();
        (d.select(&s.train), d.select(&s.valid), d.select(&s.test))
    }

    /// The share of the majority class in `d`: the trivial baseline's accuracy.
    pub fn majority(d: &Dataset) -> f64 {
        let labels = d.target.labels().unwrap();
        let k = d.target.n_classes().unwrap();
        let mut counts = vec![0usize; k];
        for &l in labels {
            counts[l as usize] += 1;
        }
        *counts.iter().max().unwrap() as f64 / labels.len() as f64
    }
}

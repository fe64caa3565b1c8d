//! GBHO: gradient-based bilevel hyperparameter optimisation with a GP value function
//! and an augmented Lagrangian (Sinha, Gunwal, Kumar, arXiv 2208.12118).
//!
//! The bilevel problem `min_λ F(w*(λ))`, `w*(λ) = argmin_w f(λ, w)` is replaced by the
//! single-level problem `min_{λ,w} F(w)` s.t. `c(λ, w) = f(λ, w) − φ̂(λ) ≤ 0`, where φ̂
//! is a GP fitted to true values `φ(λ_i) = min_w f(λ_i, w)` (see [`super::gp`]).
//!
//! Algorithm (our choices are documented in `docs/bilevel.md`):
//! 1. Initial design ([`design_points`]): the box's corners and centre, filled up to
//!    `n_init` points with a seeded Latin hypercube in `[lo, hi]^d`; for each,
//!    train a fresh model (same seed) to convergence on the full training set
//!    ([`super::lower`]) and record φ. Fit the GP.
//! 2. Start at the design point whose trained model has the lowest validation loss,
//!    with that model's weights (iterate 0; feasible by construction).
//!    The anchored scheme (the default, [`GbhoScheme::Anchored`]) also runs a global
//!    phase at the start of every outer iteration: the expected-improvement maximiser
//!    of a GP on the upper-level value F(w*(λ)) of every retrained λ
//!    ([`super::upper`]) is trained from scratch and, when it beats the anchor,
//!    becomes the point the local AL iterations continue from.
//! 3. Outer iteration k (augmented Lagrangian, Rockafellar's form for an inequality):
//!    `L_R(λ, w; μ) = F(w) + (max(0, μ + R c)² − μ²) / (2R)`. Inner loop: joint
//!    full-batch gradient descent on (λ, w) with heavy-ball momentum
//!    (`v ← β v + g; θ ← θ − lr · v`), the gradient of each block clipped to a norm,
//!    λ projected onto `[lo, hi]^d`. The exact gradient is `∇F + ρ ∇c` with
//!    `ρ = max(0, μ + R c)`; `∇_λ c = ∂f/∂λ − ∇φ̂(λ)` combines candle's autograd with
//!    the GP's analytic gradient. The inner loop stops when the relative change of
//!    `L_R` stays below `rel_tol` for `patience` consecutive steps, or the joint
//!    gradient norm falls below `grad_tol`, or after `inner_max_iter` steps.
//! 4. After the inner loop: train a fresh model at λ_k to convergence (true φ(λ_k),
//!    which is also the train-only model of λ_k), add (λ_k, φ(λ_k)) to the GP and
//!    refit; `c_k = f(λ_k, w_k) − φ(λ_k)`; `μ ← max(0, μ + R c_k)`, `R ← η R`.
//! 5. Return the FEASIBLE iterate (`c_k ≤ feas_abs + feas_rel · |φ(λ_k)|`, measured
//!    against the TRUE φ(λ_k)) with the best validation loss, measured as
//!    `F(w*(λ_k))` with the model retrained at λ_k in step 4 — the bilevel objective
//!    itself. `F(w_k)` of the AL iterate is biased low (w_k is fitted to the
//!    validation data through F), so it would favour the least feasible iterates.
//!
//! w is trained against F in step 3 (so the AL iterate has seen the validation data,
//! as in the authors' notebooks). The headline metrics of the result are those of a
//! model retrained on the training data only at the returned λ (what the baselines
//! report); the AL iterate's own metrics are reported as `joint`.

use std::time::Instant;

use candle_core::{DType, Tensor, Var};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::gp::ValueGp;
use super::lower::{lambda_tensor, solve_lower, solve_lower_to, LowerConfig, LowerSolution};
use super::model::{
    ce, data_loss, lower, restore, scalar, set_metrics, snapshot, vec1, DiffModel, HpKind,
    ModelSpec, SetMetrics, Splits,
};
use super::upper::UpperBo;
use crate::error::{Error, Result};

/// How the outer iterations move λ (`docs/bilevel.md`, "Why the joint scheme drifts").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GbhoScheme {
    /// The paper's: joint gradient descent on (λ, w) of the augmented Lagrangian, λ's
    /// gradient `ρ (∂f/∂λ − ∇φ̂)` with the GP's gradient.
    Joint,
    /// Anchored at the last accepted λ_a and its retrained lower-level solution
    /// w*(λ_a): w starts at w*(λ_a) and minimises the augmented Lagrangian at fixed
    /// λ_a; the multiplier-implied hypergradient `ρ (∂f/∂λ(λ_a, w) − ∇φ(λ_a))`, with
    /// ∇φ(λ_a) = ∂f/∂λ(λ_a, w*(λ_a)) exact by the envelope theorem, gives the
    /// direction of a trust-region step on λ, accepted only when the retrained model's
    /// F(w*(λ)) improves.
    Anchored,
}

/// Settings of [`gbho`]. `Default` gives the values used in `docs/bilevel.md`.
#[derive(Debug, Clone, Serialize)]
pub struct GbhoConfig {
    pub scheme: GbhoScheme,
    /// Initial multiplier μ₀ (the joint scheme's paper value is 0; the anchored scheme
    /// needs μ₀ > 0 so that the constraint binds from the first inner step).
    pub mu0: f64,
    /// Anchored scheme: the initial trust-region radius (Euclidean, in log space), its
    /// growth on an accepted step, and its shrink on a rejected one.
    pub radius0: f64,
    pub radius_max: f64,
    pub hp: HpKind,
    pub seed: u64,
    /// The box of log regularisation weights (design and projection).
    pub lo: f64,
    pub hi: f64,
    /// Initial design size; `None`: `3 + 3d`.
    pub n_init: Option<usize>,
    /// Whether the initial design starts with the box's `2^d` corners and its centre
    /// (when `2^d + 1 <= n_init`; the rest is Latin-hypercube fill), see
    /// [`design_points`]. `false`: Latin-hypercube points only.
    pub corners: bool,
    /// Anchored scheme: global GP-EI proposals on the upper-level value F(w*(λ)) per
    /// outer iteration, before the local AL step ([`super::upper`]); 0 disables the
    /// global phase.
    pub global_per_outer: usize,
    /// Anchored scheme: the local step's retraining at λ_k starts from the anchor's
    /// w*(λ_a) (trained on the training data only, so no validation data leaks into
    /// it), with the lower-level solver started after this many of its three
    /// learning-rate cuts, and stopped no sooner than at the median final gradient
    /// norm of the trainings from scratch so far ([`super::lower::solve_lower_to`]);
    /// while every one of those trainings ran out of epochs that norm is no
    /// yardstick, and the local step trains from scratch; `None`: from scratch, like every other training (the default). Without that
    /// gradient gate the solver's relative-decrease test fired before the
    /// warm-started weights reached w*(λ_k) (on the convex ridge problem the
    /// local-only scheme ended far from λ*); `docs/bilevel.md`, "Warm-started local
    /// retraining" and "The gradient gate".
    pub warm_local: Option<usize>,
    pub outer_iters: usize,
    pub inner_max_iter: usize,
    pub lr_w: f64,
    pub lr_lambda: f64,
    pub momentum: f64,
    /// Gradient-norm clips of the w block and the λ block.
    pub clip_w: f64,
    pub clip_lambda: f64,
    /// Initial penalty R and its growth factor η.
    pub r0: f64,
    pub eta: f64,
    /// Inner stopping test.
    pub rel_tol: f64,
    pub patience: usize,
    pub grad_tol: f64,
    /// Feasibility tolerance on `c = f − φ` (absolute, relative to |φ|).
    pub feas_abs: f64,
    pub feas_rel: f64,
    pub lower: LowerConfig,
    pub dtype_f64: bool,
}

impl Default for GbhoConfig {
    fn default() -> Self {
        Self {
            scheme: GbhoScheme::Anchored,
            mu0: 10.0,
            radius0: 1.0,
            radius_max: 3.0,
            hp: HpKind::PerLayerL2,
            seed: 0,
            lo: -10.0,
            hi: 0.0,
            n_init: None,
            corners: true,
            global_per_outer: 1,
            warm_local: None,
            outer_iters: 8,
            inner_max_iter: 100,
            lr_w: 0.05,
            lr_lambda: 0.2,
            momentum: 0.9,
            clip_w: 1.0,
            clip_lambda: 1.0,
            r0: 10.0,
            eta: 2.0,
            rel_tol: 1e-4,
            patience: 10,
            grad_tol: 1e-5,
            feas_abs: 1e-3,
            feas_rel: 0.02,
            lower: LowerConfig::default(),
            dtype_f64: false,
        }
    }
}

/// Train, validation and test metrics of one model.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub train: SetMetrics,
    pub validation: SetMetrics,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<SetMetrics>,
}

/// One outer iteration of the augmented Lagrangian.
#[derive(Debug, Clone, Serialize)]
pub struct OuterStep {
    pub k: usize,
    pub lambda: Vec<f64>,
    /// `F(w_k)`: validation loss of the AL iterate.
    pub upper: f64,
    /// `f(λ_k, w_k)`.
    pub lower: f64,
    /// φ̂(λ_k) before the refit, and the true φ(λ_k).
    pub phi_hat: f64,
    pub phi: f64,
    /// `c_k = f(λ_k, w_k) − φ(λ_k)` (true φ).
    pub c: f64,
    pub feasible: bool,
    /// Multiplier and penalty after this iteration's update.
    pub mu: f64,
    pub r: f64,
    pub inner_iters: usize,
    /// Why the inner loop stopped: `rel-change`, `grad-norm` or `max-iter`.
    pub stop: &'static str,
    /// Validation loss of the model retrained on the training data only at λ_k.
    pub retrained_validation: f64,
    /// Passes over the training data spent so far (this iteration included).
    pub epochs: usize,
}

/// One global step of GBHO's anchored scheme: the GP-EI proposal on F(w*(λ)), trained
/// from scratch.
#[derive(Debug, Clone, Serialize)]
pub struct GlobalStep {
    /// The outer iteration it preceded.
    pub k: usize,
    pub lambda: Vec<f64>,
    /// φ̂(λ) before the refit, and the true φ(λ) of the retrained model.
    pub phi_hat: f64,
    pub phi: f64,
    /// F(w*(λ)): validation loss of the model trained at λ.
    pub retrained_validation: f64,
    /// Passes over the training data spent so far (this step included).
    pub epochs: usize,
    /// Whether it beat the anchor and became the new anchor.
    pub accepted: bool,
}

/// The result of a tuning method (GBHO, IFT, or a search baseline).
#[derive(Debug, Clone, Serialize)]
pub struct GbhoResult {
    pub method: String,
    pub lambda: Vec<f64>,
    /// Metrics of the model trained on the training data only at `lambda`.
    pub train: SetMetrics,
    pub validation: SetMetrics,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<SetMetrics>,
    /// GBHO only: the authors' rule — the feasible AL iterate (λ_k, w_k), k ≥ 1, with
    /// the lowest `F(w_k)` — and its metrics. Its w was trained against the validation
    /// loss as well, so its validation metrics are optimistic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub joint: Option<Evaluation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub joint_lambda: Option<Vec<f64>>,
    /// Whether the returned iterate met the feasibility tolerance.
    pub feasible: bool,
    pub trajectory: Vec<OuterStep>,
    /// GBHO's global steps (empty for other methods and for the joint scheme).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub global: Vec<GlobalStep>,
    /// Every λ trained from scratch on the training data (GBHO's initial design, every
    /// trial of a search): (λ, φ(λ), validation loss of its model).
    pub design: Vec<(Vec<f64>, f64, f64)>,
    /// Passes over the training data, all training included.
    pub epochs: usize,
    pub wall_seconds: f64,
}

pub(crate) fn evaluate(model: &dyn DiffModel, splits: &Splits) -> Result<Evaluation> {
    Ok(Evaluation {
        train: set_metrics(model, &splits.train)?,
        validation: set_metrics(model, &splits.valid)?,
        test: splits
            .test
            .as_ref()
            .map(|t| set_metrics(model, t))
            .transpose()?,
    })
}

/// Seeded Latin-hypercube points in `[lo, hi]^d`.
pub fn latin_hypercube(n: usize, d: usize, lo: f64, hi: f64, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut cols: Vec<Vec<usize>> = (0..d)
        .map(|_| {
            let mut c: Vec<usize> = (0..n).collect();
            c.shuffle(&mut rng);
            c
        })
        .collect();
    (0..n)
        .map(|i| {
            cols.iter_mut()
                .map(|c| lo + (hi - lo) * (c[i] as f64 + rng.random::<f64>()) / n as f64)
                .collect()
        })
        .collect()
}

/// GBHO's initial design of `n` points in `[lo, hi]^d`. With `corners` and
/// `2^d + 1 <= n`: the `2^d` corners of the box, then its centre, then `n − 2^d − 1`
/// seeded Latin-hypercube points; otherwise `n` Latin-hypercube points. The corners
/// are there because the best regularisation often sits on the box's boundary (on
/// MNIST 1K the first layer's λ at the upper bound 0), which a Latin hypercube of a
/// few points never samples; with the centre they form the classic two-level
/// factorial design with a centre point, and the fill keeps the design space-filling.
pub fn design_points(
    n: usize,
    d: usize,
    lo: f64,
    hi: f64,
    seed: u64,
    corners: bool,
) -> Vec<Vec<f64>> {
    let n_corners = 1usize.checked_shl(d as u32).unwrap_or(usize::MAX);
    if !corners || d == 0 || n_corners.saturating_add(1) > n {
        return latin_hypercube(n, d, lo, hi, seed);
    }
    let mut pts: Vec<Vec<f64>> = (0..n_corners)
        .map(|mask| {
            (0..d)
                .map(|i| if mask >> i & 1 == 1 { hi } else { lo })
                .collect()
        })
        .collect();
    pts.push(vec![0.5 * (lo + hi); d]);
    pts.extend(latin_hypercube(n - n_corners - 1, d, lo, hi, seed));
    pts
}

/// Everything a tuning method needs to build and train models.
pub struct Problem<'a> {
    pub spec: &'a ModelSpec,
    pub splits: &'a Splits,
    pub inputs: usize,
    pub outputs: usize,
    pub dtype: DType,
    pub seed: u64,
    pub lower: LowerConfig,
}

impl<'a> Problem<'a> {
    /// The problem of training `spec` on `splits`, its feature and class counts read
    /// from the data.
    pub fn new(
        spec: &'a ModelSpec,
        splits: &'a Splits,
        dtype: DType,
        seed: u64,
        lower: LowerConfig,
    ) -> Result<Self> {
        lower.validate()?;
        let (inputs, outputs) = shapes(splits)?;
        Ok(Self {
            spec,
            splits,
            inputs,
            outputs,
            dtype,
            seed,
            lower,
        })
    }

    /// A fresh model (always the same initial weights: the seed is fixed).
    pub fn fresh(&self) -> Result<Box<dyn DiffModel>> {
        self.spec
            .build(self.inputs, self.outputs, self.dtype, self.seed)
    }
    /// Trains a fresh model at λ on the training data only; returns it and φ(λ).
    pub fn train_at(&self, lambda: &[f64]) -> Result<(Box<dyn DiffModel>, f64, usize)> {
        let (model, sol) = self.solve_at(lambda)?;
        Ok((model, sol.phi, sol.epochs))
    }
    /// [`Problem::train_at`] with the solver's whole report.
    pub fn solve_at(&self, lambda: &[f64]) -> Result<(Box<dyn DiffModel>, LowerSolution)> {
        let model = self.fresh()?;
        let sol = solve_lower(model.as_ref(), lambda, &self.splits.train, &self.lower)?;
        Ok((model, sol))
    }
    /// Trains at λ on the training data only from the weights `start` (a snapshot of
    /// the same architecture), the solver started after `cuts` learning-rate cuts and
    /// stopped no sooner than at a gradient norm of `grad_target`
    /// ([`super::lower::solve_lower_to`]); returns the model, φ(λ) and the epochs.
    pub fn train_from(
        &self,
        lambda: &[f64],
        start: &[Tensor],
        cuts: usize,
        grad_target: f64,
    ) -> Result<(Box<dyn DiffModel>, f64, usize)> {
        let model = self.fresh()?;
        restore(model.as_ref(), start)?;
        let sol = solve_lower_to(
            model.as_ref(),
            lambda,
            &self.splits.train,
            &self.lower,
            cuts,
            grad_target,
        )?;
        Ok((model, sol.phi, sol.epochs))
    }
    pub fn n_layers(&self) -> Result<usize> {
        Ok(self.fresh()?.penalised().len())
    }
}

/// The data's feature and class counts.
pub fn shapes(splits: &Splits) -> Result<(usize, usize)> {
    let m = ce("data");
    let inputs = splits.train.x.dim(1).map_err(&m)?;
    let outputs = if splits.train.is_classification() {
        let mx = |d: &super::model::Data| -> Result<u32> {
            d.y.max(0)
                .and_then(|t| t.to_scalar::<u32>())
                .map_err(ce("data"))
        };
        (mx(&splits.train)?.max(mx(&splits.valid)?) + 1) as usize
    } else {
        1
    };
    Ok((inputs, outputs))
}

fn norm(gs: &[Tensor]) -> Result<f64> {
    let mut s = 0.0;
    for g in gs {
        s += scalar(&g.sqr().and_then(|t| t.sum_all()).map_err(ce("norm"))?)?;
    }
    Ok(s.sqrt())
}

/// The gradients of `vars` in `grads`, zero where a variable has none. Detached:
/// candle keeps a variable's gradient attached to the step's graph, and a momentum
/// buffer would chain every step's graph.
fn var_grads(grads: &candle_core::backprop::GradStore, vars: &[Var]) -> Result<Vec<Tensor>> {
    vars.iter()
        .map(|v| {
            grads
                .get(v.as_tensor())
                .map(Tensor::detach)
                .map_or_else(|| v.zeros_like(), Ok)
        })
        .collect::<candle_core::Result<_>>()
        .map_err(ce("gbho"))
}

/// `gs` scaled to the Euclidean norm `max` when their norm `n` exceeds it.
fn clip(gs: Vec<Tensor>, n: f64, max: f64) -> Result<Vec<Tensor>> {
    if n <= max {
        return Ok(gs);
    }
    let s = max / n;
    gs.iter()
        .map(|g| g.affine(s, 0.0))
        .collect::<candle_core::Result<_>>()
        .map_err(ce("gbho"))
}

/// One heavy-ball step on `vars`: `v ← momentum·v + g`, `x ← x − lr·v` (the learning
/// rate once, not squared as in the authors' notebooks).
fn momentum_step(
    vars: &[Var],
    vel: &mut [Tensor],
    gs: &[Tensor],
    momentum: f64,
    lr: f64,
) -> Result<()> {
    let m = ce("gbho");
    for ((v, vl), g) in vars.iter().zip(vel.iter_mut()).zip(gs) {
        *vl = (vl.affine(momentum, 0.0).map_err(&m)? + g).map_err(&m)?;
        let next = (v.as_tensor() - vl.affine(lr, 0.0).map_err(&m)?).map_err(&m)?;
        v.set(&next).map_err(&m)?;
    }
    Ok(())
}

/// The inner loop's stopping test: the augmented Lagrangian's relative change stays
/// below `rel_tol` for `patience` consecutive steps, or the gradient norm falls below
/// `grad_tol`. Both can fire (the authors' test could not).
struct InnerStop {
    prev: Option<f64>,
    calm: usize,
}

impl InnerStop {
    fn new() -> Self {
        Self {
            prev: None,
            calm: 0,
        }
    }

    /// The reason to stop after a step with Lagrangian `al` and gradient norm `gnorm`.
    fn check(&mut self, al: f64, gnorm: f64, cfg: &GbhoConfig) -> Option<&'static str> {
        if let Some(p) = self.prev {
            if (al - p).abs() / p.abs().max(1e-12) < cfg.rel_tol {
                self.calm += 1;
            } else {
                self.calm = 0;
            }
        }
        self.prev = Some(al);
        if self.calm >= cfg.patience {
            Some("rel-change")
        } else if gnorm < cfg.grad_tol {
            Some("grad-norm")
        } else {
            None
        }
    }
}

/// Runs GBHO on `spec` with `splits`.
pub fn gbho(spec: &ModelSpec, splits: &Splits, cfg: &GbhoConfig) -> Result<GbhoResult> {
    let start = Instant::now();
    if cfg.lo.is_nan() || cfg.hi.is_nan() || cfg.lo >= cfg.hi || cfg.eta < 1.0 || cfg.r0 <= 0.0 {
        return Err(Error::Invalid(format!(
            "gbho: need lo < hi, eta >= 1, r0 > 0 (got {}, {}, {}, {})",
            cfg.lo, cfg.hi, cfg.eta, cfg.r0
        )));
    }
    let dtype = if cfg.dtype_f64 {
        DType::F64
    } else {
        DType::F32
    };
    let pb = Problem::new(spec, splits, dtype, cfg.seed, cfg.lower)?;
    let d = cfg.hp.dim(pb.n_layers()?);
    let n_init = cfg.n_init.unwrap_or(3 + 3 * d).max(2);
    let mut epochs = 0usize;

    // 1. Initial design.
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    let mut design = Vec::new();
    let mut best_start: Option<(f64, Vec<f64>, Vec<Tensor>)> = None;
    let mut yardstick = Yardstick::default();
    for lam in design_points(n_init, d, cfg.lo, cfg.hi, cfg.seed ^ 0x5eed, cfg.corners) {
        let (model, sol) = pb.solve_at(&lam)?;
        let (phi, e) = (sol.phi, sol.epochs);
        yardstick.push(&sol);
        epochs += e;
        let v = set_metrics(model.as_ref(), &splits.valid)?.cross_entropy;
        design.push((lam.clone(), phi, v));
        if best_start.as_ref().is_none_or(|(b, _, _)| v < *b) {
            best_start = Some((v, lam.clone(), snapshot(model.as_ref())?));
        }
        xs.push(lam);
        ys.push(phi);
    }
    let mut gp = ValueGp::fit(&xs, &ys)?;

    // 2. Iterate 0.
    let (_, lam0, w0) = best_start.expect("n_init >= 2");
    let model = pb.fresh()?;
    restore(model.as_ref(), &w0)?;
    let m = ce("gbho");
    let lam_var = Var::from_tensor(&lambda_tensor(&lam0, dtype)?).map_err(&m)?;
    let wvars = model.vars();
    let mut vel_w: Vec<Tensor> = wvars
        .iter()
        .map(|v| v.zeros_like())
        .collect::<candle_core::Result<_>>()
        .map_err(&m)?;
    let mut vel_l = vec![0.0; d];

    let mut mu = cfg.mu0.max(0.0);
    let mut r = cfg.r0;
    let mut trajectory = Vec::new();
    // Best feasible: (F(w*(λ_k)), λ, joint snapshot, retrained snapshot).
    let phi0 = ys[xs.iter().position(|x| *x == lam0).unwrap_or(0)];
    let f0 = scalar(&data_loss(model.as_ref(), &splits.valid).map_err(&m)?)?;
    let mut best: (f64, Vec<f64>, Vec<Tensor>, Vec<Tensor>, bool) =
        (f0, lam0.clone(), w0.clone(), w0.clone(), true);
    // The authors' rule: best F(w_k) among feasible iterates k ≥ 1.
    let mut best_joint: Option<(f64, Vec<f64>, Vec<Tensor>)> = None;
    trajectory.push(OuterStep {
        k: 0,
        lambda: lam0.clone(),
        upper: f0,
        lower: phi0,
        phi_hat: gp.mean(&lam0),
        phi: phi0,
        c: 0.0,
        feasible: true,
        mu,
        r,
        inner_iters: 0,
        stop: "start",
        retrained_validation: f0,
        epochs,
    });

    if cfg.scheme == GbhoScheme::Anchored {
        let mut upper_bo = UpperBo::new(d, cfg.lo, cfg.hi, cfg.seed ^ 0x6770)?;
        for (lam, _, v) in &design {
            upper_bo.observe(lam, *v)?;
        }
        let state = AnchorState {
            upper_bo,
            lam0,
            w0,
            phi0,
            f0,
            mu,
            trajectory,
            design,
            xs,
            ys,
            gp,
            epochs,
            yardstick,
        };
        return anchored(&pb, cfg, state, start);
    }

    for k in 1..=cfg.outer_iters {
        // 3. Inner loop.
        let mut test = InnerStop::new();
        let mut stop = "max-iter";
        let mut iters = 0;
        while iters < cfg.inner_max_iter {
            let lam_now = vec1(lam_var.as_tensor())?;
            let (phi_hat, dphi) = gp.mean_grad(&lam_now);
            let upper = data_loss(model.as_ref(), &splits.valid).map_err(&m)?;
            let low = lower(model.as_ref(), lam_var.as_tensor(), &splits.train).map_err(&m)?;
            let (fv, lv) = (scalar(&upper)?, scalar(&low)?);
            let c = lv - phi_hat;
            let rho = (mu + r * c).max(0.0);
            let al = fv + (rho * rho - mu * mu) / (2.0 * r);
            let obj = (upper + (low * rho).map_err(&m)?).map_err(&m)?;
            let grads = obj.backward().map_err(&m)?;
            let gw = var_grads(&grads, &wvars)?;
            let mut gl = match grads.get(lam_var.as_tensor()) {
                Some(g) => vec1(g)?,
                None => vec![0.0; d],
            };
            for (g, dp) in gl.iter_mut().zip(&dphi) {
                *g -= rho * dp;
            }
            let nw = norm(&gw)?;
            let nl = gl.iter().map(|v| v * v).sum::<f64>().sqrt();
            let gnorm = (nw * nw + nl * nl).sqrt();
            if let Some(why) = test.check(al, gnorm, cfg) {
                stop = why;
                break;
            }
            let gw = clip(gw, nw, cfg.clip_w)?;
            if nl > cfg.clip_lambda {
                let s = cfg.clip_lambda / nl;
                gl.iter_mut().for_each(|g| *g *= s);
            }
            momentum_step(&wvars, &mut vel_w, &gw, cfg.momentum, cfg.lr_w)?;
            let mut lam_next = lam_now.clone();
            for ((l, v), g) in lam_next.iter_mut().zip(vel_l.iter_mut()).zip(&gl) {
                *v = cfg.momentum * *v + g;
                *l = (*l - cfg.lr_lambda * *v).clamp(cfg.lo, cfg.hi);
                if *l == cfg.lo || *l == cfg.hi {
                    *v = 0.0;
                }
            }
            lam_var.set(&lambda_tensor(&lam_next, dtype)?).map_err(&m)?;
            iters += 1;
        }
        epochs += iters;

        // 4. True φ at λ_k, refit, multiplier and penalty updates.
        let lam_k = vec1(lam_var.as_tensor())?;
        let phi_hat = gp.mean(&lam_k);
        let upper = scalar(&data_loss(model.as_ref(), &splits.valid).map_err(&m)?)?;
        let low = scalar(&lower(model.as_ref(), lam_var.as_tensor(), &splits.train).map_err(&m)?)?;
        let (retrained, phi, e) = pb.train_at(&lam_k)?;
        epochs += e;
        xs.push(lam_k.clone());
        ys.push(phi);
        gp = ValueGp::fit(&xs, &ys)?;
        let c = low - phi;
        let feasible = c <= cfg.feas_abs + cfg.feas_rel * phi.abs();
        mu = (mu + r * c).max(0.0);
        r *= cfg.eta;
        let retrained_validation = set_metrics(retrained.as_ref(), &splits.valid)?.cross_entropy;
        if feasible && best_joint.as_ref().is_none_or(|(b, _, _)| upper < *b) {
            best_joint = Some((upper, lam_k.clone(), snapshot(model.as_ref())?));
        }
        if feasible && retrained_validation < best.0 {
            best = (
                retrained_validation,
                lam_k.clone(),
                snapshot(model.as_ref())?,
                snapshot(retrained.as_ref())?,
                true,
            );
        }
        trajectory.push(OuterStep {
            k,
            lambda: lam_k,
            upper,
            lower: low,
            phi_hat,
            phi,
            c,
            feasible,
            mu,
            r,
            inner_iters: iters,
            stop,
            retrained_validation,
            epochs,
        });
    }

    let (_, lambda, _, train_w, feasible) = best;
    let joint_model = pb.fresh()?;
    let (joint_lambda, joint_w) = match best_joint {
        Some((_, l, w)) => (l, w),
        None => (lam0.clone(), w0.clone()),
    };
    restore(joint_model.as_ref(), &joint_w)?;
    let joint = evaluate(joint_model.as_ref(), splits)?;
    restore(joint_model.as_ref(), &train_w)?;
    let ev = evaluate(joint_model.as_ref(), splits)?;
    Ok(GbhoResult {
        method: "gbho".into(),
        lambda,
        train: ev.train,
        validation: ev.validation,
        test: ev.test,
        joint: Some(joint),
        joint_lambda: Some(joint_lambda),
        feasible,
        trajectory,
        global: Vec::new(),
        design,
        epochs,
        wall_seconds: start.elapsed().as_secs_f64(),
    })
}

struct AnchorState {
    upper_bo: UpperBo,
    lam0: Vec<f64>,
    w0: Vec<Tensor>,
    phi0: f64,
    f0: f64,
    mu: f64,
    trajectory: Vec<OuterStep>,
    design: Vec<(Vec<f64>, f64, f64)>,
    xs: Vec<Vec<f64>>,
    ys: Vec<f64>,
    gp: ValueGp,
    epochs: usize,
    /// The trainings from scratch so far, the yardstick of a warm-started training.
    yardstick: Yardstick,
}

/// The yardstick of a warm-started training's stationarity: the final gradient norms of
/// the trainings from scratch so far, and how many of them ran out of epochs.
#[derive(Debug, Clone, Default)]
struct Yardstick {
    norms: Vec<f64>,
    capped: usize,
}

impl Yardstick {
    fn push(&mut self, sol: &LowerSolution) {
        self.norms.push(sol.grad_norm);
        if !sol.converged {
            self.capped += 1;
        }
    }

    /// The gradient norm a warm-started training must reach: the median over the
    /// trainings from scratch (`+∞` when none has a finite norm: no gate). `None` when
    /// none of them converged before `max_epochs`: their norms then say where the
    /// epoch cap fell, not what stationarity is, and a warm start held to them stops
    /// where the anchor's weights still dominate (Fashion-MNIST 1K in `docs/bilevel.md`),
    /// so the local step trains from scratch like every other training.
    fn target(&self) -> Option<f64> {
        if self.capped >= self.norms.len() {
            return None;
        }
        Some(median(&self.norms))
    }
}

/// The median of the finite values (`+∞` when there is none: no gradient gate).
fn median(v: &[f64]) -> f64 {
    let mut f: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if f.is_empty() {
        return f64::INFINITY;
    }
    f.sort_by(f64::total_cmp);
    let n = f.len();
    if n % 2 == 1 {
        f[n / 2]
    } else {
        0.5 * (f[n / 2 - 1] + f[n / 2])
    }
}

/// `∂f/∂λ_i = e^{λ_i} Σ_{l ∈ i} ½‖W_l‖² / n` at the model's current weights.
fn dpenalty(model: &dyn DiffModel, lambda: &[f64], n: usize) -> Result<Vec<f64>> {
    let d = lambda.len();
    let mut g = vec![0.0; d];
    for (l, w) in model.penalised().iter().enumerate() {
        let i = if d == 1 { 0 } else { l };
        let sq = scalar(
            &w.as_tensor()
                .sqr()
                .and_then(|t| t.sum_all())
                .map_err(ce("penalty gradient"))?,
        )?;
        g[i] += lambda[i].exp() * 0.5 * sq / n as f64;
    }
    Ok(g)
}

/// The anchored scheme ([`GbhoScheme::Anchored`]).
fn anchored(
    pb: &Problem<'_>,
    cfg: &GbhoConfig,
    st: AnchorState,
    start: Instant,
) -> Result<GbhoResult> {
    let AnchorState {
        mut upper_bo,
        lam0,
        w0,
        phi0,
        f0,
        mut mu,
        mut trajectory,
        design,
        mut xs,
        mut ys,
        mut gp,
        mut epochs,
        mut yardstick,
    } = st;
    let splits = pb.splits;
    let m = ce("gbho");
    let n = splits.train.n;
    let model = pb.fresh()?;
    let wvars = model.vars();
    let mut r = cfg.r0;
    let mut radius = cfg.radius0;
    // The anchor: the accepted λ, its retrained w*(λ), φ(λ) and F(w*(λ)).
    let (mut lam_a, mut w_a, mut phi_a, mut f_a) = (lam0.clone(), w0.clone(), phi0, f0);
    let mut best_joint: Option<(f64, Vec<f64>, Vec<Tensor>)> = None;
    let mut global = Vec::new();
    for k in 1..=cfg.outer_iters {
        // Global phase: the EI maximiser of the upper-level GP, trained from scratch;
        // when it beats the anchor, the local AL iterations continue from there.
        for _ in 0..cfg.global_per_outer {
            let lam_g = upper_bo.propose()?;
            let phi_hat = gp.mean(&lam_g);
            let (retrained, sol) = pb.solve_at(&lam_g)?;
            let (phi, e) = (sol.phi, sol.epochs);
            yardstick.push(&sol);
            epochs += e;
            let v = set_metrics(retrained.as_ref(), &splits.valid)?.cross_entropy;
            upper_bo.observe(&lam_g, v)?;
            xs.push(lam_g.clone());
            ys.push(phi);
            gp = ValueGp::fit(&xs, &ys)?;
            let accepted = v < f_a;
            if accepted {
                lam_a = lam_g.clone();
                w_a = snapshot(retrained.as_ref())?;
                phi_a = phi;
                f_a = v;
                radius = cfg.radius0;
            }
            global.push(GlobalStep {
                k,
                lambda: lam_g,
                phi_hat,
                phi,
                retrained_validation: v,
                accepted,
                epochs,
            });
        }
        // Inner loop: w from w*(λ_a), λ fixed at λ_a.
        restore(model.as_ref(), &w_a)?;
        let lam_t = lambda_tensor(&lam_a, pb.dtype)?;
        let mut vel: Vec<Tensor> = wvars
            .iter()
            .map(|v| v.zeros_like())
            .collect::<candle_core::Result<_>>()
            .map_err(&m)?;
        let (mut test, mut stop, mut iters) = (InnerStop::new(), "max-iter", 0);
        while iters < cfg.inner_max_iter {
            let upper = data_loss(model.as_ref(), &splits.valid).map_err(&m)?;
            let low = lower(model.as_ref(), &lam_t, &splits.train).map_err(&m)?;
            let c = scalar(&low)? - phi_a;
            let rho = (mu + r * c).max(0.0);
            let al = scalar(&upper)? + (rho * rho - mu * mu) / (2.0 * r);
            let grads = (upper + (low * rho).map_err(&m)?)
                .map_err(&m)?
                .backward()
                .map_err(&m)?;
            let gw = var_grads(&grads, &wvars)?;
            let nw = norm(&gw)?;
            if let Some(why) = test.check(al, nw, cfg) {
                stop = why;
                break;
            }
            let gw = clip(gw, nw, cfg.clip_w)?;
            momentum_step(&wvars, &mut vel, &gw, cfg.momentum, cfg.lr_w)?;
            iters += 1;
        }
        epochs += iters;
        let upper = scalar(&data_loss(model.as_ref(), &splits.valid).map_err(&m)?)?;
        let low = scalar(&lower(model.as_ref(), &lam_t, &splits.train).map_err(&m)?)?;
        let c = low - phi_a;
        let rho = (mu + r * c).max(0.0);
        // The multiplier-implied hypergradient ρ ∂c/∂λ, ∇φ(λ_a) from the envelope
        // theorem at the retrained w*(λ_a) (exact; the GP's gradient is only an
        // approximation of it, and ρ would multiply its error).
        let g_w = dpenalty(model.as_ref(), &lam_a, n)?;
        // The inner iterate (λ_a, w) against the true φ(λ_a); the authors' rule keeps
        // the feasible one with the lowest F(w).
        let feasible = c <= cfg.feas_abs + cfg.feas_rel * phi_a.abs();
        if feasible && best_joint.as_ref().is_none_or(|(b, _, _)| upper < *b) {
            best_joint = Some((upper, lam_a.clone(), snapshot(model.as_ref())?));
        }
        restore(model.as_ref(), &w_a)?;
        let g_star = dpenalty(model.as_ref(), &lam_a, n)?;
        let g: Vec<f64> = g_w
            .iter()
            .zip(&g_star)
            .map(|(a, b)| rho * (a - b))
            .collect();
        let gn = g.iter().map(|v| v * v).sum::<f64>().sqrt();
        // Trust-region step along −g, projected onto the box.
        let lam_k: Vec<f64> = if gn > 0.0 {
            lam_a
                .iter()
                .zip(&g)
                .map(|(l, gi)| (l - radius * gi / gn).clamp(cfg.lo, cfg.hi))
                .collect()
        } else {
            lam_a.clone()
        };
        let phi_hat = gp.mean(&lam_k);
        let (retrained, phi, e) = match (cfg.warm_local, yardstick.target()) {
            (Some(cuts), Some(target)) => pb.train_from(&lam_k, &w_a, cuts, target)?,
            _ => pb.train_at(&lam_k)?,
        };
        epochs += e;
        xs.push(lam_k.clone());
        ys.push(phi);
        gp = ValueGp::fit(&xs, &ys)?;
        let retrained_validation = set_metrics(retrained.as_ref(), &splits.valid)?.cross_entropy;
        upper_bo.observe(&lam_k, retrained_validation)?;
        mu = (mu + r * c).max(0.0);
        r *= cfg.eta;
        let accepted = retrained_validation < f_a;
        if accepted {
            lam_a = lam_k.clone();
            w_a = snapshot(retrained.as_ref())?;
            phi_a = phi;
            f_a = retrained_validation;
            radius = (radius * 1.5).min(cfg.radius_max);
        } else {
            radius *= 0.5;
        }
        trajectory.push(OuterStep {
            k,
            lambda: lam_k,
            upper,
            lower: low,
            phi_hat,
            phi,
            c,
            feasible,
            mu,
            r,
            inner_iters: iters,
            stop,
            retrained_validation,
            epochs,
        });
    }
    let (joint_lambda, joint_w) = match best_joint {
        Some((_, l, w)) => (l, w),
        None => (lam0, w0),
    };
    restore(model.as_ref(), &joint_w)?;
    let joint = evaluate(model.as_ref(), splits)?;
    restore(model.as_ref(), &w_a)?;
    let ev = evaluate(model.as_ref(), splits)?;
    Ok(GbhoResult {
        method: "gbho".into(),
        lambda: lam_a,
        train: ev.train,
        validation: ev.validation,
        test: ev.test,
        joint: Some(joint),
        joint_lambda: Some(joint_lambda),
        // The returned point is a retrained lower-level solution (c = 0 by definition).
        feasible: true,
        trajectory,
        global,
        design,
        epochs,
        wall_seconds: start.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::{design_points, LowerSolution, Yardstick};

    #[test]
    fn the_warm_start_yardstick_is_off_while_every_training_is_capped() {
        let sol = |grad_norm: f64, converged: bool| LowerSolution {
            phi: 0.1,
            epochs: 100,
            converged,
            grad_norm,
        };
        let mut y = Yardstick::default();
        assert_eq!(y.target(), None, "no training yet");
        y.push(&sol(2.0, false));
        y.push(&sol(5.0, false));
        // Every training capped: no yardstick.
        assert_eq!(y.target(), None);
        y.push(&sol(1.0, true));
        // One converged: the median of all three norms.
        assert_eq!(y.target(), Some(2.0));
        y.push(&sol(0.5, true));
        assert_eq!(y.target(), Some(1.5));
        // Non-finite norms are skipped by the median; none finite: no gate at all.
        let mut inf = Yardstick::default();
        inf.push(&sol(f64::NAN, true));
        assert_eq!(inf.target(), Some(f64::INFINITY));
    }

    #[test]
    fn design_starts_with_the_corners_and_the_centre() {
        let pts = design_points(9, 2, -10.0, 0.0, 5, true);
        assert_eq!(pts.len(), 9);
        for c in [[-10.0, -10.0], [0.0, -10.0], [-10.0, 0.0], [0.0, 0.0]] {
            assert!(
                pts[..4].iter().any(|p| p == &c),
                "corner {c:?} missing: {pts:?}"
            );
        }
        assert_eq!(pts[4], vec![-5.0, -5.0]);
        // The fill is inside the box and not on the corners.
        for p in &pts[5..] {
            assert!(p.iter().all(|v| (-10.0..=0.0).contains(v)), "{p:?}");
            assert!(!pts[..4].contains(p));
        }
        // d = 1: the two ends and the centre.
        let one = design_points(6, 1, -6.0, 6.0, 1, true);
        assert_eq!(&one[..3], &[vec![-6.0], vec![6.0], vec![0.0]]);
        // Too few points for the corners and the centre, or corners off: a Latin
        // hypercube of the requested size with the same seed.
        assert_eq!(
            design_points(4, 2, -10.0, 0.0, 5, true),
            super::latin_hypercube(4, 2, -10.0, 0.0, 5)
        );
        assert_eq!(
            design_points(9, 2, -10.0, 0.0, 5, false),
            super::latin_hypercube(9, 2, -10.0, 0.0, 5)
        );
    }
}

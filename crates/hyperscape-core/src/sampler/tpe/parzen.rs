//! The Parzen estimator: a weighted mixture of kernels, one per observation (plus an
//! optional prior kernel), over one or several parameters.
//!
//! Numerical parameters live in a *model space*: the value itself, or its logarithm for
//! `log` distributions. Their kernels are normals truncated to the parameter's range.
//! Discrete numerical parameters (steps, ints, log ints) use *discretised* kernels: the
//! probability of a level is the kernel's mass over that level's bin (`value ± step/2`,
//! or `[ln(k - ½), ln(k + ½)]` for a log int), so the mixture is a proper distribution
//! over the levels and sampling-then-rounding draws exactly from it. Categorical
//! parameters use a smoothed one-hot kernel per observation and a uniform prior kernel.
//!
//! In a joint (multivariate) mixture, kernel *k* is the product over parameters of the
//! per-parameter kernels of observation *k*: one observation, shared across dimensions.

use rand::Rng;

use super::pool;
use super::truncnorm::{self, LN_SQRT_2PI};
use crate::param::{Distribution, ParamValue};

/// How one parameter is modelled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Model {
    /// A continuous float; `log` means the model space is `ln(value)`.
    Continuous { low: f64, high: f64, log: bool },
    /// Levels `low + k·step` up to `high` (step floats and linear ints).
    Steps { low: f64, high: f64, step: f64 },
    /// Integers in `[low, high]`, modelled in log space.
    LogInt { low: f64, high: f64 },
    /// `n` choices, by index.
    Categorical { n: usize },
}

impl Model {
    pub fn of(d: &Distribution) -> Model {
        match d {
            Distribution::Float {
                low,
                high,
                log,
                step: None,
            } => Model::Continuous {
                low: *low,
                high: *high,
                log: *log,
            },
            Distribution::Float {
                low,
                high,
                step: Some(s),
                ..
            } => Model::Steps {
                low: *low,
                high: *high,
                step: *s,
            },
            Distribution::Int {
                low,
                high,
                log: true,
                ..
            } => Model::LogInt {
                low: *low as f64,
                high: *high as f64,
            },
            Distribution::Int {
                low, high, step, ..
            } => Model::Steps {
                low: *low as f64,
                high: *high as f64,
                step: *step as f64,
            },
            Distribution::Categorical { choices } => Model::Categorical { n: choices.len() },
        }
    }

    /// Model-space value of an internal value (a number, or a choice index).
    pub fn to_model(self, internal: f64) -> f64 {
        match self {
            Model::Continuous { log: true, .. } | Model::LogInt { .. } => internal.ln(),
            _ => internal,
        }
    }

    /// The range the kernels are truncated to (widened by half a bin for discrete ones).
    fn bounds(&self) -> (f64, f64) {
        match *self {
            Model::Continuous { low, high, log } => {
                if log {
                    (low.ln(), high.ln())
                } else {
                    (low, high)
                }
            }
            Model::Steps { low, high, step } => (low - 0.5 * step, high + 0.5 * step),
            Model::LogInt { low, high } => ((low - 0.5).ln(), (high + 0.5).ln()),
            Model::Categorical { n } => (0.0, n as f64 - 1.0),
        }
    }

    /// Snaps a model-space draw onto a level; returns the snapped value and its bin
    /// (the bin is `(x, x)` for continuous parameters).
    fn snap(&self, x: f64) -> (f64, f64, f64) {
        match *self {
            Model::Steps { low, high, step } => {
                let k = ((x - low) / step).round().max(0.0);
                let v = (low + k * step).min(high);
                (v, v - 0.5 * step, v + 0.5 * step)
            }
            Model::LogInt { low, high } => {
                let k = x.exp().round().clamp(low, high);
                (k.ln(), (k - 0.5).ln(), (k + 0.5).ln())
            }
            _ => (x, x, x),
        }
    }

    /// The parameter value of a model-space point.
    pub fn to_external(self, d: &Distribution, x: f64) -> ParamValue {
        match self {
            Model::Continuous { log: true, .. } | Model::LogInt { .. } => d.to_external(x.exp()),
            _ => d.to_external(x),
        }
    }

    fn is_discrete_numeric(&self) -> bool {
        matches!(self, Model::Steps { .. } | Model::LogInt { .. })
    }

    /// The level of a model-space value of a discrete parameter, as an integer (a
    /// choice index, a step count from `low`, or the integer itself); `None` for a
    /// continuous parameter.
    pub fn level_key(self, x: f64) -> Option<i64> {
        match self {
            Model::Continuous { .. } => None,
            Model::Categorical { .. } => Some(x.round() as i64),
            Model::Steps { low, step, .. } => Some(((x - low) / step).round() as i64),
            Model::LogInt { .. } => Some(x.exp().round() as i64),
        }
    }
}

/// Estimator settings (Optuna's names).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ParzenSettings {
    pub consider_prior: bool,
    pub prior_weight: f64,
    pub consider_magic_clip: bool,
    pub consider_endpoints: bool,
    /// How numerical kernels get their bandwidths.
    pub bandwidth: Bandwidth,
    /// Exponent `α` of the magic clip: bandwidths are at least
    /// `range / min(100, 1 + n_kernels)^α` (Optuna: 1).
    pub clip_exponent: f64,
    /// With the magic clip, bandwidths are also at least this fraction of the range
    /// (Optuna: 0, no such floor).
    pub min_bandwidth_factor: f64,
}

/// Bandwidth rule of the numerical kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Bandwidth {
    /// Per dimension, each observation's kernel is as wide as the larger gap to its
    /// sorted neighbours among the observations (the prior kernel is not one of them);
    /// the extremes take their inner gap unless `consider_endpoints`. Optuna 5 uses
    /// this rule in univariate and multivariate mode alike.
    #[default]
    NeighbourGap,
    /// One width for every kernel, `0.2 · n^(−1/(d+4)) · range` (Scott-like; Optuna
    /// ≤ 4's multivariate rule).
    Scott,
    /// Per dimension, one width for every kernel, `1.06 · σ · n^(−1/(d+4))`, `σ` the
    /// observations' standard deviation in model space, at least `1e-3 · range`: the
    /// normal reference rule of the multivariate KDE of BOHB (Falkner et al. 2018,
    /// statsmodels' `normal_reference`; BOHB's minimum bandwidth 1e-3 on `[0, 1]`).
    NormalReference,
}

#[derive(Debug)]
enum DimKernels {
    Numerical {
        model: Model,
        low: f64,
        high: f64,
        mu: Vec<f64>,
        sigma: Vec<f64>,
        inv_sigma: Vec<f64>,
        /// Per-kernel log constant: `-ln σ - ln√(2π) - ln Z` (continuous) or `-ln Z`
        /// (discrete), `Z` being the kernel's mass inside the bounds.
        c: Vec<f64>,
        /// `w_k · exp(c_k)`: the linear-space coefficients for the one-dimensional
        /// fast path.
        lin: Vec<f64>,
        /// Kernels with the same centre and bandwidth (repeated observations, common
        /// for discrete parameters) share a class, whose log masses are computed once:
        /// `class[k]` for each kernel, classes numbered `0..n_class`.
        class: Vec<u32>,
        n_class: usize,
    },
    Categorical {
        n: usize,
        /// `n_kernels × n` log probabilities, row-major.
        log_p: Vec<f64>,
        /// Cumulative probabilities per row, for sampling.
        cum: Vec<f64>,
    },
}

/// A mixture over one or more parameters.
#[derive(Debug)]
pub(crate) struct Mixture {
    log_w: Vec<f64>,
    cum_w: Vec<f64>,
    dims: Vec<DimKernels>,
    /// Kernel index for windowed scoring of a one-dimensional numerical mixture.
    window: Option<Window>,
}

impl Drop for Mixture {
    /// Hands the kernel buffers back to the pool for the next ask.
    fn drop(&mut self) {
        pool::give(std::mem::take(&mut self.log_w));
        pool::give(std::mem::take(&mut self.cum_w));
        for d in self.dims.drain(..) {
            match d {
                DimKernels::Numerical {
                    mu,
                    sigma,
                    inv_sigma,
                    c,
                    lin,
                    ..
                } => {
                    for v in [mu, sigma, inv_sigma, c, lin] {
                        pool::give(v);
                    }
                }
                DimKernels::Categorical { log_p, cum, .. } => {
                    pool::give(log_p);
                    pool::give(cum);
                }
            }
        }
    }
}

/// Nats below which a skipped kernel's factor `exp(-z²/2)` (or its tail mass) lies.
/// `e^-50 ≈ 2e-22`: the skipped kernels together stay below `1e-16` of the sum in all
/// but pathological mixtures, and [`Window::skipped_bound`] checks this per candidate.
const WINDOW_NATS: f64 = 50.0;

/// The kernels of a one-dimensional numerical mixture split for windowed scoring:
/// *narrow* kernels (bandwidth at most `sigma_thr`), sorted by centre, and the
/// remaining *wide* ones (the prior kernel among them), always evaluated. A narrow
/// kernel further than `half = sigma_thr · √(2·WINDOW_NATS)` from a candidate (from
/// its bin, for discrete parameters) contributes less than `lin_k · e^-WINDOW_NATS`.
#[derive(Debug)]
struct Window {
    half: f64,
    /// Narrow kernels sorted by centre: centre, `1/σ`, linear coefficient.
    mu: Vec<f64>,
    inv_sigma: Vec<f64>,
    lin: Vec<f64>,
    /// Wide kernels (any order).
    wide_mu: Vec<f64>,
    wide_inv_sigma: Vec<f64>,
    wide_lin: Vec<f64>,
    /// `Σ lin` over narrow kernels times `e^-WINDOW_NATS`: bounds what the skipped
    /// kernels can add.
    skipped_bound: f64,
}

impl Window {
    /// Below this many kernels the plain loop is as fast.
    const MIN_KERNELS: usize = 64;

    fn build(
        low: f64,
        high: f64,
        mu: &[f64],
        sigma: &[f64],
        inv_sigma: &[f64],
        lin: &[f64],
    ) -> Option<Window> {
        let n = mu.len();
        if n < Self::MIN_KERNELS {
            return None;
        }
        let range = high - low;
        if !(range > 0.0 && range.is_finite()) {
            return None;
        }
        let reach = (2.0 * WINDOW_NATS).sqrt();
        // Pick the bandwidth threshold among s_min·2^j that minimises the estimated
        // kernel evaluations: wide ones plus the narrow ones inside a window (as if
        // centres were spread evenly).
        let s_min = sigma.iter().copied().fold(f64::INFINITY, f64::min);
        if !(s_min > 0.0 && s_min.is_finite()) {
            return None;
        }
        const STEPS: usize = 12;
        let mut counts = [0usize; STEPS];
        for &s in sigma {
            let mut j = 0;
            let mut t = s_min;
            while j < STEPS - 1 && s > t {
                t *= 2.0;
                j += 1;
            }
            if s <= t {
                counts[j] += 1;
            }
        }
        let mut best: Option<(f64, f64)> = None;
        let mut narrow = 0usize;
        let mut t = s_min;
        for &c in &counts {
            narrow += c;
            let frac = (2.0 * t * reach / range).min(1.0);
            let cost = (n - narrow) as f64 + narrow as f64 * frac;
            if best.is_none_or(|(b, _)| cost < b) {
                best = Some((cost, t));
            }
            t *= 2.0;
        }
        let (cost, thr) = best?;
        if cost > 0.7 * n as f64 {
            return None;
        }
        let mut order: Vec<(f64, usize)> = Vec::with_capacity(n);
        let mut w = Window {
            half: thr * reach,
            mu: Vec::new(),
            inv_sigma: Vec::new(),
            lin: Vec::new(),
            wide_mu: Vec::new(),
            wide_inv_sigma: Vec::new(),
            wide_lin: Vec::new(),
            skipped_bound: 0.0,
        };
        for k in 0..n {
            if sigma[k] <= thr {
                order.push((mu[k], k));
            } else {
                w.wide_mu.push(mu[k]);
                w.wide_inv_sigma.push(inv_sigma[k]);
                w.wide_lin.push(lin[k]);
            }
        }
        order.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut total = 0.0;
        for &(m, k) in &order {
            w.mu.push(m);
            w.inv_sigma.push(inv_sigma[k]);
            w.lin.push(lin[k]);
            total += lin[k];
        }
        w.skipped_bound = total * (-WINDOW_NATS).exp();
        Some(w)
    }

    /// The mixture's density (or mass over `[lo, hi]` when `discrete`) at `x`, in
    /// linear space, or `None` when the skipped kernels could matter at f64 precision.
    fn sum(&self, x: f64, lo: f64, hi: f64, discrete: bool) -> Option<f64> {
        let (from, to) = if discrete { (lo, hi) } else { (x, x) };
        let a = self.mu.partition_point(|&m| m < from - self.half);
        let b = self.mu.partition_point(|&m| m <= to + self.half);
        let mut sum = 0.0;
        if discrete {
            for (k, &m) in self.wide_mu.iter().enumerate() {
                let is = self.wide_inv_sigma[k];
                sum += self.wide_lin[k] * truncnorm::mass((lo - m) * is, (hi - m) * is);
            }
            for k in a..b {
                let is = self.inv_sigma[k];
                let m = self.mu[k];
                sum += self.lin[k] * truncnorm::mass((lo - m) * is, (hi - m) * is);
            }
        } else {
            sum += gauss_sum(x, &self.wide_mu, &self.wide_inv_sigma, &self.wide_lin);
            sum += gauss_sum(x, &self.mu[a..b], &self.inv_sigma[a..b], &self.lin[a..b]);
        }
        (sum.is_finite() && self.skipped_bound <= 1e-16 * sum).then_some(sum)
    }
}

/// `Σ lin_k · exp(-((x - mu_k)·inv_sigma_k)² / 2)`.
#[inline]
fn gauss_sum(x: f64, mu: &[f64], inv_sigma: &[f64], lin: &[f64]) -> f64 {
    let n = mu.len().min(inv_sigma.len()).min(lin.len());
    let mut sum = 0.0;
    for k in 0..n {
        let z = (x - mu[k]) * inv_sigma[k];
        sum += lin[k] * (-0.5 * z * z).exp();
    }
    sum
}

/// Candidates in model space: `values[dim][candidate]`, with the bin of each discrete
/// numerical value in `lo`/`hi`.
#[derive(Debug)]
pub(crate) struct Candidates {
    pub values: Vec<Vec<f64>>,
    lo: Vec<Vec<f64>>,
    hi: Vec<Vec<f64>>,
    pub n: usize,
}

impl Mixture {
    /// Builds the mixture. `obs[dim][k]` is observation *k* in model space (a choice
    /// index for categoricals); `weights[k]` its (non-negative) weight. Returns `None`
    /// when it would have no kernel or no positive weight.
    pub fn build(
        models: &[Model],
        obs: &[Vec<f64>],
        weights: &[f64],
        s: &ParzenSettings,
    ) -> Option<Mixture> {
        Self::build_with_order(models, obs, weights, s, &[])
    }

    /// [`Mixture::build`] with, per dimension, the observations' indices in ascending
    /// order of value (ties by index) when the caller keeps them sorted already
    /// (`order[dim]`; missing or empty: sort here). A hint that is not that order is
    /// detected and ignored, so the result never depends on it.
    pub fn build_with_order(
        models: &[Model],
        obs: &[Vec<f64>],
        weights: &[f64],
        s: &ParzenSettings,
        order: &[Vec<usize>],
    ) -> Option<Mixture> {
        let n_obs = weights.len();
        let n_k = n_obs + usize::from(s.consider_prior);
        if n_k == 0 {
            return None;
        }
        let mut w = pool::take(n_k);
        w.extend_from_slice(weights);
        if s.consider_prior {
            w.push(s.prior_weight);
        }
        let total: f64 = w.iter().sum();
        if !(total > 0.0 && total.is_finite()) {
            return None;
        }
        // Weights repeat (most are 1): one logarithm per run of equal weights.
        let mut last = (f64::NAN, 0.0);
        let mut log_w = pool::take(n_k);
        log_w.extend(w.iter().map(|&x| {
            if x.to_bits() != last.0.to_bits() {
                last = (x, (x / total).ln());
            }
            last.1
        }));
        let mut acc = 0.0;
        let mut cum_w = pool::take(n_k);
        cum_w.extend(w.iter().map(|x| {
            acc += x / total;
            acc
        }));
        pool::give(w);
        let n_dims = models.len();
        let dims = models
            .iter()
            .zip(obs)
            .enumerate()
            .map(|(j, (m, o))| match *m {
                Model::Categorical { n } => categorical_kernels(n, o, s),
                _ => {
                    let hint = order.get(j).map(Vec::as_slice).unwrap_or_default();
                    numerical_kernels(*m, o, s, n_dims, hint)
                }
            })
            .collect();
        let mut dims: Vec<DimKernels> = dims;
        // The linear coefficients serve the one-dimensional fast path only.
        for d in dims.iter_mut().filter(|_| n_dims == 1) {
            if let DimKernels::Numerical { c, lin, .. } = d {
                let mut v = pool::take(c.len());
                v.extend(c.iter().zip(&log_w).map(|(c, w)| (c + w).exp()));
                *lin = v;
            }
        }
        let window = match dims.as_slice() {
            [DimKernels::Numerical {
                low,
                high,
                mu,
                sigma,
                inv_sigma,
                lin,
                ..
            }] => Window::build(*low, *high, mu, sigma, inv_sigma, lin),
            _ => None,
        };
        Some(Mixture {
            log_w,
            cum_w,
            dims,
            window,
        })
    }

    /// One numerical dimension: sums kernels in linear space (one `exp` per
    /// continuous term, two per discrete one), each distinct level once. A candidate
    /// whose sum underflows is redone in log space.
    fn log_pdf_1d(&self, c: &Candidates) -> Option<Vec<f64>> {
        let DimKernels::Numerical {
            model,
            mu,
            inv_sigma,
            lin,
            ..
        } = self.dims.first()?
        else {
            return None;
        };
        let mut out = Vec::with_capacity(c.n);
        let mut seen: Vec<(u64, f64)> = Vec::new();
        for i in 0..c.n {
            let x = c.values[0][i];
            if let Some((_, v)) = seen.iter().find(|(b, _)| *b == x.to_bits()) {
                out.push(*v);
                continue;
            }
            let (lo, hi) = (c.lo[0][i], c.hi[0][i]);
            let windowed = self
                .window
                .as_ref()
                .and_then(|w| w.sum(x, lo, hi, model.is_discrete_numeric()));
            let mut sum = 0.0;
            if let Some(s) = windowed {
                sum = s;
            } else if model.is_discrete_numeric() {
                for k in 0..mu.len() {
                    let a = (lo - mu[k]) * inv_sigma[k];
                    let b = (hi - mu[k]) * inv_sigma[k];
                    sum += lin[k] * truncnorm::mass(a, b);
                }
            } else {
                sum = gauss_sum(x, mu, inv_sigma, lin);
            }
            let v = if sum > 1e-280 && sum.is_finite() {
                sum.ln()
            } else {
                self.log_pdf_general(&Candidates {
                    values: vec![vec![x]],
                    lo: vec![vec![c.lo[0][i]]],
                    hi: vec![vec![c.hi[0][i]]],
                    n: 1,
                })[0]
            };
            seen.push((x.to_bits(), v));
            out.push(v);
        }
        Some(out)
    }

    /// Draws `n` candidates.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R, n: usize) -> Candidates {
        self.sample_widened(rng, n, 1.0)
    }

    /// Draws `n` candidates with every numerical kernel's bandwidth multiplied by
    /// `factor` (BOHB samples from its good density widened by its bandwidth factor,
    /// and scores the draws with the plain densities). Categorical kernels as they are.
    pub fn sample_widened<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        n: usize,
        factor: f64,
    ) -> Candidates {
        let d = self.dims.len();
        let mut c = Candidates {
            values: vec![Vec::with_capacity(n); d],
            lo: vec![Vec::with_capacity(n); d],
            hi: vec![Vec::with_capacity(n); d],
            n,
        };
        for _ in 0..n {
            let u: f64 = rng.random();
            let k = self
                .cum_w
                .partition_point(|&x| x < u)
                .min(self.cum_w.len() - 1);
            for (j, dim) in self.dims.iter().enumerate() {
                let (v, lo, hi) = match dim {
                    DimKernels::Numerical {
                        model,
                        low,
                        high,
                        mu,
                        sigma,
                        ..
                    } => {
                        let x = truncnorm::sample(rng, mu[k], sigma[k] * factor, *low, *high);
                        model.snap(x)
                    }
                    DimKernels::Categorical { n, cum, .. } => {
                        let row = &cum[k * n..(k + 1) * n];
                        let u: f64 = rng.random();
                        let i = row.partition_point(|&x| x < u).min(n - 1);
                        (i as f64, 0.0, 0.0)
                    }
                };
                c.values[j].push(v);
                c.lo[j].push(lo);
                c.hi[j].push(hi);
            }
        }
        c
    }

    /// Log density (log mass for discrete parameters) of each candidate.
    pub fn log_pdf(&self, c: &Candidates) -> Vec<f64> {
        if self.dims.len() == 1 {
            if let Some(v) = self.log_pdf_1d(c) {
                return v;
            }
            if let DimKernels::Categorical { n, log_p, .. } = &self.dims[0] {
                // The mixture's probability of each choice, once.
                let mut p = vec![0.0; *n];
                for (k, lw) in self.log_w.iter().enumerate() {
                    for (j, pj) in p.iter_mut().enumerate() {
                        *pj += (lw + log_p[k * n + j]).exp();
                    }
                }
                return c.values[0]
                    .iter()
                    .map(|x| p[(*x as usize).min(n - 1)].ln())
                    .collect();
            }
        }
        self.log_pdf_general(c)
    }

    /// Every kernel, in log space. Continuous and categorical terms (cheap) come first;
    /// discrete numerical terms (a log mass each) are then added only for kernels that
    /// can still matter: a kernel whose partial sum plus the most its discrete terms can
    /// add (`-ln Z - d²/2σ²` each, `d` the distance from its centre to the candidate's
    /// bin) stays more than `WINDOW_NATS` below a fully evaluated kernel contributes
    /// less than `e^-50` of the sum and is skipped (log-sum-exp would drop it anyway).
    /// Each distinct bin's bounds and log masses are computed once per call
    /// ([`DiscreteBins`]); each kernel's terms are added in the order a plain sum would.
    fn log_pdf_general(&self, c: &Candidates) -> Vec<f64> {
        let k_n = self.log_w.len();
        let mut acc = pool::take(c.n * k_n);
        for _ in 0..c.n {
            acc.extend_from_slice(&self.log_w);
        }
        let mut discrete: Vec<usize> = Vec::new();
        for (j, dim) in self.dims.iter().enumerate() {
            match dim {
                DimKernels::Numerical {
                    model,
                    mu,
                    inv_sigma,
                    c: konst,
                    ..
                } => {
                    if model.is_discrete_numeric() {
                        discrete.push(j);
                    } else {
                        for i in 0..c.n {
                            let x = c.values[j][i];
                            let row = &mut acc[i * k_n..(i + 1) * k_n];
                            for (r, ((m, is), k)) in
                                row.iter_mut().zip(mu.iter().zip(inv_sigma).zip(konst))
                            {
                                let z = (x - m) * is;
                                *r += k - 0.5 * z * z;
                            }
                        }
                    }
                }
                DimKernels::Categorical { n, log_p, .. } => {
                    for i in 0..c.n {
                        let ci = c.values[j][i] as usize;
                        let row = &mut acc[i * k_n..(i + 1) * k_n];
                        for (k, r) in row.iter_mut().enumerate() {
                            *r += log_p[k * n + ci];
                        }
                    }
                }
            }
        }
        if !discrete.is_empty() {
            let mut bins: Vec<DiscreteBins<'_>> = discrete
                .iter()
                .filter_map(|&j| DiscreteBins::new(&self.dims[j], &c.lo[j], &c.hi[j]))
                .collect();
            let mut ub = pool::filled(0.0, k_n);
            for i in 0..c.n {
                let row = &mut acc[i * k_n..(i + 1) * k_n];
                // Upper bound of each kernel's total: a bin at distance d from the
                // centre has mass at most Φ(-d/σ) ≤ exp(-d²/2σ²).
                ub.copy_from_slice(row);
                for b in &bins {
                    for (u, x) in ub.iter_mut().zip(b.bound(i)) {
                        *u += x;
                    }
                }
                // A fully evaluated kernel: the one with the best bound.
                let mut star = 0;
                let mut star_ub = f64::NEG_INFINITY;
                for (k, &v) in ub.iter().enumerate() {
                    if v > star_ub {
                        star_ub = v;
                        star = k;
                    }
                }
                let full: f64 = row[star] + bins.iter_mut().map(|b| b.term(i, star)).sum::<f64>();
                let cut = full - WINDOW_NATS;
                for k in 0..k_n {
                    if k == star {
                        row[k] = full;
                    } else if ub[k] < cut {
                        row[k] = f64::NEG_INFINITY;
                    } else {
                        for b in bins.iter_mut() {
                            row[k] += b.term(i, k);
                        }
                    }
                }
            }
            pool::give(ub);
        }
        let out = acc.chunks(k_n.max(1)).map(log_sum_exp).collect();
        pool::give(acc);
        out
    }
}

/// One discrete numerical dimension of a scoring pass: the candidates' distinct bins
/// (candidates drawn from a mixture share levels), each kernel's upper bound for each
/// bin, and its log mass over each bin, computed on first use. Every value is the same
/// expression as evaluated per candidate, so results do not change.
struct DiscreteBins<'a> {
    mu: &'a [f64],
    inv_sigma: &'a [f64],
    konst: &'a [f64],
    class: &'a [u32],
    n_class: usize,
    k_n: usize,
    /// Bin of each candidate (index into `bins`).
    slot: Vec<usize>,
    bins: Vec<(f64, f64)>,
    /// `bins × kernels`: `ln Z⁻¹ - d²/2σ²`, `d` the distance from the centre to the bin.
    bound: Vec<f64>,
    /// `bins × classes`: the log mass over the bin of the kernels of a class (same
    /// centre and bandwidth); NaN until computed.
    term: Vec<f64>,
}

impl Drop for DiscreteBins<'_> {
    fn drop(&mut self) {
        pool::give(std::mem::take(&mut self.bound));
        pool::give(std::mem::take(&mut self.term));
    }
}

impl<'a> DiscreteBins<'a> {
    fn new(dim: &'a DimKernels, lo: &[f64], hi: &[f64]) -> Option<Self> {
        let DimKernels::Numerical {
            mu,
            inv_sigma,
            c: konst,
            class,
            n_class,
            ..
        } = dim
        else {
            return None;
        };
        let k_n = mu.len();
        let mut bins: Vec<(f64, f64)> = Vec::new();
        let slot = lo
            .iter()
            .zip(hi)
            .map(|(&l, &h)| {
                let same =
                    |b: &(f64, f64)| b.0.to_bits() == l.to_bits() && b.1.to_bits() == h.to_bits();
                bins.iter().position(same).unwrap_or_else(|| {
                    bins.push((l, h));
                    bins.len() - 1
                })
            })
            .collect();
        let mut bound = pool::take(bins.len() * k_n);
        for &(lo, hi) in &bins {
            bound.extend(
                mu.iter()
                    .zip(inv_sigma)
                    .zip(konst.iter())
                    .map(|((m, is), k)| {
                        let d = (lo - m).max(m - hi).max(0.0) * is;
                        k - 0.5 * d * d
                    }),
            );
        }
        Some(DiscreteBins {
            mu,
            inv_sigma,
            konst,
            class,
            n_class: *n_class,
            k_n,
            slot,
            term: pool::filled(f64::NAN, bins.len() * n_class),
            bins,
            bound,
        })
    }

    /// The kernels' bounds for candidate `i`'s bin.
    fn bound(&self, i: usize) -> &[f64] {
        let s = self.slot[i] * self.k_n;
        &self.bound[s..s + self.k_n]
    }

    /// Kernel `k`'s log mass over candidate `i`'s bin (its normaliser included).
    #[inline]
    fn term(&mut self, i: usize, k: usize) -> f64 {
        let s = self.slot[i];
        let at = s * self.n_class + self.class[k] as usize;
        let mut v = self.term[at];
        if v.is_nan() {
            let (lo, hi) = self.bins[s];
            let a = (lo - self.mu[k]) * self.inv_sigma[k];
            let b = (hi - self.mu[k]) * self.inv_sigma[k];
            v = truncnorm::log_mass(a, b);
            self.term[at] = v;
        }
        self.konst[k] + v
    }
}

fn log_sum_exp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    // Terms more than WINDOW_NATS below the maximum add less than e^-50 each.
    m + v
        .iter()
        .filter(|&&x| x - m > -WINDOW_NATS)
        .map(|x| (x - m).exp())
        .sum::<f64>()
        .ln()
}

fn numerical_kernels(
    model: Model,
    obs: &[f64],
    s: &ParzenSettings,
    n_dims: usize,
    order: &[usize],
) -> DimKernels {
    let (low, high) = model.bounds();
    let range = high - low;
    let n_k = obs.len() + usize::from(s.consider_prior);
    let mut mu = pool::take(n_k);
    mu.extend(obs.iter().map(|x| x.clamp(low, high)));
    let mut sorted: std::borrow::Cow<'_, [usize]> = Default::default();
    let mut sigma = match s.bandwidth {
        // One bandwidth for all kernels, shrinking with the number of observations.
        Bandwidth::Scott => {
            let n = obs.len().max(1) as f64;
            pool::filled(0.2 * n.powf(-1.0 / (n_dims as f64 + 4.0)) * range, mu.len())
        }
        // Observations only: the prior kernel is not a neighbour.
        Bandwidth::NeighbourGap => {
            let (gaps, o) = neighbour_gaps(&mu, low, high, s.consider_endpoints, order);
            sorted = o;
            gaps
        }
        Bandwidth::NormalReference => {
            let n = mu.len().max(1) as f64;
            let mean = mu.iter().sum::<f64>() / n;
            let sd = (mu.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
            let bw = 1.06 * sd * n.powf(-1.0 / (n_dims as f64 + 4.0));
            pool::filled(bw.max(1e-3 * range), mu.len())
        }
    };
    let max_sigma = range;
    let min_sigma = if s.consider_magic_clip {
        // `range / ...` first, so that α = 1 and Δ = 0 give Optuna's clip bit for bit.
        (range / (100f64).min(1.0 + n_k as f64).powf(s.clip_exponent))
            .max(range * s.min_bandwidth_factor)
    } else {
        range * 1e-12
    };
    for x in &mut sigma {
        *x = x.clamp(min_sigma, max_sigma);
    }
    if s.consider_prior {
        mu.push(0.5 * (low + high));
        sigma.push(max_sigma);
    }
    let mut inv_sigma = pool::take(n_k);
    inv_sigma.extend(sigma.iter().map(|x| 1.0 / x));
    let discrete = model.is_discrete_numeric();
    // Without the observations' order (other bandwidth rules), one class per kernel.
    let (class, n_class) = if sorted.len() == obs.len() {
        kernel_classes(&mu, &sigma, &sorted)
    } else {
        ((0..n_k as u32).collect(), n_k)
    };
    // The log mass inside the bounds, once per class.
    let mut z_class = pool::filled(f64::NAN, n_class);
    // Many bandwidths are equal (clipped): one logarithm per run of equal ones.
    let mut last = (f64::NAN, 0.0);
    let mut c = pool::take(n_k);
    c.extend((0..n_k).map(|k| {
        let zc = &mut z_class[class[k] as usize];
        if zc.is_nan() {
            *zc = truncnorm::log_mass((low - mu[k]) * inv_sigma[k], (high - mu[k]) * inv_sigma[k]);
        }
        let z = *zc;
        if discrete {
            -z
        } else {
            if sigma[k].to_bits() != last.0.to_bits() {
                last = (sigma[k], sigma[k].ln());
            }
            -last.1 - LN_SQRT_2PI - z
        }
    }));
    pool::give(z_class);
    DimKernels::Numerical {
        model,
        low,
        high,
        mu,
        sigma,
        inv_sigma,
        c,
        lin: Vec::new(),
        class,
        n_class,
    }
}

/// Whether `order` lists every index of `mu` once, ascending by value (`total_cmp`),
/// ties by index: what a stable sort of the indices by value gives.
fn is_sorted_order(mu: &[f64], order: &[usize]) -> bool {
    let n = mu.len();
    if order.len() != n {
        return false;
    }
    let mut seen = vec![false; n];
    let mut prev: Option<(i64, usize)> = None;
    for &i in order {
        if i >= n || std::mem::replace(&mut seen[i], true) {
            return false;
        }
        let key = (total_order_key(mu[i]), i);
        if prev.is_some_and(|p| p >= key) {
            return false;
        }
        prev = Some(key);
    }
    true
}

/// Each kernel's bandwidth is the larger gap to its sorted neighbours (the bounds act
/// as neighbours of the extremes when `consider_endpoints`). `order`: the indices
/// sorted as [`is_sorted_order`] checks, if known (else sorted here).
fn neighbour_gaps<'a>(
    mu: &[f64],
    low: f64,
    high: f64,
    consider_endpoints: bool,
    order: &'a [usize],
) -> (Vec<f64>, std::borrow::Cow<'a, [usize]>) {
    let n = mu.len();
    let sorted: std::borrow::Cow<'a, [usize]> = if is_sorted_order(mu, order) {
        order.into()
    } else {
        // Sorted by value, ties by index (a stable sort by `total_cmp`): an unstable
        // sort of (total-order key, index) pairs gives the same order without
        // indirection.
        let mut keyed: Vec<(i64, usize)> = mu
            .iter()
            .enumerate()
            .map(|(i, x)| (total_order_key(*x), i))
            .collect();
        keyed.sort_unstable();
        keyed.into_iter().map(|(_, i)| i).collect::<Vec<_>>().into()
    };
    let mut out = pool::filled(0.0, n);
    for (r, &i) in sorted.iter().enumerate() {
        let left = if r == 0 { low } else { mu[sorted[r - 1]] };
        let right = if r + 1 == n { high } else { mu[sorted[r + 1]] };
        let sorted_r = mu[i];
        let (dl, dr) = (sorted_r - left, right - sorted_r);
        out[i] = if consider_endpoints || n < 2 {
            dl.max(dr)
        } else if r == 0 {
            dr
        } else if r + 1 == n {
            dl
        } else {
            dl.max(dr)
        };
    }
    (out, sorted)
}

/// Classes of kernels with bit-equal centre and bandwidth, given the observations'
/// order by centre (equal centres adjacent); the kernels beyond `sorted` (the prior)
/// get classes of their own. Returns `(class of each kernel, number of classes)`.
fn kernel_classes(mu: &[f64], sigma: &[f64], sorted: &[usize]) -> (Vec<u32>, usize) {
    let n_k = mu.len();
    let mut class = vec![u32::MAX; n_k];
    let mut n_class = 0u32;
    // The classes of the current run of equal centres: (bandwidth bits, class).
    let mut run: Vec<(u64, u32)> = Vec::new();
    let mut run_mu = None;
    for &i in sorted {
        let m = mu[i].to_bits();
        if run_mu != Some(m) {
            run.clear();
            run_mu = Some(m);
        }
        let sb = sigma[i].to_bits();
        class[i] = match run.iter().find(|(b, _)| *b == sb) {
            Some(&(_, c)) => c,
            None => {
                run.push((sb, n_class));
                n_class += 1;
                n_class - 1
            }
        };
    }
    for c in class.iter_mut().filter(|c| **c == u32::MAX) {
        *c = n_class;
        n_class += 1;
    }
    (class, n_class as usize)
}

/// An integer whose order is `f64::total_cmp`'s (the same bit trick).
#[inline]
pub(crate) fn total_order_key(x: f64) -> i64 {
    let b = x.to_bits() as i64;
    b ^ ((((b >> 63) as u64) >> 1) as i64)
}

fn categorical_kernels(n: usize, obs: &[f64], s: &ParzenSettings) -> DimKernels {
    let n_k = obs.len() + usize::from(s.consider_prior);
    let eps = s.prior_weight / n_k.max(1) as f64;
    let mut log_p = pool::take(n_k * n);
    let mut cum = pool::take(n_k * n);
    // A row holds at most two distinct probabilities (hit or not), the same in every
    // observation's row: one logarithm per distinct value, not per entry.
    let mut logs: Vec<(u64, f64)> = Vec::with_capacity(4);
    for k in 0..n_k {
        let hit = obs.get(k).map(|x| (*x as usize).min(n - 1));
        let total = eps * n as f64 + if hit.is_some() { 1.0 } else { 0.0 };
        let mut acc = 0.0;
        for c in 0..n {
            let mut p = eps + if hit == Some(c) { 1.0 } else { 0.0 };
            if total > 0.0 {
                p /= total;
            } else {
                p = 1.0 / n as f64;
            }
            let lp = match logs.iter().find(|(b, _)| *b == p.to_bits()) {
                Some(&(_, l)) => l,
                None => {
                    let l = p.ln();
                    logs.push((p.to_bits(), l));
                    l
                }
            };
            log_p.push(lp);
            acc += p;
            cum.push(acc);
        }
    }
    DimKernels::Categorical { n, log_p, cum }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn settings() -> ParzenSettings {
        ParzenSettings {
            consider_prior: true,
            prior_weight: 1.0,
            consider_magic_clip: true,
            consider_endpoints: false,
            bandwidth: Bandwidth::NeighbourGap,
            clip_exponent: 1.0,
            min_bandwidth_factor: 0.0,
        }
    }

    /// Bandwidths of the observations' kernels and of the prior kernel (last).
    fn sigmas(obs: &[f64], s: &ParzenSettings, n_dims: usize) -> (Vec<f64>, Vec<f64>) {
        let m = Model::Continuous {
            low: 0.0,
            high: 1.0,
            log: false,
        };
        match numerical_kernels(m, obs, s, n_dims, &[]) {
            DimKernels::Numerical { mu, sigma, .. } => (mu, sigma),
            DimKernels::Categorical { .. } => unreachable!(),
        }
    }

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
    }

    #[test]
    fn neighbour_gap_bandwidths_by_hand() {
        // Sorted 0.05, 0.3, 0.6 in [0, 1]: inner gaps 0.25 and 0.3. Without endpoints
        // the extremes take their inner gap; the middle the larger of its two. The
        // prior (centre 0.5, width 1) is not a neighbour. Magic clip: 1 / (1 + 4).
        let (mu, sigma) = sigmas(&[0.6, 0.05, 0.3], &settings(), 1);
        assert!(close(&mu, &[0.6, 0.05, 0.3, 0.5]), "{mu:?}");
        assert!(close(&sigma, &[0.3, 0.25, 0.3, 1.0]), "{sigma:?}");
        // With endpoints, the bounds are neighbours too: 0.6 is 0.4 from 1.
        let ends = ParzenSettings {
            consider_endpoints: true,
            ..settings()
        };
        let (_, sigma) = sigmas(&[0.6, 0.05, 0.3], &ends, 1);
        assert!(close(&sigma, &[0.4, 0.25, 0.3, 1.0]), "{sigma:?}");
        // One observation: the larger distance to a bound; clip 1 / 3 does not bind.
        let (_, sigma) = sigmas(&[0.3], &settings(), 1);
        assert!(close(&sigma, &[0.7, 1.0]), "{sigma:?}");
        // Close observations are clipped up to range / (1 + kernels) = 0.2.
        let (_, sigma) = sigmas(&[0.5, 0.51, 0.52], &settings(), 1);
        assert!(close(&sigma, &[0.2, 0.2, 0.2, 1.0]), "{sigma:?}");
        // Without the clip they keep their gaps.
        let raw = ParzenSettings {
            consider_magic_clip: false,
            ..settings()
        };
        let (_, sigma) = sigmas(&[0.5, 0.51, 0.53], &raw, 1);
        assert!(close(&sigma, &[0.01, 0.02, 0.02, 1.0]), "{sigma:?}");
    }

    #[test]
    fn clip_exponent_and_minimum_bandwidth_factor_set_the_floor() {
        // Gaps 0.01, 0.02, 0.02; four kernels with the prior. α = 1.5: the floor is
        // 1 / 5^1.5 ≈ 0.0894 (Δ = 0.03 does not bind).
        let s = ParzenSettings {
            clip_exponent: 1.5,
            min_bandwidth_factor: 0.03,
            ..settings()
        };
        let floor = 1.0 / 5f64.powf(1.5);
        let (_, sigma) = sigmas(&[0.5, 0.51, 0.53], &s, 1);
        assert!(close(&sigma, &[floor, floor, floor, 1.0]), "{sigma:?}");
        // α = 3: 1 / 125 = 0.008 is below Δ, so Δ = 0.03 binds.
        let s = ParzenSettings {
            clip_exponent: 3.0,
            ..s
        };
        let (_, sigma) = sigmas(&[0.5, 0.51, 0.53], &s, 1);
        assert!(close(&sigma, &[0.03, 0.03, 0.03, 1.0]), "{sigma:?}");
        // A wide gap is above both floors and kept: 0.05, 0.3, 0.6.
        let (_, sigma) = sigmas(&[0.6, 0.05, 0.3], &s, 1);
        assert!(close(&sigma, &[0.3, 0.25, 0.3, 1.0]), "{sigma:?}");
        // Without the clip neither floor applies.
        let raw = ParzenSettings {
            consider_magic_clip: false,
            ..s
        };
        let (_, sigma) = sigmas(&[0.5, 0.51, 0.53], &raw, 1);
        assert!(close(&sigma, &[0.01, 0.02, 0.02, 1.0]), "{sigma:?}");
    }

    #[test]
    fn level_keys_identify_discrete_levels() {
        let steps = Model::Steps {
            low: 0.0,
            high: 100.0,
            step: 5.0,
        };
        assert_eq!(steps.level_key(40.0), Some(8));
        assert_eq!(steps.level_key(40.0 + 1e-9), Some(8));
        let log_int = Model::LogInt {
            low: 1.0,
            high: 1024.0,
        };
        assert_eq!(log_int.level_key(64f64.ln()), Some(64));
        assert_eq!(Model::Categorical { n: 4 }.level_key(2.0), Some(2));
        let cont = Model::Continuous {
            low: 0.0,
            high: 1.0,
            log: false,
        };
        assert_eq!(cont.level_key(0.5), None);
    }

    #[test]
    fn scott_bandwidth_by_hand() {
        let s = ParzenSettings {
            bandwidth: Bandwidth::Scott,
            ..settings()
        };
        // 0.2 · 3^(−1/6) · 1 ≈ 0.1664 is below the clip 1 / (1 + 4) = 0.2.
        let (_, sigma) = sigmas(&[0.1, 0.4, 0.9], &s, 2);
        assert!(close(&sigma, &[0.2, 0.2, 0.2, 1.0]), "{sigma:?}");
        let raw = ParzenSettings {
            consider_magic_clip: false,
            ..s
        };
        let w = 0.2 * 3f64.powf(-1.0 / 6.0);
        let (_, sigma) = sigmas(&[0.1, 0.4, 0.9], &raw, 2);
        assert!(close(&sigma, &[w, w, w, 1.0]), "{sigma:?}");
    }

    #[test]
    fn normal_reference_bandwidth_by_hand() {
        let s = ParzenSettings {
            bandwidth: Bandwidth::NormalReference,
            consider_prior: false,
            consider_magic_clip: false,
            ..settings()
        };
        // sd of (0.2, 0.4, 0.6) = 0.16330 (population), 3^(-1/5) = 0.80274 for d = 1.
        let (mu, sigma) = sigmas(&[0.2, 0.4, 0.6], &s, 1);
        assert!(close(&mu, &[0.2, 0.4, 0.6]));
        let bw = 1.06 * (0.08f64 / 3.0).sqrt() * 3f64.powf(-0.2);
        assert!(close(&sigma, &[bw; 3]), "{sigma:?}");
        assert!((bw - 0.138955).abs() < 1e-5, "{bw}");
        // Two dimensions: n^(-1/6).
        let (_, sigma) = sigmas(&[0.2, 0.4, 0.6], &s, 2);
        let bw2 = 1.06 * (0.08f64 / 3.0).sqrt() * 3f64.powf(-1.0 / 6.0);
        assert!(close(&sigma, &[bw2; 3]), "{sigma:?}");
        // Identical observations: the minimum, 1e-3 of the range.
        let (_, sigma) = sigmas(&[0.5, 0.5], &s, 1);
        assert!(close(&sigma, &[1e-3; 2]), "{sigma:?}");
    }

    #[test]
    fn widened_samples_spread_by_the_factor() {
        let s = ParzenSettings {
            bandwidth: Bandwidth::NormalReference,
            consider_prior: false,
            consider_magic_clip: false,
            ..settings()
        };
        let m = [Model::Continuous {
            low: -100.0,
            high: 100.0,
            log: false,
        }];
        // Two kernels at +-1: sd 1, bandwidth 1.06 * 2^(-1/5) = 0.9228.
        let mix = Mixture::build(&m, &[vec![-1.0, 1.0]], &[1.0, 1.0], &s).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        // Second moment of draws from kernels at +-1 of width b: 1 + b^2.
        let moment = |c: &Candidates| c.values[0].iter().map(|x| x * x).sum::<f64>() / c.n as f64;
        let plain = mix.sample(&mut rng, 4000);
        let wide = mix.sample_widened(&mut rng, 4000, 3.0);
        let b2 = (1.06 * 2f64.powf(-0.2)).powi(2);
        let (p, w) = (moment(&plain), moment(&wide));
        assert!(
            (p / (1.0 + b2) - 1.0).abs() < 0.1,
            "plain {p} vs {}",
            1.0 + b2
        );
        assert!(
            (w / (1.0 + 9.0 * b2) - 1.0).abs() < 0.1,
            "widened {w} vs {}",
            1.0 + 9.0 * b2
        );
        assert!(wide.values[0].iter().all(|x| (-100.0..=100.0).contains(x)));
        // Factor 1 is the plain sampler, draw for draw.
        let mut a = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let mut b = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        assert_eq!(
            mix.sample(&mut a, 50).values,
            mix.sample_widened(&mut b, 50, 1.0).values
        );
    }

    #[test]
    fn discrete_masses_sum_to_one() {
        for m in [
            Model::Steps {
                low: 0.0,
                high: 10.0,
                step: 2.0,
            },
            Model::LogInt {
                low: 1.0,
                high: 50.0,
            },
        ] {
            let obs = vec![vec![m.to_model(4.0), m.to_model(6.0), m.to_model(8.0)]];
            let mix = Mixture::build(&[m], &obs, &[1.0, 1.0, 1.0], &settings()).unwrap();
            let levels: Vec<f64> = match m {
                Model::Steps { .. } => (0..=5).map(|k| 2.0 * k as f64).collect(),
                _ => (1..=50).map(|k| (k as f64).ln()).collect(),
            };
            let mut c = Candidates {
                values: vec![vec![]],
                lo: vec![vec![]],
                hi: vec![vec![]],
                n: levels.len(),
            };
            for l in levels {
                let (v, lo, hi) = m.snap(l);
                c.values[0].push(v);
                c.lo[0].push(lo);
                c.hi[0].push(hi);
            }
            let total: f64 = mix.log_pdf(&c).iter().map(|x| x.exp()).sum();
            assert!((total - 1.0).abs() < 1e-5, "{m:?}: {total}");
        }
    }

    #[test]
    fn continuous_density_integrates_to_one() {
        let m = Model::Continuous {
            low: -1.0,
            high: 3.0,
            log: false,
        };
        let obs = vec![vec![-0.9, 0.2, 2.9]];
        let mix = Mixture::build(&[m], &obs, &[1.0, 2.0, 1.0], &settings()).unwrap();
        let n = 4000;
        let h = 4.0 / n as f64;
        let c = Candidates {
            values: vec![(0..n).map(|i| -1.0 + (i as f64 + 0.5) * h).collect()],
            lo: vec![vec![0.0; n]],
            hi: vec![vec![0.0; n]],
            n,
        };
        let total: f64 = mix.log_pdf(&c).iter().map(|x| x.exp() * h).sum();
        assert!((total - 1.0).abs() < 1e-4, "{total}");
    }

    #[test]
    fn samples_stay_in_bounds_and_on_levels() {
        let models = [
            Model::Steps {
                low: 0.0,
                high: 1.0,
                step: 0.25,
            },
            Model::LogInt {
                low: 1.0,
                high: 9.0,
            },
            Model::Categorical { n: 3 },
        ];
        let obs = vec![vec![0.5, 1.0], vec![2f64.ln(), 9f64.ln()], vec![0.0, 2.0]];
        let s = ParzenSettings {
            bandwidth: Bandwidth::Scott,
            ..settings()
        };
        let mix = Mixture::build(&models, &obs, &[1.0, 1.0], &s).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let c = mix.sample(&mut rng, 200);
        for i in 0..c.n {
            let x = c.values[0][i];
            assert!((0.0..=1.0).contains(&x) && (x * 4.0).fract() == 0.0, "{x}");
            let k = c.values[1][i].exp().round();
            assert!((1.0..=9.0).contains(&k));
            assert!([0.0, 1.0, 2.0].contains(&c.values[2][i]));
        }
        assert!(mix.log_pdf(&c).iter().all(|x| x.is_finite()));
    }

    #[test]
    fn one_dimensional_fast_path_matches_the_general_one() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        for m in [
            Model::Continuous {
                low: 1e-3,
                high: 10.0,
                log: true,
            },
            Model::Steps {
                low: 0.0,
                high: 1.0,
                step: 0.05,
            },
            Model::LogInt {
                low: 1.0,
                high: 1000.0,
            },
            Model::Categorical { n: 4 },
        ] {
            let obs: Vec<f64> = (0..40)
                .map(|i| match m {
                    Model::Categorical { .. } => (i % 4) as f64,
                    Model::Steps { .. } => (i % 21) as f64 * 0.05,
                    _ => m.to_model(1.0 + (i * 7 % 10) as f64),
                })
                .collect();
            let w: Vec<f64> = (0..40).map(|i| 1.0 + (i % 3) as f64).collect();
            let mix = Mixture::build(&[m], &[obs], &w, &settings()).unwrap();
            let c = mix.sample(&mut rng, 50);
            let fast = mix.log_pdf(&c);
            let slow = mix.log_pdf_general(&c);
            for (a, b) in fast.iter().zip(&slow) {
                assert!((a - b).abs() < 1e-6, "{m:?}: {a} vs {b}");
            }
        }
    }

    /// The windowed 1-D scoring against every kernel in log space, on random mixtures
    /// with many kernels: clustered and spread centres, tiny and huge bandwidths
    /// (magic clip off), centres on the bounds, candidates on and beyond the edges.
    #[test]
    fn windowed_log_density_matches_the_full_sum() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
        let (mut windowed, mut used) = (0, 0);
        for case in 0..60 {
            let m = match case % 4 {
                0 => Model::Continuous {
                    low: -5.0,
                    high: 5.0,
                    log: false,
                },
                1 => Model::Continuous {
                    low: 1e-5,
                    high: 1.0,
                    log: true,
                },
                2 => Model::Steps {
                    low: 0.0,
                    high: 100.0,
                    step: 5.0,
                },
                _ => Model::LogInt {
                    low: 1.0,
                    high: 4096.0,
                },
            };
            let (low, high) = m.bounds();
            let n = 64 + (case * 37) % 1200;
            let obs: Vec<f64> = (0..n)
                .map(|i| {
                    let u: f64 = rng.random();
                    let x = match i % 5 {
                        // Clustered tightly near a point, or at a bound.
                        0 => 0.3 + 1e-6 * u,
                        1 => 0.0,
                        2 => 1.0,
                        _ => u,
                    };
                    let v = low + (high - low) * x;
                    match m {
                        Model::Steps { .. } | Model::LogInt { .. } => m.snap(v).0,
                        _ => v,
                    }
                })
                .collect();
            let w: Vec<f64> = (0..n).map(|i| 0.1 + (i % 7) as f64).collect();
            let s = ParzenSettings {
                consider_magic_clip: case % 3 != 0,
                consider_endpoints: case % 2 == 0,
                ..settings()
            };
            let mix = Mixture::build(&[m], &[obs], &w, &s).unwrap();
            windowed += usize::from(mix.window.is_some());
            let mut c = mix.sample(&mut rng, 40);
            // Candidates at the bounds too.
            for x in [low, high] {
                let (v, lo, hi) = m.snap(x);
                c.values[0].push(v);
                c.lo[0].push(lo);
                c.hi[0].push(hi);
                c.n += 1;
            }
            if let Some(win) = &mix.window {
                let discrete = m.is_discrete_numeric();
                used += (0..c.n)
                    .filter(|&i| {
                        win.sum(c.values[0][i], c.lo[0][i], c.hi[0][i], discrete)
                            .is_some()
                    })
                    .count();
            }
            let fast = mix.log_pdf(&c);
            let slow = mix.log_pdf_general(&c);
            for (a, b) in fast.iter().zip(&slow) {
                assert!(
                    (a - b).abs() < 1e-9 || (a.is_infinite() && a == b),
                    "{m:?}, {n} kernels: {a} vs {b}"
                );
            }
        }
        assert!(windowed > 20, "window built in only {windowed} of 60 cases");
        assert!(
            used > 500,
            "windowed sum accepted for only {used} candidates"
        );
    }

    /// The joint log density with kernels skipped against a plain sum over every
    /// kernel and dimension (no skipping), on a mixed space with many observations.
    #[test]
    fn joint_skipping_matches_the_plain_sum() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let models = [
            Model::Continuous {
                low: -5.0,
                high: 5.0,
                log: false,
            },
            Model::Continuous {
                low: 1e-5,
                high: 1.0,
                log: true,
            },
            Model::Steps {
                low: 0.0,
                high: 1.0,
                step: 0.05,
            },
            Model::LogInt {
                low: 1.0,
                high: 1024.0,
            },
            Model::Steps {
                low: 0.0,
                high: 100.0,
                step: 5.0,
            },
            Model::Categorical { n: 4 },
        ];
        for (case, n) in [(0usize, 5usize), (1, 80), (2, 900)] {
            let obs: Vec<Vec<f64>> = models
                .iter()
                .map(|m| {
                    let (low, high) = m.bounds();
                    (0..n)
                        .map(|i| {
                            let u: f64 = rng.random();
                            let x = if i % 4 == 0 { 0.0 } else { u };
                            match m {
                                Model::Categorical { n } => (i % n) as f64,
                                _ => m.snap(low + (high - low) * x).0,
                            }
                        })
                        .collect()
                })
                .collect();
            let w: Vec<f64> = (0..n).map(|i| 1.0 + (i % 3) as f64).collect();
            let s = ParzenSettings {
                consider_magic_clip: case != 1,
                ..settings()
            };
            let mix = Mixture::build(&models, &obs, &w, &s).unwrap();
            let c = mix.sample(&mut rng, 24);
            let got = mix.log_pdf(&c);
            for i in 0..c.n {
                let terms: Vec<f64> = (0..mix.log_w.len())
                    .map(|k| {
                        let mut t = mix.log_w[k];
                        for (j, dim) in mix.dims.iter().enumerate() {
                            t += match dim {
                                DimKernels::Numerical {
                                    model,
                                    mu,
                                    inv_sigma,
                                    c: konst,
                                    ..
                                } => {
                                    if model.is_discrete_numeric() {
                                        let a = (c.lo[j][i] - mu[k]) * inv_sigma[k];
                                        let b = (c.hi[j][i] - mu[k]) * inv_sigma[k];
                                        konst[k] + truncnorm::log_mass(a, b)
                                    } else {
                                        let z = (c.values[j][i] - mu[k]) * inv_sigma[k];
                                        konst[k] - 0.5 * z * z
                                    }
                                }
                                DimKernels::Categorical { n, log_p, .. } => {
                                    log_p[k * n + c.values[j][i] as usize]
                                }
                            };
                        }
                        t
                    })
                    .collect();
                let m = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let want = m + terms.iter().map(|t| (t - m).exp()).sum::<f64>().ln();
                assert!(
                    (got[i] - want).abs() < 1e-9,
                    "{n} kernels, candidate {i}: {} vs {want}",
                    got[i]
                );
            }
        }
    }

    /// Kernels share a class exactly when their centres and bandwidths are bit-equal
    /// (repeated observations of a discrete parameter), the prior kernel has its own,
    /// and the discrete terms computed once per class are those computed per kernel.
    #[test]
    fn repeated_kernels_share_a_class() {
        let m = Model::Steps {
            low: 0.0,
            high: 1.0,
            step: 0.1,
        };
        // Levels with repeats, out of order: runs of equal centres get up to three
        // bandwidths (gap to the left, none, gap to the right).
        let obs: Vec<f64> = [0.3, 0.1, 0.3, 0.7, 0.3, 0.1, 1.0, 0.7, 0.3]
            .iter()
            .map(|&x| m.snap(x).0)
            .collect();
        let s = settings();
        let mix = Mixture::build(&[m], std::slice::from_ref(&obs), &[1.0; 9], &s).unwrap();
        let DimKernels::Numerical {
            mu,
            sigma,
            class,
            n_class,
            ..
        } = &mix.dims[0]
        else {
            unreachable!()
        };
        assert_eq!(class.len(), 10);
        assert!(*n_class < 10, "{class:?}");
        for a in 0..10 {
            assert!((class[a] as usize) < *n_class);
            for b in 0..10 {
                let same =
                    mu[a].to_bits() == mu[b].to_bits() && sigma[a].to_bits() == sigma[b].to_bits();
                assert_eq!(class[a] == class[b], same, "kernels {a} and {b}: {class:?}");
            }
        }
        // The prior kernel (last) shares its class with no observation.
        assert!(class[..9].iter().all(|&c| c != class[9]));
        // Scored through the class cache, every candidate's log mass is the plain sum.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let c = mix.sample(&mut rng, 16);
        let got = mix.log_pdf_general(&c);
        for (i, g) in got.iter().enumerate() {
            let DimKernels::Numerical {
                mu,
                inv_sigma,
                c: k,
                ..
            } = &mix.dims[0]
            else {
                unreachable!()
            };
            let terms: Vec<f64> = (0..10)
                .map(|j| {
                    let a = (c.lo[0][i] - mu[j]) * inv_sigma[j];
                    let b = (c.hi[0][i] - mu[j]) * inv_sigma[j];
                    mix.log_w[j] + k[j] + truncnorm::log_mass(a, b)
                })
                .collect();
            let want = log_sum_exp(&terms);
            assert!((g - want).abs() < 1e-12, "candidate {i}: {g} vs {want}");
        }
    }

    /// A sorted-order hint gives the mixture a plain build gives; a wrong hint (ties
    /// out of index order, a missing or repeated index, the wrong length) is ignored.
    #[test]
    fn an_order_hint_never_changes_the_mixture() {
        // Ties matter: of two equal values (observations 0 and 2) the first takes the
        // gap to the value below (2), the second the gap to the value above (3).
        let m = Model::Steps {
            low: 0.0,
            high: 10.0,
            step: 1.0,
        };
        let obs = vec![vec![3.0, 1.0, 3.0, 8.0, 6.0]];
        let w = [0.2, 0.4, 0.6, 0.8, 1.0];
        let s = ParzenSettings {
            consider_magic_clip: false,
            ..settings()
        };
        let sigmas = |order: Vec<usize>| -> Vec<f64> {
            let mix = Mixture::build_with_order(&[m], &obs, &w, &s, &[order]).unwrap();
            match &mix.dims[0] {
                DimKernels::Numerical { sigma, .. } => sigma.clone(),
                DimKernels::Categorical { .. } => unreachable!(),
            }
        };
        let plain = sigmas(Vec::new());
        assert_eq!(plain[..5], [2.0, 2.0, 3.0, 2.0, 3.0]);
        assert_eq!(plain, sigmas(vec![1, 0, 2, 4, 3]));
        for wrong in [
            vec![1, 2, 0, 4, 3],
            vec![1, 0, 0, 4, 3],
            vec![1, 0, 2, 4],
            vec![1, 0, 2, 4, 3, 5],
        ] {
            assert_eq!(plain, sigmas(wrong));
        }
    }
}

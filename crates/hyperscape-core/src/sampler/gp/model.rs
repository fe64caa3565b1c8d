//! The Gaussian process: a Matérn-5/2 ARD kernel over the unit cube, its marginal
//! likelihood with priors, the fit of its hyperparameters, and the posterior.
//!
//! Distances: `r² = Σ_k θ_k δ_k²` with `θ_k = 1/ℓ_k²` the inverse squared lengthscale
//! of dimension `k`, and `δ_k = x_k − x'_k` for numeric dimensions (already warped to
//! `[0, 1]`, log scale for log parameters) or the Hamming indicator `δ_k = [x_k ≠ x'_k]`
//! for categorical ones (the category index is stored). So a categorical parameter gets
//! its own lengthscale and every pair of distinct choices is equally far apart.
//!
//! `k(x, x') = σ² (1 + s + s²/3) e^{−s}`, `s = √(5 r²)`, plus noise variance on the
//! diagonal; outputs are standardised by the caller.
//!
//! Priors (log densities up to constants, on the log-parameters' natural scale):
//! `−(0.1/θ_k + 0.1·θ_k)` on each inverse squared lengthscale (weakly favours `θ ≈ 1`
//! and penalises both extremes), Gamma(2, 1) on `σ²`, Gamma(1.1, 30) on the noise
//! variance (which is also floored at 1e-6). The fit maximises log marginal likelihood
//! plus log prior with L-BFGS-B on the log-parameters, gradients analytic.

use super::lbfgs;
use super::linalg::{dot, Chol};

/// Noise variance floor (standardised outputs).
pub const MIN_NOISE: f64 = 1e-6;
const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// Kernel hyperparameters, as log-parameters (the optimiser's coordinates).
#[derive(Debug, Clone, PartialEq)]
pub struct Hyper {
    /// `ln θ_k` per dimension (θ = 1/ℓ²).
    pub log_theta: Vec<f64>,
    /// `ln σ²`.
    pub log_scale: f64,
    /// `ln(noise − MIN_NOISE)`.
    pub log_noise: f64,
}

impl Hyper {
    pub fn default_for(d: usize) -> Self {
        Self {
            log_theta: vec![0.0; d],
            log_scale: 0.0,
            log_noise: (1e-2f64).ln(),
        }
    }
    pub fn theta(&self) -> Vec<f64> {
        self.log_theta.iter().map(|v| v.exp()).collect()
    }
    pub fn scale(&self) -> f64 {
        self.log_scale.exp()
    }
    pub fn noise(&self) -> f64 {
        MIN_NOISE + self.log_noise.exp()
    }
    fn to_vec(&self) -> Vec<f64> {
        let mut v = self.log_theta.clone();
        v.push(self.log_scale);
        v.push(self.log_noise);
        v
    }
    fn from_vec(v: &[f64]) -> Self {
        let d = v.len() - 2;
        Self {
            log_theta: v[..d].to_vec(),
            log_scale: v[d],
            log_noise: v[d + 1],
        }
    }
}

/// Matérn-5/2 correlation and its derivative with respect to `r²`.
#[inline]
pub fn matern52(r2: f64) -> (f64, f64) {
    let s = (5.0 * r2).sqrt();
    let e = (-s).exp();
    ((1.0 + s + s * s / 3.0) * e, -(5.0 / 6.0) * (1.0 + s) * e)
}

#[inline]
fn sqdist(a: &[f64], b: &[f64], theta: &[f64], is_cat: &[bool]) -> f64 {
    let mut r2 = 0.0;
    for k in 0..a.len() {
        let dk = if is_cat[k] {
            if a[k] == b[k] {
                0.0
            } else {
                1.0
            }
        } else {
            a[k] - b[k]
        };
        r2 += theta[k] * dk * dk;
    }
    r2
}

/// Negative (log marginal likelihood + log prior) of `y` at `x` (`n × d`, row-major)
/// and its gradient with respect to the log-parameters. `+∞` when the kernel matrix
/// cannot be factorised.
pub fn neg_log_posterior(
    h: &Hyper,
    x: &[f64],
    y: &[f64],
    is_cat: &[bool],
    grad: &mut [f64],
) -> f64 {
    let n = y.len();
    let d = is_cat.len();
    let theta = h.theta();
    let scale = h.scale();
    let noise = h.noise();
    let row = |i: usize| &x[i * d..(i + 1) * d];
    let mut corr = vec![0.0; n * n];
    for i in 0..n {
        corr[i * n + i] = 1.0;
        for j in 0..i {
            let c = matern52(sqdist(row(i), row(j), &theta, is_cat)).0;
            corr[i * n + j] = c;
            corr[j * n + i] = c;
        }
    }
    let Some(chol) = Chol::factor(
        n,
        |i, j| scale * corr[i * n + j] + if i == j { noise } else { 0.0 },
        0.0,
    ) else {
        return f64::INFINITY;
    };
    let alpha = chol.solve(y);
    let nll = 0.5 * dot(y, &alpha) + 0.5 * chol.log_det() + 0.5 * n as f64 * LN_2PI;
    let kinv = chol.inverse();
    // W = K⁻¹ − ααᵀ; ∂nll/∂p = ½ tr(W ∂K/∂p).
    grad.iter_mut().for_each(|g| *g = 0.0);
    let mut g_scale = 0.0;
    let mut g_noise = 0.0;
    for i in 0..n {
        let wii = kinv[i * n + i] - alpha[i] * alpha[i];
        g_scale += 0.5 * wii * scale;
        g_noise += 0.5 * wii;
        for j in 0..i {
            let w = kinv[i * n + j] - alpha[i] * alpha[j];
            let c = corr[i * n + j];
            g_scale += w * scale * c;
            // Off-diagonal pairs count twice; ½ · 2 = 1.
            let r2 = sqdist(row(i), row(j), &theta, is_cat);
            let dm = matern52(r2).1 * scale * w;
            let (xi, xj) = (row(i), row(j));
            for k in 0..d {
                let dk = if is_cat[k] {
                    if xi[k] == xj[k] {
                        0.0
                    } else {
                        1.0
                    }
                } else {
                    xi[k] - xj[k]
                };
                grad[k] += dm * theta[k] * dk * dk;
            }
        }
    }
    grad[d] = g_scale;
    grad[d + 1] = g_noise * h.log_noise.exp();
    // Priors (subtracted: we minimise).
    let mut lp = 0.0;
    for k in 0..d {
        let t = theta[k];
        lp -= 0.1 / t + 0.1 * t;
        grad[k] -= 0.1 / t - 0.1 * t;
    }
    lp += scale.ln() - scale;
    grad[d] -= 1.0 - scale;
    lp += 0.1 * noise.ln() - 30.0 * noise;
    grad[d + 1] -= (0.1 / noise - 30.0) * h.log_noise.exp();
    let v = nll - lp;
    if v.is_finite() {
        v
    } else {
        f64::INFINITY
    }
}

/// Fits the hyperparameters from `start` (a warm start); falls back to the default
/// start when that fails, and to `start` itself when both do.
pub fn fit(start: &Hyper, x: &[f64], y: &[f64], is_cat: &[bool], max_iter: usize) -> Hyper {
    let d = is_cat.len();
    let mut lo = vec![(1e-4f64).ln(); d];
    let mut hi = vec![(1e4f64).ln(); d];
    lo.extend([(1e-3f64).ln(), (1e-9f64).ln()]);
    hi.extend([(1e3f64).ln(), (1.0f64).ln()]);
    let opt = lbfgs::Options {
        max_iter,
        ..lbfgs::Options::default()
    };
    let run = |h0: &Hyper| {
        lbfgs::minimize(
            |p, g| neg_log_posterior(&Hyper::from_vec(p), x, y, is_cat, g),
            &h0.to_vec(),
            &lo,
            &hi,
            opt,
        )
    };
    let (p, v) = run(start);
    if v.is_finite() {
        return Hyper::from_vec(&p);
    }
    let (p, v) = run(&Hyper::default_for(d));
    if v.is_finite() {
        Hyper::from_vec(&p)
    } else {
        start.clone()
    }
}

/// A GP conditioned on points, ready to predict. Holds its Cholesky factor so that a
/// new point costs O(n²) ([`Gp::push`]), not a refactorisation.
#[derive(Debug, Clone)]
pub struct Gp {
    pub hyper: Hyper,
    theta: Vec<f64>,
    is_cat: Vec<bool>,
    x: Vec<f64>,
    chol: Chol,
    alpha: Vec<f64>,
}

impl Gp {
    /// Factorises the kernel matrix of `x` (`n × d`). `None` for non-finite input.
    pub fn new(hyper: Hyper, is_cat: &[bool], x: &[f64]) -> Option<Self> {
        let d = is_cat.len();
        let n = x.len() / d.max(1);
        let theta = hyper.theta();
        let (scale, noise) = (hyper.scale(), hyper.noise());
        let chol = Chol::factor(
            n,
            |i, j| {
                let c = matern52(sqdist(
                    &x[i * d..(i + 1) * d],
                    &x[j * d..(j + 1) * d],
                    &theta,
                    is_cat,
                ))
                .0;
                scale * c + if i == j { noise } else { 0.0 }
            },
            0.0,
        )?;
        Some(Self {
            hyper,
            theta,
            is_cat: is_cat.to_vec(),
            x: x.to_vec(),
            chol,
            alpha: vec![0.0; n],
        })
    }

    pub fn n(&self) -> usize {
        self.chol.n()
    }
    /// Adds a point: an O(n²) Cholesky append, or a refactorisation with more jitter
    /// when the new pivot is unsafe (a duplicate point). `false` if that fails too.
    pub fn push(&mut self, xq: &[f64]) -> bool {
        let (k, _) = self.kvec(xq);
        let kss = self.hyper.scale() + self.hyper.noise();
        if self.chol.push(&k, kss) {
            self.x.extend_from_slice(xq);
            self.alpha.push(0.0);
            return true;
        }
        let mut x = self.x.clone();
        x.extend_from_slice(xq);
        let jitter = (self.chol.jitter * 10.0).max(1e-8);
        let d = self.is_cat.len();
        let (scale, noise) = (self.hyper.scale(), self.hyper.noise());
        let (theta, is_cat) = (&self.theta, &self.is_cat);
        let Some(chol) = Chol::factor(
            x.len() / d,
            |i, j| {
                let c = matern52(sqdist(
                    &x[i * d..(i + 1) * d],
                    &x[j * d..(j + 1) * d],
                    theta,
                    is_cat,
                ))
                .0;
                scale * c + if i == j { noise } else { 0.0 }
            },
            jitter,
        ) else {
            return false;
        };
        self.chol = chol;
        self.x = x;
        self.alpha.push(0.0);
        true
    }

    /// Sets the (standardised) outputs: `α = K⁻¹ y`, O(n²).
    pub fn set_y(&mut self, y: &[f64]) {
        debug_assert_eq!(y.len(), self.n());
        self.alpha = self.chol.solve(y);
    }

    /// Kernel values with every point, and `∂k/∂r²` for each.
    fn kvec(&self, xq: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let d = self.is_cat.len();
        let scale = self.hyper.scale();
        let n = self.n();
        let mut k = Vec::with_capacity(n);
        let mut dk = Vec::with_capacity(n);
        for j in 0..n {
            let (c, dc) = matern52(sqdist(
                xq,
                &self.x[j * d..(j + 1) * d],
                &self.theta,
                &self.is_cat,
            ));
            k.push(scale * c);
            dk.push(scale * dc);
        }
        (k, dk)
    }

    /// Posterior mean and variance of the latent function at `xq`.
    pub fn predict(&self, xq: &[f64]) -> (f64, f64) {
        let (mut k, _) = self.kvec(xq);
        let mu = dot(&k, &self.alpha);
        self.chol.solve_lower_in_place(&mut k);
        let var = self.hyper.scale() - dot(&k, &k);
        (mu, var.max(1e-12 * self.hyper.scale()))
    }

    /// Means and variances at many points (`m × d`, row-major), eight at a time: one
    /// pass over the Cholesky factor serves eight triangular solves.
    pub fn predict_many(&self, xs: &[f64]) -> Vec<(f64, f64)> {
        const B: usize = 8;
        let d = self.is_cat.len();
        let n = self.n();
        let scale = self.hyper.scale();
        let floor = 1e-12 * scale;
        let mut out = Vec::with_capacity(xs.len() / d.max(1));
        let mut v = vec![0.0; n * B];
        for chunk in xs.chunks(B * d.max(1)) {
            let m = chunk.len() / d.max(1);
            let mut mu = [0.0; B];
            for j in 0..n {
                let xj = &self.x[j * d..(j + 1) * d];
                for c in 0..B {
                    let k = if c < m {
                        scale
                            * matern52(sqdist(
                                &chunk[c * d..(c + 1) * d],
                                xj,
                                &self.theta,
                                &self.is_cat,
                            ))
                            .0
                    } else {
                        0.0
                    };
                    v[j * B + c] = k;
                    mu[c] += self.alpha[j] * k;
                }
            }
            for i in 0..n {
                let r = self.chol.row(i);
                let mut s = [0.0; B];
                for (j, l) in r[..i].iter().enumerate() {
                    let vj = &v[j * B..j * B + B];
                    for c in 0..B {
                        s[c] += l * vj[c];
                    }
                }
                let inv = 1.0 / r[i];
                for c in 0..B {
                    v[i * B + c] = (v[i * B + c] - s[c]) * inv;
                }
            }
            let mut q = [0.0; B];
            for i in 0..n {
                for c in 0..B {
                    q[c] += v[i * B + c] * v[i * B + c];
                }
            }
            for c in 0..m {
                out.push((mu[c], (scale - q[c]).max(floor)));
            }
        }
        out
    }

    /// Mean, variance and their gradients with respect to the numeric coordinates of
    /// `xq` (categorical coordinates get 0).
    pub fn predict_grad(&self, xq: &[f64], gmu: &mut [f64], gvar: &mut [f64]) -> (f64, f64) {
        let d = self.is_cat.len();
        let n = self.n();
        let (k, dk) = self.kvec(xq);
        let mu = dot(&k, &self.alpha);
        let mut v = k;
        self.chol.solve_lower_in_place(&mut v);
        let raw_var = self.hyper.scale() - dot(&v, &v);
        let floor = 1e-12 * self.hyper.scale();
        self.chol.solve_upper_in_place(&mut v); // now K⁻¹ k
        gmu.iter_mut().for_each(|g| *g = 0.0);
        gvar.iter_mut().for_each(|g| *g = 0.0);
        for j in 0..n {
            // ∂k_j/∂x_m = dk_j · 2 θ_m (x_m − X_jm)
            let a = 2.0 * dk[j] * self.alpha[j];
            let b = -2.0 * 2.0 * dk[j] * v[j];
            let xj = &self.x[j * d..(j + 1) * d];
            for m in 0..d {
                if !self.is_cat[m] {
                    let t = self.theta[m] * (xq[m] - xj[m]);
                    gmu[m] += a * t;
                    gvar[m] += b * t;
                }
            }
        }
        if raw_var < floor {
            gvar.iter_mut().for_each(|g| *g = 0.0);
        }
        (mu, raw_var.max(floor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> (Vec<f64>, Vec<f64>, Vec<bool>) {
        let x: Vec<f64> = (0..24)
            .flat_map(|i| {
                let a = (i as f64 * 0.37).fract();
                let b = (i as f64 * 0.61).fract();
                [a, b, (i % 3) as f64]
            })
            .collect();
        let y: Vec<f64> = x
            .chunks(3)
            .map(|r| (6.0 * r[0]).sin() + r[1] * r[1] + if r[2] == 1.0 { 0.5 } else { 0.0 })
            .collect();
        (x, y, vec![false, false, true])
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let (x, y, cat) = data();
        let h = Hyper {
            log_theta: vec![0.3, -0.5, 0.2],
            log_scale: 0.1,
            log_noise: -4.0,
        };
        let mut g = vec![0.0; 5];
        let f0 = neg_log_posterior(&h, &x, &y, &cat, &mut g);
        let p = h.to_vec();
        for k in 0..5 {
            let mut q = p.clone();
            let e = 1e-6;
            q[k] += e;
            let f1 = neg_log_posterior(&Hyper::from_vec(&q), &x, &y, &cat, &mut [0.0; 5]);
            q[k] -= 2.0 * e;
            let f2 = neg_log_posterior(&Hyper::from_vec(&q), &x, &y, &cat, &mut [0.0; 5]);
            let fd = (f1 - f2) / (2.0 * e);
            assert!(
                (fd - g[k]).abs() < 1e-4 * (1.0 + fd.abs()),
                "{k}: {fd} vs {}",
                g[k]
            );
        }
        let fitted = fit(&h, &x, &y, &cat, 60);
        let f1 = neg_log_posterior(&fitted, &x, &y, &cat, &mut g);
        assert!(f1 < f0);
    }

    #[test]
    fn posterior_gradient_matches_and_push_equals_refactor() {
        let (x, y, cat) = data();
        let h = Hyper {
            log_theta: vec![1.0, 0.5, 0.0],
            log_scale: 0.0,
            log_noise: -6.0,
        };
        let mut gp = Gp::new(h.clone(), &cat, &x[..23 * 3]).unwrap();
        assert!(gp.push(&x[23 * 3..]));
        gp.set_y(&y);
        let mut full = Gp::new(h, &cat, &x).unwrap();
        full.set_y(&y);
        let q = [0.42, 0.17, 1.0];
        let (m1, v1) = gp.predict(&q);
        let (m2, v2) = full.predict(&q);
        assert!((m1 - m2).abs() < 1e-9 && (v1 - v2).abs() < 1e-9);
        let many: Vec<f64> = (0..11)
            .flat_map(|i| [i as f64 / 10.0, 0.3, (i % 3) as f64])
            .collect();
        for (i, (m, v)) in gp.predict_many(&many).into_iter().enumerate() {
            let (m0, v0) = gp.predict(&many[i * 3..i * 3 + 3]);
            assert!((m - m0).abs() < 1e-9 && (v - v0).abs() < 1e-9);
        }
        let (mut gm, mut gv) = (vec![0.0; 3], vec![0.0; 3]);
        gp.predict_grad(&q, &mut gm, &mut gv);
        for m in 0..2 {
            let mut a = q;
            a[m] += 1e-6;
            let mut b = q;
            b[m] -= 1e-6;
            let (ma, va) = gp.predict(&a);
            let (mb, vb) = gp.predict(&b);
            assert!(((ma - mb) / 2e-6 - gm[m]).abs() < 1e-4);
            assert!(((va - vb) / 2e-6 - gv[m]).abs() < 1e-4);
        }
    }
}

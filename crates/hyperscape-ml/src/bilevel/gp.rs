//! The value-function surrogate: Gaussian-process regression of the lower-level
//! optimal value φ(λ) = min_w f(λ, w) on λ ∈ R^d, with the posterior mean φ̂(λ) and
//! its analytic gradient ∇φ̂(λ).
//!
//! Kernel: Matérn-5/2 with one lengthscale per dimension (ARD),
//! `k(x, x') = σ² (1 + √5 r + 5r²/3) e^{−√5 r}`, `r² = Σ_k (x_k − x'_k)² / ℓ_k²`,
//! plus a noise variance `σ² g` on the diagonal (φ comes from stochastic-free but
//! non-convex training, so repeated or nearby points may disagree slightly).
//!
//! Hyperparameters are fitted by maximising the marginal likelihood of the
//! standardised outputs. The signal variance σ² is profiled out in closed form
//! (`σ̂² = yᵀ(C + gI)⁻¹y / n`), which leaves the lengthscales and the noise ratio `g`:
//! a deterministic coarse grid over (shared ℓ, g) picks a start, and a coordinate
//! pattern search over (ln ℓ_1 … ln ℓ_d, ln g) with halving steps refines it. With the
//! small `d` (one λ, or one per layer) and `n` (tens of points) of the bilevel method
//! this costs milliseconds and needs no seed.
//!
//! Linear algebra: nalgebra's Cholesky, with growing diagonal jitter when a
//! factorisation fails.

use nalgebra::{DMatrix, DVector};

use crate::error::{Error, Result};

const LN_2PI: f64 = 1.837_877_066_409_345_5;
/// Bounds of the fitted log-lengthscales and log noise ratio.
const LN_ELL: (f64, f64) = (-3.0, 5.0);
const LN_G: (f64, f64) = (-18.0, 0.0);

/// A GP posterior over φ(λ), ready to predict.
#[derive(Debug, Clone)]
pub struct ValueGp {
    d: usize,
    x: Vec<Vec<f64>>,
    y_mean: f64,
    y_std: f64,
    /// Lengthscales ℓ_k.
    ell: Vec<f64>,
    /// Signal variance (of the standardised outputs).
    sf2: f64,
    /// Noise variance (of the standardised outputs).
    noise: f64,
    /// α = K⁻¹ y (standardised).
    alpha: DVector<f64>,
}

fn matern(r2: f64) -> f64 {
    let r = r2.max(0.0).sqrt();
    let s = 5f64.sqrt() * r;
    (1.0 + s + s * s / 3.0) * (-s).exp()
}

fn r2(a: &[f64], b: &[f64], ell: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .zip(ell)
        .map(|((x, y), l)| ((x - y) / l).powi(2))
        .sum()
}

/// Correlation matrix `C + g I` (unit signal variance).
fn corr(x: &[Vec<f64>], ell: &[f64], g: f64) -> DMatrix<f64> {
    let n = x.len();
    DMatrix::from_fn(n, n, |i, j| {
        matern(r2(&x[i], &x[j], ell)) + if i == j { g } else { 0.0 }
    })
}

/// Cholesky with growing jitter; `None` when even a large jitter fails.
fn cholesky(mut a: DMatrix<f64>) -> Option<nalgebra::Cholesky<f64, nalgebra::Dyn>> {
    let n = a.nrows();
    let mut jitter = 0.0;
    for _ in 0..8 {
        if let Some(c) = a.clone().cholesky() {
            return Some(c);
        }
        let add = if jitter == 0.0 { 1e-10 } else { jitter * 9.0 };
        for i in 0..n {
            a[(i, i)] += add;
        }
        jitter += add;
    }
    None
}

/// Negative log marginal likelihood with σ² profiled out, and σ̂².
fn profiled_nll(x: &[Vec<f64>], y: &DVector<f64>, ln_ell: &[f64], ln_g: f64) -> Option<(f64, f64)> {
    let n = x.len() as f64;
    let ell: Vec<f64> = ln_ell.iter().map(|v| v.exp()).collect();
    let chol = cholesky(corr(x, &ell, ln_g.exp()))?;
    let a = chol.solve(y);
    let quad = y.dot(&a).max(1e-300);
    let sf2 = quad / n;
    let log_det: f64 = chol.l().diagonal().iter().map(|v| 2.0 * v.ln()).sum();
    let nll = 0.5 * (n * sf2.ln() + log_det + n + n * LN_2PI);
    nll.is_finite().then_some((nll, sf2))
}

impl ValueGp {
    /// Fits a GP to points `x` (each of length `d`) with values `y`.
    pub fn fit(x: &[Vec<f64>], y: &[f64]) -> Result<Self> {
        let n = x.len();
        if n == 0 || n != y.len() {
            return Err(Error::Invalid(format!(
                "value-function GP: {n} points and {} values",
                y.len()
            )));
        }
        let d = x[0].len();
        if d == 0 || x.iter().any(|p| p.len() != d) {
            return Err(Error::Invalid(
                "value-function GP: points must all have the same non-zero dimension".into(),
            ));
        }
        if x.iter().flatten().chain(y).any(|v| !v.is_finite()) {
            return Err(Error::Invalid(
                "value-function GP: non-finite point or value".into(),
            ));
        }
        let y_mean = y.iter().sum::<f64>() / n as f64;
        let var = y.iter().map(|v| (v - y_mean).powi(2)).sum::<f64>() / n as f64;
        let y_std = if var.sqrt() > 1e-12 { var.sqrt() } else { 1.0 };
        let ys = DVector::from_iterator(n, y.iter().map(|v| (v - y_mean) / y_std));

        // Coarse grid over (shared ln ℓ, ln g).
        let mut best: Option<(f64, Vec<f64>)> = None; // (nll, [ln ℓ…, ln g])
        for i in 0..13 {
            let le = LN_ELL.0 + (LN_ELL.1 - LN_ELL.0) * i as f64 / 12.0;
            for &lg in &[-16.0, -12.0, -9.0, -6.0, -4.0, -2.0] {
                let mut p = vec![le; d];
                p.push(lg);
                if let Some((nll, _)) = profiled_nll(x, &ys, &p[..d], lg) {
                    if best.as_ref().is_none_or(|(b, _)| nll < *b) {
                        best = Some((nll, p));
                    }
                }
            }
        }
        let (mut best_nll, mut p) = best.ok_or_else(|| {
            Error::Invalid("value-function GP: no kernel matrix could be factorised".into())
        })?;
        // Coordinate pattern search with halving steps.
        let mut step = 1.0;
        while step > 0.02 {
            let mut improved = false;
            for k in 0..=d {
                let (lo, hi) = if k < d { LN_ELL } else { LN_G };
                for dir in [-1.0, 1.0] {
                    let mut q = p.clone();
                    q[k] = (q[k] + dir * step).clamp(lo, hi);
                    if q[k] == p[k] {
                        continue;
                    }
                    if let Some((nll, _)) = profiled_nll(x, &ys, &q[..d], q[d]) {
                        if nll < best_nll - 1e-10 {
                            best_nll = nll;
                            p = q;
                            improved = true;
                        }
                    }
                }
            }
            if !improved {
                step *= 0.5;
            }
        }
        let ell: Vec<f64> = p[..d].iter().map(|v| v.exp()).collect();
        let g = p[d].exp();
        let (_, sf2) = profiled_nll(x, &ys, &p[..d], p[d]).expect("factorised during the fit");
        let chol = cholesky(corr(x, &ell, g)).expect("factorised during the fit");
        // K = σ²(C + gI), so α = K⁻¹y = (C + gI)⁻¹ y / σ².
        let alpha = chol.solve(&ys) / sf2;
        Ok(Self {
            d,
            x: x.to_vec(),
            y_mean,
            y_std,
            ell,
            sf2,
            noise: sf2 * g,
            alpha,
        })
    }

    pub fn dim(&self) -> usize {
        self.d
    }
    pub fn n(&self) -> usize {
        self.x.len()
    }
    /// The fitted lengthscales (in λ units).
    pub fn lengthscales(&self) -> &[f64] {
        &self.ell
    }
    /// The fitted noise standard deviation, in the units of φ.
    pub fn noise_std(&self) -> f64 {
        self.noise.sqrt() * self.y_std
    }

    /// The posterior mean φ̂(λ).
    pub fn mean(&self, lambda: &[f64]) -> f64 {
        self.mean_grad(lambda).0
    }

    /// The posterior mean φ̂(λ) and its gradient ∇φ̂(λ), analytic:
    /// `∂k/∂λ_k = −σ² (5/3)(1 + √5 r) e^{−√5 r} (λ_k − x_k) / ℓ_k²`.
    pub fn mean_grad(&self, lambda: &[f64]) -> (f64, Vec<f64>) {
        debug_assert_eq!(lambda.len(), self.d);
        let mut m = 0.0;
        let mut g = vec![0.0; self.d];
        for (xi, &ai) in self.x.iter().zip(self.alpha.iter()) {
            let rr = r2(lambda, xi, &self.ell);
            m += ai * self.sf2 * matern(rr);
            let s = 5f64.sqrt() * rr.sqrt();
            let dk = -self.sf2 * (5.0 / 3.0) * (1.0 + s) * (-s).exp();
            for (((gk, lk), xk), ek) in g.iter_mut().zip(lambda).zip(xi).zip(&self.ell) {
                *gk += ai * dk * (lk - xk) / (ek * ek);
            }
        }
        (
            self.y_mean + self.y_std * m,
            g.into_iter().map(|v| v * self.y_std).collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy(d: usize) -> (Vec<Vec<f64>>, Vec<f64>) {
        // A smooth function on [-10, 0]^d, sampled on a deterministic scatter.
        let f = |p: &[f64]| -> f64 {
            p.iter()
                .enumerate()
                .map(|(k, v)| (0.3 * v + k as f64).sin() + 0.02 * v * v)
                .sum()
        };
        let mut x = Vec::new();
        for i in 0..14 {
            let p: Vec<f64> = (0..d)
                .map(|k| -10.0 + 10.0 * (((i * (2 * k + 3) + 1) % 14) as f64 + 0.5) / 14.0)
                .collect();
            x.push(p);
        }
        let y = x.iter().map(|p| f(p)).collect();
        (x, y)
    }

    #[test]
    fn posterior_mean_gradient_matches_finite_differences() {
        for d in [1, 2, 3] {
            let (x, y) = toy(d);
            let gp = ValueGp::fit(&x, &y).unwrap();
            for q in [vec![-7.3; d], vec![-2.1; d], x[3].clone()] {
                let (_, g) = gp.mean_grad(&q);
                for k in 0..d {
                    let h = 1e-5;
                    let (mut a, mut b) = (q.clone(), q.clone());
                    a[k] += h;
                    b[k] -= h;
                    let fd = (gp.mean(&a) - gp.mean(&b)) / (2.0 * h);
                    assert!(
                        (fd - g[k]).abs() <= 1e-6 * (1.0 + fd.abs()),
                        "d={d} k={k} at {q:?}: analytic {} vs fd {fd}",
                        g[k]
                    );
                }
            }
        }
    }

    #[test]
    fn interpolates_a_smooth_function_and_rejects_bad_input() {
        let (x, y) = toy(1);
        let gp = ValueGp::fit(&x, &y).unwrap();
        // Near-interpolation at the data, and a sensible value between points.
        for (p, v) in x.iter().zip(&y) {
            assert!(
                (gp.mean(p) - v).abs() < 1e-2,
                "{p:?}: {} vs {v}",
                gp.mean(p)
            );
        }
        let truth = (0.3f64 * -5.0).sin() + 0.02 * 25.0;
        assert!((gp.mean(&[-5.0]) - truth).abs() < 0.05);
        assert!(ValueGp::fit(&x, &y[1..]).is_err());
        assert!(ValueGp::fit(&[vec![f64::NAN]], &[1.0]).is_err());
    }
}

//! The CMA-ES state and its generation update (Hansen, "The CMA Evolution Strategy: A
//! Tutorial", 2016): weighted recombination, cumulative step-size adaptation, rank-one
//! and rank-μ covariance updates, and a lazily refreshed eigendecomposition. Works in
//! the unit cube; `a` scales each coordinate of the samples (the margin of discrete
//! dimensions, 1 elsewhere).

use std::collections::VecDeque;

use nalgebra::{DMatrix, DVector, SymmetricEigen};
use rand::Rng;

/// Strategy constants for dimension `n` and population `lambda` (the tutorial's).
#[derive(Debug, Clone)]
pub(crate) struct Constants {
    pub lambda: usize,
    pub mu: usize,
    pub weights: Vec<f64>,
    pub mu_eff: f64,
    pub c_sigma: f64,
    pub d_sigma: f64,
    pub c_c: f64,
    pub c1: f64,
    pub c_mu: f64,
    /// E‖N(0, I)‖.
    pub chi_n: f64,
}

impl Constants {
    pub fn new(n: usize, lambda: usize) -> Self {
        let nf = n as f64;
        let lambda = lambda.max(2);
        let mu = lambda / 2;
        let raw: Vec<f64> = (1..=mu)
            .map(|i| ((lambda as f64 + 1.0) / 2.0).ln() - (i as f64).ln())
            .collect();
        let sum: f64 = raw.iter().sum();
        let weights: Vec<f64> = raw.iter().map(|w| w / sum).collect();
        let mu_eff = 1.0 / weights.iter().map(|w| w * w).sum::<f64>();
        let c_sigma = (mu_eff + 2.0) / (nf + mu_eff + 5.0);
        let d_sigma = 1.0 + 2.0 * (((mu_eff - 1.0) / (nf + 1.0)).sqrt() - 1.0).max(0.0) + c_sigma;
        let c_c = (4.0 + mu_eff / nf) / (nf + 4.0 + 2.0 * mu_eff / nf);
        let c1 = 2.0 / ((nf + 1.3).powi(2) + mu_eff);
        let c_mu =
            (1.0 - c1).min(2.0 * (mu_eff - 2.0 + 1.0 / mu_eff) / ((nf + 2.0).powi(2) + mu_eff));
        let chi_n = nf.sqrt() * (1.0 - 1.0 / (4.0 * nf) + 1.0 / (21.0 * nf * nf));
        Self {
            lambda,
            mu,
            weights,
            mu_eff,
            c_sigma,
            d_sigma,
            c_c,
            c1,
            c_mu,
            chi_n,
        }
    }
}

/// Why a run stopped (the standard termination criteria).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The best values of recent generations and the current ones all lie within `tolfun`.
    TolFun,
    /// Every coordinate's standard deviation and evolution path is below `tolx`.
    TolX,
    /// σ times the largest axis grew past `1e4 · σ₀`.
    TolXUp,
    /// The covariance condition number exceeds 1e14 (or the decomposition broke down).
    ConditionCov,
    /// Adding 0.1 σ along a principal axis does not change the mean.
    NoEffectAxis,
    /// Adding 0.2 σ in a coordinate does not change the mean.
    NoEffectCoord,
    /// The median of recent best and median values stopped improving.
    Stagnation,
}

/// One CMA-ES run.
#[derive(Debug, Clone)]
pub(crate) struct Es {
    pub k: Constants,
    pub n: usize,
    pub mean: DVector<f64>,
    pub sigma: f64,
    sigma0: f64,
    c: DMatrix<f64>,
    /// Eigenvectors (columns) of `c` and the square roots of its eigenvalues.
    b: DMatrix<f64>,
    d: DVector<f64>,
    p_sigma: DVector<f64>,
    p_c: DVector<f64>,
    /// Per-coordinate scale of samples (margin), 1 for continuous coordinates.
    pub a: DVector<f64>,
    /// Generations told in this run.
    pub generation: u64,
    eigen_generation: u64,
    best_hist: VecDeque<f64>,
    median_hist: VecDeque<f64>,
    fun_hist: VecDeque<f64>,
    /// Range of the recent best values and the last generation's values.
    fun_range: f64,
    pub tolfun: f64,
    pub tolx: f64,
    broken: bool,
}

impl Es {
    /// A run at `mean` with step size `sigma` and covariance `cov` (identity if `None`).
    pub fn new(mean: DVector<f64>, sigma: f64, cov: Option<DMatrix<f64>>, lambda: usize) -> Self {
        let n = mean.len();
        let c = cov.unwrap_or_else(|| DMatrix::identity(n, n));
        let mut es = Self {
            k: Constants::new(n, lambda),
            n,
            mean,
            sigma,
            sigma0: sigma,
            b: DMatrix::identity(n, n),
            d: DVector::from_element(n, 1.0),
            c,
            p_sigma: DVector::zeros(n),
            p_c: DVector::zeros(n),
            a: DVector::from_element(n, 1.0),
            generation: 0,
            eigen_generation: 0,
            best_hist: VecDeque::new(),
            median_hist: VecDeque::new(),
            fun_hist: VecDeque::new(),
            fun_range: f64::INFINITY,
            tolfun: 1e-12,
            tolx: 1e-12,
            broken: false,
        };
        es.decompose();
        es
    }

    pub fn lambda(&self) -> usize {
        self.k.lambda
    }

    /// The variance of coordinate `i` of `σ·y` before the margin scale.
    pub fn coord_std(&self, i: usize) -> f64 {
        self.sigma * self.c[(i, i)].max(0.0).sqrt()
    }

    fn decompose(&mut self) {
        let sym = (&self.c + self.c.transpose()) * 0.5;
        let eig = SymmetricEigen::new(sym.clone());
        if eig.eigenvalues.iter().any(|v| !v.is_finite()) {
            self.broken = true;
            return;
        }
        let ev = eig.eigenvalues.map(|v| v.max(1e-30));
        self.c = sym;
        self.d = ev.map(f64::sqrt);
        self.b = eig.eigenvectors;
        self.eigen_generation = self.generation;
    }

    /// A candidate: `mean + σ · a ⊙ (B D z)`, resampled while outside the unit cube (at
    /// most 100 times), then clipped.
    pub fn sample(&self, rng: &mut impl Rng) -> DVector<f64> {
        let mut x = DVector::zeros(self.n);
        for _ in 0..100 {
            let z = DVector::from_fn(self.n, |_, _| std_normal(rng));
            let y = &self.b * z.component_mul(&self.d);
            x = &self.mean + (y.component_mul(&self.a) * self.sigma);
            if x.iter().all(|v| (0.0..=1.0).contains(v)) {
                return x;
            }
        }
        x.apply(|v| *v = v.clamp(0.0, 1.0));
        x
    }

    /// One generation: `sols` are (candidate, loss) pairs, at least `lambda` of them.
    pub fn tell(&mut self, sols: &mut [(DVector<f64>, f64)]) {
        sols.sort_by(|p, q| p.1.total_cmp(&q.1));
        let k = self.k.clone();
        let k = &k;
        let n = self.n;
        self.generation += 1;
        let ys: Vec<DVector<f64>> = sols[..k.mu]
            .iter()
            .map(|(x, _)| (x - &self.mean).component_div(&self.a) / self.sigma)
            .collect();
        let mut y_w = DVector::zeros(n);
        for (w, y) in k.weights.iter().zip(&ys) {
            y_w += y * *w;
        }
        self.mean += &y_w.component_mul(&self.a) * self.sigma;

        // C^{-1/2} y_w = B D^{-1} Bᵀ y_w
        let inv_sqrt_y = &self.b * (self.b.tr_mul(&y_w).component_div(&self.d));
        self.p_sigma = &self.p_sigma * (1.0 - k.c_sigma)
            + inv_sqrt_y * (k.c_sigma * (2.0 - k.c_sigma) * k.mu_eff).sqrt();
        let ps_norm = self.p_sigma.norm();
        let denom = (1.0 - (1.0 - k.c_sigma).powi(2 * self.generation as i32)).sqrt();
        let h_sigma = ps_norm / denom.max(1e-300) < (1.4 + 2.0 / (n as f64 + 1.0)) * k.chi_n;
        let hs = if h_sigma { 1.0 } else { 0.0 };
        self.p_c =
            &self.p_c * (1.0 - k.c_c) + &y_w * (hs * (k.c_c * (2.0 - k.c_c) * k.mu_eff).sqrt());
        let delta = (1.0 - hs) * k.c_c * (2.0 - k.c_c);

        let mut rank_mu = DMatrix::zeros(n, n);
        for (w, y) in k.weights.iter().zip(&ys) {
            rank_mu.ger(*w, y, y, 1.0);
        }
        let w_sum: f64 = k.weights.iter().sum();
        self.c *= 1.0 + k.c1 * delta - k.c1 - k.c_mu * w_sum;
        self.c.ger(k.c1, &self.p_c, &self.p_c, 1.0);
        self.c += rank_mu * k.c_mu;

        self.sigma *= ((k.c_sigma / k.d_sigma) * (ps_norm / k.chi_n - 1.0))
            .min(1.0)
            .exp();
        self.sigma = self.sigma.min(1e32);

        let lazy = ((1.0 / (k.c1 + k.c_mu) / n as f64 / 10.0).floor() as u64).max(1);
        if self.generation - self.eigen_generation >= lazy {
            self.decompose();
        }

        // Histories for the termination criteria.
        let best = sols[0].1;
        let median = sols[sols.len() / 2].1;
        let fun_len = 10 + (30.0 * n as f64 / k.lambda as f64).ceil() as usize;
        push_capped(&mut self.fun_hist, best, fun_len);
        let stag_len = 120 + (30.0 * n as f64 / k.lambda as f64) as usize;
        let stag_cap = stag_len
            .max((0.2 * self.generation as f64) as usize)
            .min(20_000);
        push_capped(&mut self.best_hist, best, stag_cap);
        push_capped(&mut self.median_hist, median, stag_cap);
        let (lo, hi) = sols
            .iter()
            .map(|s| s.1)
            .chain(self.fun_hist.iter().copied())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                (l.min(v), h.max(v))
            });
        self.fun_range = hi - lo;
    }

    /// The first termination criterion met, if any.
    pub fn should_stop(&self) -> Option<StopReason> {
        if self.broken {
            return Some(StopReason::ConditionCov);
        }
        let n = self.n;
        let k = &self.k;
        let fun_len = 10 + (30.0 * n as f64 / k.lambda as f64).ceil() as usize;
        if self.fun_hist.len() >= fun_len && self.fun_range < self.tolfun {
            return Some(StopReason::TolFun);
        }
        let diag_ok = (0..n).all(|i| self.coord_std(i) * self.a[i] < self.tolx);
        if diag_ok && self.p_c.iter().all(|p| (self.sigma * p).abs() < self.tolx) {
            return Some(StopReason::TolX);
        }
        let d_max = self.d.max();
        let d_min = self.d.min();
        if self.sigma * d_max > 1e4 * self.sigma0 {
            return Some(StopReason::TolXUp);
        }
        if (d_max / d_min).powi(2) > 1e14 {
            return Some(StopReason::ConditionCov);
        }
        let i = (self.generation as usize) % n;
        let axis = self.b.column(i) * (0.1 * self.sigma * self.d[i]);
        if (0..n).all(|j| self.mean[j] == self.mean[j] + axis[j]) {
            return Some(StopReason::NoEffectAxis);
        }
        if (0..n).any(|j| self.mean[j] == self.mean[j] + 0.2 * self.coord_std(j)) {
            return Some(StopReason::NoEffectCoord);
        }
        let stag_len = 120 + (30.0 * n as f64 / k.lambda as f64) as usize;
        if self.best_hist.len() >= stag_len {
            let stalled = |h: &VecDeque<f64>| {
                let v: Vec<f64> = h.iter().copied().collect();
                let m = v.len();
                median(&v[m - 20..]) >= median(&v[..20])
            };
            if stalled(&self.best_hist) && stalled(&self.median_hist) {
                return Some(StopReason::Stagnation);
            }
        }
        None
    }
}

fn push_capped(h: &mut VecDeque<f64>, v: f64, cap: usize) {
    h.push_back(v);
    while h.len() > cap {
        h.pop_front();
    }
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// A standard normal draw (Box–Muller).
pub(crate) fn std_normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn generation(es: &mut Es, rng: &mut rand_chacha::ChaCha8Rng, f: fn(&DVector<f64>) -> f64) {
        let mut sols: Vec<(DVector<f64>, f64)> = (0..es.lambda())
            .map(|_| {
                let x = es.sample(rng);
                let v = f(&x);
                (x, v)
            })
            .collect();
        es.tell(&mut sols);
    }

    #[test]
    fn converges_on_a_sphere_and_stops_on_tolerances() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut es = Es::new(DVector::from_element(4, 0.5), 0.2, None, 8);
        let f = |x: &DVector<f64>| x.iter().map(|v| (v - 0.3).powi(2)).sum();
        let mut stop = None;
        for _ in 0..2000 {
            generation(&mut es, &mut rng, f);
            stop = es.should_stop();
            if stop.is_some() {
                break;
            }
        }
        assert!((es.mean.clone() - DVector::from_element(4, 0.3)).norm() < 1e-5);
        assert!(
            matches!(stop, Some(StopReason::TolFun | StopReason::TolX)),
            "{stop:?}"
        );
    }

    #[test]
    fn a_flat_function_stops_without_shrinking_forever() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let mut es = Es::new(DVector::from_element(3, 0.5), 0.1, None, 6);
        let mut stop = None;
        for _ in 0..500 {
            generation(&mut es, &mut rng, |_| 1.0);
            stop = es.should_stop();
            if stop.is_some() {
                break;
            }
        }
        assert_eq!(stop, Some(StopReason::TolFun));
    }

    #[test]
    fn constants_follow_the_tutorial() {
        let k = Constants::new(10, 10);
        assert_eq!(k.mu, 5);
        assert!((k.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(k.weights.windows(2).all(|w| w[0] > w[1]));
        assert!(k.c1 + k.c_mu <= 1.0 && k.c_sigma < 1.0 && k.c_c < 1.0);
        assert!((k.chi_n - 3.084).abs() < 1e-3);
    }
}

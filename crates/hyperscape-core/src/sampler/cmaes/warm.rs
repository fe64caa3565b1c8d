//! Warm starting: the initial mean, step size and covariance from earlier trials, as in
//! WS-CMA-ES (Nomura et al., AAAI 2021): the best `gamma` fraction of the source points
//! (in the unit cube) gives `m = mean`, `Σ = cov + α² I`, then `σ = det(Σ)^(1/2n)` and
//! `C = Σ / σ²`.

use nalgebra::{DMatrix, DVector};

/// A starting distribution: mean, step size, covariance.
#[derive(Debug, Clone)]
pub(crate) struct Start {
    pub mean: DVector<f64>,
    pub sigma: f64,
    pub cov: DMatrix<f64>,
}

/// The start estimated from `points` (unit-cube vectors with losses); `None` if empty.
pub(crate) fn estimate(points: &[(DVector<f64>, f64)], gamma: f64, alpha: f64) -> Option<Start> {
    let first = points.first()?;
    let n = first.0.len();
    let mut sorted: Vec<&(DVector<f64>, f64)> = points.iter().collect();
    sorted.sort_by(|a, b| a.1.total_cmp(&b.1));
    let top = ((gamma * sorted.len() as f64).floor() as usize).clamp(1, sorted.len());
    let best = &sorted[..top];
    let mut mean = DVector::zeros(n);
    for p in best {
        mean += &p.0;
    }
    mean /= top as f64;
    let mut cov = DMatrix::identity(n, n) * (alpha * alpha);
    for p in best {
        let d = &p.0 - &mean;
        cov.ger(1.0 / top as f64, &d, &d, 1.0);
    }
    // det via the eigenvalues (Σ is symmetric positive definite thanks to α² I).
    let eig = nalgebra::SymmetricEigen::new(cov.clone());
    let log_det: f64 = eig.eigenvalues.iter().map(|v| v.max(1e-300).ln()).sum();
    let sigma = (log_det / (2.0 * n as f64)).exp();
    if !(sigma.is_finite() && sigma > 0.0) {
        return None;
    }
    Some(Start {
        mean,
        sigma,
        cov: cov / (sigma * sigma),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_sits_on_the_best_points() {
        let pts: Vec<(DVector<f64>, f64)> = (0..20)
            .map(|i| {
                let x = i as f64 / 20.0;
                (DVector::from_vec(vec![x, 1.0 - x]), (x - 0.3).abs())
            })
            .collect();
        let s = estimate(&pts, 0.1, 0.05).unwrap();
        assert!((s.mean[0] - 0.3).abs() < 0.05, "{}", s.mean);
        assert!(s.sigma < 0.1, "{}", s.sigma);
        assert!(estimate(&[], 0.1, 0.1).is_none());
    }
}

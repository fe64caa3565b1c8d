//! Standard test functions with known optima, used by the demo, examples and tests.

/// Branin-Hoo on x1 in [-5, 10], x2 in [0, 15]; global minimum 0.397887 at
/// (-pi, 12.275), (pi, 2.275) and (9.42478, 2.475).
pub fn branin(x1: f64, x2: f64) -> f64 {
    use std::f64::consts::PI;
    let a = 1.0;
    let b = 5.1 / (4.0 * PI * PI);
    let c = 5.0 / PI;
    let r = 6.0;
    let s = 10.0;
    let t = 1.0 / (8.0 * PI);
    a * (x2 - b * x1 * x1 + c * x1 - r).powi(2) + s * (1.0 - t) * x1.cos() + s
}

/// Global minimum of [`branin`].
pub const BRANIN_MIN: f64 = 0.397_887_357_729_738_2;

/// Rosenbrock in any dimension; minimum 0 at (1, ..., 1).
pub fn rosenbrock(x: &[f64]) -> f64 {
    x.windows(2)
        .map(|w| 100.0 * (w[1] - w[0] * w[0]).powi(2) + (1.0 - w[0]).powi(2))
        .sum()
}

/// Sphere; minimum 0 at the origin.
pub fn sphere(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn known_optima() {
        assert!((branin(std::f64::consts::PI, 2.275) - BRANIN_MIN).abs() < 1e-6);
        assert_eq!(rosenbrock(&[1.0, 1.0, 1.0]), 0.0);
    }
}

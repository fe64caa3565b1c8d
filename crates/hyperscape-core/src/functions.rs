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

/// ZDT1 (Zitzler, Deb & Thiele 2000), two objectives to minimise over `x` in
/// `[0, 1]^n` (n >= 2; the usual n is 30). Pareto front: `f2 = 1 - sqrt(f1)`, `f1` in
/// `[0, 1]`, reached when `x[1..] = 0`.
pub fn zdt1(x: &[f64]) -> [f64; 2] {
    let f1 = x[0];
    let g = zdt_g(x);
    [f1, g * (1.0 - (f1 / g).sqrt())]
}

/// ZDT2: like [`zdt1`] with a concave front `f2 = 1 - f1^2`.
pub fn zdt2(x: &[f64]) -> [f64; 2] {
    let f1 = x[0];
    let g = zdt_g(x);
    [f1, g * (1.0 - (f1 / g).powi(2))]
}

fn zdt_g(x: &[f64]) -> f64 {
    let rest = &x[1..];
    if rest.is_empty() {
        return 1.0;
    }
    1.0 + 9.0 * rest.iter().sum::<f64>() / rest.len() as f64
}

/// Hypervolume of the exact ZDT1 front with respect to the reference point (1, 1): the
/// area above `1 - sqrt(f1)` inside the unit square, `2/3`.
pub const ZDT1_HV_REF_11: f64 = 2.0 / 3.0;
/// Hypervolume of the exact ZDT2 front with respect to (1, 1): the area above
/// `1 - f1^2` inside the unit square, `1/3`.
pub const ZDT2_HV_REF_11: f64 = 1.0 / 3.0;

/// DTLZ2 (Deb, Thiele, Laumanns & Zitzler 2002) with three objectives over `[0, 1]^n`
/// (n >= 3). Pareto front: the positive octant of the unit sphere, reached when
/// `x[2..] = 0.5`.
pub fn dtlz2(x: &[f64]) -> [f64; 3] {
    use std::f64::consts::FRAC_PI_2;
    let g: f64 = x[2..].iter().map(|v| (v - 0.5).powi(2)).sum();
    let (a, b) = (x[0] * FRAC_PI_2, x[1] * FRAC_PI_2);
    [
        (1.0 + g) * a.cos() * b.cos(),
        (1.0 + g) * a.cos() * b.sin(),
        (1.0 + g) * a.sin(),
    ]
}

/// Hypervolume dominated by 2-objective points (minimisation) with respect to `r`;
/// points not better than `r` in both objectives count for nothing. The same routine
/// the samplers use (`sampler::multi::hypervolume_2d`).
pub fn hypervolume2(points: &[[f64; 2]], r: [f64; 2]) -> f64 {
    let mut p = points.to_vec();
    crate::sampler::multi::hypervolume_2d(&mut p, r)
}

/// Hartmann-6 on `[0, 1]^6`; global minimum [`HARTMANN6_MIN`] at
/// (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573). Six local minima.
pub fn hartmann6(x: &[f64; 6]) -> f64 {
    const ALPHA: [f64; 4] = [1.0, 1.2, 3.0, 3.2];
    const A: [[f64; 6]; 4] = [
        [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
        [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
        [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
        [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
    ];
    const P: [[f64; 6]; 4] = [
        [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
        [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
        [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
        [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
    ];
    -(0..4)
        .map(|i| {
            let r: f64 = (0..6).map(|j| A[i][j] * (x[j] - P[i][j]).powi(2)).sum();
            ALPHA[i] * (-r).exp()
        })
        .sum::<f64>()
}

/// Global minimum of [`hartmann6`].
pub const HARTMANN6_MIN: f64 = -3.322_368_011_415_51;

/// Ackley in any dimension (a = 20, b = 0.2, c = 2 pi), usually on `[-32.768, 32.768]^n`;
/// minimum 0 at the origin, surrounded by a regular grid of local minima.
pub fn ackley(x: &[f64]) -> f64 {
    use std::f64::consts::{E, PI};
    if x.is_empty() {
        return 0.0;
    }
    let n = x.len() as f64;
    let sq = x.iter().map(|v| v * v).sum::<f64>() / n;
    let cos = x.iter().map(|v| (2.0 * PI * v).cos()).sum::<f64>() / n;
    // Clamped at 0: rounding can leave -4e-16 at the origin.
    (-20.0 * (-0.2 * sq.sqrt()).exp() - cos.exp() + 20.0 + E).max(0.0)
}

/// Levy in any dimension, usually on `[-10, 10]^n`; minimum 0 at (1, ..., 1).
pub fn levy(x: &[f64]) -> f64 {
    use std::f64::consts::PI;
    let w: Vec<f64> = x.iter().map(|v| 1.0 + (v - 1.0) / 4.0).collect();
    let (Some(first), Some(last)) = (w.first(), w.last()) else {
        return 0.0;
    };
    let head = (PI * first).sin().powi(2);
    let middle: f64 = w[..w.len() - 1]
        .iter()
        .map(|wi| (wi - 1.0).powi(2) * (1.0 + 10.0 * (PI * wi + 1.0).sin().powi(2)))
        .sum();
    let tail = (last - 1.0).powi(2) * (1.0 + (2.0 * PI * last).sin().powi(2));
    head + middle + tail
}

/// Styblinski-Tang in any dimension, usually on `[-5, 5]^n`:
/// `0.5 * sum(x^4 - 16 x^2 + 5 x)`. Minimum `n * STYBLINSKI_TANG_MIN_PER_DIM` at
/// `x_i = STYBLINSKI_TANG_ARGMIN` for every `i`.
pub fn styblinski_tang(x: &[f64]) -> f64 {
    0.5 * x
        .iter()
        .map(|v| v.powi(4) - 16.0 * v * v + 5.0 * v)
        .sum::<f64>()
}

/// The coordinate of the minimum of [`styblinski_tang`]: the root of `4x^3 - 32x + 5`
/// near -2.9035.
pub const STYBLINSKI_TANG_ARGMIN: f64 = -2.903_534_027_771_177;
/// The minimum of [`styblinski_tang`] per dimension.
pub const STYBLINSKI_TANG_MIN_PER_DIM: f64 = -39.166_165_703_771_41;

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn known_optima() {
        assert!((branin(std::f64::consts::PI, 2.275) - BRANIN_MIN).abs() < 1e-6);
        assert_eq!(rosenbrock(&[1.0, 1.0, 1.0]), 0.0);
        let h = hartmann6(&[0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]);
        assert!((h - HARTMANN6_MIN).abs() < 1e-4, "{h}");
    }

    #[test]
    fn ackley_levy_styblinski_tang_optima() {
        assert!(ackley(&[0.0; 10]).abs() < 1e-12, "{}", ackley(&[0.0; 10]));
        assert!(ackley(&[0.5; 10]) > 1.0);
        assert!(ackley(&[1.0, 0.0]) > 1.0, "a local minimum is worse");
        assert!(levy(&[1.0; 10]).abs() < 1e-12, "{}", levy(&[1.0; 10]));
        assert!(levy(&[0.0; 10]) > 0.1);
        let st = styblinski_tang(&[STYBLINSKI_TANG_ARGMIN; 10]);
        assert!(
            (st - 10.0 * STYBLINSKI_TANG_MIN_PER_DIM).abs() < 1e-9,
            "{st}"
        );
        // The argmin is a stationary point: 4x^3 - 32x + 5 = 0 there.
        let x = STYBLINSKI_TANG_ARGMIN;
        assert!((4.0 * x.powi(3) - 32.0 * x + 5.0).abs() < 1e-9);
        // ... and the global minimum of the one-dimensional term on [-5, 5].
        let grid_min = (0..=100_000)
            .map(|i| styblinski_tang(&[-5.0 + 10.0 * i as f64 / 100_000.0]))
            .fold(f64::INFINITY, f64::min);
        assert!(grid_min >= STYBLINSKI_TANG_MIN_PER_DIM - 1e-9, "{grid_min}");
        assert!(grid_min - STYBLINSKI_TANG_MIN_PER_DIM < 1e-6, "{grid_min}");
    }

    #[test]
    fn multi_objective_fronts() {
        // Dense samples of the true fronts approach the known hypervolumes.
        let n = 2000;
        let on_front = |f: fn(&[f64]) -> [f64; 2]| -> Vec<[f64; 2]> {
            (0..=n)
                .map(|i| f(&[i as f64 / n as f64, 0.0, 0.0, 0.0]))
                .collect()
        };
        let hv1 = hypervolume2(&on_front(zdt1), [1.0, 1.0]);
        assert!((hv1 - ZDT1_HV_REF_11).abs() < 1e-3, "{hv1}");
        let hv2 = hypervolume2(&on_front(zdt2), [1.0, 1.0]);
        assert!((hv2 - ZDT2_HV_REF_11).abs() < 1e-3, "{hv2}");
        // Off the front (x[1..] > 0) is strictly worse.
        assert!(zdt1(&[0.5, 0.5, 0.5])[1] > zdt1(&[0.5, 0.0, 0.0])[1]);
        let f = dtlz2(&[0.3, 0.7, 0.5, 0.5]);
        assert!((f.iter().map(|v| v * v).sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(
            dtlz2(&[0.3, 0.7, 0.9, 0.5])
                .iter()
                .map(|v| v * v)
                .sum::<f64>()
                > 1.0
        );
    }
}

//! A compact projected L-BFGS for box-constrained minimisation.
//!
//! Why here and not a crate: `argmin` (with its math backends) is heavy to compile
//! for two small problems (a dozen kernel log-parameters; a point in the unit cube),
//! and the lighter L-BFGS crates do not handle bounds. This is the textbook two-loop
//! recursion restricted to the free variables (those not held at a bound by the
//! gradient), with a projected backtracking Armijo line search. It is deterministic.

use std::collections::VecDeque;

/// Stopping rules.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub max_iter: usize,
    /// Memory (number of correction pairs).
    pub m: usize,
    /// Stop when the projected gradient's largest component falls below this.
    pub pg_tol: f64,
    /// Stop when an iteration improves `f` by less than `f_tol · max(1, |f|)`.
    pub f_tol: f64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_iter: 100,
            m: 8,
            pg_tol: 1e-5,
            f_tol: 1e-9,
        }
    }
}

/// Minimises `f` (which returns the value and writes the gradient) over the box
/// `[lo, hi]` from `x0`. Returns the best point found and its value. A non-finite value
/// is treated as +∞ (the line search backs off from it).
pub fn minimize(
    mut f: impl FnMut(&[f64], &mut [f64]) -> f64,
    x0: &[f64],
    lo: &[f64],
    hi: &[f64],
    opt: Options,
) -> (Vec<f64>, f64) {
    let n = x0.len();
    let clamp = |x: &mut [f64]| {
        for i in 0..n {
            x[i] = x[i].clamp(lo[i], hi[i]);
        }
    };
    let mut x = x0.to_vec();
    clamp(&mut x);
    let mut g = vec![0.0; n];
    let mut fx = f(&x, &mut g);
    if !fx.is_finite() || g.iter().any(|v| !v.is_finite()) {
        return (x, if fx.is_finite() { fx } else { f64::INFINITY });
    }
    let mut mem: VecDeque<(Vec<f64>, Vec<f64>, f64)> = VecDeque::with_capacity(opt.m);
    let mut xn = vec![0.0; n];
    let mut gn = vec![0.0; n];
    for _ in 0..opt.max_iter {
        // Variables held at a bound by the gradient are fixed this iteration.
        let free: Vec<bool> = (0..n)
            .map(|i| !((x[i] <= lo[i] && g[i] > 0.0) || (x[i] >= hi[i] && g[i] < 0.0)))
            .collect();
        let pg = (0..n)
            .map(|i| (x[i] - (x[i] - g[i]).clamp(lo[i], hi[i])).abs())
            .fold(0.0, f64::max);
        if pg < opt.pg_tol {
            break;
        }
        // Two-loop recursion on the free subspace.
        let mut q: Vec<f64> = (0..n).map(|i| if free[i] { g[i] } else { 0.0 }).collect();
        let mut alpha = Vec::with_capacity(mem.len());
        for (s, y, rho) in mem.iter().rev() {
            let a = rho * masked_dot(s, &q, &free);
            for i in 0..n {
                if free[i] {
                    q[i] -= a * y[i];
                }
            }
            alpha.push(a);
        }
        if let Some((s, y, _)) = mem.back() {
            let yy = masked_dot(y, y, &free);
            let gamma = if yy > 0.0 {
                masked_dot(s, y, &free) / yy
            } else {
                1.0
            };
            let gamma = if gamma.is_finite() && gamma > 0.0 {
                gamma
            } else {
                1.0
            };
            q.iter_mut().for_each(|v| *v *= gamma);
        }
        for ((s, y, rho), a) in mem.iter().zip(alpha.iter().rev()) {
            let b = rho * masked_dot(y, &q, &free);
            for i in 0..n {
                if free[i] {
                    q[i] += (a - b) * s[i];
                }
            }
        }
        let mut d: Vec<f64> = q.iter().map(|v| -v).collect();
        let mut slope = masked_dot(&d, &g, &free);
        if slope.is_nan() || slope >= 0.0 || !slope.is_finite() {
            d = (0..n).map(|i| if free[i] { -g[i] } else { 0.0 }).collect();
            mem.clear();
            slope = masked_dot(&d, &g, &free);
            if slope.is_nan() || slope >= 0.0 {
                break;
            }
        }
        // First step of a fresh memory: at most a unit move in the largest coordinate.
        let mut t = if mem.is_empty() {
            let dmax = d.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            if dmax > 0.0 {
                (1.0 / dmax).min(1.0)
            } else {
                1.0
            }
        } else {
            1.0
        };
        let mut accepted = None;
        for _ in 0..30 {
            for i in 0..n {
                xn[i] = (x[i] + t * d[i]).clamp(lo[i], hi[i]);
            }
            let fnew = f(&xn, &mut gn);
            let dec: f64 = (0..n).map(|i| g[i] * (xn[i] - x[i])).sum();
            if fnew.is_finite() && gn.iter().all(|v| v.is_finite()) && fnew <= fx + 1e-4 * dec {
                accepted = Some(fnew);
                break;
            }
            t *= 0.5;
        }
        let Some(fnew) = accepted else { break };
        let s: Vec<f64> = (0..n).map(|i| xn[i] - x[i]).collect();
        let y: Vec<f64> = (0..n).map(|i| gn[i] - g[i]).collect();
        let sy: f64 = s.iter().zip(&y).map(|(a, b)| a * b).sum();
        let improvement = fx - fnew;
        std::mem::swap(&mut x, &mut xn);
        std::mem::swap(&mut g, &mut gn);
        fx = fnew;
        if sy > 1e-12 {
            if mem.len() == opt.m {
                mem.pop_front();
            }
            mem.push_back((s, y, 1.0 / sy));
        }
        if improvement < opt.f_tol * fx.abs().max(1.0) {
            break;
        }
    }
    (x, fx)
}

fn masked_dot(a: &[f64], b: &[f64], free: &[bool]) -> f64 {
    a.iter()
        .zip(b)
        .zip(free)
        .filter(|(_, f)| **f)
        .map(|((x, y), _)| x * y)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimises_rosenbrock_and_respects_bounds() {
        let rosen = |x: &[f64], g: &mut [f64]| {
            g[0] = -400.0 * x[0] * (x[1] - x[0] * x[0]) - 2.0 * (1.0 - x[0]);
            g[1] = 200.0 * (x[1] - x[0] * x[0]);
            100.0 * (x[1] - x[0] * x[0]).powi(2) + (1.0 - x[0]).powi(2)
        };
        let opt = Options {
            max_iter: 500,
            ..Options::default()
        };
        let (x, fx) = minimize(rosen, &[-1.2, 1.0], &[-2.0, -2.0], &[2.0, 2.0], opt);
        assert!(fx < 1e-8, "{x:?} {fx}");
        // With the optimum outside the box, the answer sits on the bound.
        let (x, _) = minimize(rosen, &[0.1, 0.1], &[-2.0, -2.0], &[0.5, 2.0], opt);
        assert!(
            (x[0] - 0.5).abs() < 1e-9 && (x[1] - 0.25).abs() < 1e-3,
            "{x:?}"
        );
    }
}

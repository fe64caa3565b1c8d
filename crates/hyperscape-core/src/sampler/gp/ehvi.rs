//! Log expected hypervolume improvement (log-EHVI) for several objectives, exact and in
//! closed form for independent Gaussian posteriors (one GP per objective).
//!
//! Everything minimises. The region inside the reference point `r` that the current
//! front does *not* dominate is cut into disjoint boxes `[l, u)` (`l` may be `−∞`):
//! slabs along the first objective between consecutive front coordinates, each slab
//! holding the region not dominated by the points before it, recursively; the last two
//! objectives are a staircase. That is `n + 1` boxes for two objectives and `O(n²)` for
//! three (exact for any number, `O(n^(m−1))` boxes).
//!
//! A new point `y` improves the hypervolume by `Σ_k Π_j (u_kj − max(y_j, l_kj))⁺`, so
//! with independent `Y_j ~ N(μ_j, σ_j²)`
//! `EHVI = Σ_k Π_j ψ(l_kj, u_kj)`, `ψ(l, u) = E[(u − max(Y, l))⁺] = σ (h(b) − h(a))`,
//! `a = (l − μ)/σ`, `b = (u − μ)/σ`, `h(z) = φ(z) + zΦ(z)` (the log-EI function, since
//! `E[(u − Y)⁺] = σ h(b)` and `(u − max(Y, l))⁺ = (u − Y)⁺ − (l − Y)⁺`).
//!
//! In log space: `ln ψ = ln σ + ln h(b) + ln(1 − e^(ln h(a) − ln h(b)))` with the stable
//! `ln h` of [`super::acqf::log_h`] (when the two logs agree to 1e-8 the difference is
//! taken as `(b − a) Φ((a+b)/2)`), and `ln EHVI = logsumexp_k Σ_j ln ψ_kj`, so it stays
//! finite and ordered far beyond where `EHVI` itself underflows to 0.
//!
//! Gradients are analytic: `∂ψ/∂μ = −(Φ(b) − Φ(a))`, `∂ψ/∂σ = φ(b) − φ(a)`.

use super::acqf::{log1mexp, log_h, log_ndtr};

/// `ln√(2π)`.
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;
/// Marks a lower bound of `−∞`.
const NO_LOWER: u32 = u32::MAX;

/// The box decomposition of the non-dominated region, ready to score posteriors.
#[derive(Debug, Clone)]
pub struct Ehvi {
    m: usize,
    /// Per objective, the sorted distinct bounds the boxes use.
    coords: Vec<Vec<f64>>,
    /// Per box and objective: (index of the lower bound or `NO_LOWER`, upper bound).
    cells: Vec<(u32, u32)>,
}

/// Boxes `(lower, upper)` of the region inside `r` not dominated by `pts` (all of
/// whose coordinates are `< r`).
fn boxes(pts: &[&[f64]], r: &[f64]) -> Vec<(Vec<f64>, Vec<f64>)> {
    let m = r.len();
    if m == 1 {
        let u = pts.iter().map(|p| p[0]).fold(r[0], f64::min);
        return vec![(vec![f64::NEG_INFINITY], vec![u])];
    }
    if m == 2 {
        // Staircase: x strictly increasing, y strictly decreasing.
        let mut s: Vec<[f64; 2]> = pts.iter().map(|p| [p[0], p[1]]).collect();
        s.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
        let mut stair: Vec<[f64; 2]> = Vec::new();
        for p in s {
            if stair.last().is_none_or(|q| p[1] < q[1]) {
                stair.push(p);
            }
        }
        let mut out = Vec::with_capacity(stair.len() + 1);
        let first_x = stair.first().map_or(r[0], |p| p[0]);
        out.push((
            vec![f64::NEG_INFINITY, f64::NEG_INFINITY],
            vec![first_x, r[1]],
        ));
        for (i, p) in stair.iter().enumerate() {
            let next_x = stair.get(i + 1).map_or(r[0], |q| q[0]);
            if next_x > p[0] {
                out.push((vec![p[0], f64::NEG_INFINITY], vec![next_x, p[1]]));
            }
        }
        return out;
    }
    let mut order: Vec<&[f64]> = pts.to_vec();
    order.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let mut out = Vec::new();
    let mut push_slab = |lo: f64, hi: f64, set: &[&[f64]]| {
        let proj: Vec<&[f64]> = set.iter().map(|p| &p[1..]).collect();
        for (mut l, mut u) in boxes(&proj, &r[1..]) {
            l.insert(0, lo);
            u.insert(0, hi);
            out.push((l, u));
        }
    };
    let first = order.first().map_or(r[0], |p| p[0]);
    push_slab(f64::NEG_INFINITY, first, &[]);
    let mut i = 0;
    while i < order.len() {
        let x = order[i][0];
        let mut j = i;
        while j < order.len() && order[j][0] == x {
            j += 1;
        }
        let next = order.get(j).map_or(r[0], |p| p[0]);
        if next > x {
            push_slab(x, next, &order[..j]);
        }
        i = j;
    }
    out
}

/// Per-objective terms at one posterior: `z` at every bound and its `ln h`, `ln Φ`.
struct Terms {
    z: Vec<f64>,
    lh: Vec<f64>,
    lcdf: Vec<f64>,
}

impl Terms {
    fn new(coords: &[f64], mu: f64, s: f64, with_cdf: bool) -> Self {
        let z: Vec<f64> = coords.iter().map(|c| (c - mu) / s).collect();
        let lh = z.iter().map(|&v| log_h(v)).collect();
        let lcdf = if with_cdf {
            z.iter().map(|&v| log_ndtr(v)).collect()
        } else {
            Vec::new()
        };
        Self { z, lh, lcdf }
    }

    /// `ln(h(b) − h(a))` for the box side `(lo, hi)`.
    fn log_width(&self, lo: u32, hi: u32) -> f64 {
        let hi = hi as usize;
        if lo == NO_LOWER {
            return self.lh[hi];
        }
        let lo = lo as usize;
        let d = self.lh[lo] - self.lh[hi];
        if d > -1e-8 {
            let (a, b) = (self.z[lo], self.z[hi]);
            (b - a).max(f64::MIN_POSITIVE).ln() + log_ndtr(0.5 * (a + b))
        } else {
            self.lh[hi] + log1mexp(d)
        }
    }

    /// `ln(Φ(b) − Φ(a))`.
    fn log_cdf_width(&self, lo: u32, hi: u32) -> f64 {
        let hi = hi as usize;
        if lo == NO_LOWER {
            return self.lcdf[hi];
        }
        let lo = lo as usize;
        let d = (self.lcdf[lo] - self.lcdf[hi]).min(0.0);
        if d > -1e-8 {
            let (a, b) = (self.z[lo], self.z[hi]);
            let mid = 0.5 * (a + b);
            (b - a).max(f64::MIN_POSITIVE).ln() - 0.5 * mid * mid - LN_SQRT_2PI
        } else {
            self.lcdf[hi] + log1mexp(d)
        }
    }

    fn log_pdf(&self, i: usize) -> f64 {
        -0.5 * self.z[i] * self.z[i] - LN_SQRT_2PI
    }
}

impl Ehvi {
    /// The decomposition for the observed `front` (minimised values, one row per point;
    /// dominated points and points not better than `r` in every objective are ignored)
    /// and the reference point `r`.
    pub fn new(front: &[Vec<f64>], r: &[f64]) -> Self {
        let m = r.len();
        let inside: Vec<&[f64]> = front
            .iter()
            .map(Vec::as_slice)
            .filter(|p| p.len() == m && p.iter().zip(r).all(|(a, b)| a < b))
            .collect();
        let nd: Vec<&[f64]> = inside
            .iter()
            .enumerate()
            .filter(|(i, p)| {
                !inside.iter().enumerate().any(|(j, q)| {
                    (j != *i && super::super::multi::dominates(q, p)) || (j < *i && q == *p)
                })
            })
            .map(|(_, p)| *p)
            .collect();
        let bx = boxes(&nd, r);
        let mut coords: Vec<Vec<f64>> = (0..m)
            .map(|j| {
                let mut c: Vec<f64> = nd.iter().map(|p| p[j]).collect();
                c.push(r[j]);
                c.sort_by(f64::total_cmp);
                c.dedup();
                c
            })
            .collect();
        coords.iter_mut().for_each(|c| c.shrink_to_fit());
        let idx = |j: usize, v: f64| -> u32 {
            if v == f64::NEG_INFINITY {
                NO_LOWER
            } else {
                coords[j].partition_point(|c| *c < v) as u32
            }
        };
        let mut cells = Vec::with_capacity(bx.len() * m);
        for (l, u) in &bx {
            for j in 0..m {
                cells.push((idx(j, l[j]), idx(j, u[j])));
            }
        }
        Self { m, coords, cells }
    }

    /// Number of boxes.
    pub fn n_cells(&self) -> usize {
        self.cells.len() / self.m.max(1)
    }

    /// `ln EHVI` for the independent posteriors `N(mu_j, var_j)`.
    pub fn log_value(&self, mu: &[f64], var: &[f64]) -> f64 {
        let s: Vec<f64> = var.iter().map(|v| v.sqrt()).collect();
        let terms: Vec<Terms> = (0..self.m)
            .map(|j| Terms::new(&self.coords[j], mu[j], s[j], false))
            .collect();
        let mut acc = LogSumExp::default();
        for cell in self.cells.chunks(self.m) {
            let v: f64 = cell
                .iter()
                .zip(&terms)
                .map(|(&(lo, hi), t)| t.log_width(lo, hi))
                .sum();
            acc.add(v);
        }
        acc.value() + s.iter().map(|v| v.ln()).sum::<f64>()
    }

    /// `ln EHVI` and its gradient with respect to each `mu_j` and `var_j`.
    pub fn log_value_grad(
        &self,
        mu: &[f64],
        var: &[f64],
        dmu: &mut [f64],
        dvar: &mut [f64],
    ) -> f64 {
        let m = self.m;
        let s: Vec<f64> = var.iter().map(|v| v.sqrt()).collect();
        let terms: Vec<Terms> = (0..m)
            .map(|j| Terms::new(&self.coords[j], mu[j], s[j], true))
            .collect();
        let n = self.n_cells();
        let mut logs = Vec::with_capacity(n * m);
        let mut cell_sum = Vec::with_capacity(n);
        for cell in self.cells.chunks(m) {
            let mut tot = 0.0;
            for (&(lo, hi), t) in cell.iter().zip(&terms) {
                let w = t.log_width(lo, hi);
                logs.push(w);
                tot += w;
            }
            cell_sum.push(tot);
        }
        let top = cell_sum.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        dmu.iter_mut().for_each(|g| *g = 0.0);
        dvar.iter_mut().for_each(|g| *g = 0.0);
        if !top.is_finite() {
            return f64::NEG_INFINITY;
        }
        let total: f64 = cell_sum.iter().map(|v| (v - top).exp()).sum();
        let lse = top + total.ln();
        let mut dsig = vec![0.0; m];
        for (k, cell) in self.cells.chunks(m).enumerate() {
            let w = (cell_sum[k] - lse).exp();
            if w == 0.0 {
                continue;
            }
            for (j, (&(lo, hi), t)) in cell.iter().zip(&terms).enumerate() {
                // ψ = σ H; ∂ln ψ/∂μ = −(Φ(b) − Φ(a))/(σH), ∂ln ψ/∂σ = (φ(b) − φ(a))/(σH).
                let lw = logs[k * m + j];
                let rc = (t.log_cdf_width(lo, hi) - lw).exp();
                let mut rp = (t.log_pdf(hi as usize) - lw).exp();
                if lo != NO_LOWER {
                    rp -= (t.log_pdf(lo as usize) - lw).exp();
                }
                dmu[j] -= w * rc / s[j];
                dsig[j] += w * rp / s[j];
            }
        }
        for j in 0..m {
            dvar[j] = dsig[j] / (2.0 * s[j]);
        }
        lse + s.iter().map(|v| v.ln()).sum::<f64>()
    }
}

/// A running log-sum-exp.
#[derive(Default)]
struct LogSumExp {
    top: f64,
    sum: f64,
    any: bool,
}

impl LogSumExp {
    fn add(&mut self, v: f64) {
        if !v.is_finite() {
            return;
        }
        if !self.any {
            self.top = v;
            self.sum = 1.0;
            self.any = true;
        } else if v > self.top {
            self.sum = self.sum * (self.top - v).exp() + 1.0;
            self.top = v;
        } else {
            self.sum += (v - self.top).exp();
        }
    }

    fn value(&self) -> f64 {
        if self.any {
            self.top + self.sum.ln()
        } else {
            f64::NEG_INFINITY
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampler::multi::hypervolume;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn normal(rng: &mut ChaCha8Rng) -> f64 {
        // Box–Muller.
        let u: f64 = 1.0 - rng.random::<f64>();
        let v: f64 = rng.random();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    /// Brute-force Monte Carlo EHVI and its standard error.
    fn mc_ehvi(front: &[Vec<f64>], r: &[f64], mu: &[f64], sd: &[f64], n: usize) -> (f64, f64) {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let pts: Vec<&[f64]> = front.iter().map(Vec::as_slice).collect();
        let base = hypervolume(&pts, r);
        let (mut s, mut s2) = (0.0, 0.0);
        for _ in 0..n {
            let y: Vec<f64> = (0..mu.len())
                .map(|j| mu[j] + sd[j] * normal(&mut rng))
                .collect();
            let mut with = pts.clone();
            with.push(y.as_slice());
            let v = hypervolume(&with, r) - base;
            s += v;
            s2 += v * v;
        }
        let mean = s / n as f64;
        let se = ((s2 / n as f64 - mean * mean) / n as f64).sqrt();
        (mean, se)
    }

    #[test]
    fn boxes_cover_exactly_the_non_dominated_region() {
        // Within a box [lo, r] below every point, the boxes' volume is the box's volume
        // minus the hypervolume.
        let fronts: Vec<(Vec<Vec<f64>>, Vec<f64>)> = vec![
            (
                vec![
                    vec![0.0, 3.0],
                    vec![1.0, 2.0],
                    vec![2.5, 0.5],
                    vec![1.5, 2.5],
                ],
                vec![4.0, 4.0],
            ),
            (
                vec![
                    vec![0.1, 0.9, 0.5],
                    vec![0.5, 0.5, 0.5],
                    vec![0.9, 0.1, 0.3],
                    vec![0.3, 0.3, 0.9],
                    vec![0.6, 0.6, 0.6],
                    vec![0.5, 0.2, 0.8],
                ],
                vec![1.0, 1.0, 1.0],
            ),
        ];
        for (front, r) in fronts {
            let m = r.len();
            let lo = vec![-1.0; m];
            let e = Ehvi::new(&front, &r);
            let mut vol = 0.0;
            for cell in e.cells.chunks(m) {
                let mut v = 1.0;
                for (j, &(l, u)) in cell.iter().enumerate() {
                    let l = if l == NO_LOWER {
                        lo[j]
                    } else {
                        e.coords[j][l as usize]
                    };
                    v *= (e.coords[j][u as usize] - l).max(0.0);
                }
                vol += v;
            }
            let pts: Vec<&[f64]> = front.iter().map(Vec::as_slice).collect();
            let total: f64 = r.iter().zip(&lo).map(|(a, b)| a - b).product();
            let hv = hypervolume(&pts, &r);
            assert!(
                (vol - (total - hv)).abs() < 1e-12,
                "{vol} vs {}",
                total - hv
            );
        }
    }

    #[test]
    fn two_objective_ehvi_matches_monte_carlo() {
        let front = vec![vec![0.2, 1.5], vec![0.8, 0.9], vec![1.6, 0.3]];
        let r = vec![2.0, 2.0];
        let e = Ehvi::new(&front, &r);
        assert_eq!(e.n_cells(), 4);
        for (mu, sd) in [
            ([0.7, 0.7], [0.3, 0.4]),
            ([0.0, 0.0], [0.5, 0.5]),
            ([1.9, 1.9], [0.2, 0.1]),
            ([2.5, 0.1], [0.6, 0.3]),
        ] {
            let exact = e.log_value(&mu, &[sd[0] * sd[0], sd[1] * sd[1]]).exp();
            let (mc, se) = mc_ehvi(&front, &r, &mu, &sd, 200_000);
            assert!(
                (exact - mc).abs() < 4.0 * se + 1e-6,
                "mu {mu:?}: exact {exact} vs Monte Carlo {mc} ± {se}"
            );
        }
    }

    #[test]
    fn three_objective_ehvi_matches_monte_carlo() {
        let front = vec![
            vec![0.1, 0.8, 0.6],
            vec![0.5, 0.5, 0.4],
            vec![0.8, 0.2, 0.5],
            vec![0.4, 0.3, 0.9],
        ];
        let r = vec![1.1, 1.1, 1.1];
        let e = Ehvi::new(&front, &r);
        for (mu, sd) in [
            ([0.4, 0.4, 0.4], [0.2, 0.2, 0.2]),
            ([0.9, 0.9, 0.2], [0.3, 0.1, 0.2]),
        ] {
            let var: Vec<f64> = sd.iter().map(|s| s * s).collect();
            let exact = e.log_value(&mu, &var).exp();
            let (mc, se) = mc_ehvi(&front, &r, &mu, &sd, 100_000);
            assert!(
                (exact - mc).abs() < 4.0 * se + 1e-6,
                "mu {mu:?}: exact {exact} vs Monte Carlo {mc} ± {se}"
            );
        }
    }

    #[test]
    fn empty_front_gives_the_product_of_one_sided_improvements() {
        let e = Ehvi::new(&[], &[1.0, 2.0]);
        let (mu, var) = ([0.5, 0.5], [0.04, 0.25]);
        let want: f64 = (0..2)
            .map(|j| {
                let s = f64::sqrt(var[j]);
                s * log_h(([1.0, 2.0][j] - mu[j]) / s).exp()
            })
            .product();
        assert!((e.log_value(&mu, &var).exp() - want).abs() < 1e-12);
    }

    #[test]
    fn log_ehvi_stays_finite_and_ordered_where_ehvi_underflows() {
        let front = vec![vec![0.0, 1.0], vec![1.0, 0.0]];
        let e = Ehvi::new(&front, &[1.5, 1.5]);
        let mut last = f64::INFINITY;
        for shift in [5.0, 20.0, 40.0, 80.0, 200.0] {
            let v = e.log_value(&[1.5 + shift * 0.1, 1.5 + shift * 0.1], &[0.01, 0.01]);
            assert!(v.is_finite(), "shift {shift}: {v}");
            assert!(v < last, "shift {shift}: {v} not below {last}");
            last = v;
        }
        // Far out the plain value is 0, the log value is not −∞.
        assert_eq!(last.exp(), 0.0);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let front = vec![
            vec![0.1, 0.8, 0.6],
            vec![0.5, 0.5, 0.4],
            vec![0.8, 0.2, 0.5],
        ];
        let e = Ehvi::new(&front, &[1.1, 1.1, 1.1]);
        for (mu, var) in [
            ([0.4, 0.45, 0.5], [0.04, 0.09, 0.02]),
            ([1.5, 1.3, 1.2], [0.01, 0.02, 0.01]),
            ([0.5, 0.5, 0.4], [1e-6, 1e-6, 1e-6]),
        ] {
            let (mut gm, mut gv) = ([0.0; 3], [0.0; 3]);
            let v = e.log_value_grad(&mu, &var, &mut gm, &mut gv);
            assert!((v - e.log_value(&mu, &var)).abs() < 1e-10);
            for j in 0..3 {
                let h = 1e-6;
                let (mut a, mut b) = (mu, mu);
                a[j] += h;
                b[j] -= h;
                let fd = (e.log_value(&a, &var) - e.log_value(&b, &var)) / (2.0 * h);
                assert!(
                    (fd - gm[j]).abs() < 1e-4 * (1.0 + fd.abs()),
                    "dmu{j}: {fd} vs {}",
                    gm[j]
                );
                let h = var[j] * 1e-4;
                let (mut a, mut b) = (var, var);
                a[j] += h;
                b[j] -= h;
                let fd = (e.log_value(&mu, &a) - e.log_value(&mu, &b)) / (2.0 * h);
                assert!(
                    (fd - gv[j]).abs() < 1e-3 * (1.0 + fd.abs()),
                    "dvar{j}: {fd} vs {}",
                    gv[j]
                );
            }
        }
    }
}

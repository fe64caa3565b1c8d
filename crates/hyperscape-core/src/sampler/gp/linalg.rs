//! Dense linear algebra for the GP: a packed lower-triangular Cholesky factor that
//! grows one row at a time, and its triangular solves.
//!
//! Row `i` of the factor holds `i + 1` entries, stored one after another, so appending
//! an observation is a forward solve plus a push (O(n²)), and both solves read rows
//! contiguously. Factorisation escalates the diagonal jitter (×10 from `1e-9`) until the
//! matrix is numerically positive definite.

/// A lower-triangular Cholesky factor `L` with `L Lᵀ = A + jitter·I`.
#[derive(Debug, Clone, Default)]
pub struct Chol {
    n: usize,
    data: Vec<f64>,
    /// Diagonal jitter added to reach positive definiteness.
    pub jitter: f64,
}

/// Smallest jitter tried after a plain factorisation fails.
const JITTER0: f64 = 1e-9;
/// Largest jitter tried before giving up.
const JITTER_MAX: f64 = 1e-1;

#[inline]
fn row_start(i: usize) -> usize {
    i * (i + 1) / 2
}

impl Chol {
    pub fn n(&self) -> usize {
        self.n
    }

    /// Row `i` (its `i + 1` entries).
    #[inline]
    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[row_start(i)..row_start(i + 1)]
    }

    /// Factorises the symmetric matrix whose lower triangle `a(i, j)` (j <= i) gives,
    /// escalating the jitter from `min_jitter` when needed. `None` when even the largest
    /// jitter fails (non-finite entries).
    pub fn factor(n: usize, a: impl Fn(usize, usize) -> f64, min_jitter: f64) -> Option<Self> {
        let mut packed = Vec::with_capacity(row_start(n));
        for i in 0..n {
            for j in 0..=i {
                packed.push(a(i, j));
            }
        }
        let mut jitter = min_jitter;
        loop {
            if let Some(data) = try_factor(n, &packed, jitter) {
                return Some(Self { n, data, jitter });
            }
            jitter = if jitter <= 0.0 {
                JITTER0
            } else {
                (jitter * 10.0).max(JITTER0)
            };
            if jitter > JITTER_MAX {
                return None;
            }
        }
    }

    /// Appends one row: `k` are the covariances with the existing points, `kss` the new
    /// point's variance (without jitter). `false` (and no change) when the new pivot is
    /// not safely positive, so the caller refactorises with more jitter.
    pub fn push(&mut self, k: &[f64], kss: f64) -> bool {
        debug_assert_eq!(k.len(), self.n);
        let l = self.solve_lower(k);
        let d2 = kss + self.jitter - l.iter().map(|v| v * v).sum::<f64>();
        if !(d2.is_finite() && d2 > 1e-10 * kss.abs().max(1e-300)) {
            return false;
        }
        self.data.extend_from_slice(&l);
        self.data.push(d2.sqrt());
        self.n += 1;
        true
    }

    /// Solves `L x = b`.
    pub fn solve_lower(&self, b: &[f64]) -> Vec<f64> {
        let mut x = b.to_vec();
        self.solve_lower_in_place(&mut x);
        x
    }

    pub fn solve_lower_in_place(&self, x: &mut [f64]) {
        for i in 0..self.n {
            let r = self.row(i);
            let s: f64 = dot(&r[..i], &x[..i]);
            x[i] = (x[i] - s) / r[i];
        }
    }

    /// Solves `Lᵀ x = b` in place.
    pub fn solve_upper_in_place(&self, x: &mut [f64]) {
        for i in (0..self.n).rev() {
            let r = self.row(i);
            x[i] /= r[i];
            let xi = x[i];
            for (xj, lij) in x[..i].iter_mut().zip(&r[..i]) {
                *xj -= lij * xi;
            }
        }
    }

    /// Solves `(L Lᵀ) x = b`.
    pub fn solve(&self, b: &[f64]) -> Vec<f64> {
        let mut x = b.to_vec();
        self.solve_lower_in_place(&mut x);
        self.solve_upper_in_place(&mut x);
        x
    }

    /// `ln det(L Lᵀ)`.
    pub fn log_det(&self) -> f64 {
        2.0 * (0..self.n).map(|i| self.row(i)[i].ln()).sum::<f64>()
    }

    /// The full inverse `(L Lᵀ)⁻¹`, row-major `n × n`.
    pub fn inverse(&self) -> Vec<f64> {
        let n = self.n;
        // L⁻¹ by forward substitution, column by column, stored row-major.
        let mut linv = vec![0.0; n * n];
        for c in 0..n {
            linv[c * n + c] = 1.0 / self.row(c)[c];
            for i in c + 1..n {
                let r = self.row(i);
                let mut s = 0.0;
                for (j, lij) in r.iter().enumerate().take(i).skip(c) {
                    s += lij * linv[j * n + c];
                }
                linv[i * n + c] = -s / r[i];
            }
        }
        // (L Lᵀ)⁻¹ = L⁻ᵀ L⁻¹: entry (a, b) = Σ_k L⁻¹[k][a] L⁻¹[k][b], k >= max(a, b).
        let mut out = vec![0.0; n * n];
        for k in 0..n {
            let row = &linv[k * n..k * n + k + 1];
            for a in 0..=k {
                let va = row[a];
                if va == 0.0 {
                    continue;
                }
                let o = &mut out[a * n..a * n + a + 1];
                for (ob, vb) in o.iter_mut().zip(&row[..=a]) {
                    *ob += va * vb;
                }
            }
        }
        for a in 0..n {
            for b in 0..a {
                out[b * n + a] = out[a * n + b];
            }
        }
        out
    }
}

fn try_factor(n: usize, a: &[f64], jitter: f64) -> Option<Vec<f64>> {
    let mut l = vec![0.0; a.len()];
    for i in 0..n {
        let ri = row_start(i);
        for j in 0..=i {
            let rj = row_start(j);
            let s = dot(&l[ri..ri + j], &l[rj..rj + j]);
            if i == j {
                let d = a[ri + i] + jitter - s;
                if !(d.is_finite() && d > 0.0) {
                    return None;
                }
                l[ri + i] = d.sqrt();
            } else {
                l[ri + j] = (a[ri + j] - s) / l[rj + j];
            }
        }
    }
    Some(l)
}

#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    // Four accumulators: lets the compiler vectorise without reassociating.
    let mut s = [0.0; 4];
    let ca = a.chunks_exact(4);
    let cb = b.chunks_exact(4);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            s[k] += x[k] * y[k];
        }
    }
    let mut t = (s[0] + s[1]) + (s[2] + s[3]);
    for (x, y) in ra.iter().zip(rb) {
        t += x * y;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spd(n: usize) -> Vec<f64> {
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                let d = i as f64 - j as f64;
                a[i * n + j] = (-d * d / 8.0).exp();
            }
            a[i * n + i] += 0.1;
        }
        a
    }

    #[test]
    fn factor_solve_inverse_and_push_agree() {
        let n = 7;
        let a = spd(n);
        let c = Chol::factor(n, |i, j| a[i * n + j], 0.0).unwrap();
        let b: Vec<f64> = (0..n).map(|i| i as f64 - 2.0).collect();
        let x = c.solve(&b);
        for i in 0..n {
            let ax: f64 = (0..n).map(|j| a[i * n + j] * x[j]).sum();
            assert!((ax - b[i]).abs() < 1e-10);
        }
        let inv = c.inverse();
        for i in 0..n {
            for j in 0..n {
                let e: f64 = (0..n).map(|k| a[i * n + k] * inv[k * n + j]).sum();
                assert!((e - if i == j { 1.0 } else { 0.0 }).abs() < 1e-10);
            }
        }
        let mut g = Chol::factor(n - 1, |i, j| a[i * n + j], 0.0).unwrap();
        assert!(g.push(&a[(n - 1) * n..(n - 1) * n + n - 1], a[n * n - 1]));
        for i in 0..n {
            for (p, q) in g.row(i).iter().zip(c.row(i)) {
                assert!((p - q).abs() < 1e-12);
            }
        }
        let ld: f64 = c.log_det();
        assert!(ld.is_finite());
    }

    #[test]
    fn duplicate_points_factor_with_jitter() {
        // A rank-one matrix (every point the same) is singular: jitter rescues it.
        let c = Chol::factor(5, |_, _| 1.0, 0.0).unwrap();
        assert!(c.jitter > 0.0 && c.jitter <= JITTER_MAX);
        assert!(c.solve(&[1.0; 5]).iter().all(|v| v.is_finite()));
        assert!(Chol::factor(2, |_, _| f64::NAN, 0.0).is_none());
    }
}

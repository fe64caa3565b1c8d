//! NSGA-III (Deb & Jain 2014), after Optuna's `NSGAIIISampler`: NSGA-II's generations,
//! tournaments, crossover and mutation (`nsga2.rs`), with the last front cut by
//! *reference-point niching* instead of crowding distance, which keeps the population
//! spread over the front for three or more objectives.
//!
//! - **Reference directions**: Das & Dennis's simplex lattice, every vector of `m`
//!   non-negative multiples of `1/p` summing to 1 (`C(p + m − 1, m − 1)` of them); by
//!   default the largest `p` whose lattice is no larger than the population.
//! - **Normalisation** of the candidates (the fronts that fill the population): minus
//!   the ideal point, then divided by the intercepts of the hyperplane through the
//!   extreme points (each axis' minimiser of the achievement scalarising function);
//!   when that plane is degenerate, by the worst value of each objective instead.
//! - **Association**: each candidate to the reference line nearest to it
//!   (perpendicular distance); niche counts from the fronts kept whole.
//! - **Niching**: while places are left, a least-crowded reference line (seeded coin
//!   among ties) takes the nearest candidate of the last front if its count is 0, a
//!   seeded random one otherwise; a line with no candidate is set aside.
//!
//! Infeasible fronts (Deb's constrained domination puts them after every feasible one)
//! are cut in trial order, as they have no spread to keep.

use rand::Rng;

use super::multi::constrained_fronts;
use super::nsga2::{Member, Nsga2Builder, Nsga2Sampler, Survival};
use super::trial_rng;
use crate::error::{Error, Result};

/// Builds an NSGA-III sampler (an [`Nsga2Sampler`] with reference-point survival,
/// named `nsga3`).
#[derive(Debug, Clone, Default)]
pub struct Nsga3Builder {
    inner: Nsga2Builder,
    divisions: Option<usize>,
}

impl Nsga3Builder {
    /// Seed of every random draw; `None` (default) takes one from the OS.
    pub fn seed(mut self, seed: Option<u64>) -> Self {
        self.inner = self.inner.seed(seed);
        self
    }
    /// Individuals per generation (default 50, at least 2).
    pub fn population_size(mut self, n: usize) -> Self {
        self.inner = self.inner.population_size(n);
        self
    }
    /// Divisions `p` of the reference lattice (default: the largest whose
    /// `C(p + m − 1, m − 1)` directions do not outnumber the population).
    pub fn divisions(mut self, p: Option<usize>) -> Self {
        self.divisions = p;
        self
    }
    /// Probability that a child is bred by crossover (default 0.9).
    pub fn crossover_prob(mut self, p: f64) -> Self {
        self.inner = self.inner.crossover_prob(p);
        self
    }
    /// Per-parameter mutation probability (default `1/d`).
    pub fn mutation_prob(mut self, p: Option<f64>) -> Self {
        self.inner = self.inner.mutation_prob(p);
        self
    }

    /// Checks the settings.
    pub fn build(self) -> Result<Nsga2Sampler> {
        if self.divisions == Some(0) {
            return Err(Error::InvalidSampler(
                "nsga3: divisions must be at least 1".into(),
            ));
        }
        self.inner
            .survival(Survival::ReferencePoints {
                divisions: self.divisions,
            })
            .build()
    }
}

/// `n choose k`, saturating.
fn binomial(n: usize, k: usize) -> usize {
    let mut r: usize = 1;
    for i in 0..k.min(n - k.min(n)) {
        r = r.saturating_mul(n - i) / (i + 1);
    }
    r
}

/// The default divisions: the largest `p ≥ 1` with at most `population` directions.
pub(super) fn default_divisions(m: usize, population: usize) -> usize {
    let mut p = 1;
    while p < population && binomial(p + m, m.saturating_sub(1)) <= population {
        p += 1;
    }
    p
}

/// Das–Dennis reference directions: every `m`-vector of multiples of `1/p` summing to 1.
pub fn reference_directions(m: usize, p: usize) -> Vec<Vec<f64>> {
    fn rec(left: usize, slots: usize, p: usize, cur: &mut Vec<f64>, out: &mut Vec<Vec<f64>>) {
        if slots == 1 {
            cur.push(left as f64 / p as f64);
            out.push(cur.clone());
            cur.pop();
            return;
        }
        for k in 0..=left {
            cur.push(k as f64 / p as f64);
            rec(left - k, slots - 1, p, cur, out);
            cur.pop();
        }
    }
    let mut out = Vec::new();
    if m == 0 || p == 0 {
        return out;
    }
    rec(p, m, p, &mut Vec::with_capacity(m), &mut out);
    out
}

/// Solves `a x = b` (`n × n`, row-major) by Gaussian elimination with partial pivoting;
/// `None` when singular.
fn solve(mut a: Vec<f64>, mut b: Vec<f64>, n: usize) -> Option<Vec<f64>> {
    for c in 0..n {
        let piv = (c..n).max_by(|&i, &j| a[i * n + c].abs().total_cmp(&a[j * n + c].abs()))?;
        if a[piv * n + c].abs() < 1e-12 {
            return None;
        }
        if piv != c {
            for k in 0..n {
                a.swap(c * n + k, piv * n + k);
            }
            b.swap(c, piv);
        }
        for r in c + 1..n {
            let f = a[r * n + c] / a[c * n + c];
            for k in c..n {
                a[r * n + k] -= f * a[c * n + k];
            }
            b[r] -= f * b[c];
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        let s: f64 = (r + 1..n).map(|k| a[r * n + k] * x[k]).sum();
        x[r] = (b[r] - s) / a[r * n + r];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// Normalised objective vectors of `pts` (ideal point at the origin, intercepts at 1).
pub(super) fn normalise(pts: &[&[f64]]) -> Vec<Vec<f64>> {
    let m = pts.first().map_or(0, |p| p.len());
    let ideal: Vec<f64> = (0..m)
        .map(|j| pts.iter().map(|p| p[j]).fold(f64::INFINITY, f64::min))
        .collect();
    let shifted: Vec<Vec<f64>> = pts
        .iter()
        .map(|p| p.iter().zip(&ideal).map(|(v, z)| v - z).collect())
        .collect();
    let worst: Vec<f64> = (0..m)
        .map(|j| shifted.iter().map(|p| p[j]).fold(0.0, f64::max))
        .collect();
    // Extreme point of each axis: the minimiser of max_i f_i / w_i, w = e_j (1e-6 off-axis).
    let extremes: Vec<&Vec<f64>> = (0..m)
        .filter_map(|j| {
            shifted.iter().min_by(|a, b| {
                let asf = |p: &Vec<f64>| {
                    (0..m)
                        .map(|i| p[i] / if i == j { 1.0 } else { 1e-6 })
                        .fold(f64::NEG_INFINITY, f64::max)
                };
                asf(a).total_cmp(&asf(b))
            })
        })
        .collect();
    let a: Vec<f64> = extremes.iter().flat_map(|p| p.iter().copied()).collect();
    let intercepts: Vec<f64> = match solve(a, vec![1.0; m], m) {
        Some(b)
            if b.iter()
                .zip(&worst)
                .all(|(x, w)| *x > 0.0 && (1.0 / x) > 1e-6 && (1.0 / x) <= 1e6 * w.max(1e-12)) =>
        {
            b.iter().map(|x| 1.0 / x).collect()
        }
        _ => worst
            .iter()
            .map(|w| if *w > 1e-12 { *w } else { 1.0 })
            .collect(),
    };
    shifted
        .into_iter()
        .map(|p| p.iter().zip(&intercepts).map(|(v, a)| v / a).collect())
        .collect()
}

/// The nearest reference line of each point and the perpendicular distance to it.
pub(super) fn associate(pts: &[Vec<f64>], refs: &[Vec<f64>]) -> Vec<(usize, f64)> {
    pts.iter()
        .map(|p| {
            refs.iter()
                .enumerate()
                .map(|(k, w)| {
                    let ww: f64 = w.iter().map(|v| v * v).sum();
                    let t = p.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / ww;
                    let d2: f64 = p.iter().zip(w).map(|(a, b)| (a - t * b).powi(2)).sum();
                    (k, d2.sqrt())
                })
                .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
                .unwrap_or((0, 0.0))
        })
        .collect()
}

/// NSGA-III survival: keeps `n` of `pool` (see the module documentation). `seed` and
/// `generation` seed the niching's coins.
pub(super) fn survive(
    pool: Vec<Member>,
    n: usize,
    divisions: Option<usize>,
    seed: u64,
    generation: u64,
) -> Vec<Member> {
    let pts: Vec<&[f64]> = pool.iter().map(|m| m.loss.as_slice()).collect();
    let viol: Vec<f64> = pool.iter().map(|m| m.violation).collect();
    let fronts = constrained_fronts(&pts, &viol);
    let mut kept: Vec<(usize, usize)> = Vec::with_capacity(n); // (index, rank)
    let mut last: Option<(usize, Vec<usize>)> = None;
    for (rank, front) in fronts.into_iter().enumerate() {
        if kept.len() + front.len() <= n {
            kept.extend(front.iter().map(|&i| (i, rank)));
            if kept.len() == n {
                break;
            }
        } else {
            last = Some((rank, front));
            break;
        }
    }
    if let Some((rank, mut front)) = last {
        let k = n - kept.len();
        if front.iter().any(|&i| pool[i].violation > 0.0) {
            // Infeasible: no spread to keep; older trials first.
            front.sort_by_key(|&i| pool[i].number);
            kept.extend(front.into_iter().take(k).map(|i| (i, rank)));
        } else {
            let m = pool[front[0]].loss.len();
            let p = divisions.unwrap_or_else(|| default_divisions(m, n));
            let refs = reference_directions(m, p);
            let cand: Vec<usize> = kept
                .iter()
                .map(|&(i, _)| i)
                .filter(|&i| pool[i].violation <= 0.0)
                .chain(front.iter().copied())
                .collect();
            let cpts: Vec<&[f64]> = cand.iter().map(|&i| pool[i].loss.as_slice()).collect();
            let assoc = associate(&normalise(&cpts), &refs);
            let n_kept_feasible = cand.len() - front.len();
            let mut count = vec![0usize; refs.len()];
            for a in &assoc[..n_kept_feasible] {
                count[a.0] += 1;
            }
            // Last-front members per reference line, with their distances.
            let mut members: Vec<Vec<(usize, f64)>> = vec![Vec::new(); refs.len()];
            for (c, &i) in front.iter().enumerate() {
                let (r, d) = assoc[n_kept_feasible + c];
                members[r].push((i, d));
            }
            let mut open: Vec<bool> = vec![true; refs.len()];
            let mut rng = trial_rng(seed, generation, "\u{0}nsga3-niche");
            let mut left = k;
            while left > 0 {
                let Some(min) = (0..refs.len()).filter(|&r| open[r]).map(|r| count[r]).min() else {
                    break;
                };
                let ties: Vec<usize> = (0..refs.len())
                    .filter(|&r| open[r] && count[r] == min)
                    .collect();
                let r = ties[rng.random_range(0..ties.len())];
                if members[r].is_empty() {
                    open[r] = false;
                    continue;
                }
                let pick = if count[r] == 0 {
                    (0..members[r].len())
                        .min_by(|&a, &b| {
                            members[r][a].1.total_cmp(&members[r][b].1).then(
                                pool[members[r][a].0]
                                    .number
                                    .cmp(&pool[members[r][b].0].number),
                            )
                        })
                        .unwrap_or(0)
                } else {
                    rng.random_range(0..members[r].len())
                };
                let (i, _) = members[r].swap_remove(pick);
                kept.push((i, rank));
                count[r] += 1;
                left -= 1;
            }
        }
    }
    let mut slots: Vec<Option<Member>> = pool.into_iter().map(Some).collect();
    kept.into_iter()
        .filter_map(|(i, rank)| {
            let mut m = slots[i].take()?;
            m.rank = rank;
            m.crowding = 0.0;
            Some(m)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn member(number: u64, loss: &[f64]) -> Member {
        Member {
            number,
            loss: loss.to_vec(),
            violation: 0.0,
            params: BTreeMap::new(),
            distributions: BTreeMap::new(),
            rank: 0,
            crowding: 0.0,
        }
    }

    #[test]
    fn reference_directions_are_the_simplex_lattice() {
        let r = reference_directions(3, 4);
        assert_eq!(r.len(), binomial(6, 2));
        assert_eq!(r.len(), 15);
        for w in &r {
            assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            assert!(w.iter().all(|v| *v >= 0.0));
        }
        assert_eq!(reference_directions(2, 3).len(), 4);
        assert_eq!(default_divisions(3, 50), 8); // C(10, 2) = 45 ≤ 50 < C(11, 2) = 55
        assert_eq!(default_divisions(2, 50), 49);
    }

    #[test]
    fn normalisation_maps_extremes_to_unit_intercepts() {
        let raw = [
            [2.0, 10.0, 30.0],
            [6.0, 2.0, 30.0],
            [2.0, 2.0, 90.0],
            [4.0, 6.0, 60.0],
        ];
        let pts: Vec<&[f64]> = raw.iter().map(|p| p.as_slice()).collect();
        let n = normalise(&pts);
        // Ideal (2, 2, 30) maps to the origin; the extreme points onto the axes' 1.
        assert!((n[0][1] - 1.0).abs() < 1e-9 && n[0][0].abs() < 1e-9);
        assert!((n[1][0] - 1.0).abs() < 1e-9);
        assert!((n[2][2] - 1.0).abs() < 1e-9);
    }

    #[test]
    fn niching_spreads_survivors_over_the_reference_lines() {
        // A 3-objective front crowded near one corner plus a few spread points: keep 6
        // of 30; crowding would keep the corner's extremes, niching keeps the spread.
        let mut pool = Vec::new();
        let mut k = 0;
        for i in 0..24 {
            let a = 0.01 * i as f64;
            pool.push(member(k, &[1.0 - a, a * 0.5, a * 0.5]));
            k += 1;
        }
        for p in [
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 1.0],
            [0.5, 0.5, 0.0],
            [0.0, 0.5, 0.5],
            [0.34, 0.33, 0.33],
            [0.5, 0.0, 0.5],
        ] {
            pool.push(member(k, &p));
            k += 1;
        }
        let kept = survive(pool.clone(), 6, Some(2), 1, 0);
        assert_eq!(kept.len(), 6);
        let spread = kept.iter().filter(|m| m.number >= 24).count();
        assert!(spread >= 4, "{spread} of the spread points kept: {kept:?}");
        // Seeded: the same call keeps the same members.
        let numbers = |v: &[Member]| v.iter().map(|m| m.number).collect::<Vec<_>>();
        assert_eq!(numbers(&kept), numbers(&survive(pool, 6, Some(2), 1, 0)));
    }

    #[test]
    fn bad_divisions_are_an_error() {
        let e = Nsga3Builder::default()
            .divisions(Some(0))
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("divisions"), "{e}");
    }
}

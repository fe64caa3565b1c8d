//! The landscape metrics. Each function documents its formula; `docs/landscape.md`
//! collects them. Every metric works on *scores*: fitness oriented so that higher
//! is better (`-fitness` when minimising); reported fitness values are raw.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use crate::landscape::{Landscape, ParamKind};
use crate::stats;

/// The improvement graph: for each configuration, the number of strictly better
/// neighbours and its best-improvement successor (itself for a local optimum; ties
/// between equally good best neighbours go to the smallest configuration id).
#[derive(Debug, Clone)]
pub struct Improvement {
    pub better: Vec<u32>,
    pub next: Vec<u32>,
}

impl Improvement {
    pub fn n_improving_edges(&self) -> u64 {
        self.better.iter().map(|&b| b as u64).sum()
    }
    pub fn is_local_optimum(&self, i: usize) -> bool {
        self.better[i] == 0
    }
    pub fn local_optima(&self) -> Vec<usize> {
        (0..self.better.len())
            .filter(|&i| self.better[i] == 0)
            .collect()
    }
}

/// Improving edges and best-improvement successors.
pub fn improvement(l: &Landscape, scores: &[f64]) -> Improvement {
    let (better, next): (Vec<u32>, Vec<u32>) = (0..l.len())
        .into_par_iter()
        .map(|i| {
            let s = scores[i];
            let mut count = 0;
            let mut best = i as u32;
            let mut best_s = s;
            for &j in l.neighbours(i) {
                let sj = scores[j as usize];
                if sj > s {
                    count += 1;
                    if sj > best_s || (sj == best_s && j < best) {
                        best = j;
                        best_s = sj;
                    }
                }
            }
            (count, best)
        })
        .unzip();
    Improvement { better, next }
}

/// Plateau-aware local optima: connected components of equal-fitness neighbours
/// (plateaus; a lone configuration is a plateau of one) none of whose members has
/// a strictly better neighbour. Returns `(count, members)`.
pub fn plateau_local_optima(l: &Landscape, scores: &[f64], imp: &Improvement) -> (usize, usize) {
    let n = l.len();
    let mut parent: Vec<u32> = (0..n as u32).collect();
    fn root(p: &mut [u32], mut x: u32) -> u32 {
        while p[x as usize] != x {
            p[x as usize] = p[p[x as usize] as usize];
            x = p[x as usize];
        }
        x
    }
    for i in 0..n {
        for &j in l.neighbours(i) {
            if (j as usize) > i && scores[j as usize] == scores[i] {
                let (a, b) = (root(&mut parent, i as u32), root(&mut parent, j));
                if a != b {
                    parent[a.max(b) as usize] = a.min(b);
                }
            }
        }
    }
    // A plateau is disqualified when any member has a strictly better neighbour.
    let mut ok = vec![true; n];
    let mut size = vec![0usize; n];
    for i in 0..n {
        let r = root(&mut parent, i as u32) as usize;
        size[r] += 1;
        if imp.better[i] > 0 {
            ok[r] = false;
        }
    }
    (0..n)
        .filter(|&i| size[i] > 0 && ok[i])
        .fold((0, 0), |(c, m), i| (c + 1, m + size[i]))
}

/// All configurations with the maximal score (ties kept), in id order.
pub fn global_optima(scores: &[f64]) -> Vec<usize> {
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (0..scores.len()).filter(|&i| scores[i] == max).collect()
}

/// Distance from every configuration to the nearest of `targets` (Manhattan over
/// ordinal level indices + Hamming over categorical/boolean parameters).
///
/// When the grid box is small enough to be dense, this is an exact separable
/// distance transform over the box, O(grid · d); otherwise O(n · |targets|).
pub fn distances_to(l: &Landscape, targets: &[usize]) -> Vec<u32> {
    if targets.is_empty() {
        return vec![u32::MAX; l.len()];
    }
    if l.dense_box() && targets.len() > 4 {
        return distance_transform(l, targets);
    }
    (0..l.len())
        .into_par_iter()
        .map(|i| targets.iter().map(|&t| l.distance(i, t)).min().unwrap())
        .collect()
}

fn distance_transform(l: &Landscape, targets: &[usize]) -> Vec<u32> {
    const INF: u32 = u32::MAX / 4;
    let size = l.grid_size() as usize;
    let mut dist = vec![INF; size];
    for &t in targets {
        dist[l.key(t) as usize] = 0;
    }
    for (k, p) in l.params().iter().enumerate() {
        let levels = p.levels.len();
        let stride = l.strides()[k] as usize;
        let kind = p.kind;
        dist.par_chunks_mut(levels * stride).for_each(|block| {
            for inner in 0..stride {
                match kind {
                    ParamKind::Ordinal => {
                        for v in 1..levels {
                            let prev = block[inner + (v - 1) * stride] + 1;
                            let cur = &mut block[inner + v * stride];
                            *cur = (*cur).min(prev);
                        }
                        for v in (0..levels - 1).rev() {
                            let next = block[inner + (v + 1) * stride] + 1;
                            let cur = &mut block[inner + v * stride];
                            *cur = (*cur).min(next);
                        }
                    }
                    ParamKind::Categorical | ParamKind::Boolean => {
                        let m = (0..levels)
                            .map(|v| block[inner + v * stride])
                            .min()
                            .unwrap();
                        for v in 0..levels {
                            let cur = &mut block[inner + v * stride];
                            *cur = (*cur).min(m + 1);
                        }
                    }
                }
            }
        });
    }
    (0..l.len()).map(|i| dist[l.key(i) as usize]).collect()
}

/// The neutrality threshold ε: absolute, or a share of the fitness range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "lowercase")]
pub enum Epsilon {
    Absolute(f64),
    Relative(f64),
}

impl Epsilon {
    /// The absolute threshold for fitness values `f`.
    pub fn resolve(&self, f: &[f64]) -> f64 {
        match *self {
            Epsilon::Absolute(e) => e,
            Epsilon::Relative(r) => {
                let (lo, hi) = f
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                        (a.min(x), b.max(x))
                    });
                r * (hi - lo)
            }
        }
    }
}

/// Per-configuration neutrality: the share of neighbours `j` with
/// `|f_i − f_j| ≤ ε` (`None` for a configuration without neighbours), and the
/// edge-level share (neutral directed pairs / all directed pairs).
pub fn neutrality(l: &Landscape, eps: f64) -> (Vec<Option<f64>>, Option<f64>) {
    let f = l.fitness();
    let per: Vec<(Option<f64>, u64)> = (0..l.len())
        .into_par_iter()
        .map(|i| {
            let nb = l.neighbours(i);
            if nb.is_empty() {
                return (None, 0);
            }
            let k = nb
                .iter()
                .filter(|&&j| (f[i] - f[j as usize]).abs() <= eps)
                .count();
            (Some(k as f64 / nb.len() as f64), k as u64)
        })
        .collect();
    let neutral: u64 = per.iter().map(|p| p.1).sum();
    let total = l.n_directed_edges();
    let edge_share = (total > 0).then(|| neutral as f64 / total as f64);
    (per.into_iter().map(|p| p.0).collect(), edge_share)
}

/// Autocorrelation at one lag.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LagAutocorrelation {
    pub lag: usize,
    /// Median over walks of the per-walk estimate (Pearson of `x[t]`, `x[t+k]`).
    pub median: Option<f64>,
    /// Pooled (Weinberger) estimate over all walks.
    pub pooled: Option<f64>,
    /// Number of walks whose per-walk estimate is defined.
    pub n_defined: usize,
}

/// Random walks on the neighbourhood graph (scores along each walk). Walk `w` uses
/// ChaCha8 seeded with `seed`, stream `w`, so results do not depend on threads.
/// Starts are uniform over configurations that have a neighbour; each step moves to
/// a uniformly chosen neighbour. Empty when no configuration has a neighbour.
pub fn random_walks(
    l: &Landscape,
    scores: &[f64],
    walks: usize,
    length: usize,
    seed: u64,
) -> Vec<Vec<f64>> {
    if l.n_directed_edges() == 0 || length == 0 {
        return Vec::new();
    }
    let starts: Vec<u32> = (0..l.len() as u32)
        .filter(|&i| !l.neighbours(i as usize).is_empty())
        .collect();
    (0..walks)
        .into_par_iter()
        .map(|w| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(w as u64);
            let mut cur = starts[rng.random_range(0..starts.len())] as usize;
            let mut series = Vec::with_capacity(length);
            series.push(scores[cur]);
            for _ in 1..length {
                let nb = l.neighbours(cur);
                cur = nb[rng.random_range(0..nb.len())] as usize;
                series.push(scores[cur]);
            }
            series
        })
        .collect()
}

/// Lag-k autocorrelation of walk series for lags `1..=max_lag`.
///
/// Per walk: `r_k = pearson(x[0..L−k], x[k..L])` (pandas' `autocorr`); reported as
/// the median over walks where it is defined. Pooled (Weinberger 1990):
/// `ρ(k) = mean over all walks and t of (x_t − μ)(x_{t+k} − μ) / σ²`, with μ and σ²
/// the mean and (population) variance of all walk points.
pub fn autocorrelation(series: &[Vec<f64>], max_lag: usize) -> Vec<LagAutocorrelation> {
    let all: Vec<f64> = series.iter().flatten().copied().collect();
    let m = all.len().max(1) as f64;
    let mu = all.iter().sum::<f64>() / m;
    let var = all.iter().map(|x| (x - mu) * (x - mu)).sum::<f64>() / m;
    (1..=max_lag)
        .map(|k| {
            let mut per: Vec<f64> = series
                .iter()
                .filter(|s| s.len() > k + 1)
                .filter_map(|s| stats::pearson(&s[..s.len() - k], &s[k..]))
                .collect();
            let n_defined = per.len();
            let (mut num, mut cnt) = (0.0, 0usize);
            for s in series.iter().filter(|s| s.len() > k) {
                for t in 0..s.len() - k {
                    num += (s[t] - mu) * (s[t + k] - mu);
                    cnt += 1;
                }
            }
            let pooled = (cnt > 0 && var > 0.0).then(|| (num / cnt as f64) / var);
            LagAutocorrelation {
                lag: k,
                median: stats::median(&mut per),
                pooled,
                n_defined,
            }
        })
        .collect()
}

/// Basins of attraction of best-improvement hill climbing.
#[derive(Debug, Clone)]
pub struct Basins {
    /// The local optimum each configuration climbs to.
    pub attractor: Vec<u32>,
    /// Number of improving steps to reach it.
    pub steps: Vec<u32>,
    /// Basin size, indexed by configuration (non-zero only at local optima).
    pub size: Vec<u32>,
}

/// Follows `next` from every configuration, memoised: each configuration is
/// resolved once, so the whole pass is O(n).
pub fn basins(next: &[u32]) -> Basins {
    let n = next.len();
    const UNKNOWN: u32 = u32::MAX;
    let mut attractor = vec![UNKNOWN; n];
    let mut steps = vec![0u32; n];
    let mut stack = Vec::new();
    for i in 0..n {
        let mut cur = i;
        while attractor[cur] == UNKNOWN && next[cur] as usize != cur {
            stack.push(cur);
            cur = next[cur] as usize;
        }
        if attractor[cur] == UNKNOWN {
            attractor[cur] = cur as u32; // a local optimum
            steps[cur] = 0;
        }
        let (a, mut s) = (attractor[cur], steps[cur]);
        while let Some(j) = stack.pop() {
            s += 1;
            attractor[j] = a;
            steps[j] = s;
        }
    }
    let mut size = vec![0u32; n];
    for &a in &attractor {
        size[a as usize] += 1;
    }
    Basins {
        attractor,
        steps,
        size,
    }
}

/// Fitness flattening index along hill-climbing paths.
///
/// For every configuration whose best-improvement climb ends at a global optimum
/// and visits at least `min_len` configurations `x_0 … x_m` (m ≥ min_len − 1), take
/// the step sizes `Δ_t = |s(x_{t+1}) − s(x_t)|` and `ρ = spearman(t, Δ_t)`;
/// FFI = −mean ρ over those paths where ρ is defined. FFI > 0: steps shrink as the
/// climb approaches the optimum (the landscape flattens around it). Returns
/// `(ffi, number of paths used)`.
pub fn ffi_paths(
    next: &[u32],
    basins: &Basins,
    is_global: &[bool],
    scores: &[f64],
    min_len: usize,
) -> (Option<f64>, usize) {
    let (sum, count) = (0..next.len())
        .into_par_iter()
        .filter(|&i| {
            is_global[basins.attractor[i] as usize] && basins.steps[i] as usize + 1 >= min_len
        })
        .filter_map(|i| {
            let m = basins.steps[i] as usize;
            let mut deltas = Vec::with_capacity(m);
            let mut cur = i;
            for _ in 0..m {
                let nx = next[cur] as usize;
                deltas.push((scores[nx] - scores[cur]).abs());
                cur = nx;
            }
            let t: Vec<f64> = (0..m).map(|t| t as f64).collect();
            stats::spearman(&t, &deltas)
        })
        .fold(|| (0.0, 0usize), |(s, c), r| (s + r, c + 1))
        .reduce(|| (0.0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    ((count > 0).then(|| -sum / count as f64), count)
}

/// Mean absolute fitness gap to the neighbours, per configuration (`None` without
/// neighbours).
pub fn neighbour_gaps(l: &Landscape) -> Vec<Option<f64>> {
    let f = l.fitness();
    (0..l.len())
        .into_par_iter()
        .map(|i| {
            let nb = l.neighbours(i);
            (!nb.is_empty()).then(|| {
                nb.iter()
                    .map(|&j| (f[i] - f[j as usize]).abs())
                    .sum::<f64>()
                    / nb.len() as f64
            })
        })
        .collect()
}

/// Fitness assortativity: Pearson correlation of `(f_i, f_j)` over all directed
/// neighbour pairs (each undirected edge counted both ways, so both marginals are
/// the degree-weighted fitness distribution).
pub fn assortativity(l: &Landscape) -> Option<f64> {
    let f = l.fitness();
    let e = l.n_directed_edges();
    if e == 0 {
        return None;
    }
    // Fixed blocks summed in order: the result does not depend on the threads.
    const BLOCK: usize = 4096;
    let blocks = l.len().div_ceil(BLOCK);
    let range = |b: usize| b * BLOCK..((b + 1) * BLOCK).min(l.len());
    let mu = (0..blocks)
        .into_par_iter()
        .map(|b| {
            range(b)
                .map(|i| f[i] * l.neighbours(i).len() as f64)
                .sum::<f64>()
        })
        .collect::<Vec<f64>>()
        .iter()
        .sum::<f64>()
        / e as f64;
    let (var, cov) = (0..blocks)
        .into_par_iter()
        .map(|b| {
            range(b).fold((0.0, 0.0), |acc, i| {
                let a = f[i] - mu;
                let nb = l.neighbours(i);
                let cov: f64 = nb.iter().map(|&j| a * (f[j as usize] - mu)).sum();
                (acc.0 + a * a * nb.len() as f64, acc.1 + cov)
            })
        })
        .collect::<Vec<(f64, f64)>>()
        .iter()
        .fold((0.0, 0.0), |x, y| (x.0 + y.0, x.1 + y.1));
    (var > 0.0).then(|| (cov / var).clamp(-1.0, 1.0))
}

/// Spearman correlation over the configurations where `a` is defined.
pub(crate) fn spearman_defined(a: &[Option<f64>], b: &[u32]) -> Option<f64> {
    let (x, y): (Vec<f64>, Vec<f64>) = a
        .iter()
        .zip(b)
        .filter_map(|(a, &b)| a.map(|a| (a, b as f64)))
        .unzip();
    stats::spearman(&x, &y)
}

//! Neighbourhood-aware 2-D embedding of the configuration graph, deterministic
//! under a seed (the study used HOPE, then UMAP; see `docs/landscape.md`).
//!
//! 1. **HOPE with Katz proximity** on the degree-normalised adjacency
//!    `N = D^{-1/2} A D^{-1/2}` (`A` the 0/1 adjacency of the neighbourhood graph,
//!    `D` its degrees): `S = Σ_{t=1..T} β^t N^t`, the Katz index
//!    `(I − βN)^{-1} − I` truncated after `T` terms; `ρ(N) = 1`, so `β < 1` and the
//!    truncation error is below `β^T`. `S` is never formed: it is applied to blocks
//!    of vectors by `T` sparse neighbour-list products. Its top-`r` eigenpairs come
//!    from a seeded randomized range finder (Rademacher test matrix with `r + p`
//!    columns, `q` power iterations, re-orthonormalised by QR) and the
//!    eigen-decomposition of the small projected matrix `QᵀSQ` (nalgebra). The
//!    graph is undirected, so HOPE's source and target embeddings coincide:
//!    `U_r |Λ_r|^{1/2}`.
//! 2. **2-D map** `(ψ₂, ψ₃)`, `ψ_k = D^{-1/2} u_k`. `S` is a power series in `N`, so
//!    its eigenvectors are `N`'s and `ψ_k` are the random-walk eigenvectors
//!    (Laplacian eigenmaps / diffusion-map coordinates): `ψ₁` is constant on a
//!    connected graph and skipped, `ψ₂, ψ₃` are its two slowest non-trivial
//!    modes. On a chain they are `≈ cos θ_i` and `cos 2θ_i`: the points lie, in
//!    order, on a parabola. A PCA of the whole embedding folded a chain onto
//!    itself, and dividing the plain-adjacency eigenvectors by the Perron vector
//!    blew up at the corners of a 5-parameter grid; both were rejected. Each axis
//!    is oriented so that its third moment is ≥ 0 (a fixed sign rule).
//! 3. **Rank surface** ([`idw_raster`]): the fitness rank (1 = best) is interpolated
//!    on a raster by inverse-distance weighting of the `k` nearest configurations.
//!
//! Cost: `(2 + q)·T` sparse products with `r + p` vectors, i.e.
//! `O((2+q)·T·(r+p)·|E|)`, plus `O(n·(r+p)²)` for the QR; memory `O(n·(r+p))`. No
//! `n × n` matrix is ever built.

use nalgebra::{DMatrix, SymmetricEigen};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::landscape::Landscape;

/// Settings of [`embed`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmbeddingOptions {
    /// HOPE dimension `r`.
    pub dim: usize,
    /// Extra columns `p` of the randomized range finder.
    pub oversample: usize,
    /// Power iterations `q`.
    pub power_iterations: usize,
    /// Katz decay β in (0, 1) (the spectral radius of `N` is 1).
    pub beta: f64,
    /// Terms `T` of the Katz series.
    pub katz_terms: usize,
    /// Seed of the random test matrix.
    pub seed: u64,
}

impl Default for EmbeddingOptions {
    fn default() -> Self {
        EmbeddingOptions {
            dim: 16,
            oversample: 8,
            power_iterations: 8,
            beta: 0.5,
            katz_terms: 12,
            seed: 0,
        }
    }
}

/// A 2-D embedding of every configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Embedding {
    /// `(x, y)` of configuration `i`.
    pub coords: Vec<[f64; 2]>,
    /// HOPE dimension actually used (at most `n − 1`; the 2-D map uses its first three
    /// axes, the rest sharpen the randomized range finder).
    pub hope_dim: usize,
    /// The Katz decay β used.
    pub beta: f64,
    /// Top Katz-proximity eigenvalues found (descending).
    pub eigenvalues: Vec<f64>,
}

/// `out = β N x`, `N = D^{-1/2} A D^{-1/2}` (`s[i] = d_i^{-1/2}`, 0 when isolated),
/// for a row-major `n × q` block.
fn adj_times(l: &Landscape, s: &[f64], beta: f64, x: &[f64], q: usize, out: &mut [f64]) {
    out.par_chunks_mut(q).enumerate().for_each(|(i, row)| {
        row.iter_mut().for_each(|v| *v = 0.0);
        for &j in l.neighbours(i) {
            let sj = s[j as usize];
            let xj = &x[j as usize * q..(j as usize + 1) * q];
            for (r, v) in row.iter_mut().zip(xj) {
                *r += sj * v;
            }
        }
        let f = beta * s[i];
        row.iter_mut().for_each(|v| *v *= f);
    });
}

/// `S x` with the truncated Katz series (row-major `n × q` block).
fn katz_times(l: &Landscape, s: &[f64], beta: f64, terms: usize, x: &[f64], q: usize) -> Vec<f64> {
    let mut cur = x.to_vec();
    let mut next = vec![0.0; x.len()];
    let mut acc = vec![0.0; x.len()];
    for _ in 0..terms {
        adj_times(l, s, beta, &cur, q, &mut next);
        acc.par_iter_mut()
            .zip(next.par_iter())
            .for_each(|(a, v)| *a += v);
        std::mem::swap(&mut cur, &mut next);
    }
    acc
}

/// Row-major `n × q` → nalgebra (column-major).
fn to_matrix(x: &[f64], n: usize, q: usize) -> DMatrix<f64> {
    DMatrix::from_row_slice(n, q, x)
}

fn to_rows(m: &DMatrix<f64>) -> Vec<f64> {
    let (n, q) = m.shape();
    let mut out = vec![0.0; n * q];
    for i in 0..n {
        for j in 0..q {
            out[i * q + j] = m[(i, j)];
        }
    }
    out
}

/// HOPE (Katz) embedding, `n × r` row-major, with its eigenvalues and β.
pub fn hope(l: &Landscape, opts: &EmbeddingOptions) -> Result<(Vec<f64>, usize, Vec<f64>, f64)> {
    let n = l.len();
    if n < 3 {
        return Err(Error::Invalid(format!(
            "an embedding needs at least 3 configurations, got {n}"
        )));
    }
    if opts.dim < 3 {
        return Err(Error::Setting(format!(
            "the HOPE dimension must be at least 3, got {}",
            opts.dim
        )));
    }
    if !(opts.beta > 0.0 && opts.beta < 1.0) {
        return Err(Error::Setting(format!(
            "the Katz decay β must lie in (0, 1), got {}",
            opts.beta
        )));
    }
    if opts.katz_terms == 0 {
        return Err(Error::Setting(
            "the Katz series needs at least one term".into(),
        ));
    }
    let max_deg = (0..n).map(|i| l.neighbours(i).len()).max().unwrap_or(0);
    if max_deg == 0 {
        return Err(Error::Invalid(
            "no configuration has a neighbour; the graph embedding is undefined".into(),
        ));
    }
    // ρ(N) = 1.
    let beta = opts.beta;
    let sc: Vec<f64> = (0..n)
        .map(|i| match l.neighbours(i).len() {
            0 => 0.0,
            d => 1.0 / (d as f64).sqrt(),
        })
        .collect();
    let r = opts.dim.min(n);
    let q = (r + opts.oversample).min(n);
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed ^ 0x484f_5045);
    let omega: Vec<f64> = (0..n * q)
        .map(|_| if rng.random_bool(0.5) { 1.0 } else { -1.0 })
        .collect();
    let mut y = katz_times(l, &sc, beta, opts.katz_terms, &omega, q);
    for _ in 0..opts.power_iterations {
        let qm = to_matrix(&y, n, q).qr().q();
        y = katz_times(l, &sc, beta, opts.katz_terms, &to_rows(&qm), q);
    }
    let qm = to_matrix(&y, n, q).qr().q();
    let sq = to_matrix(
        &katz_times(l, &sc, beta, opts.katz_terms, &to_rows(&qm), q),
        n,
        q,
    );
    let b = qm.transpose() * &sq;
    let b = (&b + b.transpose()) * 0.5;
    let eig = SymmetricEigen::new(b);
    let mut order: Vec<usize> = (0..eig.eigenvalues.len()).collect();
    order.sort_by(|&i, &j| {
        eig.eigenvalues[j]
            .total_cmp(&eig.eigenvalues[i])
            .then(i.cmp(&j))
    });
    order.truncate(r);
    let u = &qm * &eig.eigenvectors;
    let mut emb = vec![0.0; n * r];
    for (c, &k) in order.iter().enumerate() {
        let s = eig.eigenvalues[k].abs().sqrt();
        for i in 0..n {
            emb[i * r + c] = u[(i, k)] * s;
        }
    }
    let values = order.iter().map(|&k| eig.eigenvalues[k]).collect();
    Ok((emb, r, values, beta))
}

/// HOPE, then the 2-D map `(ψ₂, ψ₃)`, `ψ_k = D^{-1/2} u_k`: the second and third
/// Katz-proximity eigenvectors brought back to random-walk scale. See the module
/// docs.
pub fn embed(l: &Landscape, opts: &EmbeddingOptions) -> Result<Embedding> {
    let (emb, r, eigenvalues, beta) = hope(l, opts)?;
    let n = l.len();
    let mut coords = vec![[0.0; 2]; n];
    for axis in 0..2 {
        let c = axis + 1;
        // Column c of `emb` is u_c·|λ_c|^{1/2}; ψ = D^{-1/2} u.
        let scale = eigenvalues[c].abs().sqrt().max(f64::MIN_POSITIVE);
        for (i, p) in coords.iter_mut().enumerate() {
            let d = l.neighbours(i).len();
            let s = if d == 0 { 0.0 } else { 1.0 / (d as f64).sqrt() };
            p[axis] = emb[i * r + c] / scale * s;
        }
        let third: f64 = coords.iter().map(|p| p[axis].powi(3)).sum();
        if third < 0.0 {
            coords.iter_mut().for_each(|p| p[axis] = -p[axis]);
        }
    }
    Ok(Embedding {
        coords,
        hope_dim: r,
        beta,
        eigenvalues,
    })
}

/// Fitness rank of each configuration scaled to [0, 1]: 1 = best, 0 = worst (ties
/// share their mean rank). `scores` are oriented so that higher is better.
pub fn rank_scores(scores: &[f64]) -> Vec<f64> {
    let n = scores.len();
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut out = vec![0.0; n];
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && scores[idx[j]] == scores[idx[i]] {
            j += 1;
        }
        let r = (i + j - 1) as f64 / 2.0 / (n.max(2) - 1) as f64;
        for &k in &idx[i..j] {
            out[k] = r;
        }
        i = j;
    }
    out
}

/// Inverse-distance-weighted surface: for each of the `nx × ny` cell centres of
/// the box `[x0, x1] × [y0, y1]` (row `j` = y index from the bottom, stored
/// `out[j * nx + i]`), the mean of the `k` nearest `values`, weighted by
/// `1 / d²` (a point on the centre gives its value).
#[allow(clippy::too_many_arguments)]
pub fn idw_raster(
    points: &[[f64; 2]],
    values: &[f64],
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
    nx: usize,
    ny: usize,
    k: usize,
) -> Vec<f64> {
    let k = k.clamp(1, points.len().max(1));
    (0..nx * ny)
        .into_par_iter()
        .map(|c| {
            let (i, j) = (c % nx, c / nx);
            let cx = x0 + (x1 - x0) * (i as f64 + 0.5) / nx as f64;
            let cy = y0 + (y1 - y0) * (j as f64 + 0.5) / ny as f64;
            // The k nearest, kept sorted by distance (k is small).
            let mut best: Vec<(f64, usize)> = Vec::with_capacity(k + 1);
            for (p, pt) in points.iter().enumerate() {
                let d = (pt[0] - cx).powi(2) + (pt[1] - cy).powi(2);
                if best.len() < k || d < best[best.len() - 1].0 {
                    let pos = best.partition_point(|b| b.0 <= d);
                    best.insert(pos, (d, p));
                    best.truncate(k);
                }
            }
            if let Some(&(d, p)) = best.first() {
                if d == 0.0 {
                    return values[p];
                }
            }
            let (num, den) = best.iter().fold((0.0, 0.0), |(a, b), &(d, p)| {
                (a + values[p] / d, b + 1.0 / d)
            });
            num / den
        })
        .collect()
}

//! Similarity of two landscapes on a shared grid: rank correlations and γ-set
//! overlap of their best configurations.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::landscape::Landscape;
use crate::stats;

/// Default γ values (shares of the best configurations compared).
pub const DEFAULT_GAMMAS: [f64; 5] = [0.01, 0.05, 0.1, 0.25, 0.5];

/// Overlap of the top-γ sets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GammaSet {
    pub gamma: f64,
    /// Set size: `max(1, ceil(γ · n))`.
    pub k: usize,
    pub intersection: usize,
    /// |A ∩ B| / |A ∪ B|.
    pub iou: f64,
}

/// Similarity of landscapes `a` and `b` over their shared configurations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Similarity {
    pub a: String,
    pub b: String,
    pub maximize: bool,
    pub n_shared: usize,
    pub n_only_a: usize,
    pub n_only_b: usize,
    pub spearman: Option<f64>,
    pub pearson: Option<f64>,
    pub kendall_tau_b: Option<f64>,
    pub gamma_sets: Vec<GammaSet>,
}

/// Indices of the `k` best values (higher is better when `maximize`), ties broken
/// by the smaller index.
fn top_k(v: &[f64], k: usize, maximize: bool) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_unstable_by(|&x, &y| {
        let o = v[x].total_cmp(&v[y]);
        (if maximize { o.reverse() } else { o }).then(x.cmp(&y))
    });
    idx.truncate(k);
    idx
}

/// Similarity of two aligned fitness vectors.
pub fn similarity(a: &[f64], b: &[f64], maximize: bool, gammas: &[f64]) -> Similarity {
    let n = a.len();
    let gamma_sets = gammas
        .iter()
        .map(|&g| {
            let k = ((g * n as f64).ceil() as usize).clamp(1, n.max(1));
            let mut mark = vec![false; n];
            for i in top_k(a, k, maximize) {
                mark[i] = true;
            }
            let inter = top_k(b, k, maximize).iter().filter(|&&i| mark[i]).count();
            GammaSet {
                gamma: g,
                k,
                intersection: inter,
                iou: if n == 0 {
                    0.0
                } else {
                    inter as f64 / (2 * k - inter) as f64
                },
            }
        })
        .collect();
    Similarity {
        a: String::new(),
        b: String::new(),
        maximize,
        n_shared: n,
        n_only_a: 0,
        n_only_b: 0,
        spearman: stats::spearman(a, b),
        pearson: stats::pearson(a, b),
        kendall_tau_b: stats::kendall_tau_b(a, b),
        gamma_sets,
    }
}

/// Similarity of two landscapes, matched by parameter name and value (numbers
/// compared as numbers). Both must have the same parameter names; the direction is
/// `a`'s.
pub fn compare_landscapes(a: &Landscape, b: &Landscape, gammas: &[f64]) -> Result<Similarity> {
    let mut names_a: Vec<&str> = a.params().iter().map(|p| p.name.as_str()).collect();
    let mut names_b: Vec<&str> = b.params().iter().map(|p| p.name.as_str()).collect();
    names_a.sort_unstable();
    names_b.sort_unstable();
    if names_a != names_b {
        return Err(Error::Invalid(format!(
            "the landscapes have different parameters: [{}] vs [{}]",
            names_a.join(", "),
            names_b.join(", ")
        )));
    }
    // For each parameter of `a`: its position in `b` and b-level → a-level.
    let maps: Vec<(usize, Vec<Option<u32>>)> = a
        .params()
        .iter()
        .map(|pa| {
            let kb = b.params().iter().position(|p| p.name == pa.name).unwrap();
            let map = b.params()[kb]
                .levels
                .iter()
                .map(|vb| {
                    pa.levels
                        .iter()
                        .position(|va| match (va.as_f64(), vb.as_f64()) {
                            (Some(x), Some(y)) => x == y,
                            _ => va == vb,
                        })
                        .map(|i| i as u32)
                })
                .collect();
            (kb, map)
        })
        .collect();
    let (mut fa, mut fb) = (Vec::new(), Vec::new());
    let mut codes = vec![0u32; maps.len()];
    'configs: for j in 0..b.len() {
        let cb = b.codes(j);
        for (k, (kb, map)) in maps.iter().enumerate() {
            match map[cb[*kb] as usize] {
                Some(v) => codes[k] = v,
                None => continue 'configs,
            }
        }
        if let Some(i) = a.find(&codes) {
            fa.push(a.fitness()[i]);
            fb.push(b.fitness()[j]);
        }
    }
    if fa.is_empty() {
        return Err(Error::NothingShared(format!(
            "{} vs {}",
            a.fitness_name(),
            b.fitness_name()
        )));
    }
    let mut s = similarity(&fa, &fb, a.maximize(), gammas);
    s.a = a.fitness_name().to_string();
    s.b = b.fitness_name().to_string();
    s.n_only_a = a.len() - s.n_shared;
    s.n_only_b = b.len() - s.n_shared;
    Ok(s)
}

/// Which number of a [`Similarity`] fills a similarity matrix.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SimilarityMeasure {
    Spearman,
    KendallTauB,
    /// IoU of the top-γ sets, γ in (0, 1].
    GammaIou(f64),
}

impl SimilarityMeasure {
    /// Name used in titles: `Spearman`, `Kendall τ-b`, `top-10% IoU`.
    pub fn label(&self) -> String {
        match self {
            SimilarityMeasure::Spearman => "Spearman".into(),
            SimilarityMeasure::KendallTauB => "Kendall τ-b".into(),
            SimilarityMeasure::GammaIou(g) => format!("top-{}% IoU", 100.0 * g),
        }
    }

    fn gammas(&self) -> Vec<f64> {
        match self {
            SimilarityMeasure::GammaIou(g) => vec![*g],
            _ => Vec::new(),
        }
    }

    /// The chosen number of `s` (`None`: undefined, e.g. a constant landscape).
    pub fn of(&self, s: &Similarity) -> Option<f64> {
        match self {
            SimilarityMeasure::Spearman => s.spearman,
            SimilarityMeasure::KendallTauB => s.kendall_tau_b,
            SimilarityMeasure::GammaIou(g) => {
                s.gamma_sets.iter().find(|x| x.gamma == *g).map(|x| x.iou)
            }
        }
    }

    fn validate(&self) -> Result<()> {
        if let SimilarityMeasure::GammaIou(g) = self {
            if !(*g > 0.0 && *g <= 1.0) {
                return Err(Error::Setting(format!("γ must lie in (0, 1], got {g}")));
            }
        }
        Ok(())
    }
}

/// Pairwise similarity of several landscapes: `values[i][j]` compares landscape
/// `i` with landscape `j` (the direction of `i`; the diagonal compares a landscape
/// with itself).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimilarityMatrix {
    pub labels: Vec<String>,
    pub measure: SimilarityMeasure,
    pub values: Vec<Vec<Option<f64>>>,
    /// Shared configurations of each pair.
    pub n_shared: Vec<Vec<usize>>,
}

fn check_count(n: usize) -> Result<()> {
    if n < 2 {
        return Err(Error::Setting(format!(
            "a similarity matrix needs at least two landscapes, got {n}"
        )));
    }
    Ok(())
}

/// Similarity matrix of measures on one grid: `columns` are (label, fitness of
/// every configuration in the same order), compared with [`similarity`].
pub fn similarity_matrix_of_columns(
    columns: &[(String, &[f64])],
    maximize: bool,
    measure: SimilarityMeasure,
) -> Result<SimilarityMatrix> {
    check_count(columns.len())?;
    measure.validate()?;
    let n = columns[0].1.len();
    if let Some((name, c)) = columns.iter().find(|(_, c)| c.len() != n) {
        return Err(Error::Invalid(format!(
            "`{name}` has {} values, `{}` has {n}",
            c.len(),
            columns[0].0
        )));
    }
    let gammas = measure.gammas();
    let k = columns.len();
    let mut values = vec![vec![None; k]; k];
    for (i, row) in values.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = measure.of(&similarity(columns[i].1, columns[j].1, maximize, &gammas));
        }
    }
    Ok(SimilarityMatrix {
        labels: columns.iter().map(|c| c.0.clone()).collect(),
        measure,
        values,
        n_shared: vec![vec![n; k]; k],
    })
}

/// Similarity matrix of landscapes on a shared grid (each pair by
/// [`compare_landscapes`]); errors when a pair has different parameters or shares
/// no configuration, naming the pair.
pub fn similarity_matrix_of_landscapes(
    landscapes: &[(String, &Landscape)],
    measure: SimilarityMeasure,
) -> Result<SimilarityMatrix> {
    check_count(landscapes.len())?;
    measure.validate()?;
    let gammas = measure.gammas();
    let k = landscapes.len();
    let mut values = vec![vec![None; k]; k];
    let mut n_shared = vec![vec![0; k]; k];
    for i in 0..k {
        for j in 0..k {
            let (la, a) = &landscapes[i];
            let (lb, b) = &landscapes[j];
            let s = compare_landscapes(a, b, &gammas).map_err(|e| match e {
                Error::Invalid(m) => Error::Invalid(format!("`{la}` vs `{lb}`: {m}")),
                Error::NothingShared(_) => Error::NothingShared(format!("`{la}` vs `{lb}`")),
                e => e,
            })?;
            values[i][j] = measure.of(&s);
            n_shared[i][j] = s.n_shared;
        }
    }
    Ok(SimilarityMatrix {
        labels: landscapes.iter().map(|c| c.0.clone()).collect(),
        measure,
        values,
        n_shared,
    })
}

//! Random-forest functional ANOVA (Hutter, Hoos and Leyton-Brown, ICML 2014) for
//! landscapes with holes or random samples.
//!
//! A small seeded regression forest is fitted on the level indices of the
//! configurations (CART: each split sends `code_k ≤ t` left, chosen to minimise the
//! squared error; thresholds lie midway between the levels seen in the node). Every
//! leaf is then a box `Π_k [lo_k, hi_k]` of level indices with a constant value, and
//! the tree is a piecewise-constant function on the full grid. Its functional ANOVA
//! under the uniform measure on the grid is exact and cheap (leaf volumes
//! `w = Π_k |I_k| / L_k`):
//!
//! * `μ = Σ_l w_l v_l`, `V = Σ_l w_l (v_l − μ)²`;
//! * marginal of `j`: `m_j(a) = Σ_{l : a ∈ I_lj} v_l w_l L_j / |I_lj|`,
//!   `V_j = mean_a (m_j(a) − μ)²`;
//! * marginal of `(j, k)`: `m_jk(a, b) = Σ_{l : a ∈ I_lj, b ∈ I_lk} v_l w_l
//!   L_j L_k / (|I_lj| |I_lk|)`, `V_jk = mean_(a,b) (m_jk − μ)² − V_j − V_k`
//!
//! (range updates by difference arrays: `O(leaves + L_j)` per parameter,
//! `O(leaves + L_j L_k)` per pair). Per tree the shares are `V_j / V`, `V_jk / V`;
//! the forest reports their mean and standard deviation over the trees with `V > 0`.
//! On a complete grid, without bootstrap, every leaf is pure and the tree reproduces
//! the fitness exactly, so the shares equal the exact [`crate::functional_anova`].
//! Categorical parameters are split on their level order like ordinal ones (a
//! documented simplification: any partition is still reachable by several splits).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use crate::landscape::Landscape;

/// Settings of [`forest_fanova`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForestSettings {
    /// Number of trees (default 16).
    pub trees: usize,
    /// Each tree sees at most this many configurations (default 20,000).
    pub max_samples: usize,
    /// Draw each tree's sample with replacement (bootstrap; default true). Without,
    /// a tree takes the first configurations of a seeded shuffle (all of them when
    /// `max_samples ≥ n`).
    pub bootstrap: bool,
    /// Maximum depth (default 32).
    pub max_depth: usize,
    /// A node with fewer samples is a leaf (default 2).
    pub min_samples_split: usize,
    /// Pairs are skipped when `L_j · L_k` exceeds this (default 10^6).
    pub max_pair_cells: usize,
    /// Seed; tree `t` uses ChaCha8 stream `t`.
    pub seed: u64,
}

impl Default for ForestSettings {
    fn default() -> Self {
        ForestSettings {
            trees: 16,
            max_samples: 20_000,
            bootstrap: true,
            max_depth: 32,
            min_samples_split: 2,
            max_pair_cells: 1_000_000,
            seed: 0,
        }
    }
}

/// A leaf: the box of level indices (inclusive) and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Leaf {
    pub lo: Vec<u32>,
    pub hi: Vec<u32>,
    pub value: f64,
}

/// A fitted regression tree, kept as its leaves (which partition the grid).
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    pub leaves: Vec<Leaf>,
}

impl Tree {
    /// The value of the leaf holding `codes`.
    pub fn predict(&self, codes: &[u32]) -> f64 {
        self.leaves
            .iter()
            .find(|l| {
                codes
                    .iter()
                    .zip(l.lo.iter().zip(&l.hi))
                    .all(|(&c, (&lo, &hi))| lo <= c && c <= hi)
            })
            .map_or(f64::NAN, |l| l.value)
    }
}

struct Fit<'a> {
    x: &'a [u32],
    d: usize,
    y: &'a [f64],
    s: &'a ForestSettings,
    leaves: Vec<Leaf>,
}

impl Fit<'_> {
    fn grow(&mut self, idx: &mut [u32], lo: Vec<u32>, hi: Vec<u32>, depth: usize) {
        let n = idx.len();
        let sum: f64 = idx.iter().map(|&i| self.y[i as usize]).sum();
        let mean = sum / n as f64;
        let pure = idx
            .iter()
            .all(|&i| self.y[i as usize] == self.y[idx[0] as usize]);
        if n < self.s.min_samples_split || depth >= self.s.max_depth || pure {
            self.leaves.push(Leaf {
                lo,
                hi,
                value: mean,
            });
            return;
        }
        // Best split: maximise S_L²/n_L + S_R²/n_R (= minimise the squared error).
        let parent = sum * sum / n as f64;
        let mut best: Option<(f64, usize, u32)> = None;
        for k in 0..self.d {
            let width = (hi[k] - lo[k] + 1) as usize;
            if width < 2 {
                continue;
            }
            let mut cnt = vec![0usize; width];
            let mut sm = vec![0.0f64; width];
            for &i in idx.iter() {
                let c = (self.x[i as usize * self.d + k] - lo[k]) as usize;
                cnt[c] += 1;
                sm[c] += self.y[i as usize];
            }
            let (mut nl, mut sl) = (0usize, 0.0f64);
            let mut prev: Option<usize> = None;
            for a in 0..width {
                if cnt[a] == 0 {
                    continue;
                }
                if let Some(p) = prev {
                    // Split between seen levels p and a.
                    let nr = n - nl;
                    let sr = sum - sl;
                    let gain = sl * sl / nl as f64 + sr * sr / nr as f64;
                    if gain > parent + 1e-12 * parent.abs().max(1e-300)
                        && best.is_none_or(|b| gain > b.0)
                    {
                        let t = lo[k] + (p + (a - p - 1) / 2) as u32;
                        best = Some((gain, k, t));
                    }
                }
                nl += cnt[a];
                sl += sm[a];
                prev = Some(a);
            }
        }
        let Some((_, k, t)) = best else {
            self.leaves.push(Leaf {
                lo,
                hi,
                value: mean,
            });
            return;
        };
        // Partition in place: left = code ≤ t.
        let mut m = 0;
        for j in 0..n {
            if self.x[idx[j] as usize * self.d + k] <= t {
                idx.swap(j, m);
                m += 1;
            }
        }
        let (left, right) = idx.split_at_mut(m);
        let (mut lhi, mut rlo) = (hi.clone(), lo.clone());
        lhi[k] = t;
        rlo[k] = t + 1;
        self.grow(left, lo, lhi, depth + 1);
        self.grow(right, rlo, hi, depth + 1);
    }
}

/// Fits one regression tree on the rows `idx` of `x` (`n × d` level codes) and `y`;
/// `levels[k]` is the number of levels of parameter `k`.
pub fn fit_tree(
    x: &[u32],
    y: &[f64],
    levels: &[usize],
    idx: &mut [u32],
    s: &ForestSettings,
) -> Tree {
    let d = levels.len();
    let mut f = Fit {
        x,
        d,
        y,
        s,
        leaves: Vec::new(),
    };
    let lo = vec![0u32; d];
    let hi: Vec<u32> = levels.iter().map(|&l| l as u32 - 1).collect();
    if idx.is_empty() {
        return Tree {
            leaves: vec![Leaf { lo, hi, value: 0.0 }],
        };
    }
    f.grow(idx, lo, hi, 0);
    Tree { leaves: f.leaves }
}

/// Variance decomposition of one tree under the uniform measure on the grid:
/// `(V, V_j for each j, V_jk for each pair j < k (None when skipped))`.
pub type TreeAnova = (f64, Vec<f64>, Vec<Option<f64>>);

/// The [`TreeAnova`] of `t` on the grid with `levels[k]` levels per parameter.
pub fn tree_anova(t: &Tree, levels: &[usize], max_pair_cells: usize) -> TreeAnova {
    let d = levels.len();
    let width = |l: &Leaf, k: usize| (l.hi[k] - l.lo[k] + 1) as f64;
    let w: Vec<f64> = t
        .leaves
        .iter()
        .map(|l| (0..d).map(|k| width(l, k) / levels[k] as f64).product())
        .collect();
    let mu: f64 = t.leaves.iter().zip(&w).map(|(l, w)| w * l.value).sum();
    let total: f64 = t
        .leaves
        .iter()
        .zip(&w)
        .map(|(l, w)| w * (l.value - mu).powi(2))
        .sum();
    let main: Vec<f64> = (0..d)
        .map(|j| {
            let lj = levels[j];
            let mut diff = vec![0.0f64; lj + 1];
            for (l, w) in t.leaves.iter().zip(&w) {
                let c = l.value * w * lj as f64 / width(l, j);
                diff[l.lo[j] as usize] += c;
                diff[l.hi[j] as usize + 1] -= c;
            }
            let mut acc = 0.0;
            let mut v = 0.0;
            for dv in diff.iter().take(lj) {
                acc += dv;
                v += (acc - mu).powi(2);
            }
            v / lj as f64
        })
        .collect();
    let mut pairs = Vec::with_capacity(d * d.saturating_sub(1) / 2);
    for j in 0..d {
        for k in j + 1..d {
            let (lj, lk) = (levels[j], levels[k]);
            if lj.saturating_mul(lk) > max_pair_cells {
                pairs.push(None);
                continue;
            }
            // 2-D difference array over (a, b).
            let mut diff = vec![0.0f64; (lj + 1) * (lk + 1)];
            let at = |a: usize, b: usize| a * (lk + 1) + b;
            for (l, w) in t.leaves.iter().zip(&w) {
                let c = l.value * w * (lj * lk) as f64 / (width(l, j) * width(l, k));
                let (a0, a1) = (l.lo[j] as usize, l.hi[j] as usize + 1);
                let (b0, b1) = (l.lo[k] as usize, l.hi[k] as usize + 1);
                diff[at(a0, b0)] += c;
                diff[at(a1, b0)] -= c;
                diff[at(a0, b1)] -= c;
                diff[at(a1, b1)] += c;
            }
            for a in 0..=lj {
                for b in 1..=lk {
                    diff[at(a, b)] += diff[at(a, b - 1)];
                }
            }
            for a in 1..=lj {
                for b in 0..=lk {
                    diff[at(a, b)] += diff[at(a - 1, b)];
                }
            }
            let mut v = 0.0;
            for a in 0..lj {
                for b in 0..lk {
                    v += (diff[at(a, b)] - mu).powi(2);
                }
            }
            pairs.push(Some((v / (lj * lk) as f64 - main[j] - main[k]).max(0.0)));
        }
    }
    (total, main, pairs)
}

/// Importance of one parameter or pair from the forest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForestEffect {
    pub params: Vec<String>,
    /// Mean over trees of `V_j / V` (or `V_jk / V`).
    pub share: f64,
    /// Standard deviation over trees.
    pub std: f64,
}

/// Random-forest fANOVA of a landscape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForestFanova {
    pub settings: ForestSettings,
    /// Trees with a non-zero variance (the shares average over those).
    pub n_trees_used: usize,
    /// Every parameter, largest mean share first.
    pub main_effects: Vec<ForestEffect>,
    /// The largest pairwise interactions, largest first.
    pub interactions: Vec<ForestEffect>,
    /// Mean over trees of `Σ_j V_j / V`.
    pub main_effects_share: f64,
}

/// Fits a forest to `y` (one value per configuration of `l`) and decomposes it; lists
/// at most `max_interactions` pairs.
pub fn forest_fanova(
    l: &Landscape,
    y: &[f64],
    s: &ForestSettings,
    max_interactions: usize,
) -> ForestFanova {
    let n = l.len();
    let d = l.params().len();
    let levels: Vec<usize> = l.params().iter().map(|p| p.levels.len()).collect();
    let mut x = Vec::with_capacity(n * d);
    for i in 0..n {
        x.extend_from_slice(l.codes(i));
    }
    let m = n.min(s.max_samples.max(1));
    let per_tree: Vec<TreeAnova> = (0..s.trees)
        .into_par_iter()
        .map(|t| {
            let mut rng = ChaCha8Rng::seed_from_u64(s.seed);
            rng.set_stream(t as u64);
            let mut idx: Vec<u32> = if s.bootstrap {
                (0..m).map(|_| rng.random_range(0..n as u32)).collect()
            } else if m == n {
                (0..n as u32).collect()
            } else {
                rand::seq::index::sample(&mut rng, n, m)
                    .into_iter()
                    .map(|i| i as u32)
                    .collect()
            };
            let tree = fit_tree(&x, y, &levels, &mut idx, s);
            tree_anova(&tree, &levels, s.max_pair_cells)
        })
        .collect();
    let used: Vec<&TreeAnova> = per_tree.iter().filter(|t| t.0 > 0.0).collect();
    let mean_std = |f: &dyn Fn(&TreeAnova) -> f64| -> (f64, f64) {
        if used.is_empty() {
            return (0.0, 0.0);
        }
        let v: Vec<f64> = used.iter().map(|t| f(t)).collect();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
        (mean, var.sqrt())
    };
    let names: Vec<String> = l.params().iter().map(|p| p.name.clone()).collect();
    let mut main_effects: Vec<ForestEffect> = (0..d)
        .map(|j| {
            let (share, std) = mean_std(&|t| t.1[j] / t.0);
            ForestEffect {
                params: vec![names[j].clone()],
                share,
                std,
            }
        })
        .collect();
    main_effects.sort_by(|a, b| b.share.total_cmp(&a.share));
    let mut interactions = Vec::new();
    let mut p = 0;
    for j in 0..d {
        for k in j + 1..d {
            let skipped = used.iter().any(|t| t.2[p].is_none());
            if !skipped {
                let (share, std) = mean_std(&|t| t.2[p].unwrap_or(0.0) / t.0);
                interactions.push(ForestEffect {
                    params: vec![names[j].clone(), names[k].clone()],
                    share,
                    std,
                });
            }
            p += 1;
        }
    }
    interactions.sort_by(|a, b| b.share.total_cmp(&a.share));
    interactions.truncate(max_interactions);
    let (main_effects_share, _) = mean_std(&|t| t.1.iter().sum::<f64>() / t.0);
    ForestFanova {
        settings: s.clone(),
        n_trees_used: used.len(),
        main_effects,
        interactions,
        main_effects_share,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::importance::{functional_anova, AnovaTarget};
    use crate::landscape::Param;

    fn grid(sizes: &[usize], f: impl Fn(&[u32]) -> f64 + Sync) -> Landscape {
        let params = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| Param::ordinal_range(&format!("p{i}"), n))
            .collect();
        Landscape::full_grid(params, "f", true, f).unwrap()
    }

    fn share(f: &ForestFanova, name: &str) -> f64 {
        f.main_effects
            .iter()
            .find(|m| m.params[0] == name)
            .unwrap()
            .share
    }

    #[test]
    fn a_tree_partitions_the_grid_and_fits_the_samples() {
        let l = grid(&[4, 3], |c| (c[0] * 10 + c[1]) as f64);
        let levels = [4, 3];
        let x: Vec<u32> = (0..l.len()).flat_map(|i| l.codes(i).to_vec()).collect();
        let mut idx: Vec<u32> = (0..l.len() as u32).collect();
        let t = fit_tree(
            &x,
            l.fitness(),
            &levels,
            &mut idx,
            &ForestSettings::default(),
        );
        // Pure leaves: one per configuration; the boxes tile the 12 grid points.
        assert_eq!(t.leaves.len(), 12);
        let cells: f64 = t
            .leaves
            .iter()
            .map(|lf| ((lf.hi[0] - lf.lo[0] + 1) * (lf.hi[1] - lf.lo[1] + 1)) as f64)
            .sum();
        assert_eq!(cells, 12.0);
        for i in 0..l.len() {
            assert_eq!(t.predict(l.codes(i)), l.fitness()[i]);
        }
    }

    #[test]
    fn without_bootstrap_on_a_complete_grid_it_is_the_exact_anova() {
        // Main effects, an interaction and a three-way term.
        let l = grid(&[4, 3, 5], |c| {
            let (a, b, e) = (c[0] as f64, c[1] as f64, c[2] as f64);
            (a - 1.5).powi(2)
                + 0.5 * b
                + 0.3 * a * b
                + 0.1 * ((c[0] ^ c[1] ^ c[2]) & 1) as f64
                + 0.05 * e
        });
        let s = ForestSettings {
            trees: 2,
            bootstrap: false,
            ..ForestSettings::default()
        };
        let f = forest_fanova(&l, l.fitness(), &s, 10);
        let exact = functional_anova(&l, AnovaTarget::Values, 10).unwrap();
        for m in &exact.main_effects {
            assert!(
                (share(&f, &m.param) - m.share).abs() < 1e-9,
                "{m:?} vs {f:?}"
            );
        }
        for p in &exact.interactions {
            let g = f
                .interactions
                .iter()
                .find(|q| q.params[0] == p.params[0] && q.params[1] == p.params[1])
                .unwrap();
            assert!((g.share - p.share).abs() < 1e-9, "{p:?} vs {g:?}");
        }
        assert!((f.main_effects_share - exact.main_effects_share).abs() < 1e-9);
        assert_eq!(f.main_effects[0].std, 0.0);
    }

    #[test]
    fn bootstrap_forest_is_close_to_the_exact_anova_and_seeded() {
        let g = |a: u32| [0.0, 1.0, 3.0, 2.0, 0.5, 1.5, 2.5, 0.2][a as usize];
        let l = grid(&[8, 8, 6], |c| g(c[0]) + 0.5 * c[1] as f64);
        let s = ForestSettings {
            seed: 7,
            ..ForestSettings::default()
        };
        let f = forest_fanova(&l, l.fitness(), &s, 10);
        let exact = functional_anova(&l, AnovaTarget::Values, 10).unwrap();
        for m in &exact.main_effects {
            assert!(
                (share(&f, &m.param) - m.share).abs() < 0.05,
                "{m:?} vs {f:?}"
            );
        }
        assert!(share(&f, "p2") < 0.01);
        assert_eq!(forest_fanova(&l, l.fitness(), &s, 10), f);
        let other = forest_fanova(&l, l.fitness(), &ForestSettings { seed: 8, ..s }, 10);
        assert_ne!(other, f);
    }

    #[test]
    fn one_relevant_parameter_on_a_grid_with_holes() {
        // f depends on p1 only; a third of the grid is missing.
        let params = vec![Param::ordinal_range("p0", 6), Param::ordinal_range("p1", 5)];
        let (mut codes, mut fit) = (Vec::new(), Vec::new());
        for a in 0..6u32 {
            for b in 0..5u32 {
                if (a + 2 * b) % 3 != 0 {
                    codes.extend([a, b]);
                    fit.push([0.1, 0.9, 0.4, 0.7, 0.2][b as usize]);
                }
            }
        }
        let l = Landscape::new(params, codes, fit, "f", true).unwrap();
        let f = forest_fanova(&l, l.fitness(), &ForestSettings::default(), 10);
        assert_eq!(f.main_effects[0].params, ["p1"]);
        assert!(share(&f, "p1") > 0.9, "{f:?}");
        assert!(share(&f, "p0") < 0.05, "{f:?}");
    }
}

//! The Wilcoxon pruner (Optuna's `WilcoxonPruner`): for objectives that are averages
//! over instances (folds, problems, seeds), with one step per instance.

use super::{single_direction, Decision, PruneContext, Pruner};
use crate::error::{Error, Result};
use crate::special::erfc;
use crate::trial::FrozenTrial;
use crate::view::StudyView;

/// Compares the trial with the best complete trial on the steps both reported, by a
/// one-sided Wilcoxon signed-rank test of "the trial is worse". Prunes when the
/// p-value is below `p_threshold`, at least `n_startup_steps` steps are shared, and
/// the trial's mean over the shared steps is worse than the best trial's (a trial
/// that is better on average is never pruned).
#[derive(Debug, Clone, PartialEq)]
pub struct WilcoxonPruner {
    pub p_threshold: f64,
    pub n_startup_steps: usize,
}

impl WilcoxonPruner {
    pub fn new(p_threshold: f64, n_startup_steps: usize) -> Result<Self> {
        if !(0.0..=1.0).contains(&p_threshold) {
            return Err(Error::InvalidPruner(format!(
                "p_threshold must be between 0 and 1, not {p_threshold}"
            )));
        }
        Ok(Self {
            p_threshold,
            n_startup_steps,
        })
    }
}

impl Pruner for WilcoxonPruner {
    fn name(&self) -> &str {
        "wilcoxon"
    }
    fn decide(&self, view: &StudyView<'_>, t: &PruneContext<'_>) -> Result<Decision> {
        let dir = single_direction(view, "wilcoxon")?;
        let best = view
            .complete_trials()
            .filter_map(|c| Some((c, c.value()?)))
            .fold(None::<(&FrozenTrial, f64)>, |b, (c, v)| match b {
                Some((_, bv)) if !dir.better(v, bv) => b,
                _ => Some((c, v)),
            });
        let Some((best, _)) = best else {
            return Ok(Decision::proceed());
        };
        let (mut d, mut mine, mut theirs) = (Vec::new(), 0.0, 0.0);
        for (step, &v) in t.intermediate_values {
            if let Some(&b) = best.intermediate_values.get(step) {
                let (lv, lb) = (dir.to_loss(v), dir.to_loss(b));
                d.push(lv - lb);
                mine += lv;
                theirs += lb;
            }
        }
        if d.is_empty() || d.len() < self.n_startup_steps {
            return Ok(Decision::proceed());
        }
        if mine <= theirs {
            return Ok(Decision::proceed());
        }
        Ok(Decision::prune_if(
            signed_rank_p_greater(&d) < self.p_threshold,
        ))
    }
}

/// One-sided p-value of the Wilcoxon signed-rank test of "the differences `d` are
/// centred above 0", zeros split between the signs (SciPy's `zero_method="zsplit"`).
/// Exact distribution for up to 50 differences without ties or zeros; otherwise the
/// normal approximation with tie correction (no continuity correction), as SciPy.
pub fn signed_rank_p_greater(d: &[f64]) -> f64 {
    let n = d.len();
    if n == 0 {
        return 1.0;
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| d[a].abs().total_cmp(&d[b].abs()));
    let mut ranks = vec![0.0; n];
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && d[idx[j + 1]].abs() == d[idx[i]].abs() {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            ranks[k] = r;
        }
        let t = (j - i + 1) as f64;
        tie_term += t * t * t - t;
        i = j + 1;
    }
    let r_plus: f64 = (0..n)
        .map(|k| {
            if d[k] > 0.0 {
                ranks[k]
            } else if d[k] == 0.0 {
                ranks[k] / 2.0
            } else {
                0.0
            }
        })
        .sum();
    let has_zero = d.contains(&0.0);
    if n <= 50 && tie_term == 0.0 && !has_zero {
        // Counts of subsets of ranks 1..=n by sum.
        let max = n * (n + 1) / 2;
        let mut c = vec![0.0f64; max + 1];
        c[0] = 1.0;
        for r in 1..=n {
            for s in (r..=max).rev() {
                c[s] += c[s - r];
            }
        }
        let from = r_plus.round() as usize;
        let tail: f64 = c[from.min(max + 1)..].iter().sum();
        return tail / 2f64.powi(n as i32);
    }
    let nf = n as f64;
    let mean = nf * (nf + 1.0) / 4.0;
    let var = (nf * (nf + 1.0) * (2.0 * nf + 1.0) - 0.5 * tie_term) / 24.0;
    if var <= 0.0 {
        return 1.0;
    }
    let z = (r_plus - mean) / var.sqrt();
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values from `scipy.stats.wilcoxon(d, alternative="greater",
    /// zero_method="zsplit")`.
    #[test]
    fn exact_small_samples() {
        // All 5 positive: only one of 32 sign patterns has W+ = 15.
        assert!((signed_rank_p_greater(&[1.0, 2.0, 3.0, 4.0, 5.0]) - 1.0 / 32.0).abs() < 1e-15);
        // W+ = 15 - 1 = 14 (rank 1 negative): P(W+ >= 14) = 2/32.
        assert!((signed_rank_p_greater(&[-1.0, 2.0, 3.0, 4.0, 5.0]) - 2.0 / 32.0).abs() < 1e-15);
        // All negative: P(W+ >= 0) = 1.
        assert_eq!(signed_rank_p_greater(&[-1.0, -2.0, -3.0]), 1.0);
        // n=4, W+ = 1+4 = 5 of 10: 9 of the 16 subsets of 1..=4 sum to 5 or more.
        assert!((signed_rank_p_greater(&[1.0, -2.0, -3.0, 4.0]) - 9.0 / 16.0).abs() < 1e-15);
    }

    #[test]
    fn normal_approximation_with_ties_and_zeros() {
        // d = [0, 1, 1, 2, -3]: ranks 1, 2.5, 2.5, 4, 5; W+ = 0.5 + 2.5 + 2.5 + 4 = 9.5;
        // mean 7.5; var = (5*6*11 - 0.5*(6))/24 = 327/24; z = 2/3.6912 = 0.54183.
        let p = signed_rank_p_greater(&[0.0, 1.0, 1.0, 2.0, -3.0]);
        assert!((p - 0.293_97).abs() < 1e-4, "{p}");
        // Large n, all positive: tiny p-value.
        let d: Vec<f64> = (1..=60).map(|i| i as f64).collect();
        assert!(signed_rank_p_greater(&d) < 1e-10);
    }

    #[test]
    fn erfc_is_accurate() {
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.0) - 0.157_299_207_050_285).abs() < 1e-7);
        assert!((erfc(-1.0) - 1.842_700_792_949_715).abs() < 1e-7);
    }
}

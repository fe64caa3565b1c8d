//! Ranking observations into the "below" (good) and "above" (bad) groups.
//!
//! Order of preference, as in Optuna: feasible complete trials (by objective value, or
//! for several objectives by non-domination rank with a hypervolume tie-break on the
//! last front), then feasible pruned trials (furthest step first, then last reported
//! value), then infeasible trials by total constraint violation. Running trials (the
//! constant liar) are never below.

use crate::sampler::multi::{crowding_distance, fronts_until, hypervolume_2d, reference_point};

/// One finished trial as the sampler keeps it.
#[derive(Debug, Clone)]
pub(crate) struct Obs {
    pub number: u64,
    pub pruned: bool,
    /// Values turned into losses (to minimise). For a pruned trial of a
    /// single-objective study, its last intermediate value; otherwise possibly empty.
    pub loss: Vec<f64>,
    /// Last reported step of a pruned trial.
    pub step: Option<u64>,
    /// Total constraint violation (sum of positive parts); `None` when not reported.
    pub violation: Option<f64>,
}

impl Obs {
    pub fn feasible(&self) -> bool {
        self.violation.is_none_or(|v| v <= 0.0)
    }
}

/// Optuna's default `gamma`: `min(ceil(0.1·n), 25)`.
pub fn default_gamma(n: usize) -> usize {
    n.div_ceil(10).min(25)
}

/// Optuna's default weights: flat for the 25 most recent observations, a linear ramp
/// from `1/n` up to 1 for older ones. Index 0 is the oldest.
pub fn default_weights(n: usize) -> Vec<f64> {
    if n < 25 {
        return vec![1.0; n];
    }
    let m = n - 25;
    let lo = 1.0 / n as f64;
    let mut w: Vec<f64> = (0..m)
        .map(|i| {
            if m == 1 {
                lo
            } else {
                lo + (1.0 - lo) * i as f64 / (m - 1) as f64
            }
        })
        .collect();
    w.extend(std::iter::repeat_n(1.0, 25));
    w
}

/// Picks up to `n_below` observations (indices into `obs`) for the good group.
/// `so_sorted` lists the feasible complete observations of a single-objective study,
/// best first; for several objectives it is ignored and `complete` is ranked here.
pub fn select_below(
    obs: &[Obs],
    n_objectives: usize,
    so_sorted: &[usize],
    complete: &[usize],
    pruned: &[usize],
    infeasible: &[usize],
    n_below: usize,
) -> Vec<usize> {
    let mut below: Vec<usize> = if n_objectives == 1 {
        so_sorted.iter().take(n_below).copied().collect()
    } else {
        let pts: Vec<&[f64]> = complete.iter().map(|&i| obs[i].loss.as_slice()).collect();
        select_multi_objective(&pts, n_below)
            .into_iter()
            .map(|j| complete[j])
            .collect()
    };
    if below.len() < n_below {
        let mut p = pruned.to_vec();
        p.sort_by(|&a, &b| {
            let (x, y) = (&obs[a], &obs[b]);
            // Further step first (no step last), then better last value, then older.
            y.step
                .map_or(-1i128, i128::from)
                .cmp(&x.step.map_or(-1i128, i128::from))
                .then_with(|| {
                    let lx = x.loss.first().copied().unwrap_or(f64::INFINITY);
                    let ly = y.loss.first().copied().unwrap_or(f64::INFINITY);
                    lx.total_cmp(&ly)
                })
                .then(x.number.cmp(&y.number))
        });
        below.extend(p.into_iter().take(n_below - below.len()));
    }
    if below.len() < n_below {
        let mut inf = infeasible.to_vec();
        inf.sort_by(|&a, &b| {
            let va = obs[a].violation.unwrap_or(f64::INFINITY);
            let vb = obs[b].violation.unwrap_or(f64::INFINITY);
            va.total_cmp(&vb).then(obs[a].number.cmp(&obs[b].number))
        });
        below.extend(inf.into_iter().take(n_below - below.len()));
    }
    below
}

/// Picks `n` points: whole fronts while they fit, then from the last front a subset
/// chosen greedily by hypervolume contribution (two objectives; Optuna's HSSP) or by
/// crowding distance (three or more, a simpler documented rule).
fn select_multi_objective(pts: &[&[f64]], n: usize) -> Vec<usize> {
    let mut out = Vec::new();
    for front in fronts_until(pts, n) {
        if out.len() + front.len() <= n {
            out.extend(front);
            continue;
        }
        let k = n - out.len();
        let fp: Vec<&[f64]> = front.iter().map(|&i| pts[i]).collect();
        let picked = if fp.first().is_some_and(|p| p.len() == 2) {
            greedy_hssp_2d(&fp, k)
        } else {
            by_crowding(&fp, k)
        };
        out.extend(picked.into_iter().map(|j| front[j]));
        break;
    }
    out
}

fn greedy_hssp_2d(pts: &[&[f64]], k: usize) -> Vec<usize> {
    let rp = reference_point(pts);
    let r = [rp[0], rp[1]];
    let mut chosen: Vec<usize> = Vec::with_capacity(k);
    let mut base: Vec<[f64; 2]> = Vec::with_capacity(k + 1);
    let mut base_hv = 0.0;
    for _ in 0..k {
        let mut best: Option<(f64, usize)> = None;
        for (i, p) in pts.iter().enumerate() {
            if chosen.contains(&i) {
                continue;
            }
            let mut s = base.clone();
            s.push([p[0], p[1]]);
            let gain = hypervolume_2d(&mut s, r) - base_hv;
            if best.is_none_or(|(g, _)| gain > g) {
                best = Some((gain, i));
            }
        }
        let Some((_, i)) = best else { break };
        chosen.push(i);
        base.push([pts[i][0], pts[i][1]]);
        base_hv = hypervolume_2d(&mut base.clone(), r);
    }
    chosen
}

fn by_crowding(pts: &[&[f64]], k: usize) -> Vec<usize> {
    let dist = crowding_distance(pts);
    let mut idx: Vec<usize> = (0..pts.len()).collect();
    idx.sort_by(|&a, &b| dist[b].total_cmp(&dist[a]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

/// MOTPE's weights for the good group: each point's exclusive hypervolume
/// contribution, scaled so the largest is 1 (floored at 1e-12). Two objectives only;
/// otherwise all ones.
pub fn hv_contribution_weights(pts: &[&[f64]]) -> Vec<f64> {
    if pts.len() < 2 || pts[0].len() != 2 {
        return vec![1.0; pts.len()];
    }
    let rp = reference_point(pts);
    let r = [rp[0], rp[1]];
    let all: Vec<[f64; 2]> = pts.iter().map(|p| [p[0], p[1]]).collect();
    let total = hypervolume_2d(&mut all.clone(), r);
    let contrib: Vec<f64> = (0..all.len())
        .map(|i| {
            let mut rest: Vec<[f64; 2]> = all
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, p)| *p)
                .collect();
            (total - hypervolume_2d(&mut rest, r)).max(0.0)
        })
        .collect();
    let max = contrib.iter().copied().fold(0.0, f64::max).max(1e-12);
    contrib
        .iter()
        .map(|c| (c / max).clamp(1e-12, 1.0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_optuna() {
        assert_eq!(default_gamma(0), 0);
        assert_eq!(default_gamma(1), 1);
        assert_eq!(default_gamma(100), 10);
        assert_eq!(default_gamma(1000), 25);
        assert_eq!(default_weights(3), vec![1.0; 3]);
        let w = default_weights(30);
        assert_eq!(w.len(), 30);
        assert!((w[0] - 1.0 / 30.0).abs() < 1e-12 && w[4] == 1.0 && w[29] == 1.0);
        // 35 observations: a ramp of 10 from 1/35 to 1, then 25 ones.
        let w = default_weights(35);
        let step = (1.0 - 1.0 / 35.0) / 9.0;
        assert!((w[1] - (1.0 / 35.0 + step)).abs() < 1e-12, "{}", w[1]);
        assert!((w[9] - 1.0).abs() < 1e-12 && w[10..].iter().all(|x| *x == 1.0));
        assert_eq!(default_gamma(9), 1);
        assert_eq!(default_gamma(11), 2);
        assert_eq!(default_gamma(250), 25);
    }

    #[test]
    fn hssp_prefers_spread_points() {
        let raw = [[0.0, 10.0], [5.0, 5.0], [5.1, 4.9], [10.0, 0.0]];
        let pts: Vec<&[f64]> = raw.iter().map(|p| p.as_slice()).collect();
        let mut two = greedy_hssp_2d(&pts, 2);
        two.sort();
        assert!(two.contains(&1) || two.contains(&2), "{two:?}");
        let mut hv = [[1.0, 1.0]];
        assert_eq!(hypervolume_2d(&mut hv, [2.0, 3.0]), 2.0);
    }
}

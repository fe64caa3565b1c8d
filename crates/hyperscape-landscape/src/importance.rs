//! Hyperparameter importance by exact functional ANOVA on a full grid.
//!
//! On a complete grid with uniform weight on every configuration, the fitness `f`
//! decomposes exactly (Hoeffding / Sobol):
//!
//! * `μ = mean(f)`, total variance `V = mean((f − μ)²)`;
//! * main effect of parameter `j` at level `a`: `f_j(a) = mean(f | x_j = a) − μ`,
//!   its variance `V_j = mean_a f_j(a)²`;
//! * pairwise interaction of `j, k`:
//!   `f_jk(a, b) = mean(f | x_j = a, x_k = b) − f_j(a) − f_k(b) − μ`,
//!   its variance `V_jk = mean_(a,b) f_jk(a, b)²`.
//!
//! The importance of `j` is `V_j / V` and of the pair `j, k` is `V_jk / V`; all the
//! component shares (of every order) sum to 1, so `1 − Σ V_j/V − Σ V_jk/V` is the
//! share of higher-order interactions. This is the exact version of the fANOVA of
//! Hutter et al. (2014), which fits a random forest to predict the marginals of an
//! incomplete sample; on a complete grid no model is needed. On an incomplete grid
//! the decomposition is not defined without a surrogate, and [`functional_anova`]
//! refuses (the report then leaves `importance` out).
//!
//! The analysis runs either on the fitness values or on their ranks (average ranks
//! for ties), the latter robust to a few outlying configurations (e.g. diverged runs).

use serde::Serialize;

use crate::error::{Error, Result};
use crate::landscape::Landscape;
use crate::stats;

/// What the variance decomposition is computed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AnovaTarget {
    /// The raw fitness values.
    #[default]
    Values,
    /// The (average) ranks of the fitness values.
    Ranks,
}

/// Importance of one parameter (its main effect).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MainEffect {
    pub param: String,
    /// `V_j`, the variance of the main-effect marginal.
    pub variance: f64,
    /// `V_j / V` (0 when the total variance is 0).
    pub share: f64,
}

/// Importance of one pair of parameters (their pure interaction).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Interaction {
    pub params: [String; 2],
    /// `V_jk`, the variance of the pairwise interaction term.
    pub variance: f64,
    /// `V_jk / V` (0 when the total variance is 0).
    pub share: f64,
}

/// The functional ANOVA of a landscape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Importance {
    pub on: AnovaTarget,
    /// `V`, the total variance of the fitness (or of its ranks).
    pub total_variance: f64,
    /// Every parameter, largest share first (ties in parameter order).
    pub main_effects: Vec<MainEffect>,
    /// The largest pairwise interactions, largest first (at most the number asked).
    pub interactions: Vec<Interaction>,
    /// `Σ_j V_j / V`.
    pub main_effects_share: f64,
    /// `Σ_(j<k) V_jk / V` over all pairs (not only the listed ones).
    pub interactions_share: f64,
    /// `1 − main − pairwise`: the share of interactions of three or more parameters.
    pub higher_order_share: f64,
}

/// Exact functional ANOVA of `l`, which must be a complete grid; lists at most
/// `max_interactions` pairwise interactions.
pub fn functional_anova(
    l: &Landscape,
    on: AnovaTarget,
    max_interactions: usize,
) -> Result<Importance> {
    let n = l.len();
    if n as u64 != l.grid_size() {
        return Err(Error::Invalid(format!(
            "functional ANOVA needs a complete grid: {n} of {} configurations present",
            l.grid_size()
        )));
    }
    let y: Vec<f64> = match on {
        AnovaTarget::Values => l.fitness().to_vec(),
        AnovaTarget::Ranks => stats::ranks(l.fitness()),
    };
    let params = l.params();
    let d = params.len();
    let nl: Vec<usize> = params.iter().map(|p| p.levels.len()).collect();
    let mu = y.iter().sum::<f64>() / n as f64;
    let total = y.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / n as f64;
    let share = |v: f64| if total > 0.0 { v / total } else { 0.0 };

    // Main effects: sums per (parameter, level); every level holds n / L_j configs.
    let mut main: Vec<Vec<f64>> = nl.iter().map(|&k| vec![0.0; k]).collect();
    for (i, &yi) in y.iter().enumerate() {
        for (j, &c) in l.codes(i).iter().enumerate() {
            main[j][c as usize] += yi - mu;
        }
    }
    for (j, m) in main.iter_mut().enumerate() {
        let per_level = (n / nl[j]) as f64;
        m.iter_mut().for_each(|v| *v /= per_level);
    }
    let v_main: Vec<f64> = main
        .iter()
        .map(|m| m.iter().map(|v| v * v).sum::<f64>() / m.len() as f64)
        .collect();

    // Pairwise interactions: cell means per (j, k, a, b).
    let mut pairs = Vec::with_capacity(d * d.saturating_sub(1) / 2);
    for j in 0..d {
        for k in j + 1..d {
            let mut cell = vec![0.0; nl[j] * nl[k]];
            for (i, &yi) in y.iter().enumerate() {
                let c = l.codes(i);
                cell[c[j] as usize * nl[k] + c[k] as usize] += yi - mu;
            }
            let per_cell = (n / (nl[j] * nl[k])) as f64;
            let mut v = 0.0;
            for a in 0..nl[j] {
                for b in 0..nl[k] {
                    let t = cell[a * nl[k] + b] / per_cell - main[j][a] - main[k][b];
                    v += t * t;
                }
            }
            pairs.push((j, k, v / cell.len() as f64));
        }
    }

    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| v_main[b].total_cmp(&v_main[a]).then(a.cmp(&b)));
    let main_effects = order
        .iter()
        .map(|&j| MainEffect {
            param: params[j].name.clone(),
            variance: v_main[j],
            share: share(v_main[j]),
        })
        .collect();
    let main_sum: f64 = v_main.iter().sum();
    let pair_sum: f64 = pairs.iter().map(|p| p.2).sum();
    pairs.sort_by(|a, b| b.2.total_cmp(&a.2).then((a.0, a.1).cmp(&(b.0, b.1))));
    let interactions = pairs
        .iter()
        .take(max_interactions)
        .map(|&(j, k, v)| Interaction {
            params: [params[j].name.clone(), params[k].name.clone()],
            variance: v,
            share: share(v),
        })
        .collect();
    let (ms, is) = (share(main_sum), share(pair_sum));
    Ok(Importance {
        on,
        total_variance: total,
        main_effects,
        interactions,
        main_effects_share: ms,
        interactions_share: is,
        higher_order_share: if total > 0.0 {
            (1.0 - ms - is).max(0.0)
        } else {
            0.0
        },
    })
}

/// PED-ANOVA importance of one parameter at one γ.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PedEffect {
    pub param: String,
    /// `D_j = Σ_a p(a) (p_γ(a) / p(a) − 1)²`.
    pub divergence: f64,
    /// `D_j / Σ_k D_k` (0 when every divergence is 0).
    pub share: f64,
}

/// PED-ANOVA at one quantile γ.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PedAnova {
    pub gamma: f64,
    /// Size of the top set: `max(1, ⌈γ n⌉)`.
    pub k: usize,
    /// Every parameter, largest divergence first (ties in parameter order).
    pub params: Vec<PedEffect>,
}

/// PED-ANOVA (Watanabe, Bansal and Hutter, IJCAI 2023) on the grid levels: for each
/// γ, the top set is the `k = max(1, ⌈γ n⌉)` best configurations (by score; ties by
/// configuration order), and the importance of parameter `j` is the Pearson
/// divergence between the distribution of its levels in the top set, `p_γ`, and in
/// all configurations present, `p`:
/// `D_j = Σ_a p(a) (p_γ(a)/p(a) − 1)² = Σ_a p_γ(a)² / p(a) − 1`.
/// Levels are discrete here, so the distributions are the empirical frequencies (the
/// paper's Parzen estimators reduce to them on a grid). Works on incomplete grids.
pub fn ped_anova(l: &Landscape, gammas: &[f64]) -> Vec<PedAnova> {
    let n = l.len();
    let scores = l.scores();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let params = l.params();
    let mut all: Vec<Vec<f64>> = params.iter().map(|p| vec![0.0; p.levels.len()]).collect();
    for i in 0..n {
        for (j, &c) in l.codes(i).iter().enumerate() {
            all[j][c as usize] += 1.0;
        }
    }
    gammas
        .iter()
        .map(|&g| {
            let k = ((g * n as f64 - 1e-9).ceil() as usize).clamp(1, n);
            let mut top: Vec<Vec<f64>> = params.iter().map(|p| vec![0.0; p.levels.len()]).collect();
            for &i in &order[..k] {
                for (j, &c) in l.codes(i).iter().enumerate() {
                    top[j][c as usize] += 1.0;
                }
            }
            let div: Vec<f64> = (0..params.len())
                .map(|j| {
                    let s: f64 = all[j]
                        .iter()
                        .zip(&top[j])
                        .filter(|(a, _)| **a > 0.0)
                        .map(|(a, t)| {
                            let (p, q) = (a / n as f64, t / k as f64);
                            q * q / p
                        })
                        .sum();
                    (s - 1.0).max(0.0)
                })
                .collect();
            let total: f64 = div.iter().sum();
            let mut idx: Vec<usize> = (0..params.len()).collect();
            idx.sort_by(|&a, &b| div[b].total_cmp(&div[a]).then(a.cmp(&b)));
            PedAnova {
                gamma: g,
                k,
                params: idx
                    .iter()
                    .map(|&j| PedEffect {
                        param: params[j].name.clone(),
                        divergence: div[j],
                        share: if total > 0.0 { div[j] / total } else { 0.0 },
                    })
                    .collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::landscape::Param;

    fn grid(sizes: &[usize], f: impl Fn(&[u32]) -> f64 + Sync) -> Landscape {
        let params = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| Param::ordinal_range(&format!("p{i}"), n))
            .collect();
        Landscape::full_grid(params, "f", true, f).unwrap()
    }

    fn main_share(imp: &Importance, name: &str) -> f64 {
        imp.main_effects
            .iter()
            .find(|m| m.param == name)
            .unwrap()
            .share
    }

    #[test]
    fn only_one_parameter_matters() {
        // f depends on p1 alone (non-linearly); p0 and p2 are inert.
        let l = grid(&[3, 5, 4], |c| [0.1, 0.9, 0.4, 0.7, 0.2][c[1] as usize]);
        let imp = functional_anova(&l, AnovaTarget::Values, 10).unwrap();
        assert_eq!(imp.main_effects[0].param, "p1");
        assert!((imp.main_effects[0].share - 1.0).abs() < 1e-12);
        assert!(main_share(&imp, "p0").abs() < 1e-12);
        assert!(main_share(&imp, "p2").abs() < 1e-12);
        assert!(imp.interactions_share.abs() < 1e-12);
        assert_eq!(imp.interactions.len(), 3);
        // Ranks: still all on p1.
        let r = functional_anova(&l, AnovaTarget::Ranks, 10).unwrap();
        assert!((main_share(&r, "p1") - 1.0).abs() < 1e-12);
    }

    #[test]
    fn additive_shares_follow_the_component_variances() {
        // f = g(p0) + h(p1) with Var(g) = 8/3 * ... computed below; no interaction.
        let g = [0.0, 2.0, 4.0]; // mean 2, variance 8/3
        let h = [1.0, -1.0, 1.0, -1.0]; // mean 0, variance 1
        let l = grid(&[3, 4], |c| g[c[0] as usize] + h[c[1] as usize]);
        let imp = functional_anova(&l, AnovaTarget::Values, 10).unwrap();
        let (vg, vh) = (8.0 / 3.0, 1.0);
        assert!((imp.total_variance - (vg + vh)).abs() < 1e-12);
        assert!((main_share(&imp, "p0") - vg / (vg + vh)).abs() < 1e-12);
        assert!((main_share(&imp, "p1") - vh / (vg + vh)).abs() < 1e-12);
        assert!(imp.interactions_share.abs() < 1e-12);
        assert!(imp.higher_order_share.abs() < 1e-12);
        assert_eq!(imp.main_effects[0].param, "p0");
    }

    #[test]
    fn pure_interaction_has_no_main_effect() {
        // XOR of two booleans-as-levels, with an inert third parameter.
        let l = grid(&[2, 2, 3], |c| ((c[0] ^ c[1]) as f64) * 3.0);
        let imp = functional_anova(&l, AnovaTarget::Values, 1).unwrap();
        assert!(imp.main_effects_share.abs() < 1e-12);
        assert!((imp.interactions_share - 1.0).abs() < 1e-12);
        assert_eq!(imp.interactions.len(), 1);
        assert_eq!(imp.interactions[0].params, ["p0".to_string(), "p1".into()]);
        assert!((imp.interactions[0].share - 1.0).abs() < 1e-12);
    }

    #[test]
    fn three_way_interaction_goes_to_higher_order() {
        // Parity of three bits: no main effect, no pairwise term.
        let l = grid(&[2, 2, 2], |c| (c[0] ^ c[1] ^ c[2]) as f64);
        let imp = functional_anova(&l, AnovaTarget::Values, 3).unwrap();
        assert!(imp.main_effects_share.abs() < 1e-12);
        assert!(imp.interactions_share.abs() < 1e-12);
        assert!((imp.higher_order_share - 1.0).abs() < 1e-12);
    }

    #[test]
    fn flat_landscape_has_zero_shares() {
        let l = grid(&[2, 3], |_| 1.0);
        let imp = functional_anova(&l, AnovaTarget::Values, 3).unwrap();
        assert_eq!(imp.total_variance, 0.0);
        assert!(imp.main_effects.iter().all(|m| m.share == 0.0));
    }

    #[test]
    fn incomplete_grid_is_refused() {
        let params = vec![Param::ordinal_range("a", 2), Param::ordinal_range("b", 2)];
        let l = Landscape::new(
            params,
            vec![0, 0, 0, 1, 1, 0],
            vec![1.0, 2.0, 3.0],
            "f",
            true,
        )
        .unwrap();
        let e = functional_anova(&l, AnovaTarget::Values, 3).unwrap_err();
        assert!(e.to_string().contains("complete grid"), "{e}");
    }

    fn ped_share(p: &PedAnova, name: &str) -> f64 {
        p.params.iter().find(|e| e.param == name).unwrap().share
    }

    #[test]
    fn ped_anova_one_relevant_parameter() {
        // f depends on p1 alone; γ = 1/5 takes exactly the configurations with the
        // best p1 level: p_γ(best) = 1, p(best) = 1/5, so D = (1 − p)/p = 4, and the
        // other parameters are uniform in the top set (D = 0).
        let l = grid(&[3, 5, 4], |c| [0.1, 0.9, 0.4, 0.7, 0.2][c[1] as usize]);
        let r = ped_anova(&l, &[0.2, 0.5]);
        assert_eq!(r[0].k, 12);
        assert_eq!(r[0].params[0].param, "p1");
        assert!((r[0].params[0].divergence - 4.0).abs() < 1e-12);
        assert!((ped_share(&r[0], "p1") - 1.0).abs() < 1e-12);
        assert!(ped_share(&r[0], "p0").abs() < 1e-12);
        // γ = 1/2: k = 30 = the 24 of levels 1, 3 and 6 of level 2 (ties by order).
        assert_eq!(r[1].k, 30);
        assert!((ped_share(&r[1], "p1") - 1.0).abs() < 0.2);
    }

    #[test]
    fn ped_anova_ignores_a_parameter_irrelevant_to_the_top_set() {
        // Additive in p0 and p1, p2 inert. Every (p0, p1) cell holds the 3 levels of
        // p2 with equal fitness, and k = 3 · (number of best cells) takes whole cells.
        let g = [0.0, 2.0, 4.0, 1.0];
        let h = [0.0, 0.5, 0.25];
        let l = grid(&[4, 3, 3], |c| g[c[0] as usize] + h[c[1] as usize]);
        let r = ped_anova(&l, &[6.0 / 36.0, 9.0 / 36.0]);
        for p in &r {
            assert_eq!(p.k % 3, 0);
            assert!(ped_share(p, "p2").abs() < 1e-12, "{p:?}");
            assert!(ped_share(p, "p0") > ped_share(p, "p1"), "{p:?}");
        }
        // Hand computation at k = 6: top cells are p0 = 2 with p1 = 1 and p1 = 2:
        // p_γ(p0 = 2) = 1 → D_p0 = (1 − 1/4)/(1/4) = 3; p1 ∈ {1, 2} half each:
        // D_p1 = 2 · (1/2)² / (1/3) − 1 = 0.5.
        let d = |name: &str| {
            r[0].params
                .iter()
                .find(|e| e.param == name)
                .unwrap()
                .divergence
        };
        assert!((d("p0") - 3.0).abs() < 1e-12);
        assert!((d("p1") - 0.5).abs() < 1e-12);
    }

    #[test]
    fn ped_anova_works_on_an_incomplete_grid() {
        let params = vec![Param::ordinal_range("a", 3), Param::ordinal_range("b", 2)];
        // (a, b): (0,0) 1, (0,1) 2, (1,0) 3, (2,1) 9: the best has a = 2, b = 1.
        let l = Landscape::new(
            params,
            vec![0, 0, 0, 1, 1, 0, 2, 1],
            vec![1.0, 2.0, 3.0, 9.0],
            "f",
            true,
        )
        .unwrap();
        let r = ped_anova(&l, &[0.25]);
        assert_eq!(r[0].k, 1);
        // a: p(2) = 1/4 → D = 3; b: p(1) = 1/2 → D = 1.
        assert!((r[0].params[0].divergence - 3.0).abs() < 1e-12);
        assert!((r[0].params[1].divergence - 1.0).abs() < 1e-12);
        assert!((r[0].params[0].share - 0.75).abs() < 1e-12);
    }
}

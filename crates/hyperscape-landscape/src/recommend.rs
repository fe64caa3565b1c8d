//! A landscape-aware recommendation of a search method, from the report's metrics.
//!
//! The rule (also in `docs/landscape.md`), with `a = FDC` signed so that positive
//! means "fitness improves towards the global optimum" (`−fdc` when maximising,
//! `fdc` when minimising), `r` the local-optima ratio and `k` the number of local
//! optima:
//!
//! 1. **smooth**: `k ≤ max(3, 1% of n)` and `a ≥ 0.5` → GP, TPE, CMA-ES: model-based
//!    or local search converges fast.
//! 2. **rugged**: `r > 5%` or `a < 0.2` (or FDC undefined) → GP, TPE; no pure local
//!    search (CMA-ES, hill climbing).
//! 3. otherwise **moderate**: GP, TPE, CMA-ES.
//!
//! The samplers' order was validated against `hyperscape bench quality` on 16 tabular
//! landscapes (`scripts/validate-recommendation.sh`, `docs/landscape-recommendation.md`):
//! GP was in the top group (not significantly worse than the best sampler) on 13 of
//! 16 at 50 and at 100 trials, TPE on 8 and 5, random search on none, and the class
//! did not predict a different winner, so GP comes first in every class and random
//! search is not recommended. The class thresholds themselves are not validated.
//!
//! Notes are added for: mean neutrality ≥ 0.5 (many neighbours tie: coarser grids
//! lose little), and one parameter with a main-effect share ≥ 0.8 (tune it first).
//! Whether low fidelity is a safe proxy (multi-fidelity: successive halving,
//! Hyperband/ASHA) is not in a single landscape: `landscape compare` a low and the
//! full fidelity, and [`low_fidelity_is_safe_proxy`] says it is when Spearman ≥
//! [`PROXY_MIN_SPEARMAN`] and the top-10% IoU ≥ [`PROXY_MIN_TOP10_IOU`].

use serde::Serialize;

use crate::report::Report;
use crate::similarity::Similarity;

/// Least Spearman correlation between a low and the full fidelity for the low one
/// to be a safe proxy.
pub const PROXY_MIN_SPEARMAN: f64 = 0.7;
/// Least IoU of the top-10% sets of a low and the full fidelity for the low one to
/// be a safe proxy. It was 0.5 until validated against a simulated successive
/// halving on the 16 mapped landscapes of `docs/landscape-study.md`: at 0.5 the
/// rule agreed with "successive halving beats random search at equal cost" on 9 of
/// 16, at 0.2 on 12 (leave-one-out of the fitted thresholds: 12 of 16).
pub const PROXY_MIN_TOP10_IOU: f64 = 0.2;

/// The class of a landscape and the search method it suits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    /// `smooth`, `moderate` or `rugged`.
    pub class: String,
    /// The suggested samplers, best first.
    pub samplers: Vec<String>,
    /// Why, and further advice.
    pub notes: Vec<String>,
}

/// Applies the rule of the module documentation to a report.
pub fn recommend(r: &Report) -> Recommendation {
    let aligned = r.fdc.spearman.map(|f| if r.maximize { -f } else { f });
    let k = r.n_local_optima;
    let few = k as f64 <= (r.n_configs as f64 * 0.01).max(3.0);
    let mut notes = Vec::new();
    let (class, samplers) = match aligned {
        Some(a) if few && a >= 0.5 => {
            notes.push(format!(
                "{k} local optima and aligned FDC {a:.2}: the landscape is smooth and \
                 nearly unimodal, so model-based or local search converges fast"
            ));
            ("smooth", vec!["gp", "tpe", "cmaes"])
        }
        Some(a) if r.local_optima_ratio <= 0.05 && a >= 0.2 => {
            notes.push(format!(
                "{k} local optima and aligned FDC {a:.2}: moderately structured"
            ));
            ("moderate", vec!["gp", "tpe", "cmaes"])
        }
        _ => {
            notes.push(format!(
                "{k} local optima (ratio {:.3}) and aligned FDC {}: rugged or deceptive; \
                 prefer global model-based search over pure local search",
                r.local_optima_ratio,
                aligned.map_or("undefined".into(), |a| format!("{a:.2}"))
            ));
            ("rugged", vec!["gp", "tpe"])
        }
    };
    notes.push(
        "sampler order measured on 16 tabular benchmarks (docs/landscape-recommendation.md): \
         GP led in every class; the class thresholds are not validated"
            .into(),
    );
    if let Some(nm) = r.neutrality.mean.filter(|&m| m >= 0.5) {
        notes.push(format!(
            "mean neutrality {nm:.2}: many neighbours tie, coarser grids (fewer levels) lose little"
        ));
    }
    if let Some(top) = r
        .importance
        .as_ref()
        .and_then(|i| i.exact.as_ref())
        .and_then(|i| i.main_effects.first())
        .filter(|m| m.share >= 0.8)
    {
        notes.push(format!(
            "`{}` carries {:.0}% of the variance: tune it first, the others matter little",
            top.param,
            top.share * 100.0
        ));
    }
    notes.push(format!(
        "for multi-fidelity (successive halving, Hyperband/ASHA), `landscape compare` a low \
         and the full fidelity: safe when Spearman ≥ {PROXY_MIN_SPEARMAN} and the top-10% \
         IoU ≥ {PROXY_MIN_TOP10_IOU}"
    ));
    Recommendation {
        class: class.into(),
        samplers: samplers.into_iter().map(String::from).collect(),
        notes,
    }
}

/// Whether the first landscape of `s` (a low fidelity) is a safe proxy for the second
/// (the full fidelity): Spearman ≥ [`PROXY_MIN_SPEARMAN`] and the IoU of the top-10%
/// sets ≥ [`PROXY_MIN_TOP10_IOU`]. `None` when the Spearman correlation is undefined
/// or `s` has no γ = 0.1 set.
pub fn low_fidelity_is_safe_proxy(s: &Similarity) -> Option<bool> {
    let rho = s.spearman?;
    let iou = s
        .gamma_sets
        .iter()
        .find(|g| (g.gamma - 0.1).abs() < 1e-9)?
        .iou;
    Some(rho >= PROXY_MIN_SPEARMAN && iou >= PROXY_MIN_TOP10_IOU)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::landscape::{Landscape, Param};
    use crate::report::{analyze, Settings};

    fn report(f: impl Fn(&[u32]) -> f64 + Sync) -> Report {
        let l = Landscape::full_grid(
            vec![Param::ordinal_range("x", 9), Param::ordinal_range("y", 9)],
            "f",
            true,
            f,
        )
        .unwrap();
        analyze(&l, &Settings::default()).unwrap()
    }

    #[test]
    fn unimodal_bowl_is_smooth() {
        let r = report(|c| -((c[0] as f64 - 4.0).powi(2) + (c[1] as f64 - 2.0).powi(2)));
        let rec = recommend(&r);
        assert_eq!(rec.class, "smooth");
        assert_eq!(rec.samplers[0], "gp");
    }

    #[test]
    fn checkerboard_is_rugged() {
        // Alternating fitness: every other configuration is a local optimum.
        let r = report(|c| ((c[0] + c[1]) % 2) as f64 + 0.01 * c[0] as f64);
        let rec = recommend(&r);
        assert_eq!(rec.class, "rugged");
        assert!(!rec.samplers.contains(&"cmaes".to_string()));
    }

    /// A report of a bowl with its class-relevant metrics set by hand.
    fn with_metrics(n: usize, k: usize, fdc: Option<f64>, maximize: bool) -> Report {
        let mut r = report(|c| -((c[0] as f64 - 4.0).powi(2) + (c[1] as f64 - 2.0).powi(2)));
        r.n_configs = n;
        r.n_local_optima = k;
        r.local_optima_ratio = k as f64 / n as f64;
        r.fdc.spearman = fdc;
        r.maximize = maximize;
        r
    }

    #[test]
    fn class_boundaries() {
        // smooth: k ≤ max(3, 1% of n) and aligned FDC ≥ 0.5.
        assert_eq!(
            recommend(&with_metrics(100, 3, Some(0.5), false)).class,
            "smooth"
        );
        assert_eq!(
            recommend(&with_metrics(1000, 10, Some(0.9), false)).class,
            "smooth"
        );
        // One optimum too many, or an FDC just short: moderate.
        assert_eq!(
            recommend(&with_metrics(1000, 11, Some(0.9), false)).class,
            "moderate"
        );
        assert_eq!(
            recommend(&with_metrics(100, 3, Some(0.49), false)).class,
            "moderate"
        );
        // moderate down to ratio 5% and FDC 0.2; past either, rugged.
        assert_eq!(
            recommend(&with_metrics(100, 5, Some(0.2), false)).class,
            "moderate"
        );
        assert_eq!(
            recommend(&with_metrics(100, 6, Some(0.9), false)).class,
            "rugged"
        );
        assert_eq!(
            recommend(&with_metrics(100, 5, Some(0.19), false)).class,
            "rugged"
        );
        assert_eq!(
            recommend(&with_metrics(100, 1, None, false)).class,
            "rugged"
        );
        // When maximising, a negative raw FDC is the aligned one.
        assert_eq!(
            recommend(&with_metrics(100, 1, Some(-0.8), true)).class,
            "smooth"
        );
        assert_eq!(
            recommend(&with_metrics(100, 1, Some(0.8), true)).class,
            "rugged"
        );
    }

    #[test]
    fn gp_first_in_every_class_and_never_random() {
        // The measured order (docs/landscape-recommendation.md).
        for (n, k, fdc, class) in [
            (100, 1, 0.9, "smooth"),
            (100, 4, 0.3, "moderate"),
            (100, 20, 0.9, "rugged"),
        ] {
            let rec = recommend(&with_metrics(n, k, Some(fdc), false));
            assert_eq!(rec.class, class);
            assert_eq!(rec.samplers[0], "gp", "{rec:?}");
            assert_eq!(rec.samplers[1], "tpe", "{rec:?}");
            assert!(!rec.samplers.contains(&"random".to_string()), "{rec:?}");
        }
    }

    fn similarity_with(spearman: Option<f64>, iou10: Option<f64>) -> Similarity {
        let mut s =
            crate::similarity::similarity(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0], false, &[0.1]);
        s.spearman = spearman;
        match iou10 {
            Some(v) => s.gamma_sets[0].iou = v,
            None => s.gamma_sets.clear(),
        }
        s
    }

    #[test]
    fn low_fidelity_proxy_boundaries() {
        let safe = |rho, iou| low_fidelity_is_safe_proxy(&similarity_with(rho, iou));
        assert_eq!(safe(Some(0.7), Some(0.2)), Some(true));
        assert_eq!(safe(Some(0.95), Some(1.0)), Some(true));
        assert_eq!(safe(Some(0.69), Some(1.0)), Some(false));
        assert_eq!(safe(Some(0.9), Some(0.19)), Some(false));
        assert_eq!(safe(None, Some(1.0)), None);
        assert_eq!(safe(Some(0.9), None), None);
        // Identical landscapes are a safe proxy of each other.
        let same = crate::similarity::similarity(&[3.0, 1.0, 2.0], &[3.0, 1.0, 2.0], false, &[0.1]);
        assert_eq!(low_fidelity_is_safe_proxy(&same), Some(true));
    }

    #[test]
    fn dominant_parameter_is_named() {
        let r = report(|c| -(c[0] as f64 - 4.0).abs() - 0.01 * c[1] as f64);
        let rec = recommend(&r);
        assert!(
            rec.notes.iter().any(|n| n.contains("`x` carries")),
            "{rec:?}"
        );
    }
}

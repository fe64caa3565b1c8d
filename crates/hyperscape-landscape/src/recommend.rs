//! A landscape-aware recommendation of a search method, from the report's metrics.
//!
//! The rule (also in `docs/landscape.md`), with `a = FDC` signed so that positive
//! means "fitness improves towards the global optimum" (`−fdc` when maximising,
//! `fdc` when minimising), `r` the local-optima ratio and `k` the number of local
//! optima:
//!
//! 1. **smooth**: `k ≤ max(3, 1% of n)` and `a ≥ 0.5` → model-based or local search
//!    (GP, TPE, CMA-ES) will do well; few evaluations needed.
//! 2. **rugged**: `r > 5%` or `a < 0.2` (or FDC undefined) → TPE or random search,
//!    with restarts; avoid pure local search (CMA-ES, hill climbing).
//! 3. otherwise **moderate**: TPE.
//!
//! Notes are added for: mean neutrality ≥ 0.5 (many neighbours tie: coarser grids
//! lose little), and one parameter with a main-effect share ≥ 0.8 (tune it first).
//! Whether low fidelity is a safe proxy (multi-fidelity: Hyperband/ASHA) is not in a
//! single landscape: `landscape compare` a low and a full fidelity column; Spearman
//! ≥ 0.7 and top-10% IoU ≥ 0.5 say it is.

use serde::Serialize;

use crate::report::Report;

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
            ("moderate", vec!["tpe", "gp", "random"])
        }
        _ => {
            notes.push(format!(
                "{k} local optima (ratio {:.3}) and aligned FDC {}: rugged or deceptive; \
                 prefer global exploration with restarts over local search",
                r.local_optima_ratio,
                aligned.map_or("undefined".into(), |a| format!("{a:.2}"))
            ));
            ("rugged", vec!["tpe", "random"])
        }
    };
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
    notes.push(
        "for multi-fidelity (Hyperband/ASHA), `landscape compare` a low and the full \
         fidelity: safe when Spearman ≥ 0.7 and the top-10% IoU ≥ 0.5"
            .into(),
    );
    Recommendation {
        class: class.into(),
        samplers: samplers.into_iter().map(String::from).collect(),
        notes,
    }
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

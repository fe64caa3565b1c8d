//! The full profile of a landscape: [`analyze`] → [`Report`] (JSON via serde, or a
//! human table via [`Report::render_table`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hyperscape_core::ParamValue;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::forest::{forest_fanova, ForestFanova, ForestSettings};
use crate::importance::{self, AnovaTarget, Importance, PedAnova};
use crate::landscape::{Landscape, ParamKind};
use crate::lon::{self, LonSummary};
use crate::metrics::{self, Epsilon, LagAutocorrelation};
use crate::recommend::{recommend, Recommendation};
use crate::stats;
use crate::table::LoadInfo;

/// Settings of [`analyze`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    /// Neutrality threshold (default: absolute 0, i.e. exact ties).
    pub epsilon: Epsilon,
    /// Number of random walks (default 200).
    pub walks: usize,
    /// Points per walk (default 100).
    pub walk_length: usize,
    /// Autocorrelation is reported for lags 1..=max_lag (default 3).
    pub max_lag: usize,
    /// Seed of the walks and of the LON perturbations (default 0).
    pub seed: u64,
    /// Minimum number of configurations on a climb for the FFI (default 3).
    pub ffi_min_len: usize,
    /// At most this many global optima are listed (default 100; the count is exact).
    pub max_listed_optima: usize,
    /// Basins listed, largest first (default 10).
    pub max_listed_basins: usize,
    /// Two-parameter perturbations per local optimum for the local optima network;
    /// 0 disables it (default 0).
    pub lon_perturbations: usize,
    /// Functional ANOVA on the fitness values or on their ranks (default values).
    pub importance_on: AnovaTarget,
    /// Pairwise interactions listed by the importance, largest first (default 10).
    pub max_listed_interactions: usize,
    /// Quantiles γ of PED-ANOVA (default 0.05, 0.1, 0.2).
    pub ped_anova_gammas: Vec<f64>,
    /// Random-forest fANOVA (`trees = 0` disables it); its seed is replaced by
    /// `seed`.
    pub forest: ForestSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            epsilon: Epsilon::Absolute(0.0),
            walks: 200,
            walk_length: 100,
            max_lag: 3,
            seed: 0,
            ffi_min_len: 3,
            max_listed_optima: 100,
            max_listed_basins: 10,
            lon_perturbations: 0,
            importance_on: AnovaTarget::Values,
            max_listed_interactions: 10,
            ped_anova_gammas: vec![0.05, 0.1, 0.2],
            forest: ForestSettings::default(),
        }
    }
}

impl Settings {
    fn validate(&self) -> Result<()> {
        let e = match self.epsilon {
            Epsilon::Absolute(e) | Epsilon::Relative(e) => e,
        };
        if !(e.is_finite() && e >= 0.0) {
            return Err(Error::Setting(format!("epsilon must be ≥ 0, got {e}")));
        }
        if self.walk_length < 2 && self.walks > 0 {
            return Err(Error::Setting("walk length must be at least 2".into()));
        }
        if self.max_lag == 0 || (self.walks > 0 && self.max_lag >= self.walk_length) {
            return Err(Error::Setting(format!(
                "max lag must be between 1 and walk length - 1, got {}",
                self.max_lag
            )));
        }
        if let Some(g) = self
            .ped_anova_gammas
            .iter()
            .find(|g| !(**g > 0.0 && **g <= 1.0))
        {
            return Err(Error::Setting(format!(
                "PED-ANOVA γ must lie in (0, 1], got {g}"
            )));
        }
        Ok(())
    }
}

/// Hyperparameter importance: exact functional ANOVA (complete grids; its keys are
/// at the top level of `importance`), PED-ANOVA and random-forest fANOVA.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportanceReport {
    /// Exact functional ANOVA; absent when the grid is incomplete.
    #[serde(flatten)]
    pub exact: Option<Importance>,
    /// PED-ANOVA, one entry per γ.
    pub ped_anova: Vec<PedAnova>,
    /// Random-forest fANOVA (absent when disabled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forest_fanova: Option<ForestFanova>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParamSummary {
    pub name: String,
    pub kind: ParamKind,
    pub n_levels: usize,
}

/// A configuration with its (raw) fitness.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Optimum {
    pub params: BTreeMap<String, ParamValue>,
    pub fitness: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fdc {
    /// Spearman correlation of raw fitness and distance to the nearest global optimum.
    pub spearman: Option<f64>,
    pub pearson: Option<f64>,
    pub mean_distance: f64,
    pub max_distance: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Neutrality {
    /// The absolute threshold used (ε resolved against the fitness range).
    pub epsilon: f64,
    pub epsilon_setting: Epsilon,
    /// Mean over configurations (with ≥ 1 neighbour) of the neutral share.
    pub mean: Option<f64>,
    /// Neutral directed neighbour pairs / all directed pairs (GraphFLA's index).
    pub edge_share: Option<f64>,
    /// Spearman of per-configuration neutrality and distance to the nearest global
    /// optimum.
    pub distance_spearman: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Autocorrelation {
    pub walks: usize,
    pub walk_length: usize,
    pub seed: u64,
    pub lags: Vec<LagAutocorrelation>,
    /// −1 / ln |ρ(1)| from the pooled lag-1 estimate (when 0 < |ρ(1)| < 1).
    pub correlation_length: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Basin {
    pub optimum: Optimum,
    pub size: usize,
    pub share: f64,
    pub is_global: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Basins {
    pub n_basins: usize,
    /// Sum of the basins of all global optima.
    pub global_basin_size: usize,
    pub global_basin_share: f64,
    pub mean_size: f64,
    pub max_size: usize,
    /// Mean number of improving steps of a best-improvement climb.
    pub mean_climb_length: f64,
    /// Spearman correlation of local optima's fitness and basin size.
    pub size_fitness_spearman: Option<f64>,
    pub largest: Vec<Basin>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ffi {
    /// −mean spearman(step index, step size) over climbs that end at a global
    /// optimum (positive: flatter around the optimum).
    pub paths: Option<f64>,
    pub n_paths: usize,
    /// Spearman of distance to the nearest global optimum and the mean absolute
    /// fitness gap to neighbours (positive: gaps grow away from the optimum).
    pub gap_distance_spearman: Option<f64>,
}

/// The full profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub fitness: String,
    pub maximize: bool,
    pub params: Vec<ParamSummary>,
    pub n_configs: usize,
    /// Points of the full grid (product of level counts) and missing configurations.
    pub grid_size: u64,
    pub n_missing: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load: Option<LoadInfo>,
    /// Undirected neighbour edges.
    pub n_edges: usize,
    pub n_improving_edges: u64,
    pub n_local_optima: usize,
    pub local_optima_ratio: f64,
    /// Plateau-aware count (GraphFLA's): plateaus of equal-fitness neighbours
    /// without a strictly better neighbour, each counted once.
    pub n_local_optima_plateaus: usize,
    /// Configurations in those plateaus.
    pub n_local_optima_plateau_members: usize,
    pub n_global_optima: usize,
    pub global_optima: Vec<Optimum>,
    pub fdc: Fdc,
    pub neutrality: Neutrality,
    pub autocorrelation: Autocorrelation,
    pub basins: Basins,
    pub ffi: Ffi,
    pub assortativity: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lon: Option<LonSummary>,
    /// Hyperparameter importance ([`ImportanceReport`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub importance: Option<ImportanceReport>,
    /// Landscape-aware search advice ([`crate::recommend`]).
    pub recommendation: Option<Recommendation>,
    pub settings: Settings,
}

/// Computes the full profile of `l`.
pub fn analyze(l: &Landscape, settings: &Settings) -> Result<Report> {
    settings.validate()?;
    let n = l.len();
    let scores = l.scores();
    let fitness = l.fitness();
    let imp = metrics::improvement(l, &scores);
    let local = imp.local_optima();
    let (n_plateaus, n_plateau_members) = metrics::plateau_local_optima(l, &scores, &imp);
    let go = metrics::global_optima(&scores);
    let mut is_global = vec![false; n];
    for &g in &go {
        is_global[g] = true;
    }
    let optimum = |i: usize| Optimum {
        params: l.config(i),
        fitness: fitness[i],
    };

    // FDC.
    let dist = metrics::distances_to(l, &go);
    let distf: Vec<f64> = dist.iter().map(|&d| d as f64).collect();
    let fdc = Fdc {
        spearman: stats::spearman(fitness, &distf),
        pearson: stats::pearson(fitness, &distf),
        mean_distance: distf.iter().sum::<f64>() / n as f64,
        max_distance: dist.iter().copied().max().unwrap_or(0),
    };

    // Neutrality.
    let eps = settings.epsilon.resolve(fitness);
    let (shares, edge_share) = metrics::neutrality(l, eps);
    let defined: Vec<f64> = shares.iter().flatten().copied().collect();
    let neutrality = Neutrality {
        epsilon: eps,
        epsilon_setting: settings.epsilon,
        mean: (!defined.is_empty()).then(|| defined.iter().sum::<f64>() / defined.len() as f64),
        edge_share,
        distance_spearman: metrics::spearman_defined(&shares, &dist),
    };

    // Ruggedness.
    let series = metrics::random_walks(
        l,
        &scores,
        settings.walks,
        settings.walk_length,
        settings.seed,
    );
    let lags = metrics::autocorrelation(&series, settings.max_lag);
    let correlation_length = lags
        .first()
        .and_then(|a| a.pooled)
        .filter(|r| r.abs() > 0.0 && r.abs() < 1.0)
        .map(|r| -1.0 / r.abs().ln());
    let autocorrelation = Autocorrelation {
        walks: settings.walks,
        walk_length: settings.walk_length,
        seed: settings.seed,
        lags,
        correlation_length,
    };

    // Basins.
    let b = metrics::basins(&imp.next);
    let global_basin_size: usize = go.iter().map(|&g| b.size[g] as usize).sum();
    let mut by_size = local.clone();
    by_size.sort_by(|&x, &y| b.size[y].cmp(&b.size[x]).then(x.cmp(&y)));
    let lo_fit: Vec<f64> = local.iter().map(|&i| fitness[i]).collect();
    let lo_size: Vec<f64> = local.iter().map(|&i| b.size[i] as f64).collect();
    let basins = Basins {
        n_basins: local.len(),
        global_basin_size,
        global_basin_share: global_basin_size as f64 / n as f64,
        mean_size: n as f64 / local.len() as f64,
        max_size: by_size.first().map(|&i| b.size[i] as usize).unwrap_or(0),
        mean_climb_length: b.steps.iter().map(|&s| s as f64).sum::<f64>() / n as f64,
        size_fitness_spearman: stats::spearman(&lo_fit, &lo_size),
        largest: by_size
            .iter()
            .take(settings.max_listed_basins)
            .map(|&i| Basin {
                optimum: optimum(i),
                size: b.size[i] as usize,
                share: b.size[i] as f64 / n as f64,
                is_global: is_global[i],
            })
            .collect(),
    };

    // Fitness flattening.
    let (ffi_paths, n_paths) =
        metrics::ffi_paths(&imp.next, &b, &is_global, &scores, settings.ffi_min_len);
    let gaps = metrics::neighbour_gaps(l);
    let ffi = Ffi {
        paths: ffi_paths,
        n_paths,
        gap_distance_spearman: metrics::spearman_defined(&gaps, &dist),
    };

    let lon = (settings.lon_perturbations > 0).then(|| {
        lon::local_optima_network(
            l,
            &scores,
            &b,
            &local,
            settings.lon_perturbations,
            settings.seed,
        )
    });

    let mut report = Report {
        fitness: l.fitness_name().to_string(),
        maximize: l.maximize(),
        params: l
            .params()
            .iter()
            .map(|p| ParamSummary {
                name: p.name.clone(),
                kind: p.kind,
                n_levels: p.levels.len(),
            })
            .collect(),
        n_configs: n,
        grid_size: l.grid_size(),
        n_missing: l.grid_size() - n as u64,
        load: None,
        n_edges: l.n_directed_edges() / 2,
        n_improving_edges: imp.n_improving_edges(),
        n_local_optima: local.len(),
        local_optima_ratio: local.len() as f64 / n as f64,
        n_local_optima_plateaus: n_plateaus,
        n_local_optima_plateau_members: n_plateau_members,
        n_global_optima: go.len(),
        global_optima: go
            .iter()
            .take(settings.max_listed_optima)
            .map(|&g| optimum(g))
            .collect(),
        fdc,
        neutrality,
        autocorrelation,
        basins,
        ffi,
        assortativity: metrics::assortativity(l),
        lon,
        importance: Some(ImportanceReport {
            exact: importance::functional_anova(
                l,
                settings.importance_on,
                settings.max_listed_interactions,
            )
            .ok(),
            ped_anova: importance::ped_anova(l, &settings.ped_anova_gammas),
            forest_fanova: (settings.forest.trees > 0).then(|| {
                let y = match settings.importance_on {
                    AnovaTarget::Values => l.fitness().to_vec(),
                    AnovaTarget::Ranks => stats::ranks(l.fitness()),
                };
                let fs = ForestSettings {
                    seed: settings.seed,
                    ..settings.forest.clone()
                };
                forest_fanova(l, &y, &fs, settings.max_listed_interactions)
            }),
        }),
        recommendation: None,
        settings: settings.clone(),
    };
    report.recommendation = Some(recommend(&report));
    Ok(report)
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "undefined".to_string(), |x| format!("{x:.4}"))
}

fn config_str(c: &BTreeMap<String, ParamValue>) -> String {
    c.iter()
        .map(|(k, v)| format!("{k}={}", value_str(v)))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn value_str(v: &ParamValue) -> String {
    match v {
        ParamValue::Bool(b) => b.to_string(),
        ParamValue::Int(i) => i.to_string(),
        ParamValue::Float(x) => x.to_string(),
        ParamValue::Str(s) => s.clone(),
    }
}

impl Report {
    /// A human-readable summary.
    pub fn render_table(&self) -> String {
        let mut s = String::new();
        let dir = if self.maximize {
            "maximise"
        } else {
            "minimise"
        };
        let _ = writeln!(s, "Landscape of `{}` ({dir})", self.fitness);
        let params: Vec<String> = self
            .params
            .iter()
            .map(|p| format!("{} ({:?}, {})", p.name, p.kind, p.n_levels).to_lowercase())
            .collect();
        let mut row = |k: &str, v: String| {
            let _ = writeln!(s, "  {k:<38} {v}");
        };
        row("parameters", params.join(", "));
        row(
            "configurations",
            format!(
                "{} of a {}-point grid ({} missing)",
                self.n_configs, self.grid_size, self.n_missing
            ),
        );
        if let Some(load) = &self.load {
            row("rows read", load.n_rows.to_string());
            row(
                "rows dropped (NaN/empty fitness)",
                load.n_dropped.to_string(),
            );
            if !load.auto_excluded.is_empty() {
                row(
                    "not parameters (> 64 levels)",
                    load.auto_excluded.join(", "),
                );
            }
            if load.n_duplicates_merged > 0 {
                row(
                    "duplicate rows averaged",
                    load.n_duplicates_merged.to_string(),
                );
            }
        }
        row("neighbour edges", self.n_edges.to_string());
        row("improving edges", self.n_improving_edges.to_string());
        row(
            "local optima",
            format!(
                "{} (ratio {:.4})",
                self.n_local_optima, self.local_optima_ratio
            ),
        );
        row(
            "plateau-aware local optima (members)",
            format!(
                "{} ({})",
                self.n_local_optima_plateaus, self.n_local_optima_plateau_members
            ),
        );
        row("global optima", self.n_global_optima.to_string());
        for g in self.global_optima.iter().take(5) {
            row("", format!("{}  →  {}", config_str(&g.params), g.fitness));
        }
        row(
            "FDC (spearman / pearson)",
            format!("{} / {}", opt(self.fdc.spearman), opt(self.fdc.pearson)),
        );
        row(
            "mean / max distance to optimum",
            format!("{:.3} / {}", self.fdc.mean_distance, self.fdc.max_distance),
        );
        row(
            "neutrality (mean / edges)",
            format!(
                "{} / {} (ε = {})",
                opt(self.neutrality.mean),
                opt(self.neutrality.edge_share),
                self.neutrality.epsilon
            ),
        );
        row(
            "neutrality–distance spearman",
            opt(self.neutrality.distance_spearman),
        );
        for a in &self.autocorrelation.lags {
            row(
                &format!("autocorrelation lag {} (median/pooled)", a.lag),
                format!("{} / {}", opt(a.median), opt(a.pooled)),
            );
        }
        row(
            "correlation length",
            opt(self.autocorrelation.correlation_length),
        );
        row("basins", self.basins.n_basins.to_string());
        row(
            "global optimum basin",
            format!(
                "{} configs ({:.2}%)",
                self.basins.global_basin_size,
                100.0 * self.basins.global_basin_share
            ),
        );
        row(
            "basin size mean / max",
            format!("{:.2} / {}", self.basins.mean_size, self.basins.max_size),
        );
        row(
            "mean climb length",
            format!("{:.3}", self.basins.mean_climb_length),
        );
        row(
            "basin size–fitness spearman",
            opt(self.basins.size_fitness_spearman),
        );
        row(
            "FFI (paths)",
            format!("{} over {} climbs", opt(self.ffi.paths), self.ffi.n_paths),
        );
        row(
            "FFI (gap–distance spearman)",
            opt(self.ffi.gap_distance_spearman),
        );
        row("fitness assortativity", opt(self.assortativity));
        if let Some(lon) = &self.lon {
            row(
                "LON nodes / edges",
                format!("{} / {}", lon.n_nodes, lon.n_edges),
            );
            row(
                "LON improving edges / sinks",
                format!("{} / {}", lon.n_improving_edges, lon.n_sinks),
            );
        }
        match self.importance.as_ref().and_then(|i| i.exact.as_ref()) {
            Some(imp) => {
                let mains: Vec<String> = imp
                    .main_effects
                    .iter()
                    .map(|m| format!("{} {:.3}", m.param, m.share))
                    .collect();
                row(
                    &format!("importance, main effects ({:?})", imp.on).to_lowercase(),
                    mains.join(", "),
                );
                let pairs: Vec<String> = imp
                    .interactions
                    .iter()
                    .take(3)
                    .map(|p| format!("{}×{} {:.3}", p.params[0], p.params[1], p.share))
                    .collect();
                row(
                    "importance, top interactions",
                    if pairs.is_empty() {
                        "none".into()
                    } else {
                        pairs.join(", ")
                    },
                );
                row(
                    "importance, main / pairs / higher",
                    format!(
                        "{:.3} / {:.3} / {:.3}",
                        imp.main_effects_share, imp.interactions_share, imp.higher_order_share
                    ),
                );
            }
            None => row(
                "importance (exact fANOVA)",
                "skipped (incomplete grid)".into(),
            ),
        }
        if let Some(f) = self
            .importance
            .as_ref()
            .and_then(|i| i.forest_fanova.as_ref())
        {
            let mains: Vec<String> = f
                .main_effects
                .iter()
                .map(|m| format!("{} {:.3}±{:.3}", m.params[0], m.share, m.std))
                .collect();
            row("importance, forest fANOVA", mains.join(", "));
        }
        for p in self.importance.iter().flat_map(|i| &i.ped_anova) {
            let mains: Vec<String> = p
                .params
                .iter()
                .map(|e| format!("{} {:.3}", e.param, e.share))
                .collect();
            row(
                &format!("importance, PED-ANOVA γ={}", p.gamma),
                mains.join(", "),
            );
        }
        if let Some(rec) = &self.recommendation {
            row(
                "recommendation",
                format!("{}: {}", rec.class, rec.samplers.join(", ")),
            );
            for n in &rec.notes {
                row("", n.clone());
            }
        }
        s
    }
}

//! Pruners and schedulers: which trials stop early, and with what budget they start.
//!
//! One trait, [`Pruner`], covers pruners and multi-fidelity schedulers:
//! - at ask time, [`Pruner::assign`] gives a new trial a *partition* (a Hyperband
//!   bracket) and a *budget* (the resource it may use). The engine stores both with the
//!   trial (system attributes [`BRACKET_ATTR`], [`BUDGET_ATTR`]), so they survive a
//!   restart and every worker sees them;
//! - on each [`Trial::report`](crate::Trial::report), [`Pruner::decide`] returns a
//!   [`Decision`]: continue, prune, or promote (the trial passed a rung), plus
//!   *records* (such as the rungs the trial completed) that the engine stores as trial
//!   system attributes. Pruners never write the storage themselves.
//!
//! - before a trial is created, [`Pruner::plan`] may decide what it is (a promotion of
//!   an earlier trial with its parameters, a slot of a bracket, a budget): the
//!   budget-assigning schedulers of [`crate::scheduler`] work through it.
//!
//! The view a pruner (and the sampler) gets for a trial in a bracket is filtered to
//! that bracket ([`StudyView::in_bracket`]): brackets are an engine concept, not a
//! wrapper around the study.
//!
//! Pruners: [`MedianPruner`], [`PercentilePruner`], [`PatientPruner`],
//! [`ThresholdPruner`], [`SuccessiveHalvingPruner`], [`HyperbandPruner`],
//! [`WilcoxonPruner`], and [`ParetoPruner`] for several objectives. See
//! `docs/pruning.md`.

mod hyperband;
mod pareto;
mod patient;
mod percentile;
mod successive_halving;
mod threshold;
mod wilcoxon;

use std::collections::BTreeMap;

pub use hyperband::HyperbandPruner;
pub use pareto::ParetoPruner;
pub use patient::PatientPruner;
pub use percentile::{MedianPruner, PercentilePruner};
pub use successive_halving::{rung_key, SuccessiveHalvingPruner};
pub use threshold::ThresholdPruner;
pub use wilcoxon::{signed_rank_p_greater, WilcoxonPruner};

use crate::error::{Error, Result};
use crate::param::ParamValue;
use crate::trial::Direction;
use crate::view::StudyView;

/// System attribute holding the bracket (partition) a trial was assigned at ask time.
pub const BRACKET_ATTR: &str = "bracket";
/// System attribute holding the budget (maximum resource) a trial was given at ask time.
pub const BUDGET_ATTR: &str = "budget";
/// System attribute holding a multi-objective trial's intermediate vectors
/// (`{"step": [v1, v2, ...]}`), from [`Trial::report_values`](crate::Trial::report_values).
pub const INTERMEDIATE_VECTORS_ATTR: &str = "intermediate_vectors";

/// What a pruner knows of the trial being judged.
#[derive(Debug, Clone, Copy)]
pub struct PruneContext<'a> {
    pub number: u64,
    /// The step just reported.
    pub step: u64,
    /// Single-objective intermediate values, by step.
    pub intermediate_values: &'a BTreeMap<u64, f64>,
    /// Multi-objective intermediate vectors, by step (empty for one objective).
    pub intermediate_vectors: &'a BTreeMap<u64, Vec<f64>>,
    /// The trial's system attributes, including records of earlier decisions.
    pub system_attrs: &'a BTreeMap<String, serde_json::Value>,
    /// The bracket assigned at ask time, if any.
    pub bracket: Option<u32>,
}

impl PruneContext<'_> {
    /// The largest step reported so far (Optuna's `last_step`).
    pub fn last_step(&self) -> Option<u64> {
        let a = self.intermediate_values.keys().next_back().copied();
        let b = self.intermediate_vectors.keys().next_back().copied();
        a.max(b)
    }
}

/// Where and with what budget a new trial starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Assignment {
    /// The partition of the study the trial belongs to (a Hyperband bracket).
    pub bracket: Option<u32>,
    /// The largest step the trial may reach (its resource), if the scheduler bounds it.
    pub budget: Option<u64>,
}

/// What a new trial is, decided by [`Pruner::plan`] before it is created.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// Parameters fixed in advance (empty: the sampler draws them).
    pub params: BTreeMap<String, ParamValue>,
    /// Taken exclusively in the storage; a lost race makes the engine plan again.
    pub claim_key: Option<String>,
    /// System attributes of the new trial.
    pub system_attrs: BTreeMap<String, serde_json::Value>,
}

/// What to do with a trial after a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Continue,
    /// Stop the trial now; it is recorded as pruned.
    Prune,
    /// The trial passed rung `rung` and goes on towards the next one (the engine treats
    /// it as continue; schedulers that pause trials will act on it).
    Promote {
        rung: u32,
    },
}

/// A pruner's decision, and attributes to record on the trial (stored by the engine).
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub action: Action,
    pub records: BTreeMap<String, serde_json::Value>,
}

impl Decision {
    pub fn proceed() -> Self {
        Self::from(Action::Continue)
    }
    pub fn prune() -> Self {
        Self::from(Action::Prune)
    }
    /// Continue or prune.
    pub fn prune_if(yes: bool) -> Self {
        if yes {
            Self::prune()
        } else {
            Self::proceed()
        }
    }
    pub fn is_prune(&self) -> bool {
        self.action == Action::Prune
    }
}

impl From<Action> for Decision {
    fn from(action: Action) -> Self {
        Self {
            action,
            records: BTreeMap::new(),
        }
    }
}

/// Decides, at ask time, a trial's bracket and budget, and after each report whether
/// it goes on. See the module documentation.
pub trait Pruner: Send + Sync {
    fn name(&self) -> &str;

    /// Before a new trial is created (when no waiting trial is claimed): what the
    /// trial is. `Ok(None)` (the default): a configuration from the sampler. A
    /// [`Plan`]: its parameters are fixed (a promotion repeats its parent's), its
    /// claim key is taken exclusively by the storage (so no slot or promotion is
    /// handed out twice, across threads and processes), its system attributes (budget,
    /// parent, rung...) are stored with the trial. `Err(Error::NothingToClaim)`:
    /// nothing to start yet (the loop polls); `Err(Error::SpaceExhausted)`: the
    /// schedule is finished. Budget-assigning schedulers (`crate::scheduler`) use it.
    fn plan(&self, _view: &StudyView<'_>) -> Result<Option<Plan>> {
        Ok(None)
    }

    /// Bracket and budget of the new trial `number`. Default: neither.
    fn assign(&self, _view: &StudyView<'_>, _number: u64) -> Result<Assignment> {
        Ok(Assignment::default())
    }

    /// The decision after a report. `view` is filtered to the trial's bracket.
    fn decide(&self, view: &StudyView<'_>, trial: &PruneContext<'_>) -> Result<Decision>;

    /// Whether `decide` compares the trial with other trials. When it does (the
    /// default), each report first refreshes the view from the storage, so peers in
    /// other workers count; a pruner that judges the trial alone returns `false` and
    /// spares every report that read.
    fn judges_against_peers(&self) -> bool {
        true
    }
}

/// Never prunes.
#[derive(Debug, Clone, Copy, Default)]
pub struct NopPruner;

impl Pruner for NopPruner {
    fn name(&self) -> &str {
        "none"
    }
    fn decide(&self, _view: &StudyView<'_>, _trial: &PruneContext<'_>) -> Result<Decision> {
        Ok(Decision::proceed())
    }
    fn judges_against_peers(&self) -> bool {
        false
    }
}

/// Names accepted by [`pruner_by_name`].
pub const PRUNERS: &[&str] = &[
    "none",
    "median",
    "percentile",
    "patient",
    "threshold",
    "sha",
    "hyperband",
    "wilcoxon",
    "pareto",
];

/// Settings of [`pruner_by_name`]; `None` takes the pruner's default (Optuna's).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct PrunerOptions {
    pub n_startup_trials: Option<usize>,
    pub n_warmup_steps: Option<u64>,
    pub interval_steps: Option<u64>,
    pub n_min_trials: Option<usize>,
    pub percentile: Option<f64>,
    pub patience: Option<usize>,
    pub min_delta: Option<f64>,
    /// The pruner a patient pruner wraps (by name; none: patience alone decides).
    pub wrapped: Option<String>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub min_resource: Option<u64>,
    pub max_resource: Option<u64>,
    pub reduction_factor: Option<u64>,
    pub min_early_stopping_rate: Option<u32>,
    pub bootstrap_count: Option<usize>,
    pub p_threshold: Option<f64>,
    pub n_startup_steps: Option<usize>,
    pub dominated_fraction: Option<f64>,
}

impl PrunerOptions {
    /// Names of the settings given, in `snake_case`.
    fn given(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        macro_rules! check {
            ($($f:ident),*) => { $( if self.$f.is_some() { v.push(stringify!($f)); } )* };
        }
        check!(
            n_startup_trials,
            n_warmup_steps,
            interval_steps,
            n_min_trials,
            percentile,
            patience,
            min_delta,
            wrapped,
            lower,
            upper,
            min_resource,
            max_resource,
            reduction_factor,
            min_early_stopping_rate,
            bootstrap_count,
            p_threshold,
            n_startup_steps,
            dominated_fraction
        );
        v
    }
}

const INTERVAL_OPTS: &[&str] = &[
    "n_startup_trials",
    "n_warmup_steps",
    "interval_steps",
    "n_min_trials",
];

/// Builds a pruner by name (one of [`PRUNERS`]). A setting the pruner does not use,
/// or a missing one it needs, is an error naming it.
pub fn pruner_by_name(name: &str, o: &PrunerOptions) -> Result<Box<dyn Pruner>> {
    let allowed: Vec<&str> = match name {
        "none" => vec![],
        "median" => INTERVAL_OPTS.to_vec(),
        "percentile" => [INTERVAL_OPTS, &["percentile"]].concat(),
        "patient" => {
            let mut v = vec!["patience", "min_delta", "wrapped"];
            if let Some(w) = &o.wrapped {
                v.extend(allowed_for_wrapped(w));
            }
            v
        }
        "threshold" => vec!["lower", "upper", "n_warmup_steps", "interval_steps"],
        "sha" => vec![
            "min_resource",
            "reduction_factor",
            "min_early_stopping_rate",
            "bootstrap_count",
        ],
        "hyperband" => vec![
            "min_resource",
            "max_resource",
            "reduction_factor",
            "bootstrap_count",
        ],
        "wilcoxon" => vec!["p_threshold", "n_startup_steps"],
        "pareto" => vec![
            "n_startup_trials",
            "n_warmup_steps",
            "interval_steps",
            "dominated_fraction",
        ],
        _ => {
            return Err(Error::InvalidPruner(format!(
                "unknown pruner `{name}` (available: {})",
                PRUNERS.join(", ")
            )))
        }
    };
    if let Some(bad) = o.given().into_iter().find(|g| !allowed.contains(g)) {
        return Err(Error::InvalidPruner(format!(
            "setting `{bad}` does not apply to the {name} pruner (it takes: {})",
            if allowed.is_empty() {
                "nothing".to_string()
            } else {
                allowed.join(", ")
            }
        )));
    }
    build(name, o)
}

fn allowed_for_wrapped(w: &str) -> Vec<&'static str> {
    match w {
        "median" => INTERVAL_OPTS.to_vec(),
        "percentile" => [INTERVAL_OPTS, &["percentile"]].concat(),
        "threshold" => vec!["lower", "upper", "n_warmup_steps", "interval_steps"],
        _ => vec![],
    }
}

fn build(name: &str, o: &PrunerOptions) -> Result<Box<dyn Pruner>> {
    let percentile = |q: f64| -> Result<PercentilePruner> {
        let d = PercentilePruner::new(q)?;
        Ok(PercentilePruner {
            n_startup_trials: o.n_startup_trials.unwrap_or(d.n_startup_trials),
            n_warmup_steps: o.n_warmup_steps.unwrap_or(d.n_warmup_steps),
            interval_steps: check_interval(o.interval_steps)?,
            n_min_trials: check_min_trials(o.n_min_trials)?,
            ..d
        })
    };
    Ok(match name {
        "none" => Box::new(NopPruner),
        "median" => Box::new(MedianPruner(percentile(50.0)?)),
        "percentile" => {
            let q = o.percentile.ok_or_else(|| {
                Error::InvalidPruner("the percentile pruner needs a percentile (0-100)".into())
            })?;
            Box::new(percentile(q)?)
        }
        "patient" => {
            let wrapped = match o.wrapped.as_deref() {
                None | Some("none") => None,
                Some("patient") => {
                    return Err(Error::InvalidPruner(
                        "a patient pruner cannot wrap another patient pruner".into(),
                    ))
                }
                Some(w) => {
                    let inner = PrunerOptions {
                        patience: None,
                        min_delta: None,
                        wrapped: None,
                        ..o.clone()
                    };
                    Some(pruner_by_name(w, &inner)?)
                }
            };
            let patience = o.patience.ok_or_else(|| {
                Error::InvalidPruner("the patient pruner needs a patience (steps)".into())
            })?;
            Box::new(PatientPruner::new(
                wrapped,
                patience,
                o.min_delta.unwrap_or(0.0),
            )?)
        }
        "threshold" => {
            let mut t = ThresholdPruner::new(o.lower, o.upper)?;
            t.n_warmup_steps = o.n_warmup_steps.unwrap_or(0);
            t.interval_steps = check_interval(o.interval_steps)?;
            Box::new(t)
        }
        "sha" => Box::new(SuccessiveHalvingPruner::new(
            o.min_resource.unwrap_or(1),
            o.reduction_factor.unwrap_or(4),
            o.min_early_stopping_rate.unwrap_or(0),
            o.bootstrap_count.unwrap_or(0),
        )?),
        "hyperband" => {
            let max = o.max_resource.ok_or_else(|| {
                Error::InvalidPruner(
                    "the hyperband pruner needs `max_resource` (the last step of a full trial)"
                        .into(),
                )
            })?;
            Box::new(HyperbandPruner::new(
                o.min_resource.unwrap_or(1),
                max,
                o.reduction_factor.unwrap_or(3),
                o.bootstrap_count.unwrap_or(0),
            )?)
        }
        "wilcoxon" => Box::new(WilcoxonPruner::new(
            o.p_threshold.unwrap_or(0.1),
            o.n_startup_steps.unwrap_or(2),
        )?),
        "pareto" => {
            let mut p = ParetoPruner::new(o.dominated_fraction.unwrap_or(0.5))?;
            p.n_startup_trials = o.n_startup_trials.unwrap_or(p.n_startup_trials);
            p.n_warmup_steps = o.n_warmup_steps.unwrap_or(0);
            p.interval_steps = check_interval(o.interval_steps)?;
            Box::new(p)
        }
        _ => unreachable!("names are checked by pruner_by_name"),
    })
}

fn check_interval(v: Option<u64>) -> Result<u64> {
    match v {
        Some(0) => Err(Error::InvalidPruner(
            "interval_steps must be at least 1".into(),
        )),
        v => Ok(v.unwrap_or(1)),
    }
}

fn check_min_trials(v: Option<usize>) -> Result<usize> {
    match v {
        Some(0) => Err(Error::InvalidPruner(
            "n_min_trials must be at least 1".into(),
        )),
        v => Ok(v.unwrap_or(1)),
    }
}

/// The one direction of a single-objective study, or an error naming the pruner.
pub(crate) fn single_direction(view: &StudyView<'_>, pruner: &str) -> Result<Direction> {
    match view.directions() {
        [d] => Ok(*d),
        ds => Err(Error::InvalidPruner(format!(
            "the {pruner} pruner needs a single-objective study, this one has {} objectives \
             (use the pareto pruner)",
            ds.len()
        ))),
    }
}

/// Whether `step` is the first reported step at or past the latest pruning point of
/// the interval grid `n_warmup_steps + k * interval_steps` (Optuna's rule: a trial is
/// judged once per interval, at the first report that reaches it).
pub(crate) fn is_first_in_interval_step<'a>(
    step: u64,
    steps: impl Iterator<Item = &'a u64>,
    n_warmup_steps: u64,
    interval_steps: u64,
) -> bool {
    if step < n_warmup_steps {
        return false;
    }
    let nearest_lower = (step - n_warmup_steps) / interval_steps * interval_steps + n_warmup_steps;
    let second_last = steps.copied().filter(|&s| s != step && s < step).max();
    second_last.is_none_or(|s| s < nearest_lower)
}

/// `q`-th percentile (0-100) with linear interpolation (NumPy's default).
pub(crate) fn percentile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    let idx = q / 100.0 * (n - 1) as f64;
    let lo = idx.floor() as usize;
    let hi = idx.ceil() as usize;
    values[lo] + (values[hi] - values[lo]) * (idx - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_match_numpy() {
        assert_eq!(percentile(&mut [3.0, 1.0, 2.0, 4.0], 50.0), 2.5);
        assert_eq!(percentile(&mut [1.0, 2.0, 3.0, 4.0, 5.0], 25.0), 2.0);
        assert!((percentile(&mut [1.0, 2.0, 10.0], 90.0) - 8.4).abs() < 1e-12);
        assert!(percentile(&mut [], 50.0).is_nan());
    }

    #[test]
    fn interval_steps() {
        let steps = [0u64, 1, 2, 3, 4, 5];
        let first = |s: u64, w, i| is_first_in_interval_step(s, steps[..=s as usize].iter(), w, i);
        assert!(!first(1, 2, 1), "before warm-up");
        assert!(first(2, 2, 1));
        assert!(first(2, 2, 3) && !first(3, 2, 3) && !first(4, 2, 3) && first(5, 2, 3));
        // Sparse reports: the first report past a pruning point is judged.
        assert!(is_first_in_interval_step(7, [0u64, 3, 7].iter(), 0, 5));
        assert!(!is_first_in_interval_step(9, [0u64, 7, 9].iter(), 0, 5));
    }

    #[test]
    fn by_name_checks_settings() {
        let o = PrunerOptions::default();
        for n in PRUNERS {
            let needs = matches!(*n, "percentile" | "patient" | "threshold" | "hyperband");
            assert_eq!(pruner_by_name(n, &o).is_ok(), !needs, "{n}");
        }
        let e = pruner_by_name("mediam", &o).err().unwrap().to_string();
        assert!(e.contains("unknown pruner `mediam`"), "{e}");
        let e = pruner_by_name(
            "median",
            &PrunerOptions {
                patience: Some(3),
                ..o.clone()
            },
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            e.contains("`patience` does not apply to the median pruner"),
            "{e}"
        );
        let p = pruner_by_name(
            "patient",
            &PrunerOptions {
                patience: Some(2),
                wrapped: Some("median".into()),
                n_warmup_steps: Some(3),
                ..o.clone()
            },
        )
        .unwrap();
        assert_eq!(p.name(), "patient");
        let e = pruner_by_name(
            "percentile",
            &PrunerOptions {
                percentile: Some(120.0),
                ..o
            },
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("percentile"), "{e}");
    }
}

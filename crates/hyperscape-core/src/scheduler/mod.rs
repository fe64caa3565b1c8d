//! Budget-assigning schedulers: synchronous successive halving and Hyperband, ASHA,
//! BOHB, DEHB and population-based training.
//!
//! A scheduler tells each trial its budget when the trial is asked, instead of
//! stopping it on its intermediate values as a pruner does. Every scheduler is a
//! [`Pruner`] (one file each in this module) and works through one hook,
//! [`Pruner::plan`], called at ask time before the trial is
//! created. A plan says what the trial is:
//! - a **new configuration** at the bottom rung (the sampler draws it; BOHB draws it
//!   from its own density model and fixes it, DEHB evolves it);
//! - a **promotion**: a *new trial* that repeats its parent's parameters at a higher
//!   budget, linked to it ([`PARENT_ATTR`]) and resuming from a copy of its checkpoint
//!   ([`CHECKPOINT_FROM_ATTR`]);
//! - nothing yet (`Error::NothingToClaim`: a synchronous rung waits for its trials);
//! - nothing more (`Error::SpaceExhausted`: PBT's population reached its budget).
//!
//! **A promotion is a new trial, not the same trial continuing.** Each trial is one run
//! from [`PREVIOUS_BUDGET_ATTR`] to [`BUDGET_ATTR`] with one
//! set of hyperparameters, finished once, with its own value at its budget. The chain
//! of parents is the configuration's (or the PBT member's) history; [`lineage`] walks
//! it. This keeps every piece of scheduler state in the storage as trial system
//! attributes, and every slot and promotion is a claim key that the storage hands out
//! exactly once, so threads, processes and a resumed study continue the same brackets.
//! (Optuna's pruners continue the same trial; Ray Tune pauses and resumes it.)
//!
//! Trials of one scheduler carry [`SCHEDULER_ATTR`] (its name and settings); resuming
//! a study with other settings is an error naming both.

pub mod asha;
pub mod bohb;
pub mod dehb;
mod hyperband;
pub mod pbt;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use asha::AshaScheduler;
pub use bohb::{BohbDensity, BohbScheduler};
pub use dehb::DehbScheduler;
pub use hyperband::{bracket_rungs, BracketScheduler, Rung};
pub use pbt::{explore, PbtScheduler};

use crate::error::{Error, Result};
use crate::pruner::{Plan, Pruner, BUDGET_ATTR};
use crate::trial::{Direction, FrozenTrial, TrialState};
use crate::view::StudyView;

/// The trial this one continues: a promoted trial's parent, the trial whose
/// checkpoint a PBT member starts its interval from.
pub const PARENT_ATTR: &str = "parent";
/// The budget the trial's starting checkpoint was trained to (absent: from scratch).
pub const PREVIOUS_BUDGET_ATTR: &str = "previous_budget";
/// The trial whose checkpoint directory is copied into this trial's at ask time.
pub const CHECKPOINT_FROM_ATTR: &str = "checkpoint_from";
/// The trial's checkpoint directory (with a checkpoint root).
pub const CHECKPOINT_DIR_ATTR: &str = "checkpoint_dir";
/// The rung (index into the budget ladder) a trial runs at.
pub const RUNG_ATTR: &str = "rung";
/// A synchronous bracket instance (0, 1, 2... in the order they start).
pub const SH_BRACKET_ATTR: &str = "sh_bracket";
/// The slot of a trial within its rung of a synchronous bracket.
pub const SLOT_ATTR: &str = "slot";
/// The scheduler and settings a trial was planned by.
pub const SCHEDULER_ATTR: &str = "scheduler";
/// Settings of a scheduler kept out of its [`SCHEDULER_ATTR`] signature (DEHB's `F`,
/// `CR` and seed; BOHB's random fraction and seed): a JSON object. The signature names
/// the claim keys' scheduler and stays as it was for existing studies; these settings
/// are checked on resume by their own rule (see [`check_settings`]).
pub const SETTINGS_ATTR: &str = "scheduler_settings";
/// Marks the full-length trial that measures the maximum budget (`max_budget` auto).
pub const AUTO_PROBE_ATTR: &str = "auto_budget_probe";

/// Names accepted by [`scheduler_by_name`].
pub const SCHEDULERS: &[&str] = &["sha", "hyperband", "asha", "bohb", "dehb", "pbt"];

/// Settings of [`scheduler_by_name`]; `None` takes the default.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SchedulerOptions {
    pub min_budget: Option<u64>,
    /// `None`: auto (the last step of a first full-length trial).
    pub max_budget: Option<u64>,
    pub eta: Option<u64>,
    /// SHA: configurations in the bottom rung of each bracket.
    pub n_configs: Option<u64>,
    /// PBT: members.
    pub population: Option<usize>,
    /// PBT: steps between exploit/explore decisions.
    pub perturb_interval: Option<u64>,
    /// PBT: fraction of the population that exploits (bottom) and is copied (top).
    pub quantile: Option<f64>,
    /// PBT: probability that explore resamples a parameter instead of perturbing it.
    pub resample_probability: Option<f64>,
    /// BOHB: fraction of new configurations drawn at random.
    pub random_fraction: Option<f64>,
    /// BOHB: the density model, `parzen` (default) or `kde` ([`BohbDensity`]).
    pub bohb_density: Option<String>,
    /// DEHB: differential evolution's mutation factor `F`.
    pub mutation_factor: Option<f64>,
    /// DEHB: differential evolution's crossover probability `CR`.
    pub crossover_prob: Option<f64>,
    /// BOHB, DEHB, PBT: seed.
    pub seed: Option<u64>,
}

/// Builds a scheduler by name (one of [`SCHEDULERS`]). A setting the scheduler does
/// not use is an error naming it.
pub fn scheduler_by_name(name: &str, o: &SchedulerOptions) -> Result<Box<dyn Pruner>> {
    let given = {
        let mut v = Vec::new();
        macro_rules! check {
            ($($f:ident),*) => { $( if o.$f.is_some() { v.push(stringify!($f)); } )* };
        }
        check!(
            min_budget,
            max_budget,
            eta,
            n_configs,
            population,
            perturb_interval,
            quantile,
            resample_probability,
            random_fraction,
            bohb_density,
            mutation_factor,
            crossover_prob,
            seed
        );
        v
    };
    let allowed: &[&str] = match name {
        "sha" => &["min_budget", "max_budget", "eta", "n_configs"],
        "hyperband" | "asha" => &["min_budget", "max_budget", "eta"],
        "bohb" => &[
            "min_budget",
            "max_budget",
            "eta",
            "random_fraction",
            "bohb_density",
            "seed",
        ],
        "dehb" => &[
            "min_budget",
            "max_budget",
            "eta",
            "mutation_factor",
            "crossover_prob",
            "seed",
        ],
        "pbt" => &[
            "max_budget",
            "population",
            "perturb_interval",
            "quantile",
            "resample_probability",
            "seed",
        ],
        _ => {
            return Err(Error::InvalidScheduler(format!(
                "unknown scheduler `{name}` (available: {})",
                SCHEDULERS.join(", ")
            )))
        }
    };
    if let Some(bad) = given.iter().find(|g| !allowed.contains(g)) {
        return Err(Error::InvalidScheduler(format!(
            "setting `{bad}` does not apply to the {name} scheduler (it takes: {})",
            allowed.join(", ")
        )));
    }
    let min = o.min_budget.unwrap_or(1);
    let eta = o.eta.unwrap_or(3);
    Ok(match name {
        "sha" => Box::new(BracketScheduler::successive_halving(
            min,
            o.max_budget,
            eta,
            o.n_configs,
        )?),
        "hyperband" => Box::new(BracketScheduler::hyperband(min, o.max_budget, eta)?),
        "asha" => Box::new(AshaScheduler::new(min, o.max_budget, eta)?),
        "bohb" => {
            let mut b = BohbScheduler::new(min, o.max_budget, eta, o.seed)?;
            if let Some(f) = o.random_fraction {
                b = b.random_fraction(f)?;
            }
            if let Some(d) = &o.bohb_density {
                b = b.density(BohbDensity::parse(d)?);
            }
            Box::new(b)
        }
        "dehb" => {
            let mut d = DehbScheduler::new(min, o.max_budget, eta, o.seed)?;
            if let Some(f) = o.mutation_factor {
                d = d.mutation_factor(f)?;
            }
            if let Some(cr) = o.crossover_prob {
                d = d.crossover_prob(cr)?;
            }
            Box::new(d)
        }
        "pbt" => {
            let max = o.max_budget.ok_or_else(|| {
                Error::InvalidScheduler("pbt needs a max budget (total steps per member)".into())
            })?;
            let mut p = PbtScheduler::new(
                o.population.unwrap_or(8),
                o.perturb_interval.unwrap_or(1),
                max,
                o.seed,
            )?;
            if let Some(q) = o.quantile {
                p = p.quantile(q)?;
            }
            if let Some(r) = o.resample_probability {
                p = p.resample_probability(r)?;
            }
            Box::new(p)
        }
        _ => unreachable!("checked above"),
    })
}

/// The budget ladder `b_0 < b_1 < ... < b_s = max`, `b_k = round(max / eta^(s - k))`,
/// with `s = floor(log_eta(max / min))` (Li et al.'s `r_i = R eta^(i - s)`). Every level
/// is at least `min`. `min = 1, max = 81, eta = 3` gives `1, 3, 9, 27, 81`.
pub fn budget_levels(min: u64, max: u64, eta: u64) -> Result<Vec<u64>> {
    check_budgets(min, max, eta)?;
    let mut s = 0u32;
    let mut r = min;
    while r.saturating_mul(eta) <= max {
        r *= eta;
        s += 1;
    }
    Ok((0..=s)
        .map(|k| {
            let div = (eta as f64).powi((s - k) as i32);
            ((max as f64 / div).round() as u64).max(min)
        })
        .collect())
}

fn check_budgets(min: u64, max: u64, eta: u64) -> Result<()> {
    if min == 0 || max < min {
        return Err(Error::InvalidScheduler(format!(
            "budgets need 1 <= min budget <= max budget, got min {min} and max {max}"
        )));
    }
    if eta < 2 {
        return Err(Error::InvalidScheduler(format!(
            "eta (the reduction factor) must be at least 2, not {eta}"
        )));
    }
    Ok(())
}

/// A budget ladder whose maximum may be measured (`auto`): the first trial runs
/// without a budget, alone, and its last reported step becomes the maximum budget.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ladder {
    pub min: u64,
    pub max: Option<u64>,
    pub eta: u64,
}

/// The ladder, or the plan to run while it is not known yet.
pub(crate) enum Resolved {
    Levels(Vec<u64>),
    Plan(Plan),
}

impl Ladder {
    pub fn new(min: u64, max: Option<u64>, eta: u64) -> Result<Self> {
        check_budgets(min, max.unwrap_or(min), eta)?;
        Ok(Self { min, max, eta })
    }

    pub fn describe(&self) -> String {
        match self.max {
            Some(m) => format!("min={},max={m},eta={}", self.min, self.eta),
            None => format!("min={},max=auto,eta={}", self.min, self.eta),
        }
    }

    pub fn resolve(&self, view: &StudyView<'_>, signature: &str) -> Result<Resolved> {
        if let Some(max) = self.max {
            return Ok(Resolved::Levels(budget_levels(self.min, max, self.eta)?));
        }
        let probe = view
            .trials()
            .find(|t| t.system_attrs.contains_key(AUTO_PROBE_ATTR));
        match probe {
            None => {
                let mut attrs = BTreeMap::new();
                attrs.insert(AUTO_PROBE_ATTR.to_string(), true.into());
                attrs.insert(SCHEDULER_ATTR.to_string(), signature.into());
                Ok(Resolved::Plan(Plan {
                    params: BTreeMap::new(),
                    claim_key: Some("auto-budget-probe".into()),
                    system_attrs: attrs,
                }))
            }
            Some(t) if !is_finished(t) => Err(Error::NothingToClaim(format!(
                "trial {} runs at full length to measure the max budget",
                t.number
            ))),
            Some(t) => {
                let last = t.intermediate_values.keys().next_back().copied();
                match last {
                    Some(max) if max >= self.min => {
                        Ok(Resolved::Levels(budget_levels(self.min, max, self.eta)?))
                    }
                    _ => Err(Error::InvalidScheduler(format!(
                        "max budget `auto`: trial {}, run at full length to measure it, \
                         reported no step at or past the min budget {} ({}); set the max budget",
                        t.number, self.min, t.state
                    ))),
                }
            }
        }
    }
}

pub(crate) fn is_finished(t: &FrozenTrial) -> bool {
    !matches!(t.state, TrialState::Running | TrialState::Waiting)
}

/// The loss (smaller is better) of a complete single-objective trial.
pub(crate) fn loss(t: &FrozenTrial, dir: Direction) -> Option<f64> {
    if t.state != TrialState::Complete {
        return None;
    }
    t.values.as_ref()?.first().map(|v| dir.to_loss(*v))
}

/// Complete trials, best first (ties: lower number first).
pub(crate) fn ranked<'a>(
    trials: impl IntoIterator<Item = &'a FrozenTrial>,
    dir: Direction,
) -> Vec<&'a FrozenTrial> {
    let mut v: Vec<(f64, &FrozenTrial)> = trials
        .into_iter()
        .filter_map(|t| Some((loss(t, dir)?, t)))
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.number.cmp(&b.1.number)));
    v.into_iter().map(|(_, t)| t).collect()
}

pub(crate) fn attr_u64(t: &FrozenTrial, key: &str) -> Option<u64> {
    t.system_attrs.get(key).and_then(|v| v.as_u64())
}

/// Fails when a trial of the study was planned by another scheduler or settings.
pub(crate) fn check_signature(view: &StudyView<'_>, signature: &str) -> Result<()> {
    if let Some((n, other)) = view.trials().find_map(|t| {
        let s = t.system_attrs.get(SCHEDULER_ATTR)?.as_str()?;
        (s != signature).then(|| (t.number, s.to_string()))
    }) {
        return Err(Error::InvalidScheduler(format!(
            "trial {n} was scheduled by `{other}`, this run uses `{signature}`: resume the \
             study with the settings it was created with"
        )));
    }
    Ok(())
}

/// The settings stored by the first trial of the study that has them (a study
/// created before they were stored has none): its number and the settings.
pub(crate) fn stored_settings(
    view: &StudyView<'_>,
) -> Option<(u64, serde_json::Map<String, serde_json::Value>)> {
    view.trials().find_map(|t| {
        let m = t.system_attrs.get(SETTINGS_ATTR)?.as_object()?;
        Some((t.number, m.clone()))
    })
}

/// Fails when the study's stored settings (see [`SETTINGS_ATTR`], found by
/// [`stored_settings`]) differ from `settings`, naming the first setting that differs
/// and both values. A setting the study did not store is not checked.
pub(crate) fn check_settings(
    stored: Option<&(u64, serde_json::Map<String, serde_json::Value>)>,
    scheduler: &str,
    settings: &serde_json::Map<String, serde_json::Value>,
) -> Result<()> {
    let Some((n, stored)) = stored else {
        return Ok(());
    };
    for (key, ours) in settings {
        let Some(theirs) = stored.get(key) else {
            continue;
        };
        if !same_setting(theirs, ours) {
            return Err(Error::InvalidScheduler(format!(
                "trial {n} was scheduled by {scheduler} with `{key}` {theirs}, this run uses \
                 {ours}: resume the study with the settings it was created with"
            )));
        }
    }
    Ok(())
}

/// Integers exactly, floats up to rounding (a JSON round trip may move the last bit).
fn same_setting(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return x == y;
    }
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-12 * x.abs().max(y.abs()).max(1.0),
        _ => a == b,
    }
}

/// The seed a scheduler uses, given the study's [`stored_settings`]: an explicit one as
/// given (checked against the study's by [`check_settings`]); without one, the seed the
/// study stored, so a
/// resumed study continues the same random streams, or else `fallback` (drawn at
/// construction) for a new study.
pub(crate) fn resumed_seed(
    stored: Option<&(u64, serde_json::Map<String, serde_json::Value>)>,
    given: Option<u64>,
    fallback: u64,
) -> u64 {
    given
        .or_else(|| stored.and_then(|(_, m)| m.get("seed")?.as_u64()))
        .unwrap_or(fallback)
}

/// The plan of a promotion of `parent` to `budget`: its parameters, its checkpoint.
pub(crate) fn promotion(
    parent: &FrozenTrial,
    budget: u64,
    claim_key: String,
    mut attrs: BTreeMap<String, serde_json::Value>,
) -> Plan {
    attrs.insert(PARENT_ATTR.into(), parent.number.into());
    attrs.insert(CHECKPOINT_FROM_ATTR.into(), parent.number.into());
    if let Some(prev) = attr_u64(parent, BUDGET_ATTR) {
        attrs.insert(PREVIOUS_BUDGET_ATTR.into(), prev.into());
    }
    attrs.insert(BUDGET_ATTR.into(), budget.into());
    let mut params = parent.params.clone();
    if params.is_empty() {
        params = parent
            .system_attrs
            .get(crate::trial::FIXED_PARAMS_ATTR)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
    }
    Plan {
        params,
        claim_key: Some(claim_key),
        system_attrs: attrs,
    }
}

/// The chain of trials that led to trial `number`, oldest first, following
/// [`PARENT_ATTR`]: a configuration's rungs, or a PBT member's intervals with the
/// hyperparameters used in each (the schedule to replay).
pub fn lineage(trials: &[FrozenTrial], number: u64) -> Vec<FrozenTrial> {
    let by_number: BTreeMap<u64, &FrozenTrial> = trials.iter().map(|t| (t.number, t)).collect();
    let mut out = Vec::new();
    let mut cur = by_number.get(&number).copied();
    while let Some(t) = cur {
        if out.len() > trials.len() {
            break; // a cycle cannot happen (parents are older), but never loop forever
        }
        out.push(t.clone());
        cur = attr_u64(t, PARENT_ATTR).and_then(|p| by_number.get(&p).copied());
    }
    out.reverse();
    out
}

/// `<root>/<study>/trial-<number>`; characters of the study name other than
/// alphanumerics, `-`, `_` and `.` become `_`.
pub fn checkpoint_dir_for(root: &Path, study: &str, number: u64) -> PathBuf {
    let safe: String = study
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    root.join(safe).join(format!("trial-{number}"))
}

/// Copies the files and folders of `src` into `dst` (which exists), recursively.
/// Symbolic links are copied as the files they point to.
pub(crate) fn copy_dir(src: &Path, dst: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let to = dst.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&to)?;
            copy_dir(&entry.path(), &to)?;
        } else {
            std::fs::copy(entry.path(), &to)?;
        }
    }
    Ok(())
}

/// A seed for one decision, from the scheduler's seed and the decision's coordinates.
pub(crate) fn mix_seed(seed: u64, parts: &[u64]) -> u64 {
    let mut h = seed ^ 0x9E37_79B9_7F4A_7C15;
    for &p in parts {
        h ^= p
            .wrapping_add(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(h << 6)
            .wrapping_add(h >> 2);
        h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h ^= h >> 31;
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladders() {
        assert_eq!(budget_levels(1, 81, 3).unwrap(), vec![1, 3, 9, 27, 81]);
        assert_eq!(budget_levels(1, 100, 3).unwrap(), vec![1, 4, 11, 33, 100]);
        assert_eq!(budget_levels(2, 16, 2).unwrap(), vec![2, 4, 8, 16]);
        assert_eq!(budget_levels(5, 5, 3).unwrap(), vec![5]);
        assert_eq!(budget_levels(10, 100, 4).unwrap(), vec![25, 100]);
        assert!(budget_levels(0, 10, 3).is_err());
        assert!(budget_levels(5, 4, 3).is_err());
        assert!(budget_levels(1, 9, 1).is_err());
    }

    #[test]
    fn by_name_checks_settings() {
        let o = SchedulerOptions {
            max_budget: Some(27),
            ..Default::default()
        };
        for n in SCHEDULERS {
            assert!(scheduler_by_name(n, &o).is_ok(), "{n}");
        }
        let e = scheduler_by_name(
            "asha",
            &SchedulerOptions {
                population: Some(4),
                ..o.clone()
            },
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("`population` does not apply to the asha"), "{e}");
        let e = scheduler_by_name("pbt", &SchedulerOptions::default())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("max budget"), "{e}");
        assert!(scheduler_by_name("hyperbnd", &o).is_err());
        let density = |d: &str| {
            scheduler_by_name(
                "bohb",
                &SchedulerOptions {
                    bohb_density: Some(d.into()),
                    ..o.clone()
                },
            )
        };
        assert!(density("kde").is_ok() && density("parzen").is_ok());
        let e = density("gauss").err().unwrap().to_string();
        assert!(e.contains("`parzen` or `kde`, not `gauss`"), "{e}");
        let e = scheduler_by_name(
            "dehb",
            &SchedulerOptions {
                bohb_density: Some("kde".into()),
                ..o.clone()
            },
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            e.contains("`bohb_density` does not apply to the dehb"),
            "{e}"
        );
    }
}

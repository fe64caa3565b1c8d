//! Pruners decide whether a running trial should stop early.
//!
//! This is the minimal hook that `Trial::report` calls; the pruners and schedulers
//! themselves (median, successive halving, Hyperband, ...) plug in here.

use std::collections::BTreeMap;

use crate::view::StudyView;

/// What a pruner knows of the trial being judged.
#[derive(Debug, Clone, Copy)]
pub struct PruneContext<'a> {
    pub number: u64,
    /// The step just reported.
    pub step: u64,
    pub intermediate_values: &'a BTreeMap<u64, f64>,
}

/// Decides, after each report, whether a trial should be pruned.
pub trait Pruner: Send + Sync {
    fn name(&self) -> &str;
    fn should_prune(&self, view: &StudyView<'_>, trial: &PruneContext<'_>) -> bool;
}

/// Never prunes.
#[derive(Debug, Clone, Copy, Default)]
pub struct NopPruner;

impl Pruner for NopPruner {
    fn name(&self) -> &str {
        "none"
    }
    fn should_prune(&self, _view: &StudyView<'_>, _trial: &PruneContext<'_>) -> bool {
        false
    }
}

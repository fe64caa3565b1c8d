//! The CLI's trial loop: the core's [`Study::run_trials`] with the CLI's objective,
//! shared by `run`, `worker` and `demo`. Each trial suggests the declared space and
//! hands the parameters to `evaluate` (an external command, or the demo function).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use hyperscape_core::{
    Error, FrozenTrial, OptimizeOptions, ParamValue, SpaceDecl, Study, Trial, TrialResult,
};

use crate::external::{Progress, StepVerdict};

/// Reason recorded for trials stopped by Ctrl-C / SIGTERM.
pub const INTERRUPTED_REASON: &str = "interrupted";

/// What one evaluation gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Values(Vec<f64>),
    /// Stopped by the pruner after reporting `step`.
    Pruned {
        step: u64,
    },
    Failed(String),
    Interrupted,
}

/// Counts of what one loop did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoopSummary {
    pub complete: usize,
    pub pruned: usize,
    pub failed: usize,
    /// The sampler ran out of points (a finished grid, a spent budget).
    pub exhausted: bool,
    /// Stopped by a signal.
    pub interrupted: bool,
}

impl LoopSummary {
    pub fn total(&self) -> usize {
        self.complete + self.pruned + self.failed
    }
}

/// How to run the loop.
pub struct LoopSpec<'a> {
    pub study: &'a Study,
    pub space: &'a SpaceDecl,
    pub n_trials: usize,
    pub jobs: usize,
    pub interrupted: &'a AtomicBool,
    /// How long to wait before asking again when nothing can be claimed yet (a budget
    /// whose last trials run in other workers).
    pub poll_interval: Duration,
}

/// Reports one progress line of an external command to its trial.
pub fn report_progress(trial: &mut Trial, p: &Progress) -> StepVerdict {
    let r = match p.values.as_slice() {
        [v] => trial.report(p.step, *v),
        vs => trial.report_values(p.step, vs),
    };
    match r {
        Ok(()) => StepVerdict::Continue,
        Err(Error::Pruned { .. }) => StepVerdict::Prune,
        Err(e) => StepVerdict::Fail(format!("cannot report step {}: {e}", p.step)),
    }
}

/// Runs up to `n_trials` trials; `evaluate` gets the trial (to report progress) and
/// its parameters,
/// `on_done` every finished trial. Engine errors (storage), and a space that does not
/// fit the study, stop the loop and are returned; objective failures are recorded in
/// their trials.
pub fn run<E, D>(spec: &LoopSpec<'_>, evaluate: E, on_done: D) -> Result<LoopSummary>
where
    E: Fn(&mut Trial, &BTreeMap<String, ParamValue>) -> Outcome + Sync,
    D: Fn(&FrozenTrial) + Sync,
{
    let study = spec.study;
    let fatal: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    let objective = |trial: &mut Trial| -> TrialResult {
        if spec.interrupted.load(Ordering::SeqCst) {
            return TrialResult::Failed(INTERRUPTED_REASON.into());
        }
        let number = trial.number();
        match trial.suggest_space(spec.space) {
            Ok(params) => match evaluate(trial, &params) {
                Outcome::Values(v) => TrialResult::Complete(v),
                Outcome::Pruned { .. } => TrialResult::Pruned,
                Outcome::Failed(r) => TrialResult::Failed(r),
                Outcome::Interrupted => TrialResult::Failed(INTERRUPTED_REASON.into()),
            },
            Err(e) => {
                // The space does not fit the study (or a retried trial's fixed
                // parameters): every further trial would fail the same way.
                let reason = format!("cannot suggest parameters: {e}");
                lock(&fatal).get_or_insert_with(|| anyhow!("trial {number}: {reason}"));
                study.stop();
                TrialResult::Failed(reason)
            }
        }
    };
    let opts = OptimizeOptions::n_trials(spec.n_trials)
        .n_jobs(spec.jobs.max(1))
        .interrupt(spec.interrupted)
        .poll_interval(spec.poll_interval)
        .callback(|_, trial| on_done(trial));
    let summary = study
        .run_trials(objective, opts)
        .context("the trial loop stopped")?;
    if let Some(e) = fatal.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    Ok(LoopSummary {
        complete: summary.complete,
        pruned: summary.pruned,
        failed: summary.failed,
        exhausted: summary.exhausted,
        interrupted: summary.interrupted,
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

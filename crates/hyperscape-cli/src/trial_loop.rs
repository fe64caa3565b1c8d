//! The ask/tell loop shared by `run` and `demo`: `jobs` threads, each asking for a
//! trial, suggesting the declared space, evaluating, and telling the result.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use hyperscape_core::{Error, FrozenTrial, ParamValue, SpaceDecl, Study, TrialResult, TrialState};

/// Reason recorded for trials stopped by Ctrl-C / SIGTERM.
pub const INTERRUPTED_REASON: &str = "interrupted";

/// What one evaluation gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Values(Vec<f64>),
    Failed(String),
    Interrupted,
}

/// Counts of what one loop did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoopSummary {
    pub complete: usize,
    pub pruned: usize,
    pub failed: usize,
    /// The sampler ran out of points (a finished grid).
    pub exhausted: bool,
    /// Stopped by a signal.
    pub interrupted: bool,
}

impl LoopSummary {
    pub fn total(&self) -> usize {
        self.complete + self.pruned + self.failed
    }
}

/// What to do when the sampler has nothing to hand out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenExhausted {
    /// The search is over.
    Stop,
    /// Nothing to claim now, but there may be later (a budget whose last trials run
    /// elsewhere, maybe in a dead worker): ask again after this pause.
    Wait(Duration),
}

/// Decides what an exhausted sampler means; an error stops the loop with it.
pub type ExhaustedHook<'a> = &'a (dyn Fn() -> Result<WhenExhausted> + Sync);

/// How to run the loop.
pub struct LoopSpec<'a> {
    pub study: &'a Study,
    pub space: &'a SpaceDecl,
    pub n_trials: usize,
    pub jobs: usize,
    pub interrupted: &'a AtomicBool,
    /// `None`: an exhausted sampler stops the loop.
    pub when_exhausted: Option<ExhaustedHook<'a>>,
}

/// Runs up to `n_trials` trials; `evaluate` gets the trial number and parameters,
/// `on_done` every finished trial. Engine errors (storage) stop the loop and are
/// returned; objective failures are recorded in their trials.
pub fn run<E, D>(spec: &LoopSpec<'_>, evaluate: E, on_done: D) -> Result<LoopSummary>
where
    E: Fn(u64, &BTreeMap<String, ParamValue>) -> Outcome + Sync,
    D: Fn(&FrozenTrial) + Sync,
{
    let started = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let summary = Mutex::new(LoopSummary::default());
    let worker = || -> Result<()> {
        let r = worker(spec, &started, &stop, &summary, &evaluate, &on_done);
        if r.is_err() {
            stop.store(true, Ordering::SeqCst);
        }
        r
    };
    let results: Vec<Result<()>> = if spec.jobs <= 1 {
        vec![worker()]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..spec.jobs).map(|_| s.spawn(worker)).collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(anyhow!("a worker thread panicked")))
                })
                .collect()
        })
    };
    let mut summary = summary.into_inner().unwrap_or_else(|p| p.into_inner());
    summary.interrupted = spec.interrupted.load(Ordering::SeqCst);
    results.into_iter().collect::<Result<Vec<()>>>()?;
    Ok(summary)
}

fn worker<E, D>(
    spec: &LoopSpec<'_>,
    started: &AtomicUsize,
    stop: &AtomicBool,
    summary: &Mutex<LoopSummary>,
    evaluate: &E,
    on_done: &D,
) -> Result<()>
where
    E: Fn(u64, &BTreeMap<String, ParamValue>) -> Outcome + Sync,
    D: Fn(&FrozenTrial) + Sync,
{
    let study = spec.study;
    loop {
        if stop.load(Ordering::SeqCst) || spec.interrupted.load(Ordering::SeqCst) {
            return Ok(());
        }
        if started.fetch_add(1, Ordering::SeqCst) >= spec.n_trials {
            return Ok(());
        }
        let mut trial = match study.ask() {
            Ok(t) => t,
            Err(Error::SpaceExhausted(_)) => {
                let decision = match spec.when_exhausted {
                    Some(hook) => hook()?,
                    None => WhenExhausted::Stop,
                };
                if let WhenExhausted::Wait(pause) = decision {
                    started.fetch_sub(1, Ordering::SeqCst);
                    pause_unless_stopped(pause, stop, spec.interrupted);
                    continue;
                }
                lock(summary).exhausted = true;
                stop.store(true, Ordering::SeqCst);
                return Ok(());
            }
            Err(e) => return Err(e).context("cannot start a trial"),
        };
        let number = trial.number();
        let result = if spec.interrupted.load(Ordering::SeqCst) {
            TrialResult::Failed(INTERRUPTED_REASON.into())
        } else {
            match trial.suggest_space(spec.space) {
                Ok(params) => match evaluate(number, &params) {
                    Outcome::Values(v) => TrialResult::Complete(v),
                    Outcome::Failed(r) => TrialResult::Failed(r),
                    Outcome::Interrupted => TrialResult::Failed(INTERRUPTED_REASON.into()),
                },
                Err(e) => {
                    // The space does not fit the study (or a retried trial's fixed
                    // parameters): every further trial would fail the same way.
                    let reason = format!("cannot suggest parameters: {e}");
                    study
                        .tell(trial, TrialResult::Failed(reason.clone()))
                        .with_context(|| format!("cannot record trial {number}"))?;
                    return Err(anyhow!("trial {number}: {reason}"));
                }
            }
        };
        let frozen = study
            .tell(trial, result)
            .with_context(|| format!("cannot record the result of trial {number}"))?;
        {
            let mut s = lock(summary);
            match frozen.state {
                TrialState::Complete => s.complete += 1,
                TrialState::Pruned => s.pruned += 1,
                _ => s.failed += 1,
            }
        }
        on_done(&frozen);
    }
}

/// Sleeps for `pause`, returning early when the loop is stopped or interrupted.
fn pause_unless_stopped(pause: Duration, stop: &AtomicBool, interrupted: &AtomicBool) {
    let start = Instant::now();
    while start.elapsed() < pause
        && !stop.load(Ordering::SeqCst)
        && !interrupted.load(Ordering::SeqCst)
    {
        std::thread::sleep(
            pause
                .saturating_sub(start.elapsed())
                .min(Duration::from_millis(20)),
        );
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

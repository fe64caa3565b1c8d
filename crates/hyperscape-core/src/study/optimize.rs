//! The closure-driven loop, built on ask/tell.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Study, Trial};
use crate::error::{Error, Result};
use crate::trial::{FrozenTrial, TrialResult, TrialState};

/// What an objective may return: one value, or one per objective.
pub trait ObjectiveValue {
    fn into_values(self) -> Vec<f64>;
}
impl ObjectiveValue for f64 {
    fn into_values(self) -> Vec<f64> {
        vec![self]
    }
}
impl ObjectiveValue for f32 {
    fn into_values(self) -> Vec<f64> {
        vec![self as f64]
    }
}
impl ObjectiveValue for Vec<f64> {
    fn into_values(self) -> Vec<f64> {
        self
    }
}
impl<const N: usize> ObjectiveValue for [f64; N] {
    fn into_values(self) -> Vec<f64> {
        self.to_vec()
    }
}
impl ObjectiveValue for (f64, f64) {
    fn into_values(self) -> Vec<f64> {
        vec![self.0, self.1]
    }
}
impl ObjectiveValue for (f64, f64, f64) {
    fn into_values(self) -> Vec<f64> {
        vec![self.0, self.1, self.2]
    }
}

/// Called after every finished trial, from the worker thread that ran it.
/// Call [`Study::stop`] from a callback to end the run.
pub type Callback = Box<dyn Fn(&Study, &FrozenTrial) + Send + Sync>;

/// Budget and parallelism of [`Study::optimize_with`].
#[derive(Default)]
pub struct OptimizeOptions {
    /// Trials to run in this call (added to those already in the study, as in Optuna).
    pub n_trials: Option<usize>,
    /// Stop starting trials after this long.
    pub timeout: Option<Duration>,
    /// Worker threads; 0 means one per CPU.
    pub n_jobs: usize,
    pub callbacks: Vec<Callback>,
}

impl OptimizeOptions {
    pub fn n_trials(n: usize) -> Self {
        Self {
            n_trials: Some(n),
            n_jobs: 1,
            ..Default::default()
        }
    }
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = Some(t);
        self
    }
    pub fn n_jobs(mut self, n: usize) -> Self {
        self.n_jobs = n;
        self
    }
    pub fn callback(mut self, f: impl Fn(&Study, &FrozenTrial) + Send + Sync + 'static) -> Self {
        self.callbacks.push(Box::new(f));
        self
    }
}

/// Counts of what one `optimize` call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OptimizeSummary {
    pub complete: usize,
    pub pruned: usize,
    pub failed: usize,
    /// True when the sampler ran out of points (for example, a finished grid).
    pub exhausted: bool,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Study {
    /// Runs `n_trials` trials of `objective` on one thread.
    pub fn optimize<F, V, E>(&self, objective: F, n_trials: usize) -> Result<OptimizeSummary>
    where
        F: Fn(&mut Trial) -> std::result::Result<V, E> + Sync,
        V: ObjectiveValue,
        E: Into<BoxError>,
    {
        self.optimize_with(objective, OptimizeOptions::n_trials(n_trials))
    }

    /// Runs trials until `n_trials` have started, `timeout` has passed, the sampler is
    /// exhausted, or [`Study::stop`] is called, on `n_jobs` threads.
    ///
    /// An objective that errors, panics, or returns NaN/inf fails its trial with the
    /// reason recorded, and the run goes on. An objective that propagates
    /// [`Error::Pruned`] (from [`Trial::report`]) prunes its trial. Errors of the
    /// engine itself (storage failures) stop the run and are returned.
    pub fn optimize_with<F, V, E>(
        &self,
        objective: F,
        opts: OptimizeOptions,
    ) -> Result<OptimizeSummary>
    where
        F: Fn(&mut Trial) -> std::result::Result<V, E> + Sync,
        V: ObjectiveValue,
        E: Into<BoxError>,
    {
        self.run_trials(
            |trial| match objective(trial) {
                Ok(v) => TrialResult::Complete(v.into_values()),
                Err(e) => {
                    let e: BoxError = e.into();
                    match e.downcast_ref::<Error>() {
                        Some(Error::Pruned { .. }) => TrialResult::Pruned,
                        _ => TrialResult::Failed(format!("objective error: {e}")),
                    }
                }
            },
            opts,
        )
    }

    /// The loop under [`optimize_with`](Self::optimize_with), for objectives that decide
    /// the result themselves (the CLI's external commands): the returned
    /// [`TrialResult`] is told as it is. A panic still fails the trial, with its
    /// message. Call [`Study::stop`] (from the objective, a callback or a signal
    /// handler) to stop starting trials.
    pub fn run_trials<F>(&self, objective: F, opts: OptimizeOptions) -> Result<OptimizeSummary>
    where
        F: Fn(&mut Trial) -> TrialResult + Sync,
    {
        if opts.n_trials.is_none() && opts.timeout.is_none() {
            return Err(Error::InvalidObjectiveValue(
                "optimize needs n_trials or a timeout (or both)".into(),
            ));
        }
        let n_jobs = match opts.n_jobs {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let start = Instant::now();
        let started = AtomicUsize::new(0);
        let summary = Mutex::new(OptimizeSummary::default());
        let first_error: Mutex<Option<Error>> = Mutex::new(None);

        let worker = || loop {
            if self.inner.stop.load(Ordering::SeqCst)
                || opts.timeout.is_some_and(|t| start.elapsed() >= t)
            {
                return;
            }
            if let Some(n) = opts.n_trials {
                if started.fetch_add(1, Ordering::SeqCst) >= n {
                    return;
                }
            }
            match self.run_one(&objective) {
                Ok(frozen) => {
                    {
                        let mut s = summary.lock().unwrap_or_else(|p| p.into_inner());
                        match frozen.state {
                            TrialState::Complete => s.complete += 1,
                            TrialState::Pruned => s.pruned += 1,
                            _ => s.failed += 1,
                        }
                    }
                    for cb in &opts.callbacks {
                        cb(self, &frozen);
                    }
                }
                Err(Error::SpaceExhausted(_)) => {
                    summary.lock().unwrap_or_else(|p| p.into_inner()).exhausted = true;
                    self.stop();
                    return;
                }
                Err(e) => {
                    first_error
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_or_insert(e);
                    self.stop();
                    return;
                }
            }
        };

        if n_jobs == 1 {
            worker();
        } else {
            std::thread::scope(|s| {
                for _ in 0..n_jobs {
                    s.spawn(worker);
                }
            });
        }
        // The stop request ends with this run; the next run starts afresh.
        self.inner.stop.store(false, Ordering::SeqCst);
        if let Some(e) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(e);
        }
        Ok(summary.into_inner().unwrap_or_else(|p| p.into_inner()))
    }

    fn run_one<F>(&self, objective: &F) -> Result<FrozenTrial>
    where
        F: Fn(&mut Trial) -> TrialResult + Sync,
    {
        let mut trial = self.ask()?;
        let result =
            catch_unwind(AssertUnwindSafe(|| objective(&mut trial))).unwrap_or_else(|panic| {
                TrialResult::Failed(format!("objective panicked: {}", panic_message(&panic)))
            });
        self.tell(trial, result)
    }
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".into()
    }
}

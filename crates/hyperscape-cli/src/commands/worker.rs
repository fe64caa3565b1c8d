//! `hyperscape worker`: run trials of a study created with `study create`.
//!
//! The study's spec says what to run; its budget is enforced exactly across workers by
//! `hyperscape_core::study::BudgetSampler` (see `docs/ARCHITECTURE.md`). A worker that
//! finds no budget left to claim waits while trials still run elsewhere, so that it
//! can fail and re-run those of a worker that died, and stops once every slot is done.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use hyperscape_core::study::budget::budget_status;
use hyperscape_core::study::StudySpec;
use hyperscape_core::{FrozenTrial, ParamValue, Study, Trial};

use super::study::load_spec;
use crate::cli::WorkerArgs;
use crate::common::{self, redact};
use crate::external::{ObjectiveCommand, Schedule, TrialInput};
use crate::output::{self, Progress};
use crate::signal;
use crate::trial_loop::{self, LoopSpec, LoopSummary, Outcome};

/// A study opened for a worker, with its spec.
pub struct WorkerStudy {
    pub study: Study,
    pub spec: StudySpec,
    /// The budget in trials, if the study has one.
    pub budget: Option<u64>,
}

impl WorkerStudy {
    /// Opens study `name` of the storage at `url` with the sampler, seed, heartbeats and
    /// budget of its spec.
    pub fn open(url: &str, name: &str) -> Result<Self> {
        let storage = common::open_storage(url)?;
        let spec = load_spec(&storage, name, url)?;
        let budget = spec.budget()?;
        let mut builder = Study::builder(name)
            .storage(storage)
            .boxed_sampler(spec.sampler().context("the study's sampler")?)
            .heartbeat(spec.heartbeat()?)
            .space(spec.space.search_space())
            .load_if_exists(true);
        if let Some(p) = spec.pruner().context("the study's pruner or scheduler")? {
            builder = builder.boxed_pruner(p);
        }
        if let Some(root) = &spec.checkpoint_root {
            builder = builder.checkpoint_root(root);
        }
        let study = builder
            .build()
            .with_context(|| format!("cannot open study `{name}`"))?;
        Ok(Self {
            study,
            spec,
            budget,
        })
    }

    /// How often an idle worker looks again while the budget's last trials run
    /// elsewhere (a dead worker's trial is failed by `ask` once its heartbeat is stale).
    fn poll_interval(&self) -> Duration {
        let interval = Duration::from_secs_f64(self.spec.heartbeat_interval_secs);
        (interval / 4).clamp(Duration::from_millis(20), Duration::from_millis(200))
    }

    /// Runs the trial loop: at most `trials` in this worker (`None`: no own limit).
    pub fn run<E, D>(
        &self,
        trials: Option<usize>,
        jobs: usize,
        interrupted: &AtomicBool,
        evaluate: E,
        on_done: D,
    ) -> Result<LoopSummary>
    where
        E: Fn(&mut Trial, &BTreeMap<String, ParamValue>) -> Outcome + Sync,
        D: Fn(&FrozenTrial) + Sync,
    {
        let spec = LoopSpec {
            study: &self.study,
            space: &self.spec.space,
            n_trials: trials.unwrap_or(usize::MAX),
            jobs,
            interrupted,
            poll_interval: self.poll_interval(),
        };
        trial_loop::run(&spec, evaluate, on_done)
    }
}

pub fn execute(a: WorkerArgs) -> Result<i32> {
    if a.jobs == 0 {
        bail!("--jobs must be at least 1");
    }
    if a.trials == Some(0) {
        bail!("--trials must be at least 1");
    }
    let ws = WorkerStudy::open(&a.storage.storage, &a.study)?;
    if ws.spec.command.is_empty() {
        bail!(
            "study `{}` has no objective command (it was made by `hyperscape bench storage`)",
            a.study
        );
    }
    let command = ObjectiveCommand {
        argv: ws.spec.command.clone(),
        timeout: ws.spec.trial_timeout(),
        prune_grace: ws.spec.prune_grace_secs.map_or(
            crate::external::DEFAULT_PRUNE_GRACE,
            Duration::from_secs_f64,
        ),
    };
    let interrupted = signal::install()?;
    let study = &ws.study;
    let remaining = match ws.budget {
        Some(slots) => {
            let st = budget_status(&study.trials()?, slots);
            Some((st.slots - st.done) as usize)
        }
        None => None,
    };
    let bar_len = match (a.trials, remaining) {
        (Some(t), Some(r)) => t.min(r),
        (Some(n), None) | (None, Some(n)) => n,
        (None, None) => 0,
    };
    let progress = Progress::new(bar_len, study.directions(), study.best_value().ok());
    let result = ws.run(
        a.trials,
        a.jobs,
        interrupted,
        |trial, params| {
            command.evaluate(
                &TrialInput {
                    study: &a.study,
                    number: trial.number(),
                    params,
                    schedule: Schedule::of(trial),
                },
                interrupted,
                &mut |p| trial_loop::report_progress(trial, p),
            )
        },
        |t| progress.done(t),
    );
    progress.finish();
    let summary = result?;
    print_summary(&ws, &summary, &a.storage.storage)?;
    if summary.interrupted {
        eprintln!("interrupted: running trials were marked failed (reason `interrupted`)");
        return Ok(signal::EXIT_INTERRUPTED);
    }
    Ok(0)
}

fn print_summary(ws: &WorkerStudy, s: &LoopSummary, url: &str) -> Result<()> {
    let all = ws.study.trials()?;
    let mut text = format!(
        "study `{}` in `{}`: {} trial(s) in this worker ({} complete, {} failed, {} pruned); \
         {} in the study\n",
        ws.study.name(),
        redact(url),
        s.total(),
        s.complete,
        s.failed,
        s.pruned,
        all.len()
    );
    if let Some(slots) = ws.budget {
        let st = budget_status(&all, slots);
        text.push_str(&format!(
            "budget: {} of {} trial(s) done{}\n",
            st.done,
            st.slots,
            if st.is_spent() {
                ": the study is complete"
            } else {
                ""
            }
        ));
    }
    text.push_str(&super::run::best_summary(&ws.study)?);
    output::out(&text)
}

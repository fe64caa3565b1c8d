//! `hyperscape bench storage`: trial throughput of a storage under W worker processes.
//!
//! The parent creates a fresh study (null objective, random sampler, a budget of N
//! trials), starts W copies of itself as `__bench-worker`, waits until each has opened
//! the storage and loaded the study (it prints `ready`), then starts the clock and
//! tells them all to go (a line on stdin). Each worker runs the same loop as
//! `hyperscape worker` with an objective that returns 0.0, and prints a JSON line with
//! its counts and the time its last trial finished. `wall_seconds` runs from the go to
//! the last trial recorded, so process start-up is excluded (it is `startup_seconds`).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use hyperscape_core::sampler::fresh_seed;
use hyperscape_core::study::StudySpec;
use hyperscape_core::{Distribution, SpaceDecl, Study, TrialState};
use serde_json::json;

use super::worker::WorkerStudy;
use crate::cli::{BenchCommand, BenchStorageArgs, BenchWorkerArgs, ListFormat};
use crate::common::{self, redact};
use crate::output;
use crate::signal;
use crate::trial_loop::Outcome;

/// Name of the hidden subcommand a bench worker runs.
const WORKER_COMMAND: &str = "__bench-worker";

pub fn execute(c: BenchCommand) -> Result<i32> {
    match c {
        BenchCommand::Storage(a) => storage(a),
        BenchCommand::Quality(a) => super::bench_harness::quality(a),
        BenchCommand::Overhead(a) => super::bench_harness::overhead(a),
    }
}

fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// `sqlite`, `postgres`, ... from a storage URL.
fn storage_kind(url: &str) -> &'static str {
    if hyperscape_core::storage::sqlite_path(url).is_some() {
        "sqlite"
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        "postgres"
    } else {
        "other"
    }
}

/// A started bench worker.
struct Worker {
    child: Child,
    stdout: BufReader<ChildStdout>,
    stderr: std::thread::JoinHandle<String>,
}

impl Worker {
    fn spawn(exe: &std::path::Path, study: &str, url: &str) -> Result<Self> {
        // The URL goes through the environment, not argv: `ps` would show a password.
        let mut child = Command::new(exe)
            .args([WORKER_COMMAND, "--study", study])
            .env("HYPERSCAPE_STORAGE", url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start `{}`", exe.display()))?;
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut err = child.stderr.take().expect("piped stderr");
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Ok(Self {
            child,
            stdout,
            stderr,
        })
    }

    fn line(&mut self) -> Option<String> {
        let mut l = String::new();
        match self.stdout.read_line(&mut l) {
            Ok(n) if n > 0 => Some(l.trim().to_string()),
            _ => None,
        }
    }

    /// Waits for the worker; its result line (if any) and its stderr.
    fn finish(mut self) -> (Option<serde_json::Value>, bool, String) {
        let result = self
            .line()
            .and_then(|l| serde_json::from_str::<serde_json::Value>(&l).ok());
        let ok = self.child.wait().map(|s| s.success()).unwrap_or(false);
        let stderr = self.stderr.join().unwrap_or_default();
        (result, ok, stderr)
    }
}

fn storage(a: BenchStorageArgs) -> Result<i32> {
    if a.workers == 0 {
        bail!("--workers must be at least 1");
    }
    if a.trials == 0 {
        bail!("--trials must be at least 1");
    }
    let url = a.storage.storage.clone();
    if matches!(url.as_str(), "memory:" | ":memory:" | "memory://") {
        bail!("bench storage needs a storage shared by processes (sqlite or postgresql), not `memory:`");
    }
    let storage = common::open_storage(&url)?;
    let name = format!(
        "bench-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    );
    let space = SpaceDecl::new().param("x", Distribution::float(0.0, 1.0))?;
    let mut spec = StudySpec::new(space, Vec::new());
    spec.seed = Some(fresh_seed() >> 11);
    spec.n_trials = Some(a.trials);
    let study = Study::builder(&name)
        .storage(storage.clone())
        .build()
        .with_context(|| format!("cannot create the bench study `{name}`"))?;
    spec.save(&storage, study.id())?;

    let result = run_workers(&a, &url, &name);
    let trials = storage.all_trials(study.id());
    if !a.keep {
        storage
            .delete_study(study.id())
            .with_context(|| format!("cannot delete the bench study `{name}`"))?;
    }
    let (wall, startup, mut errors, messages) = result?;
    let trials = trials.context("cannot read the bench study's trials")?;
    let recorded = trials.len() as u64;
    let complete = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .count() as u64;
    let failed = trials
        .iter()
        .filter(|t| t.state == TrialState::Failed)
        .count() as u64;
    // Two trials with one number, or trials past the budget: work done twice.
    let numbers: std::collections::HashSet<u64> = trials.iter().map(|t| t.number).collect();
    let duplicated = (recorded - numbers.len() as u64) + recorded.saturating_sub(a.trials);
    if recorded != complete || complete != a.trials || duplicated != 0 {
        errors += 1;
    }
    for m in &messages {
        eprintln!("{}", redact(m));
    }
    let tps = if wall > 0.0 {
        complete as f64 / wall
    } else {
        0.0
    };
    match a.format {
        ListFormat::Json => output::json(&json!({
            "storage": storage_kind(&url),
            "workers": a.workers,
            "trials": a.trials,
            "recorded": recorded,
            "complete": complete,
            "failed": failed,
            "duplicated": duplicated,
            "errors": errors,
            "wall_seconds": wall,
            "startup_seconds": startup,
            "trials_per_second": tps,
            "study": if a.keep { json!(name) } else { json!(null) },
        }))?,
        ListFormat::Table => output::out(&output::table(
            &[
                "storage", "workers", "trials", "recorded", "complete", "errors", "wall s",
                "trials/s",
            ],
            &[vec![
                storage_kind(&url).to_string(),
                a.workers.to_string(),
                a.trials.to_string(),
                recorded.to_string(),
                complete.to_string(),
                errors.to_string(),
                format!("{wall:.3}"),
                format!("{tps:.1}"),
            ]],
        ))?,
    }
    if a.keep {
        eprintln!("kept the bench study `{name}`");
    }
    Ok(if errors == 0 { 0 } else { 1 })
}

/// Starts the workers, releases them together, waits for them. Returns the wall time
/// (go to last trial), the start-up time, the number of failed workers and their
/// messages.
fn run_workers(
    a: &BenchStorageArgs,
    url: &str,
    name: &str,
) -> Result<(f64, f64, u64, Vec<String>)> {
    let exe = std::env::current_exe().context("cannot find the hyperscape executable")?;
    let spawned = Instant::now();
    let mut workers = Vec::with_capacity(a.workers);
    for _ in 0..a.workers {
        match Worker::spawn(&exe, name, url) {
            Ok(w) => workers.push(w),
            Err(e) => {
                for mut w in workers {
                    let _ = w.child.kill();
                    let _ = w.child.wait();
                }
                return Err(e);
            }
        }
    }
    let mut errors = 0;
    let mut messages = Vec::new();
    let mut ready = Vec::with_capacity(workers.len());
    for (i, mut w) in workers.into_iter().enumerate() {
        if w.line().as_deref() == Some("ready") {
            ready.push(w);
        } else {
            drop(w.child.stdin.take());
            let (_, _, stderr) = w.finish();
            errors += 1;
            messages.push(format!("bench worker {i} did not start: {}", stderr.trim()));
        }
    }
    let startup = spawned.elapsed().as_secs_f64();
    let go = now_unix();
    for w in &mut ready {
        if let Some(mut stdin) = w.child.stdin.take() {
            let _ = stdin.write_all(b"go\n");
        }
    }
    let mut last_done = go;
    for (i, w) in ready.into_iter().enumerate() {
        let (result, ok, stderr) = w.finish();
        match result {
            Some(r) if ok => {
                if let Some(t) = r["last_done_unix"].as_f64() {
                    last_done = last_done.max(t);
                }
            }
            _ => {
                errors += 1;
                messages.push(format!("bench worker {i} failed: {}", stderr.trim()));
            }
        }
    }
    Ok(((last_done - go).max(0.0), startup, errors, messages))
}

/// One bench worker process: open, say `ready`, wait for `go`, run, report.
pub fn worker(a: BenchWorkerArgs) -> Result<i32> {
    let ws = WorkerStudy::open(&a.storage.storage, &a.study)?;
    let interrupted = signal::install()?;
    output::out("ready\n")?;
    let mut go = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut go)
        .context("cannot read the go signal")?;
    if go.trim() != "go" {
        bail!("the bench was called off");
    }
    let last_done = Mutex::new(0.0_f64);
    let summary = ws.run(
        None,
        1,
        interrupted,
        |_, _| Outcome::Values(vec![0.0]),
        |_| *last_done.lock().unwrap_or_else(|p| p.into_inner()) = now_unix(),
    )?;
    let last = *last_done.lock().unwrap_or_else(|p| p.into_inner());
    output::out(&format!(
        "{}\n",
        json!({
            "complete": summary.complete,
            "failed": summary.failed,
            "pruned": summary.pruned,
            "last_done_unix": last,
        })
    ))?;
    Ok(if interrupted.load(Ordering::SeqCst) {
        signal::EXIT_INTERRUPTED
    } else {
        0
    })
}

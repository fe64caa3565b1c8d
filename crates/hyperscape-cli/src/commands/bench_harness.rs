//! `hyperscape bench quality` and `hyperscape bench overhead`: the benchmark harness.
//!
//! `quality` runs in-memory studies of a sampler on a test problem with a known
//! optimum (`hyperscape_core::problems`), one per seed, and reports best-so-far curves
//! and regret. On a multi-objective problem (`problems::multi`) the curve is the
//! hypervolume of the trials so far and the regret is the gap to the true front's
//! hypervolume. `overhead` times the sampler's ask + tell in process with a trivial
//! objective.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use hyperscape_core::problems::multi::{multi_problem_by_name, MultiProblem};
use hyperscape_core::problems::{problem_by_name, Problem};
use hyperscape_core::sampler::{sampler_by_name, sampler_by_name_with_budget};
use hyperscape_core::tabular::table_problem;
use hyperscape_core::{Direction, Distribution, Error, SpaceDecl, Study, TrialState};
use serde_json::{json, Value};

use crate::cli::{BenchOverheadArgs, BenchQualityArgs, ListFormat};
use crate::output::{self, format_number};

/// Budgets at which `regret_at` reports the mean regret (those within the budget).
const REGRET_AT: [usize; 4] = [10, 25, 50, 100];

/// A single- or multi-objective benchmark problem.
enum Bench {
    Single(Problem),
    Multi(MultiProblem),
}

impl Bench {
    fn by_name(name: &str) -> Result<Self> {
        Ok(match multi_problem_by_name(name) {
            Some(p) => Bench::Multi(p?),
            None => Bench::Single(problem_by_name(name)?),
        })
    }
    fn name(&self) -> &str {
        match self {
            Bench::Single(p) => &p.name,
            Bench::Multi(p) => &p.name,
        }
    }
    fn space(&self) -> &SpaceDecl {
        match self {
            Bench::Single(p) => &p.space,
            Bench::Multi(p) => &p.space,
        }
    }
    fn directions(&self) -> &[Direction] {
        match self {
            Bench::Single(p) => &p.directions,
            Bench::Multi(p) => &p.directions,
        }
    }
    /// The best value attainable, or the hypervolume of the true front.
    fn optimum(&self) -> f64 {
        match self {
            Bench::Single(p) => p.optimum,
            Bench::Multi(p) => p.optimal_hypervolume,
        }
    }
    /// Distance of a curve value (best value or hypervolume) to the optimum.
    fn regret(&self, v: f64) -> f64 {
        match self {
            Bench::Single(p) => p.regret(v),
            Bench::Multi(p) => p.optimal_hypervolume - v,
        }
    }
    /// What the curves hold.
    fn metric(&self) -> &'static str {
        match self {
            Bench::Single(_) => "best value",
            Bench::Multi(_) => "hypervolume",
        }
    }
    fn evaluate(
        &self,
        params: &BTreeMap<String, hyperscape_core::ParamValue>,
    ) -> hyperscape_core::Result<Vec<f64>> {
        match self {
            Bench::Single(p) => p.evaluate(params).map(|v| vec![v]),
            Bench::Multi(p) => p.evaluate(params),
        }
    }
}

/// The result of one sampler on one problem over all seeds.
struct Quality {
    sampler: String,
    /// Best-so-far value (or hypervolume so far) after each trial, per seed (`None`
    /// before the first completed trial).
    curves: Vec<Vec<Option<f64>>>,
    seconds: f64,
}

pub fn quality(a: BenchQualityArgs) -> Result<i32> {
    let problem = match (&a.problem, &a.table) {
        (Some(name), None) => Bench::by_name(name)?,
        (None, Some(path)) => {
            let params: Vec<&str> = a.params.iter().flatten().map(String::as_str).collect();
            let fitness = a.fitness.as_deref().unwrap_or_default();
            Bench::Single(
                table_problem(path, &params, fitness, a.maximize)
                    .with_context(|| format!("cannot use `{}` as a problem", path.display()))?,
            )
        }
        _ => bail!("give exactly one of --problem and --table"),
    };
    if a.budget == 0 {
        bail!("--budget must be at least 1");
    }
    if a.seeds == 0 {
        bail!("--seeds must be at least 1");
    }
    if a.jobs == 0 {
        bail!("--jobs must be at least 1");
    }
    let samplers: Vec<&str> = a
        .sampler
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if samplers.is_empty() {
        bail!("--sampler names no sampler");
    }
    // Check every name before running anything.
    for s in &samplers {
        sampler_by_name(s, Some(0), Some(problem.space()))?;
    }
    let mut results = Vec::with_capacity(samplers.len());
    for s in &samplers {
        results.push(run_sampler(&problem, s, &a)?);
    }
    match a.format {
        ListFormat::Json => {
            let objects: Vec<Value> = results.iter().map(|r| to_json(&problem, &a, r)).collect();
            if objects.len() == 1 {
                output::json(&objects[0])?;
            } else {
                output::json(&Value::Array(objects))?;
            }
        }
        ListFormat::Table => output::out(&quality_table(&problem, &a, &results))?,
    }
    Ok(0)
}

/// Runs the seeds 0..K of one sampler, `jobs` studies at a time.
fn run_sampler(problem: &Bench, sampler: &str, a: &BenchQualityArgs) -> Result<Quality> {
    let start = Instant::now();
    let next = AtomicU64::new(0);
    let curves: Mutex<BTreeMap<u64, Result<Vec<Option<f64>>>>> = Mutex::new(BTreeMap::new());
    let threads = a.jobs.min(a.seeds as usize).max(1);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::SeqCst);
                if seed >= a.seeds {
                    break;
                }
                let r = run_seed(problem, sampler, seed, a.budget);
                let failed = r.is_err();
                curves
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(seed, r);
                if failed {
                    // Stop handing out seeds; the error is reported below.
                    next.store(a.seeds, Ordering::SeqCst);
                }
            });
        }
    });
    let curves = curves.into_inner().unwrap_or_else(|p| p.into_inner());
    let curves = curves
        .into_iter()
        .map(|(seed, r)| {
            r.with_context(|| {
                format!(
                    "sampler `{sampler}` on problem `{}`, seed {seed}",
                    problem.name()
                )
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Quality {
        sampler: sampler.to_string(),
        curves,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// One in-memory study of `budget` trials; the best-so-far curve (or the hypervolume
/// of the complete trials so far), of length `budget`.
fn run_seed(problem: &Bench, sampler: &str, seed: u64, budget: usize) -> Result<Vec<Option<f64>>> {
    let space = problem.space();
    let s = sampler_by_name_with_budget(sampler, Some(seed), Some(space), Some(budget))?;
    let study = Study::builder(format!("bench-{}-{sampler}-{seed}", problem.name()))
        .directions(problem.directions().to_vec())
        .boxed_sampler(s)
        .space(space.search_space())
        .build()?;
    study.optimize(
        |t| -> hyperscape_core::Result<Vec<f64>> {
            let params = t.suggest_space(space)?;
            problem.evaluate(&params)
        },
        budget,
    )?;
    let mut trials = study.trials()?;
    trials.sort_by_key(|t| t.number);
    let mut best: Option<f64> = None;
    let mut seen: Vec<Vec<f64>> = Vec::new();
    let mut curve = Vec::with_capacity(budget);
    for t in trials.iter().take(budget) {
        if t.state == TrialState::Complete {
            if let Some(values) = t.values.as_ref() {
                match problem {
                    Bench::Single(p) => {
                        if let Some(&v) = values.first() {
                            let better = match p.direction() {
                                Direction::Minimize => best.is_none_or(|b| v < b),
                                Direction::Maximize => best.is_none_or(|b| v > b),
                            };
                            if better {
                                best = Some(v);
                            }
                        }
                    }
                    Bench::Multi(p) => {
                        seen.push(values.clone());
                        best = Some(p.hypervolume(&seen));
                    }
                }
            }
        }
        curve.push(best);
    }
    // A sampler that ran out of points (a finished grid) keeps its last best.
    curve.resize(budget, best);
    Ok(curve)
}

/// Mean regret over the seeds at evaluation `k` (1-based); `None` when a seed has no
/// completed trial by then.
fn mean_regret_at(problem: &Bench, curves: &[Vec<Option<f64>>], k: usize) -> Option<f64> {
    let regrets: Option<Vec<f64>> = curves
        .iter()
        .map(|c| c.get(k - 1).copied().flatten().map(|v| problem.regret(v)))
        .collect();
    let r = regrets?;
    Some(r.iter().sum::<f64>() / r.len() as f64)
}

fn to_json(problem: &Bench, a: &BenchQualityArgs, r: &Quality) -> Value {
    let final_regret: Vec<Option<f64>> = r
        .curves
        .iter()
        .map(|c| c.last().copied().flatten().map(|v| problem.regret(v)))
        .collect();
    let regret_at: serde_json::Map<String, Value> = REGRET_AT
        .iter()
        .filter(|k| **k <= a.budget)
        .map(|k| (k.to_string(), json!(mean_regret_at(problem, &r.curves, *k))))
        .collect();
    json!({
        "problem": problem.name(),
        "sampler": r.sampler,
        "budget": a.budget,
        "seeds": a.seeds,
        "metric": problem.metric(),
        "optimum": problem.optimum(),
        "curves": r.curves,
        "final_regret": final_regret,
        "mean_final_regret": mean_regret_at(problem, &r.curves, a.budget),
        "regret_at": regret_at,
        "seconds": r.seconds,
    })
}

fn quality_table(problem: &Bench, a: &BenchQualityArgs, results: &[Quality]) -> String {
    let mut headers = vec!["problem", "sampler", "budget", "seeds", "optimum"];
    let at: Vec<String> = REGRET_AT
        .iter()
        .filter(|k| **k <= a.budget)
        .map(|k| format!("regret@{k}"))
        .collect();
    headers.extend(at.iter().map(String::as_str));
    headers.extend(["final regret", "seconds"]);
    let cell = |x: Option<f64>| x.map_or_else(|| "-".to_string(), format_number);
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            let mut row = vec![
                problem.name().to_string(),
                r.sampler.clone(),
                a.budget.to_string(),
                a.seeds.to_string(),
                format_number(problem.optimum()),
            ];
            row.extend(
                REGRET_AT
                    .iter()
                    .filter(|k| **k <= a.budget)
                    .map(|k| cell(mean_regret_at(problem, &r.curves, *k))),
            );
            row.push(cell(mean_regret_at(problem, &r.curves, a.budget)));
            row.push(format!("{:.2}", r.seconds));
            row
        })
        .collect();
    output::table(&headers, &rows)
}

pub fn overhead(a: BenchOverheadArgs) -> Result<i32> {
    if a.trials == 0 {
        bail!("--trials must be at least 1");
    }
    let (space, described) = match (a.dims, &a.space) {
        (Some(0), None) => bail!("--dims must be at least 1"),
        (Some(d), None) => {
            let mut space = SpaceDecl::new();
            for i in 0..d {
                space = space.param(&format!("x{i}"), Distribution::float(0.0, 1.0))?;
            }
            (space, json!(d))
        }
        (None, Some(path)) => (
            SpaceDecl::from_file(path)
                .with_context(|| format!("cannot read the space `{}`", path.display()))?,
            json!(path.display().to_string()),
        ),
        _ => bail!("give exactly one of --dims and --space"),
    };
    let directions = space
        .directions
        .clone()
        .unwrap_or_else(|| vec![Direction::Minimize]);
    let sampler = sampler_by_name(&a.sampler, Some(a.seed), Some(&space))?;
    let study = Study::builder("bench-overhead")
        .directions(directions.clone())
        .boxed_sampler(sampler)
        .space(space.search_space())
        .build()?;
    let mut times = Vec::with_capacity(a.trials);
    let start = Instant::now();
    for _ in 0..a.trials {
        let t0 = Instant::now();
        let mut trial = match study.ask() {
            Ok(t) => t,
            Err(Error::SpaceExhausted(_)) => break,
            Err(e) => return Err(e.into()),
        };
        let params = trial.suggest_space(&space)?;
        let value: f64 = params
            .iter()
            .filter_map(|(k, v)| space.get(k).and_then(|d| d.distribution.to_unit(v)))
            .sum();
        study.tell_values(trial, vec![value; directions.len()])?;
        times.push(t0.elapsed().as_secs_f64());
    }
    let total = start.elapsed().as_secs_f64();
    if times.is_empty() {
        bail!("the sampler proposed no trial");
    }
    let last = &times[times.len().saturating_sub(100)..];
    let last100 = last.iter().sum::<f64>() / last.len() as f64;
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let median = if sorted.len() % 2 == 1 {
        sorted[sorted.len() / 2]
    } else {
        (sorted[sorted.len() / 2 - 1] + sorted[sorted.len() / 2]) / 2.0
    };
    let key = if a.dims.is_some() { "dims" } else { "space" };
    match a.format {
        ListFormat::Json => {
            let mut v = json!({
                "sampler": a.sampler,
                "trials": times.len(),
                "per_trial_seconds_last100": last100,
                "per_trial_seconds_median": median,
                "total_seconds": total,
            });
            v[key] = described;
            output::json(&v)?;
        }
        ListFormat::Table => output::out(&output::table(
            &[
                "sampler",
                key,
                "trials",
                "ms/trial (last 100)",
                "ms/trial (median)",
                "total s",
            ],
            &[vec![
                a.sampler.clone(),
                match &described {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
                times.len().to_string(),
                format!("{:.3}", last100 * 1e3),
                format!("{:.3}", median * 1e3),
                format!("{total:.3}"),
            ]],
        ))?,
    }
    Ok(0)
}

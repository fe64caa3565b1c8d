//! `hyperscape run`: optimise an external command.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};
use hyperscape_core::{
    scheduler_by_name, Direction, HeartbeatConfig, PrunerOptions, SchedulerOptions, SpaceDecl,
    Study,
};

use crate::cli::{RunArgs, SchedulerArgs};
use crate::common::{self, OpenStudy};
use crate::external::{ObjectiveCommand, Schedule, TrialInput};
use crate::output::{self, Progress};
use crate::signal;
use crate::trial_loop::{self, LoopSpec, LoopSummary};

/// `run`'s arguments, validated.
pub struct RunConfig {
    pub study: String,
    pub storage: String,
    pub space_path: PathBuf,
    pub space: SpaceDecl,
    pub trials: usize,
    pub jobs: usize,
    pub sampler: String,
    pub seed: Option<u64>,
    pub directions: Option<Vec<Direction>>,
    pub heartbeat: HeartbeatConfig,
    pub command: ObjectiveCommand,
    pub pruner: String,
    pub pruner_options: PrunerOptions,
    /// A budget-assigning scheduler, used instead of the pruner.
    pub scheduler: Option<(String, SchedulerOptions)>,
    pub checkpoint_root: Option<PathBuf>,
}

/// Validates the scheduler flags (`--scheduler` and its settings).
pub(crate) fn scheduler_config(
    a: &SchedulerArgs,
    pruner: &str,
    seed: Option<u64>,
) -> Result<Option<(String, SchedulerOptions)>> {
    let Some(name) = &a.scheduler else {
        let given = [
            ("--min-budget", a.min_budget.is_some()),
            ("--max-budget", a.max_budget.is_some()),
            ("--eta", a.eta.is_some()),
            ("--n-configs", a.n_configs.is_some()),
            ("--population", a.population.is_some()),
            ("--perturb-interval", a.perturb_interval.is_some()),
            ("--quantile", a.quantile.is_some()),
            ("--resample-probability", a.resample_probability.is_some()),
            ("--random-fraction", a.random_fraction.is_some()),
            ("--bohb-density", a.bohb_density.is_some()),
            ("--mutation-factor", a.mutation_factor.is_some()),
            ("--crossover-prob", a.crossover_prob.is_some()),
        ];
        if let Some((flag, _)) = given.iter().find(|(_, g)| *g) {
            bail!("{flag} is a scheduler setting: give --scheduler too");
        }
        return Ok(None);
    };
    if pruner != "none" {
        bail!(
            "--scheduler {name} and --pruner {pruner} cannot be combined: a scheduler \
             assigns budgets instead of pruning (use one of them)"
        );
    }
    let max_budget = match a.max_budget.as_deref() {
        None | Some("auto") => None,
        Some(m) => Some(m.parse::<u64>().map_err(|_| {
            anyhow::anyhow!("--max-budget must be a whole number of steps or `auto`, not `{m}`")
        })?),
    };
    let o = SchedulerOptions {
        min_budget: a.min_budget,
        max_budget,
        eta: a.eta,
        n_configs: a.n_configs,
        population: a.population,
        perturb_interval: a.perturb_interval,
        quantile: a.quantile,
        resample_probability: a.resample_probability,
        random_fraction: a.random_fraction,
        bohb_density: a.bohb_density.clone(),
        mutation_factor: a.mutation_factor,
        crossover_prob: a.crossover_prob,
        seed: if matches!(name.as_str(), "bohb" | "dehb" | "pbt") {
            seed
        } else {
            None
        },
    };
    // Fail early on an unknown scheduler or settings it does not take.
    scheduler_by_name(name, &o).map_err(|e| anyhow::anyhow!("{}", scheduler_message(&e)))?;
    Ok(Some((name.clone(), o)))
}

/// A scheduler's error raised while the study runs (a resume with other settings)
/// names the CLI's flags; other errors pass as they are.
pub(crate) fn scheduler_error(e: anyhow::Error) -> anyhow::Error {
    match e.downcast_ref::<hyperscape_core::Error>() {
        Some(c @ hyperscape_core::Error::InvalidScheduler(_)) => {
            anyhow::anyhow!("{}", scheduler_message(c))
        }
        _ => e,
    }
}

/// Core's messages name settings in `snake_case`; the CLI shows its flags.
pub(crate) fn scheduler_message(e: &hyperscape_core::Error) -> String {
    let mut s = e.to_string();
    for (key, flag) in [
        ("min_budget", "min-budget"),
        ("max_budget", "max-budget"),
        ("n_configs", "n-configs"),
        ("perturb_interval", "perturb-interval"),
        ("resample_probability", "resample-probability"),
        ("random_fraction", "random-fraction"),
        ("bohb_density", "bohb-density"),
        // BOHB's stored settings name it `density`.
        ("density", "bohb-density"),
        ("mutation_factor", "mutation-factor"),
        ("crossover_prob", "crossover-prob"),
        ("population", "population"),
        ("quantile", "quantile"),
        ("eta", "eta"),
        ("seed", "seed"),
    ] {
        s = s.replace(&format!("`{key}`"), &format!("`--{flag}`"));
    }
    s
}

impl RunConfig {
    pub fn from_args(a: RunArgs) -> Result<Self> {
        if a.jobs == 0 {
            bail!("--jobs must be at least 1");
        }
        if a.trials == 0 {
            bail!("--trials must be at least 1");
        }
        let timeout = match a.trial_timeout {
            None => None,
            Some(t) if t.is_finite() && t > 0.0 => Some(Duration::from_secs_f64(t)),
            Some(t) => bail!("--trial-timeout must be a positive number of seconds, not {t}"),
        };
        let hb = a.heartbeat_interval;
        if !(hb.is_finite() && hb > 0.0) {
            bail!("--heartbeat-interval must be a positive number of seconds, not {hb}");
        }
        if a.command.first().is_none_or(|c| c.is_empty()) {
            bail!("no objective command given after `--`");
        }
        let prune_grace = a.pruner.prune_grace;
        if !(prune_grace.is_finite() && prune_grace >= 0.0) {
            bail!("--prune-grace must be a number of seconds >= 0, not {prune_grace}");
        }
        let pruner_options = a.pruner.options();
        let scheduler = scheduler_config(&a.scheduler, &a.pruner.pruner, a.sampler.seed)?;
        let checkpoint_root = match (&scheduler, a.scheduler.checkpoint_root) {
            (_, Some(root)) => Some(root),
            (Some(_), None) => Some(PathBuf::from("hyperscape-checkpoints")),
            (None, None) => None,
        };
        let checkpoint_root = checkpoint_root.map(|r| std::path::absolute(&r).unwrap_or(r));
        // Fail early on an unknown pruner or settings it does not take.
        common::pruner(&a.pruner.pruner, &pruner_options)?;
        let space = common::load_space(&a.space)?;
        // Fail early on an unknown sampler or a grid that cannot be enumerated.
        common::sampler(&a.sampler.sampler, a.sampler.seed, &space, None)?;
        Ok(Self {
            directions: common::requested_directions(a.direction, &space),
            study: a.study,
            storage: a.storage.storage,
            space_path: a.space,
            space,
            trials: a.trials,
            jobs: a.jobs,
            sampler: a.sampler.sampler,
            seed: a.sampler.seed,
            heartbeat: HeartbeatConfig::new(Duration::from_secs_f64(hb)).max_retries(a.max_retry),
            command: ObjectiveCommand {
                argv: a.command,
                timeout,
                prune_grace: Duration::from_secs_f64(prune_grace),
            },
            pruner: a.pruner.pruner,
            pruner_options,
            scheduler,
            checkpoint_root,
        })
    }
}

pub fn execute(args: RunArgs) -> Result<i32> {
    let cfg = RunConfig::from_args(args)?;
    let interrupted = signal::install()?;
    let study = common::create_or_load(OpenStudy {
        name: &cfg.study,
        storage: common::open_storage(&cfg.storage)?,
        directions: cfg.directions.clone(),
        sampler: common::sampler(&cfg.sampler, cfg.seed, &cfg.space, Some(cfg.trials))?,
        heartbeat: Some(cfg.heartbeat),
        space: &cfg.space,
        pruner: Some(match &cfg.scheduler {
            Some((name, o)) => scheduler_by_name(name, o)
                .map_err(|e| anyhow::anyhow!("{}", scheduler_message(&e)))?,
            None => common::pruner(&cfg.pruner, &cfg.pruner_options)?,
        }),
        checkpoint_root: cfg.checkpoint_root.clone(),
    })?;
    let progress = Progress::new(cfg.trials, study.directions(), study.best_value().ok());
    let spec = LoopSpec {
        study: &study,
        space: &cfg.space,
        n_trials: cfg.trials,
        jobs: cfg.jobs,
        interrupted,
        poll_interval: std::time::Duration::from_millis(100),
    };
    let result = trial_loop::run(
        &spec,
        |trial, params| {
            cfg.command.evaluate(
                &TrialInput {
                    study: &cfg.study,
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
    let summary = result.map_err(scheduler_error)?;
    print_summary(&study, &summary, &cfg)?;
    if summary.interrupted {
        eprintln!("interrupted: running trials were marked failed (reason `interrupted`)");
        return Ok(signal::EXIT_INTERRUPTED);
    }
    Ok(0)
}

/// Counts of this run, then the study's best.
pub fn print_summary(study: &Study, s: &LoopSummary, cfg: &RunConfig) -> Result<()> {
    let all = study.trials()?;
    let mut text = format!(
        "study `{}`: {} trial(s) in this run ({} complete, {} failed, {} pruned); {} in the study\n",
        study.name(),
        s.total(),
        s.complete,
        s.failed,
        s.pruned,
        all.len()
    );
    if s.exhausted && cfg.scheduler.as_ref().is_some_and(|(n, _)| n == "pbt") {
        text.push_str("the PBT population reached its max budget: the schedule is complete\n");
    } else if s.exhausted {
        text.push_str(&format!(
            "the {} sampler has no points left in `{}`: the search is complete\n",
            cfg.sampler,
            cfg.space_path.display()
        ));
    }
    text.push_str(&best_summary(study)?);
    output::out(&text)
}

/// The best trial (or the Pareto front) in a few lines.
pub fn best_summary(study: &Study) -> Result<String> {
    if study.directions().len() == 1 {
        Ok(match study.best_trial() {
            Ok(b) => format!(
                "best value: {} (trial {})\nbest params: {}\n",
                b.value().map(|v| v.to_string()).unwrap_or_default(),
                b.number,
                output::params_inline(&b.params)
            ),
            Err(_) => "no complete trial yet\n".to_string(),
        })
    } else {
        let front = study.best_trials()?;
        let mut s = format!("Pareto front: {} trial(s)\n", front.len());
        for t in &front {
            s.push_str(&format!(
                "  trial {}: values [{}]  {}\n",
                t.number,
                output::values_cell(t),
                output::params_inline(&t.params)
            ));
        }
        Ok(s)
    }
}

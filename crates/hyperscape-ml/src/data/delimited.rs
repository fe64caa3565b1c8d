//! CSV (and TSV) files with a header row: numeric feature columns, categorical columns
//! declared by name, and a label column (see [`LoadOptions`]).
//!
//! Fields are parsed by the `csv` crate (RFC 4180 quoting). Missing values are an empty
//! field, `?`, `NA` or `NaN`; [`LoadOptions::missing`] says whether they are an error (the
//! default) or `NaN`. A field that is not a number in a numeric column is an error naming
//! the file, line and column. Files ending in `.gz` (or starting with the gzip magic
//! bytes) are decompressed on the fly.

use std::io::Read;
use std::path::Path;

use crate::data::table::{
    assemble, find_column, Column, Levels, LoadOptions, Missing, NamedColumn, Parsed, MISSING_CODE,
};
use crate::data::Dataset;
use crate::error::{Error, Result};

/// Fields read as a missing value (`NA` and `NaN` in any case).
pub const MISSING_TOKENS: [&str; 4] = ["", "?", "NA", "NaN"];

fn is_missing(field: &str) -> bool {
    field.is_empty()
        || field == "?"
        || field.eq_ignore_ascii_case("na")
        || field.eq_ignore_ascii_case("nan")
}

/// Loads a CSV file (plain or gzip-compressed). The dataset is named after the file.
pub fn load_csv(path: impl AsRef<Path>, options: &LoadOptions) -> Result<Dataset> {
    let path = path.as_ref();
    let reader = super::open_maybe_gz(path)?;
    let mut options = options.clone();
    if options.delimiter.is_none() && super::plain_extension(path).as_deref() == Some("tsv") {
        options.delimiter = Some(b'\t');
    }
    read_csv(reader, path, &super::stem(path), &options)
}

/// Reads CSV text from `reader`; `path` names the source in error messages and `name`
/// becomes the dataset's name.
pub fn read_csv(
    reader: impl Read,
    path: &Path,
    name: &str,
    options: &LoadOptions,
) -> Result<Dataset> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(options.delimiter.unwrap_or(b','))
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let csv_err = |e: csv::Error| {
        let line = e.position().map(|p| p.line() as usize);
        let shown = e.to_string();
        match e.into_kind() {
            csv::ErrorKind::Io(source) => Error::Io {
                path: path.to_path_buf(),
                source,
            },
            csv::ErrorKind::Utf8 { pos, err } => Error::Parse {
                path: path.to_path_buf(),
                line: pos.map(|p| p.line() as usize).or(line),
                reason: format!("not UTF-8 text: {err}"),
            },
            _ => Error::Parse {
                path: path.to_path_buf(),
                line,
                reason: shown,
            },
        }
    };

    let mut records = rdr.records();
    // The header (or, without one, the first row, which fixes the field count).
    let mut pending = None;
    let names: Vec<String> = if options.no_header {
        match records.next() {
            None => Vec::new(),
            Some(r) => {
                let r = r.map_err(csv_err)?;
                let names = (0..r.len()).map(|j| j.to_string()).collect();
                pending = Some(r);
                names
            }
        }
    } else {
        match records.next() {
            None => Vec::new(),
            Some(r) => r.map_err(csv_err)?.iter().map(str::to_string).collect(),
        }
    };
    if names.is_empty() {
        return Err(Error::Parse {
            path: path.to_path_buf(),
            line: None,
            reason: "empty file".into(),
        });
    }
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    if !options.no_header {
        for (j, n) in names.iter().enumerate() {
            if names[..j].contains(n) {
                return Err(Error::Parse {
                    path: path.to_path_buf(),
                    line: Some(1),
                    reason: format!("column name `{n}` appears twice in the header"),
                });
            }
        }
    }
    let label = match &options.label {
        Some(l) => find_column(path, &name_refs, l, "label")?,
        None => names.len() - 1,
    };
    for c in options.categorical.iter().chain(&options.ignore) {
        find_column(path, &name_refs, c, "declared")?;
    }
    let kept: Vec<usize> = (0..names.len())
        .filter(|&j| j == label || !options.ignore.contains(&names[j]))
        .collect();
    if options.ignore.contains(&names[label]) {
        return Err(Error::Invalid(format!(
            "{}: the label column `{}` is also in `ignore`",
            path.display(),
            names[label]
        )));
    }
    // Per kept column: categorical (codes) or numeric. The label is read as codes so its
    // task can be decided once every value is known.
    let mut columns: Vec<NamedColumn> = kept
        .iter()
        .map(|&j| NamedColumn {
            name: names[j].clone(),
            column: if j == label || options.categorical.contains(&names[j]) {
                Column::Codes {
                    codes: Vec::new(),
                    levels: Levels::default(),
                    declared: false,
                }
            } else {
                Column::Numeric(Vec::new())
            },
        })
        .collect();
    let mut lines = Vec::new();

    let mut handle = |record: csv::StringRecord| -> Result<()> {
        let line = record.position().map_or(0, |p| p.line() as usize);
        if record.len() != names.len() {
            // A blank line is a record of one empty field: skip it.
            if record.len() == 1 && record[0].is_empty() {
                return Ok(());
            }
            return Err(Error::Parse {
                path: path.to_path_buf(),
                line: Some(line),
                reason: format!("{} fields, expected {}", record.len(), names.len()),
            });
        }
        for (col, &j) in columns.iter_mut().zip(&kept) {
            let field = &record[j];
            let number = match col.column {
                Column::Numeric(_) => field.parse::<f32>().ok(),
                Column::Codes { .. } => None,
            };
            let missing = is_missing(field) || number.is_some_and(f32::is_nan);
            if missing && j != label && options.missing == Missing::Error {
                return Err(Error::Parse {
                    path: path.to_path_buf(),
                    line: Some(line),
                    reason: format!(
                        "column {} (`{}`): missing value `{field}` (load with \
                         `Missing::Nan` to keep missing values as NaN)",
                        j + 1,
                        names[j]
                    ),
                });
            }
            match &mut col.column {
                Column::Numeric(v) => {
                    let x = if missing {
                        f32::NAN
                    } else {
                        number.ok_or_else(|| Error::Parse {
                            path: path.to_path_buf(),
                            line: Some(line),
                            reason: format!(
                                "column {} (`{}`): `{field}` is not a number (declare the \
                                 column categorical, or ignore it)",
                                j + 1,
                                names[j]
                            ),
                        })?
                    };
                    v.push(x);
                }
                Column::Codes { codes, levels, .. } => codes.push(if missing {
                    MISSING_CODE
                } else {
                    levels.intern(field, line)
                }),
            }
        }
        lines.push(line);
        Ok(())
    };
    if let Some(r) = pending {
        handle(r)?;
    }
    for r in records {
        handle(r.map_err(csv_err)?)?;
    }
    let label_index = kept.iter().position(|&j| j == label).unwrap();
    assemble(path, name, Parsed { columns, lines }, label_index, options)
}

//! ARFF files, the format of Weka and OpenML.
//!
//! Read: `@relation`, `@attribute NAME TYPE` with TYPE `numeric`, `real`, `integer`,
//! `{v1, v2, ...}` (nominal), `string` or `date` (keywords in any case), then `@data`
//! with one comma-separated instance per line, dense or sparse (`{index value, ...}`,
//! omitted values being 0, or the first nominal value). Names and values may be quoted
//! with `'` or `"` (backslash escapes inside quotes); `%` starts a comment line.
//!
//! - Nominal attributes are categorical features, encoded as
//!   [`LoadOptions::encoding`] says, their levels in declared order. A value not
//!   declared is an error naming the file and line.
//! - `string` attributes must be the label, be listed in [`LoadOptions::categorical`]
//!   (levels then in sorted order) or in [`LoadOptions::ignore`]; `date` attributes must
//!   be ignored. `relational` attributes are not supported.
//! - `?` is a missing value: an error by default, `NaN` with [`Missing::Nan`]; a missing
//!   label is always an error.
//! - The label defaults to the last attribute (OpenML's usual target position); a
//!   nominal label gives a classification target, a numeric one a regression target,
//!   unless [`LoadOptions::task`] says otherwise.
//!
//! Files ending in `.gz` (or starting with the gzip magic bytes) are decompressed.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::data::table::{
    assemble, find_column, Column, Levels, LoadOptions, Missing, NamedColumn, Parsed, MISSING_CODE,
};
use crate::data::Dataset;
use crate::error::{Error, Result};

/// Loads an ARFF file (plain or gzip-compressed). The dataset is named after the file.
pub fn load_arff(path: impl AsRef<Path>, options: &LoadOptions) -> Result<Dataset> {
    let path = path.as_ref();
    let reader = super::open_maybe_gz(path)?;
    read_arff(reader, path, &super::stem(path), options)
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Numeric,
    Nominal(Vec<String>),
    String,
    Date,
}

struct Attribute {
    name: String,
    kind: Kind,
    line: usize,
}

/// One token of a comma-separated list: its text (unquoted) and whether it was quoted.
struct Token {
    text: String,
    quoted: bool,
}

/// Splits `s` on `sep` outside quotes, trimming unquoted tokens.
fn split_tokens(s: &str, sep: char) -> std::result::Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut text = String::new();
        let mut quoted = false;
        if let Some(&q) = chars.peek().filter(|&&c| c == '\'' || c == '"') {
            quoted = true;
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                if c == '\\' {
                    match chars.next() {
                        Some('n') => text.push('\n'),
                        Some('t') => text.push('\t'),
                        Some(other) => text.push(other),
                        None => return Err("unterminated quoted value".into()),
                    }
                } else if c == q {
                    closed = true;
                    break;
                } else {
                    text.push(c);
                }
            }
            if !closed {
                return Err(format!("unterminated quoted value starting with {q}"));
            }
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            match chars.peek() {
                None => {}
                Some(&c) if c == sep => {}
                Some(&c) => return Err(format!("unexpected `{c}` after quoted value `{text}`")),
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == sep {
                    break;
                }
                text.push(c);
                chars.next();
            }
            text = text.trim().to_string();
        }
        out.push(Token { text, quoted });
        match chars.next() {
            None => break,
            Some(_) => continue, // the separator
        }
    }
    Ok(out)
}

/// The first word of `s` (quoted or not) and the rest.
fn first_word(s: &str) -> std::result::Result<(String, &str), String> {
    let s = s.trim_start();
    if let Some(q) = s.chars().next().filter(|&c| c == '\'' || c == '"') {
        let mut text = String::new();
        let mut iter = s.char_indices().skip(1);
        while let Some((i, c)) = iter.next() {
            if c == '\\' {
                if let Some((_, e)) = iter.next() {
                    text.push(e);
                }
            } else if c == q {
                return Ok((text, &s[i + 1..]));
            } else {
                text.push(c);
            }
        }
        Err("unterminated quoted name".into())
    } else {
        let end = s.find(char::is_whitespace).unwrap_or(s.len());
        Ok((s[..end].to_string(), &s[end..]))
    }
}

fn parse_attribute(rest: &str, line: usize) -> std::result::Result<Attribute, String> {
    let (name, ty) = first_word(rest)?;
    if name.is_empty() {
        return Err("@attribute without a name".into());
    }
    let ty = ty.trim();
    let kind = if let Some(body) = ty.strip_prefix('{') {
        let body = body
            .strip_suffix('}')
            .ok_or_else(|| format!("nominal values of `{name}` do not end with `}}`"))?;
        let values: Vec<String> = split_tokens(body, ',')?
            .into_iter()
            .map(|t| t.text)
            .collect();
        if values.iter().any(String::is_empty) {
            return Err(format!("empty nominal value declared for `{name}`"));
        }
        Kind::Nominal(values)
    } else {
        let word = ty.split_whitespace().next().unwrap_or("");
        match word.to_ascii_lowercase().as_str() {
            "numeric" | "real" | "integer" => Kind::Numeric,
            "string" => Kind::String,
            "date" => Kind::Date,
            "" => return Err(format!("attribute `{name}` has no type")),
            "relational" => {
                return Err(format!(
                    "attribute `{name}`: relational attributes are not supported"
                ))
            }
            other => return Err(format!("attribute `{name}` has unknown type `{other}`")),
        }
    };
    Ok(Attribute { name, kind, line })
}

/// Reads ARFF text from `reader`; `path` names the source in error messages and `name`
/// becomes the dataset's name.
pub fn read_arff(
    reader: impl Read,
    path: &Path,
    name: &str,
    options: &LoadOptions,
) -> Result<Dataset> {
    let perr = |line: usize, reason: String| Error::Parse {
        path: path.to_path_buf(),
        line: Some(line),
        reason,
    };
    let mut lines = BufReader::new(reader).lines();
    let mut line_no = 0usize;
    let mut attributes: Vec<Attribute> = Vec::new();
    let mut relation = false;
    let mut in_data = false;

    // Header.
    while !in_data {
        let Some(text) = lines.next() else { break };
        line_no += 1;
        let text = text.map_err(|e| read_error(path, line_no, e))?;
        let t = text.trim();
        if t.is_empty() || t.starts_with('%') {
            continue;
        }
        let (keyword, rest) = t.split_at(t.find(char::is_whitespace).unwrap_or(t.len()));
        match keyword.to_ascii_lowercase().as_str() {
            "@relation" => relation = true,
            "@attribute" => {
                if !relation {
                    return Err(perr(line_no, "@attribute before @relation".into()));
                }
                let a = parse_attribute(rest, line_no).map_err(|r| perr(line_no, r))?;
                if attributes.iter().any(|b| b.name == a.name) {
                    return Err(perr(
                        line_no,
                        format!("attribute `{}` declared twice", a.name),
                    ));
                }
                attributes.push(a);
            }
            "@data" => in_data = true,
            _ => {
                return Err(perr(
                    line_no,
                    format!("expected @relation, @attribute or @data, found `{keyword}`"),
                ))
            }
        }
    }
    if !in_data {
        return Err(Error::Parse {
            path: path.to_path_buf(),
            line: None,
            reason: "no @data section".into(),
        });
    }
    if attributes.is_empty() {
        return Err(perr(line_no, "@data before any @attribute".into()));
    }

    let names: Vec<&str> = attributes.iter().map(|a| a.name.as_str()).collect();
    let label = match &options.label {
        Some(l) => find_column(path, &names, l, "label")?,
        None => attributes.len() - 1,
    };
    for c in options.categorical.iter().chain(&options.ignore) {
        find_column(path, &names, c, "declared")?;
    }
    if options.ignore.contains(&attributes[label].name) {
        return Err(Error::Invalid(format!(
            "{}: the label attribute `{}` is also in `ignore`",
            path.display(),
            attributes[label].name
        )));
    }
    // What each attribute becomes: `None` when ignored.
    let mut slots: Vec<Option<usize>> = Vec::with_capacity(attributes.len());
    let mut columns: Vec<NamedColumn> = Vec::new();
    for (j, a) in attributes.iter().enumerate() {
        let ignored = options.ignore.contains(&a.name);
        let categorical = options.categorical.contains(&a.name);
        let column = match (&a.kind, ignored) {
            (_, true) => None,
            (Kind::Numeric, false) if categorical => Some(Column::Codes {
                codes: Vec::new(),
                levels: Levels::default(),
                declared: false,
            }),
            (Kind::Numeric, false) => Some(Column::Numeric(Vec::new())),
            (Kind::Nominal(values), false) => Some(Column::Codes {
                codes: Vec::new(),
                levels: Levels::declared(values.clone()),
                declared: true,
            }),
            (Kind::String, false) if categorical || j == label => Some(Column::Codes {
                codes: Vec::new(),
                levels: Levels::default(),
                declared: false,
            }),
            (Kind::String, false) => {
                return Err(perr(
                    a.line,
                    format!(
                        "string attribute `{}` must be declared categorical, be the label, \
                         or be ignored",
                        a.name
                    ),
                ))
            }
            (Kind::Date, false) => {
                return Err(perr(
                    a.line,
                    format!(
                        "date attribute `{}` is not supported as a feature; ignore it",
                        a.name
                    ),
                ))
            }
        };
        slots.push(column.map(|c| {
            columns.push(NamedColumn {
                name: a.name.clone(),
                column: c,
            });
            columns.len() - 1
        }));
    }

    // Data.
    let mut rows = Vec::new();
    let mut values: Vec<Option<Token>> = Vec::with_capacity(attributes.len());
    for text in lines {
        line_no += 1;
        let text = text.map_err(|e| read_error(path, line_no, e))?;
        let t = text.trim();
        if t.is_empty() || t.starts_with('%') {
            continue;
        }
        values.clear();
        if let Some(body) = t.strip_prefix('{') {
            // Sparse: `{index value, ...}`; omitted values are 0.
            let body = body
                .strip_suffix('}')
                .ok_or_else(|| perr(line_no, "sparse instance does not end with `}`".into()))?;
            values.resize_with(attributes.len(), || None);
            for pair in split_tokens(body, ',').map_err(|r| perr(line_no, r))? {
                if pair.text.is_empty() && !pair.quoted {
                    continue;
                }
                let (index, value) = first_word(&pair.text).map_err(|r| perr(line_no, r))?;
                let index: usize = index.parse().map_err(|_| {
                    perr(line_no, format!("sparse index `{index}` is not a number"))
                })?;
                if index >= attributes.len() {
                    return Err(perr(
                        line_no,
                        format!(
                            "sparse index {index} is out of range ({} attributes)",
                            attributes.len()
                        ),
                    ));
                }
                let mut tokens = split_tokens(value, ',').map_err(|r| perr(line_no, r))?;
                values[index] = tokens.pop();
            }
            for (j, v) in values.iter_mut().enumerate() {
                if v.is_none() {
                    let zero = match &attributes[j].kind {
                        Kind::Nominal(levels) => levels[0].clone(),
                        _ => "0".to_string(),
                    };
                    *v = Some(Token {
                        text: zero,
                        quoted: true,
                    });
                }
            }
        } else {
            let tokens = split_tokens(t, ',').map_err(|r| perr(line_no, r))?;
            if tokens.len() != attributes.len() {
                return Err(perr(
                    line_no,
                    format!(
                        "{} values, expected {} (one per @attribute)",
                        tokens.len(),
                        attributes.len()
                    ),
                ));
            }
            values.extend(tokens.into_iter().map(Some));
        }
        for (j, value) in values.iter().enumerate() {
            let Some(slot) = slots[j] else { continue };
            let value = value.as_ref().expect("filled above");
            let a = &attributes[j];
            let missing = !value.quoted && value.text == "?";
            if missing && j != label && options.missing == Missing::Error {
                return Err(perr(
                    line_no,
                    format!(
                        "attribute `{}`: missing value `?` (load with `Missing::Nan` to keep \
                         missing values as NaN)",
                        a.name
                    ),
                ));
            }
            match &mut columns[slot].column {
                Column::Numeric(v) => v.push(if missing {
                    f32::NAN
                } else {
                    // `nan` would parse; it is not ARFF's missing marker, so refuse it.
                    value
                        .text
                        .parse::<f32>()
                        .ok()
                        .filter(|x| !x.is_nan())
                        .ok_or_else(|| {
                            perr(
                                line_no,
                                format!("attribute `{}`: `{}` is not a number", a.name, value.text),
                            )
                        })?
                }),
                Column::Codes {
                    codes,
                    levels,
                    declared,
                } => codes.push(if missing {
                    MISSING_CODE
                } else if *declared {
                    levels.get(&value.text).ok_or_else(|| {
                        perr(
                            line_no,
                            format!(
                                "attribute `{}`: value `{}` is not one of its declared \
                                 nominal values",
                                a.name, value.text
                            ),
                        )
                    })?
                } else {
                    levels.intern(&value.text, line_no)
                }),
            }
        }
        rows.push(line_no);
    }
    let label_index = slots[label].expect("the label is never ignored");
    assemble(
        path,
        name,
        Parsed {
            columns,
            lines: rows,
        },
        label_index,
        options,
    )
}

fn read_error(path: &Path, line: usize, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::InvalidData {
        Error::Parse {
            path: path.to_path_buf(),
            line: Some(line),
            reason: "not UTF-8 text".into(),
        }
    } else {
        Error::Io {
            path: path.to_path_buf(),
            source: e,
        }
    }
}

//! IDX files, the format of MNIST and Fashion-MNIST: a 4-byte magic number (two zero
//! bytes, a type code, the number of dimensions), one big-endian `u32` per dimension,
//! then the values, big-endian, row-major. Files may be gzip-compressed (detected from
//! their first bytes, whatever their name).
//!
//! [`read_idx`] reads any IDX array; [`load_idx`] pairs an images file with a labels
//! file into a classification [`Dataset`]. Errors name the file; a file cut short names
//! the record (1-based, in the `line` field) where the data end.

use std::io::Read;
use std::path::Path;

use crate::data::{Dataset, ImageShape, Target};
use crate::error::{Error, Result};

/// The values of an IDX array, in their stored type.
#[derive(Debug, Clone, PartialEq)]
pub enum IdxData {
    U8(Vec<u8>),
    I8(Vec<i8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

impl IdxData {
    pub fn len(&self) -> usize {
        match self {
            IdxData::U8(v) => v.len(),
            IdxData::I8(v) => v.len(),
            IdxData::I16(v) => v.len(),
            IdxData::I32(v) => v.len(),
            IdxData::F32(v) => v.len(),
            IdxData::F64(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The values as `f32`; bytes (`U8`) are scaled to `[0, 1]` by dividing by 255, other
    /// types are converted as they are.
    pub fn to_f32_scaled(&self) -> Vec<f32> {
        match self {
            IdxData::U8(v) => v.iter().map(|&x| x as f32 / 255.0).collect(),
            IdxData::I8(v) => v.iter().map(|&x| x as f32).collect(),
            IdxData::I16(v) => v.iter().map(|&x| x as f32).collect(),
            IdxData::I32(v) => v.iter().map(|&x| x as f32).collect(),
            IdxData::F32(v) => v.clone(),
            IdxData::F64(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }
}

/// An IDX array: its shape (first dimension: records) and values.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxArray {
    pub shape: Vec<usize>,
    pub data: IdxData,
}

fn parse_err(path: &Path, line: Option<usize>, reason: impl Into<String>) -> Error {
    Error::Parse {
        path: path.to_path_buf(),
        line,
        reason: reason.into(),
    }
}

/// Reads an IDX file, plain or gzip-compressed.
pub fn read_idx(path: impl AsRef<Path>) -> Result<IdxArray> {
    let path = path.as_ref();
    let mut bytes = Vec::new();
    super::open_maybe_gz(path)?
        .read_to_end(&mut bytes)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof
                || e.kind() == std::io::ErrorKind::InvalidInput
                || e.kind() == std::io::ErrorKind::InvalidData
            {
                parse_err(path, None, format!("corrupt gzip stream: {e}"))
            } else {
                Error::Io {
                    path: path.to_path_buf(),
                    source: e,
                }
            }
        })?;
    parse_idx(&bytes, path)
}

/// Parses IDX bytes; `path` names the source in error messages.
pub fn parse_idx(bytes: &[u8], path: &Path) -> Result<IdxArray> {
    if bytes.len() < 4 {
        return Err(parse_err(
            path,
            None,
            format!("{} bytes: too short for an IDX header", bytes.len()),
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(parse_err(
            path,
            None,
            format!(
                "bad magic number {:02x}{:02x}{:02x}{:02x}: an IDX file starts with two zero bytes",
                bytes[0], bytes[1], bytes[2], bytes[3]
            ),
        ));
    }
    let (type_code, ndim) = (bytes[2], bytes[3] as usize);
    let size = match type_code {
        0x08 | 0x09 => 1,
        0x0B => 2,
        0x0C | 0x0D => 4,
        0x0E => 8,
        other => {
            return Err(parse_err(
                path,
                None,
                format!("bad magic number: unknown IDX type code 0x{other:02x}"),
            ))
        }
    };
    if ndim == 0 {
        return Err(parse_err(path, None, "bad magic number: zero dimensions"));
    }
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        return Err(parse_err(
            path,
            None,
            format!("header cut short: {ndim} dimensions need {header} bytes"),
        ));
    }
    let shape: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let record: usize = shape[1..].iter().product::<usize>() * size;
    let expected = shape[0]
        .checked_mul(record)
        .ok_or_else(|| parse_err(path, None, format!("absurd shape {shape:?}")))?;
    let body = &bytes[header..];
    if body.len() < expected {
        let complete = body.len().checked_div(record).unwrap_or(0);
        return Err(parse_err(
            path,
            Some(complete + 1),
            format!(
                "truncated: the data end in record {} of {} (shape {shape:?}: {expected} data \
                 bytes expected, {} found)",
                complete + 1,
                shape[0],
                body.len()
            ),
        ));
    }
    if body.len() > expected {
        return Err(parse_err(
            path,
            None,
            format!(
                "{} bytes after the last record (shape {shape:?})",
                body.len() - expected
            ),
        ));
    }
    let data = match type_code {
        0x08 => IdxData::U8(body.to_vec()),
        0x09 => IdxData::I8(body.iter().map(|&b| b as i8).collect()),
        0x0B => IdxData::I16(
            body.chunks_exact(2)
                .map(|c| i16::from_be_bytes([c[0], c[1]]))
                .collect(),
        ),
        0x0C => IdxData::I32(
            body.chunks_exact(4)
                .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        0x0D => IdxData::F32(
            body.chunks_exact(4)
                .map(|c| f32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        _ => IdxData::F64(
            body.chunks_exact(8)
                .map(|c| f64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
        ),
    };
    Ok(IdxArray { shape, data })
}

/// An images file and a labels file (MNIST layout) as a classification dataset.
///
/// Images: `n × height × width` (one channel) or `n × channels × height × width`, any IDX
/// type; bytes are scaled to `[0, 1]`. A 2-D `n × d` array gives plain features with no
/// image shape. Labels: `n` non-negative integers (`u8`, `i8`, `i16` or `i32`); the
/// class count is the largest label plus one, class names are the label numbers.
pub fn load_idx(images: impl AsRef<Path>, labels: impl AsRef<Path>, name: &str) -> Result<Dataset> {
    let (images, labels) = (images.as_ref(), labels.as_ref());
    let x = read_idx(images)?;
    let y = read_idx(labels)?;
    if y.shape.len() != 1 {
        return Err(parse_err(
            labels,
            None,
            format!("labels must be one-dimensional, shape is {:?}", y.shape),
        ));
    }
    let classes: Vec<i64> = match &y.data {
        IdxData::U8(v) => v.iter().map(|&l| l as i64).collect(),
        IdxData::I8(v) => v.iter().map(|&l| l as i64).collect(),
        IdxData::I16(v) => v.iter().map(|&l| l as i64).collect(),
        IdxData::I32(v) => v.iter().map(|&l| l as i64).collect(),
        _ => {
            return Err(parse_err(
                labels,
                None,
                "labels must be integers, found a floating-point IDX array",
            ))
        }
    };
    if let Some(i) = classes.iter().position(|&l| l < 0) {
        return Err(parse_err(
            labels,
            Some(i + 1),
            format!("negative label {} in record {}", classes[i], i + 1),
        ));
    }
    if x.shape.len() < 2 || x.shape.len() > 4 {
        return Err(parse_err(
            images,
            None,
            format!(
                "images must have 2 to 4 dimensions (n × features, n × height × width or n × \
                 channels × height × width), shape is {:?}",
                x.shape
            ),
        ));
    }
    if x.shape[0] != classes.len() {
        return Err(Error::Invalid(format!(
            "{} holds {} images but {} holds {} labels",
            images.display(),
            x.shape[0],
            labels.display(),
            classes.len()
        )));
    }
    let n_features: usize = x.shape[1..].iter().product();
    let image = match x.shape[..] {
        [_, h, w] => Some(ImageShape {
            channels: 1,
            height: h,
            width: w,
        }),
        [_, c, h, w] => Some(ImageShape {
            channels: c,
            height: h,
            width: w,
        }),
        _ => None,
    };
    let n_classes = classes.iter().max().map_or(0, |&m| m as usize + 1);
    let target = Target::Classes {
        labels: classes.iter().map(|&l| l as u32).collect(),
        n_classes,
        names: (0..n_classes).map(|c| c.to_string()).collect(),
    };
    let mut data = Dataset::new(name, x.data.to_f32_scaled(), n_features, target)?;
    data.feature_names = match image {
        Some(s) if s.channels == 1 => (0..s.height)
            .flat_map(|r| (0..s.width).map(move |c| format!("px{r}_{c}")))
            .collect(),
        _ => data.feature_names,
    };
    if let Some(s) = image {
        data = data.with_image(s);
    }
    Ok(data)
}

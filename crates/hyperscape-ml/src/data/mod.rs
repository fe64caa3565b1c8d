//! Datasets: one in-memory table of `f32` features with a classification or
//! regression target, plus where the named datasets come from.
//!
//! Features are stored row-major (`n_samples × n_features`), the layout candle,
//! smartcore and LightGBM all accept without reshaping. Images keep their shape in
//! [`ImageShape`] so convolutional models can view a row as `channels × height × width`.

use serde::Serialize;

use crate::error::{Error, Result};

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
    pub n_samples: usize,
    pub n_features: usize,
    /// `None` for regression.
    pub n_classes: Option<usize>,
    /// Where the data come from (crate, registry package, file shipped with hyperscape).
    pub source: &'static str,
    /// Whether `load` can read it on this machine now (registry data need
    /// `scripts/fetch-datasets.sh`).
    pub installed: bool,
}

/// Every named dataset, installed or not.
pub fn catalog() -> Vec<DatasetInfo> {
    Vec::new()
}

/// A named dataset (see [`catalog`]).
pub fn load(name: &str) -> Result<Loaded> {
    Err(Error::Dataset {
        name: name.to_string(),
        reason: "unknown dataset".into(),
    })
}

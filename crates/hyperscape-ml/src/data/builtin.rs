//! The built-in datasets, compiled into the library: iris, breast cancer, diabetes and
//! digits from smartcore 0.7's `datasets` feature (cargo feature `builtin-data`), and
//! UCI wine from the CSV shipped in `crates/hyperscape-ml/data/wine.csv`.

use std::path::Path;

use crate::data::{Dataset, LoadOptions, Task};
#[cfg(feature = "builtin-data")]
use crate::data::{ImageShape, Target};
use crate::error::{Error, Result};

/// UCI Wine (CC BY 4.0), see `crates/hyperscape-ml/data/README.md`.
const WINE_CSV: &str = include_str!("../../data/wine.csv");

pub(crate) fn wine() -> Result<Dataset> {
    let options = LoadOptions::default()
        .label("class")
        .task(Task::Classification);
    let mut data = super::read_csv(
        WINE_CSV.as_bytes(),
        Path::new("crates/hyperscape-ml/data/wine.csv"),
        "wine",
        &options,
    )?;
    if let crate::data::Target::Classes { names, .. } = &mut data.target {
        *names = vec!["class_0".into(), "class_1".into(), "class_2".into()];
    }
    Ok(data)
}

#[cfg(not(feature = "builtin-data"))]
pub(crate) fn smartcore(name: &'static str) -> Result<Dataset> {
    Err(Error::Dataset {
        name: name.into(),
        reason: "this build has no `builtin-data` feature (it embeds smartcore's datasets); \
                 rebuild hyperscape-ml with `--features builtin-data`"
            .into(),
    })
}

#[cfg(feature = "builtin-data")]
pub(crate) fn smartcore(name: &'static str) -> Result<Dataset> {
    use smartcore::dataset;
    let strs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let classes = |labels: Vec<u32>, names: Vec<String>| Target::Classes {
        labels,
        n_classes: names.len(),
        names,
    };
    let data = match name {
        "iris" => {
            let d = dataset::iris::load_dataset();
            Dataset::new(
                name,
                d.data,
                d.num_features,
                classes(d.target, strs(&["setosa", "versicolor", "virginica"])),
            )?
            .with_feature_names(d.feature_names)
        }
        "breast_cancer" => {
            // Wisconsin diagnostic, as in scikit-learn: 0 = malignant, 1 = benign.
            let d = dataset::breast_cancer::load_dataset();
            Dataset::new(
                name,
                d.data,
                d.num_features,
                classes(d.target, strs(&["malignant", "benign"])),
            )?
            .with_feature_names(d.feature_names)
        }
        "diabetes" => {
            let d = dataset::diabetes::load_dataset();
            let y = d.target.iter().map(|&v| v as f64).collect();
            Dataset::new(name, d.data, d.num_features, Target::Values(y))?
                .with_feature_names(d.feature_names)
        }
        "digits" => {
            // 8×8 images with pixel counts 0..=16, scaled to [0, 1].
            let d = dataset::digits::load_dataset();
            let x = d.data.iter().map(|&v| v / 16.0).collect();
            let labels = d.target.iter().map(|&v| v.round() as u32).collect();
            let names = (0..10).map(|c| c.to_string()).collect();
            let feature_names = (0..8)
                .flat_map(|r| (0..8).map(move |c| format!("px{r}_{c}")))
                .collect();
            Dataset::new(name, x, d.num_features, classes(labels, names))?
                .with_feature_names(feature_names)
                .with_image(ImageShape {
                    channels: 1,
                    height: 8,
                    width: 8,
                })
        }
        other => {
            return Err(Error::Dataset {
                name: other.into(),
                reason: "not a smartcore dataset".into(),
            })
        }
    };
    Ok(data)
}

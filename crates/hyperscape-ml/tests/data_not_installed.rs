//! A registry dataset that is not in the data directory gives `Error::Dataset` saying
//! how to fetch it. (Its own test binary: it points `HYPERSCAPE_DATA_DIR` at an empty
//! directory for the whole process.)

use hyperscape_ml::{data, Error};

#[test]
fn a_missing_registry_dataset_says_to_run_the_fetch_script() {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_var("HYPERSCAPE_DATA_DIR", dir.path());
    assert_eq!(data::data_dir(), dir.path());
    let cat = data::catalog();
    for name in ["mnist", "mnist-5k", "fashion-mnist"] {
        let info = cat.iter().find(|e| e.name == name).unwrap();
        assert!(!info.installed, "{name}");
        let err = data::load(name).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::Dataset { .. }), "{msg}");
        assert!(msg.contains("scripts/fetch-datasets.sh"), "{msg}");
        assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
    }
    // Built-ins need no files.
    assert!(cat
        .iter()
        .filter(|e| e.name == "iris" || e.name == "wine")
        .all(|e| e.installed));
    assert_eq!(data::load("wine").unwrap().train.n_samples(), 178);
}

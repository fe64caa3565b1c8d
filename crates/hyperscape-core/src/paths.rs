//! Where hyperscape finds data fetched from package registries: the datasets of
//! `scripts/fetch-datasets.sh` and the HPO tables of `scripts/fetch-hpo-tables.sh`.
//! One lookup for every crate, so `HYPERSCAPE_DATA_DIR` means the same thing everywhere.

use std::path::{Path, PathBuf};

/// The data directory: `$HYPERSCAPE_DATA_DIR` if set and not empty, else the
/// repository's `.datasets` (where the fetch scripts write by default) when it exists,
/// else `~/.cache/hyperscape/datasets`.
pub fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("HYPERSCAPE_DATA_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.datasets");
    if repo.is_dir() {
        return repo;
    }
    std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache/hyperscape/datasets"))
        .unwrap_or_else(|| PathBuf::from(".datasets"))
}

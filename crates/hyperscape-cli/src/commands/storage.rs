//! `hyperscape storage upgrade`: apply pending schema migrations.

use anyhow::{bail, Result};

use crate::cli::{StorageCommand, StorageUpgradeArgs};
use crate::common::redact;

pub fn execute(c: StorageCommand) -> Result<i32> {
    match c {
        StorageCommand::Upgrade(a) => upgrade(a),
    }
}

/// Reports the versions before and after an upgrade.
fn report(url: &str, before: i64, after: i64) {
    let url = redact(url);
    if before == after {
        println!("storage `{url}` is up to date (schema version {after}); nothing to do");
    } else if before == 0 {
        println!("storage `{url}` created at schema version {after}");
    } else {
        println!("storage `{url}` upgraded from schema version {before} to {after}");
    }
}

fn upgrade(a: StorageUpgradeArgs) -> Result<i32> {
    let url = a.storage.storage.as_str();
    if matches!(url, "memory:" | ":memory:" | "memory://") {
        bail!("the memory storage has no schema to upgrade");
    }
    if let Some(path) = hyperscape_core::storage::sqlite_path(url) {
        return upgrade_sqlite(url, path);
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return upgrade_postgres(url);
    }
    bail!(
        "cannot upgrade storage `{}`: unknown scheme (expected sqlite:///path/to/file.db \
         or postgresql://...)",
        redact(url)
    )
}

#[cfg(feature = "sqlite")]
fn upgrade_sqlite(url: &str, path: &str) -> Result<i32> {
    use anyhow::Context;
    if path.is_empty() {
        bail!("the SQLite URL `{url}` has no file path");
    }
    let (before, after) = hyperscape_core::storage::SqliteStorage::upgrade(path)
        .with_context(|| format!("cannot upgrade storage `{}`", redact(url)))?;
    report(url, before, after);
    Ok(0)
}

#[cfg(not(feature = "sqlite"))]
fn upgrade_sqlite(url: &str, _path: &str) -> Result<i32> {
    bail!(
        "cannot upgrade storage `{}`: this build of hyperscape has no SQLite support \
         (feature `sqlite`)",
        redact(url)
    )
}

#[cfg(feature = "postgres")]
fn upgrade_postgres(url: &str) -> Result<i32> {
    use anyhow::Context;
    let (before, after) = hyperscape_core::storage::PostgresStorage::upgrade(url)
        .with_context(|| format!("cannot upgrade storage `{}`", redact(url)))?;
    report(url, before, after);
    Ok(0)
}

#[cfg(not(feature = "postgres"))]
fn upgrade_postgres(url: &str) -> Result<i32> {
    let _ = report;
    bail!(
        "cannot upgrade storage `{}`: PostgreSQL storage is not available in this build \
         of hyperscape (feature `postgres`)",
        redact(url)
    )
}

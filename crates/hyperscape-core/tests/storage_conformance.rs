//! Every storage backend against the same contract (`storage::conformance`).

use std::sync::Arc;

use hyperscape_core::storage::InMemoryStorage;
use hyperscape_core::Storage;

#[cfg(feature = "postgres")]
#[path = "support/postgres.rs"]
mod pg;

hyperscape_core::storage_conformance_tests!(memory, || -> Arc<dyn Storage> {
    Arc::new(InMemoryStorage::new())
});

#[cfg(feature = "sqlite")]
hyperscape_core::storage_conformance_tests!(sqlite, || {
    let dir = tempfile::tempdir().expect("temporary directory");
    let storage = hyperscape_core::storage::SqliteStorage::open(dir.path().join("conformance.db"))
        .expect("open SQLite storage");
    // The directory outlives the storage (the pair drops in order).
    (Arc::new(storage) as Arc<dyn Storage>, dir)
});

// Each test on a schema of its own, dropped afterwards. Skipped (or, under CI=true,
// failed) when no test server is configured.
#[cfg(feature = "postgres")]
hyperscape_core::storage_conformance_tests!(postgres, || {
    let url = pg::test_url()?;
    let schema = pg::FreshSchema::new(&url);
    let storage = hyperscape_core::storage::PostgresStorage::open(&schema.url)
        .expect("open PostgreSQL storage");
    Some((Arc::new(storage) as Arc<dyn Storage>, schema))
});

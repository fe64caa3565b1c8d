//! Schema of the SQLite storage and its migrations.
//!
//! `MIGRATIONS[i]` turns a database at schema version `i` into version `i + 1`; version
//! 0 is an empty file. A fresh database gets every migration in order, so a later
//! schema change is one more entry at the end of the list (and nothing else).

use rusqlite::{Connection, OptionalExtension, Transaction};

use super::{Fail, R};
use crate::error::Error;

/// Version 0 -> 1: studies, trials, params, intermediate values.
const V1: &str = r#"
CREATE TABLE schema_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO schema_version (id, version) VALUES (1, 0);

CREATE TABLE studies (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL UNIQUE,
    directions   TEXT NOT NULL,
    user_attrs   TEXT NOT NULL DEFAULT '{}',
    system_attrs TEXT NOT NULL DEFAULT '{}',
    created_at   INTEGER NOT NULL,
    -- number of the next trial: trial numbers are gap-free
    next_number  INTEGER NOT NULL DEFAULT 0,
    -- change sequence, bumped by every trial mutation of the study
    seq          INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE trials (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    study_id          INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    number            INTEGER NOT NULL,
    state             TEXT NOT NULL
        CHECK (state IN ('waiting', 'running', 'complete', 'pruned', 'failed')),
    vals              TEXT,
    user_attrs        TEXT NOT NULL DEFAULT '{}',
    system_attrs      TEXT NOT NULL DEFAULT '{}',
    -- timestamps: unix microseconds (UTC)
    datetime_start    INTEGER,
    datetime_complete INTEGER,
    heartbeat         INTEGER,
    fail_reason       TEXT,
    retried_from      INTEGER,
    claim_key         TEXT,
    updated_seq       INTEGER NOT NULL,
    UNIQUE (study_id, number),
    UNIQUE (study_id, claim_key)
);
CREATE INDEX trials_by_seq ON trials (study_id, updated_seq);
CREATE INDEX trials_by_state ON trials (study_id, state, number);

CREATE TABLE trial_params (
    trial_id     INTEGER NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    distribution TEXT NOT NULL,
    value        TEXT NOT NULL,
    PRIMARY KEY (trial_id, name)
) WITHOUT ROWID;

CREATE TABLE trial_intermediate_values (
    trial_id INTEGER NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
    step     INTEGER NOT NULL,
    -- NULL stands for NaN (SQLite stores NaN as NULL)
    value    REAL,
    PRIMARY KEY (trial_id, step)
) WITHOUT ROWID;
"#;

/// Ordered migrations: entry `i` upgrades version `i` to `i + 1`.
pub(super) const MIGRATIONS: &[&str] = &[V1];

/// The schema version this build reads and writes.
pub(super) const CURRENT: i64 = MIGRATIONS.len() as i64;

/// What an opened file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Found {
    /// No tables at all: a new (or empty) file.
    Empty,
    /// A hyperscape storage at this schema version.
    Version(i64),
    /// A SQLite database with tables, but not ours.
    Foreign,
}

/// Reads what the database holds. Fails with `SQLITE_NOTADB` on a file that is not a
/// SQLite database.
pub(super) fn found(conn: &Connection) -> rusqlite::Result<Found> {
    let has_version: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version')",
        [],
        |r| r.get(0),
    )?;
    if has_version {
        let v: Option<i64> = conn
            .query_row("SELECT max(version) FROM schema_version", [], |r| r.get(0))
            .optional()?
            .flatten();
        return Ok(Found::Version(v.unwrap_or(0)));
    }
    let n_tables: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        [],
        |r| r.get(0),
    )?;
    Ok(if n_tables == 0 {
        Found::Empty
    } else {
        Found::Foreign
    })
}

/// Checks that `found` can be used as is by a build supporting `supported`.
pub(super) fn check(found: Found, supported: i64, path: &str) -> Result<(), Error> {
    match found {
        Found::Foreign => Err(foreign(path)),
        Found::Version(v) if v > supported => Err(Error::SchemaTooNew {
            found: v,
            supported,
        }),
        Found::Version(v) if v < supported => Err(Error::SchemaTooOld {
            found: v,
            supported,
        }),
        Found::Version(_) | Found::Empty => Ok(()),
    }
}

pub(super) fn foreign(path: &str) -> Error {
    Error::Storage(format!(
        "`{path}` is a SQLite database, but not a hyperscape storage (it has no schema_version table)"
    ))
}

/// Applies the pending migrations of `migrations` inside `tx`; returns (from, to).
/// Refuses a database newer than the list, or one that is not ours.
pub(super) fn migrate(tx: &Transaction<'_>, migrations: &[&str], path: &str) -> R<(i64, i64)> {
    let supported = migrations.len() as i64;
    let from = match found(tx)? {
        Found::Empty => 0,
        Found::Version(v) => v,
        Found::Foreign => return Err(Fail::App(foreign(path))),
    };
    if from > supported {
        return Err(Fail::App(Error::SchemaTooNew {
            found: from,
            supported,
        }));
    }
    let start = usize::try_from(from).map_err(|_| {
        Fail::App(Error::Storage(format!(
            "`{path}` has an invalid schema version {from}"
        )))
    })?;
    for sql in &migrations[start..] {
        tx.execute_batch(sql)?;
    }
    tx.execute(
        "UPDATE schema_version SET version = ?1 WHERE id = 1",
        [supported],
    )?;
    Ok((from, supported))
}

#[cfg(test)]
mod tests {
    use super::super::SqliteStorage;
    use super::*;

    const V2: &str = "ALTER TABLE studies ADD COLUMN description TEXT;";

    fn version(path: &std::path::Path) -> Found {
        found(&Connection::open(path).unwrap()).unwrap()
    }

    #[test]
    fn migrations_are_ordered_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        // A build that knows only version 1 creates a version-1 file.
        SqliteStorage::open_with(&path, &[V1]).unwrap();
        assert_eq!(version(&path), Found::Version(1));
        // A build that knows version 2 refuses it until it is upgraded...
        match SqliteStorage::open_with(&path, &[V1, V2]).unwrap_err() {
            Error::SchemaTooOld { found, supported } => assert_eq!((found, supported), (1, 2)),
            e => panic!("unexpected {e}"),
        }
        assert_eq!(
            SqliteStorage::upgrade_with(&path, &[V1, V2]).unwrap(),
            (1, 2)
        );
        assert_eq!(version(&path), Found::Version(2));
        let conn = Connection::open(&path).unwrap();
        conn.execute("UPDATE studies SET description = 'x'", [])
            .unwrap();
        drop(conn);
        SqliteStorage::open_with(&path, &[V1, V2]).unwrap();
        // ...upgrading again is a no-op, and the old build now refuses the file.
        assert_eq!(
            SqliteStorage::upgrade_with(&path, &[V1, V2]).unwrap(),
            (2, 2)
        );
        match SqliteStorage::open_with(&path, &[V1]).unwrap_err() {
            Error::SchemaTooNew { found, supported } => assert_eq!((found, supported), (2, 1)),
            e => panic!("unexpected {e}"),
        }
        assert!(matches!(
            SqliteStorage::upgrade_with(&path, &[V1]).unwrap_err(),
            Error::SchemaTooNew { .. }
        ));
    }

    #[test]
    fn a_fresh_file_gets_every_migration() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fresh.db");
        SqliteStorage::open_with(&path, &[V1, V2]).unwrap();
        assert_eq!(version(&path), Found::Version(2));
    }

    #[test]
    fn a_foreign_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY);")
            .unwrap();
        let err = SqliteStorage::open(&path).unwrap_err().to_string();
        assert!(err.contains("not a hyperscape storage"), "{err}");
        assert!(err.contains("other.db"), "{err}");
    }
}

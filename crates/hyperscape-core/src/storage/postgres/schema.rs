//! Schema of the PostgreSQL storage and its migrations.
//!
//! The tables live in their own PostgreSQL schema (`hyperscape` unless the URL says
//! `hyperscape_schema=...`); connections set `search_path` to it, so the SQL names
//! tables unqualified. `MIGRATIONS[i]` turns schema version `i` into `i + 1`; version 0
//! is "no tables". Setup and upgrades run in one transaction holding a
//! transaction-level advisory lock, so processes starting together apply each
//! migration exactly once.

use super::conn::{Fail, Tx, R};
use crate::error::Error;

/// Version 0 -> 1: studies, trials, params, intermediate values.
const V1: &str = r#"
CREATE TABLE schema_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO schema_version (id, version) VALUES (1, 0);

CREATE TABLE studies (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    directions    TEXT NOT NULL,
    user_attrs    TEXT NOT NULL DEFAULT '{}',
    system_attrs  TEXT NOT NULL DEFAULT '{}',
    -- unix microseconds (UTC), from the server's clock
    created_at    BIGINT NOT NULL,
    -- number of the next trial: trial numbers are gap-free
    next_number   BIGINT NOT NULL DEFAULT 0,
    -- change sequence, bumped by every trial mutation of the study
    seq           BIGINT NOT NULL DEFAULT 0,
    -- client-generated token of the creating call (idempotent retries)
    request_token TEXT UNIQUE
);

CREATE TABLE trials (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    study_id          BIGINT NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    number            BIGINT NOT NULL,
    state             TEXT NOT NULL
        CHECK (state IN ('waiting', 'running', 'complete', 'pruned', 'failed')),
    vals              TEXT,
    user_attrs        TEXT NOT NULL DEFAULT '{}',
    system_attrs      TEXT NOT NULL DEFAULT '{}',
    -- timestamps: unix microseconds (UTC), from the server's clock
    datetime_start    BIGINT,
    datetime_complete BIGINT,
    heartbeat         BIGINT,
    fail_reason       TEXT,
    retried_from      BIGINT,
    claim_key         TEXT,
    updated_seq       BIGINT NOT NULL,
    -- client-generated tokens of the calls that created, claimed and finished the
    -- trial, so that a call retried after a lost commit acknowledgement finds its work
    request_token     TEXT UNIQUE,
    claim_token       TEXT UNIQUE,
    finish_token      TEXT,
    UNIQUE (study_id, number),
    UNIQUE (study_id, claim_key)
);
CREATE INDEX trials_by_seq ON trials (study_id, updated_seq);
CREATE INDEX trials_by_state ON trials (study_id, state, number);
CREATE INDEX trials_by_finish_token ON trials (finish_token) WHERE finish_token IS NOT NULL;

CREATE TABLE trial_params (
    trial_id     BIGINT NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    distribution TEXT NOT NULL,
    value        TEXT NOT NULL,
    PRIMARY KEY (trial_id, name)
);

CREATE TABLE trial_intermediate_values (
    trial_id BIGINT NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
    step     BIGINT NOT NULL,
    value    DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (trial_id, step)
);
"#;

/// Ordered migrations: entry `i` upgrades version `i` to `i + 1`.
pub(super) const MIGRATIONS: &[&str] = &[V1];

/// The schema version this build reads and writes.
pub(super) const CURRENT: i64 = MIGRATIONS.len() as i64;

/// What the schema holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Found {
    /// No tables (or no schema) yet.
    Empty,
    /// A hyperscape storage at this schema version.
    Version(i64),
    /// Tables, but not ours.
    Foreign,
}

/// Reads what `schema` holds.
pub(super) fn found(tx: &mut Tx<'_>, schema: &str) -> R<Found> {
    let row = tx.query_opt(
        "SELECT count(*), bool_or(tablename = 'schema_version') FROM pg_catalog.pg_tables \
         WHERE schemaname = $1",
        &[&schema],
    )?;
    let (n, has_version): (i64, Option<bool>) = match row {
        Some(r) => (r.try_get(0)?, r.try_get(1)?),
        None => (0, None),
    };
    if has_version == Some(true) {
        let v: Option<i64> = tx
            .query_opt("SELECT max(version) FROM schema_version", &[])?
            .map(|r| r.try_get(0))
            .transpose()?
            .flatten();
        return Ok(Found::Version(v.unwrap_or(0)));
    }
    Ok(if n == 0 { Found::Empty } else { Found::Foreign })
}

/// Checks that `found` can be used as is by a build supporting `supported`.
pub(super) fn check(found: Found, supported: i64, shown: &str, schema: &str) -> Result<(), Error> {
    match found {
        Found::Foreign => Err(foreign(shown, schema)),
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

fn foreign(shown: &str, schema: &str) -> Error {
    Error::Storage(format!(
        "schema `{schema}` of `{shown}` holds tables, but is not a hyperscape storage \
         (it has no schema_version table)"
    ))
}

/// Serialises setup and upgrades of `schema` across processes, until the end of the
/// transaction.
pub(super) fn lock(tx: &mut Tx<'_>, schema: &str) -> R<()> {
    tx.query(
        "SELECT pg_advisory_xact_lock(hashtext('hyperscape schema ' || $1))",
        &[&schema],
    )?;
    Ok(())
}

/// Under [`lock`]: applies the pending `migrations`; returns (from, to). Creates the
/// schema if needed; refuses one that is newer than the list, or not ours.
pub(super) fn migrate(
    tx: &mut Tx<'_>,
    migrations: &[&str],
    shown: &str,
    schema: &str,
) -> R<(i64, i64)> {
    let supported = migrations.len() as i64;
    let from = match found(tx, schema)? {
        Found::Empty => 0,
        Found::Version(v) => v,
        Found::Foreign => return Err(Fail::App(foreign(shown, schema))),
    };
    if from > supported {
        return Err(Fail::App(Error::SchemaTooNew {
            found: from,
            supported,
        }));
    }
    let start = usize::try_from(from).map_err(|_| {
        Fail::App(Error::Storage(format!(
            "`{shown}` has an invalid schema version {from}"
        )))
    })?;
    if from == 0 {
        let exists = !tx
            .query(
                "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1",
                &[&schema],
            )?
            .is_empty();
        if !exists {
            // `schema` is a validated identifier (see `url::valid_schema`).
            tx.batch(&format!("CREATE SCHEMA \"{schema}\""))?;
        }
    }
    for sql in &migrations[start..] {
        tx.batch(sql)?;
    }
    tx.execute(
        "UPDATE schema_version SET version = $1 WHERE id = 1",
        &[&supported],
    )?;
    Ok((from, supported))
}

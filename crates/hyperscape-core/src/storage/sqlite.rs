//! SQLite storage: one file, shared by the threads and processes of one machine.
//!
//! Concurrency comes from SQLite itself: WAL journal, every write in a
//! `BEGIN IMMEDIATE` transaction (so a read-modify-write never races another writer),
//! and constraints (`UNIQUE (study_id, number)`, `UNIQUE (study_id, claim_key)`) as the
//! last line of defence. A busy database is waited for by SQLite's busy timeout, and a
//! transaction that still fails with `SQLITE_BUSY`/`SQLITE_LOCKED` is rolled back and
//! retried a bounded number of times with backoff.
//!
//! Every trial mutation bumps the study's `seq` and stamps it on the trial
//! (`updated_seq`), in the same transaction, so [`Storage::trials_since`] reads only the
//! trials that changed, with a handful of set-based queries.

mod rows;
mod schema;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::TransactionBehavior;
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, Transaction};

use super::{util, Storage, StudyId, StudyRecord, StudySummary, TrialDelta, TrialId};
use crate::error::{Error, Result};
use crate::param::{Distribution, ParamValue};
use crate::trial::{Direction, FrozenTrial, NewTrial, TrialResult, TrialState, FIXED_PARAMS_ATTR};
use rows::{
    get_study_by_id, load_trial, load_trials, now_micros, parse_json, study_from_row, to_i64,
    to_u64, values_to_json, Attrs, Which, STUDY_COLUMNS,
};

/// How long SQLite itself waits for a lock before reporting `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts of one transaction that keeps failing with `SQLITE_BUSY`/`SQLITE_LOCKED`.
const MAX_ATTEMPTS: u32 = 8;
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Why a transaction failed: SQLite (maybe retryable), or a typed error to return.
#[derive(Debug)]
enum Fail {
    Db(rusqlite::Error),
    App(Error),
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Self {
        Fail::Db(e)
    }
}
impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::App(e)
    }
}
impl From<serde_json::Error> for Fail {
    fn from(e: serde_json::Error) -> Self {
        Fail::App(e.into())
    }
}

type R<T> = std::result::Result<T, Fail>;

fn corrupt(what: impl std::fmt::Display) -> Fail {
    Fail::App(Error::Storage(format!("corrupt storage: {what}")))
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

fn db_error(path: &str, what: &str, e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => Error::Storage(format!(
            "`{path}` is not a SQLite database (or it is corrupt): {e}"
        )),
        Some(ErrorCode::CannotOpen) => {
            Error::Storage(format!("cannot open SQLite database `{path}`: {e}"))
        }
        _ if is_busy(&e) => Error::Storage(format!(
            "{what} on `{path}`: database still locked after {MAX_ATTEMPTS} attempts: {e}"
        )),
        _ => Error::Storage(format!("{what} on `{path}`: {e}")),
    }
}

/// Runs `f` until it succeeds, fails for good, or stays busy `MAX_ATTEMPTS` times.
/// `f` must be a whole transaction, so that a failed attempt leaves nothing behind.
fn with_retry<T>(path: &str, what: &str, mut f: impl FnMut() -> R<T>) -> Result<T> {
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        match f() {
            Ok(v) => return Ok(v),
            Err(Fail::Db(e)) if is_busy(&e) && attempt < MAX_ATTEMPTS => {
                // Jitter so that processes that collided do not collide again.
                let jitter = rand::random_range(0..=backoff.as_micros() as u64);
                std::thread::sleep(backoff + Duration::from_micros(jitter));
                backoff = (backoff * 2).min(MAX_BACKOFF);
                attempt += 1;
            }
            Err(Fail::Db(e)) => return Err(db_error(path, what, e)),
            Err(Fail::App(e)) => return Err(e),
        }
    }
}

// ---- the storage ----

/// A study storage in one SQLite file. See the module documentation.
pub struct SqliteStorage {
    path: PathBuf,
    /// Display form of `path`, for messages.
    name: String,
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStorage")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Opens a connection with the pragmas every connection needs.
fn connect(path: &Path, name: &str) -> Result<Connection> {
    let conn = Connection::open(path).map_err(|e| db_error(name, "open", e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| db_error(name, "set busy timeout", e))?;
    with_retry(name, "configure connection", || {
        // Reading the journal mode also checks the file is a SQLite database.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Fail::App(Error::Storage(format!(
                "`{name}`: cannot use WAL journal mode (got `{mode}`)"
            ))));
        }
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
        Ok(())
    })?;
    Ok(conn)
}

impl SqliteStorage {
    /// The schema version this build reads and writes.
    pub const SCHEMA_VERSION: i64 = schema::CURRENT;

    /// Opens (creating if needed) the storage at `path`.
    ///
    /// Errors: [`Error::SchemaTooNew`] for a file written by a newer hyperscape,
    /// [`Error::SchemaTooOld`] for one that needs [`SqliteStorage::upgrade`] first, and
    /// [`Error::Storage`] for a file that is not a hyperscape SQLite storage.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path.as_ref(), schema::MIGRATIONS)
    }

    /// Brings the storage at `path` to the current schema version, applying pending
    /// migrations in one transaction; creates it if absent. Returns the versions
    /// before and after.
    pub fn upgrade(path: impl AsRef<Path>) -> Result<(i64, i64)> {
        Self::upgrade_with(path.as_ref(), schema::MIGRATIONS)
    }

    /// The file of this storage.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open_with(path: &Path, migrations: &[&str]) -> Result<Self> {
        let name = path.display().to_string();
        let mut conn = connect(path, &name)?;
        let supported = migrations.len() as i64;
        let found = with_retry(&name, "read schema version", || {
            let tx = conn.transaction()?;
            Ok(schema::found(&tx)?)
        })?;
        if found == schema::Found::Empty {
            // A new file: create the schema, unless another process beat us to it.
            with_retry(&name, "create schema", || {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                match schema::found(&tx)? {
                    schema::Found::Empty => {
                        schema::migrate(&tx, migrations, &name)?;
                    }
                    other => schema::check(other, supported, &name)?,
                }
                tx.commit()?;
                Ok(())
            })?;
        } else {
            schema::check(found, supported, &name)?;
        }
        Ok(Self {
            path: path.to_path_buf(),
            name,
            conn: Mutex::new(conn),
        })
    }

    fn upgrade_with(path: &Path, migrations: &[&str]) -> Result<(i64, i64)> {
        let name = path.display().to_string();
        let mut conn = connect(path, &name)?;
        with_retry(&name, "upgrade schema", || {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let versions = schema::migrate(&tx, migrations, &name)?;
            tx.commit()?;
            Ok(versions)
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic inside a transaction rolls it back when the transaction is dropped,
        // so the connection is usable after poisoning.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction, retried when busy.
    fn write<T>(&self, what: &str, mut f: impl FnMut(&Transaction<'_>) -> R<T>) -> Result<T> {
        let mut conn = self.lock();
        with_retry(&self.name, what, || {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
    }

    /// Runs `f` in a read transaction: one consistent snapshot.
    fn read<T>(&self, what: &str, mut f: impl FnMut(&Transaction<'_>) -> R<T>) -> Result<T> {
        let mut conn = self.lock();
        with_retry(&self.name, what, || {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
    }
}

// ---- helpers on a transaction ----

fn study_not_found(id: StudyId) -> Fail {
    Fail::App(Error::StudyNotFound(format!("#{id}")))
}

fn trial_not_found(id: TrialId) -> Fail {
    Fail::App(Error::TrialNotFound(format!("id {id}")))
}

fn study_exists(tx: &Transaction<'_>, study: StudyId) -> R<()> {
    tx.prepare_cached("SELECT 1 FROM studies WHERE id = ?1")?
        .query_row([study], |_| Ok(()))
        .optional()?
        .ok_or_else(|| study_not_found(study))
}

/// Bumps the study's change sequence and returns the new value.
fn bump_seq(tx: &Transaction<'_>, study: StudyId) -> R<i64> {
    tx.prepare_cached("UPDATE studies SET seq = seq + 1 WHERE id = ?1 RETURNING seq")?
        .query_row([study], |r| r.get(0))
        .optional()?
        .ok_or_else(|| study_not_found(study))
}

/// The study of running trial `trial`; `TrialFinished` if it is not running.
fn running_trial(tx: &Transaction<'_>, trial: TrialId) -> R<StudyId> {
    let (study, number, state): (StudyId, i64, String) = tx
        .prepare_cached("SELECT study_id, number, state FROM trials WHERE id = ?1")?
        .query_row([trial], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?
        .ok_or_else(|| trial_not_found(trial))?;
    let state: TrialState = state.parse().map_err(corrupt)?;
    if state != TrialState::Running {
        return Err(Fail::App(Error::TrialFinished {
            number: to_u64(number, "trial number")?,
            state,
        }));
    }
    Ok(study)
}

/// Marks `trial` as changed now: bumps its study's sequence.
fn touch(tx: &Transaction<'_>, study: StudyId, trial: TrialId) -> R<()> {
    let seq = bump_seq(tx, study)?;
    tx.prepare_cached("UPDATE trials SET updated_seq = ?1 WHERE id = ?2")?
        .execute(params![seq, trial])?;
    Ok(())
}

/// Reads a JSON attribute map of a row, sets `key`, writes it back.
fn set_attr(
    tx: &Transaction<'_>,
    table: &str,
    column: &str,
    id: i64,
    key: &str,
    value: &serde_json::Value,
) -> R<()> {
    let select = format!("SELECT {column} FROM {table} WHERE id = ?1");
    let raw: String = tx
        .prepare_cached(&select)?
        .query_row([id], |r| r.get(0))
        .optional()?
        .ok_or_else(|| corrupt(format!("{table} row {id} vanished")))?;
    let mut attrs: Attrs = parse_json(&raw, column)?;
    attrs.insert(key.to_string(), value.clone());
    let update = format!("UPDATE {table} SET {column} = ?1 WHERE id = ?2");
    tx.prepare_cached(&update)?
        .execute(params![serde_json::to_string(&attrs)?, id])?;
    Ok(())
}

impl Storage for SqliteStorage {
    fn create_study(&self, name: &str, directions: &[Direction]) -> Result<StudyRecord> {
        let dirs = serde_json::to_string(directions)?;
        self.write("create study", |tx| {
            let taken = tx
                .prepare_cached("SELECT 1 FROM studies WHERE name = ?1")?
                .query_row([name], |_| Ok(()))
                .optional()?;
            if taken.is_some() {
                return Err(Fail::App(Error::StudyExists(name.to_string())));
            }
            tx.prepare_cached(
                "INSERT INTO studies (name, directions, created_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![name, dirs, now_micros()])?;
            get_study_by_id(tx, tx.last_insert_rowid())
        })
    }

    fn get_study(&self, name: &str) -> Result<StudyRecord> {
        self.read("get study", |tx| {
            let sql = format!("SELECT {STUDY_COLUMNS} FROM studies WHERE name = ?1");
            let mut stmt = tx.prepare_cached(&sql)?;
            let mut rows = stmt.query([name])?;
            match rows.next()? {
                Some(r) => study_from_row(r),
                None => Err(Fail::App(Error::StudyNotFound(name.to_string()))),
            }
        })
    }

    fn list_studies(&self) -> Result<Vec<StudySummary>> {
        self.read("list studies", |tx| {
            let sql = format!("SELECT {STUDY_COLUMNS} FROM studies ORDER BY id");
            let mut stmt = tx.prepare_cached(&sql)?;
            let mut rows = stmt.query([])?;
            let mut out = Vec::new();
            let mut index = HashMap::new();
            while let Some(r) = rows.next()? {
                let study = study_from_row(r)?;
                index.insert(study.id, out.len());
                out.push(StudySummary {
                    study,
                    n_trials: 0,
                    counts: BTreeMap::new(),
                });
            }
            let mut stmt = tx.prepare_cached(
                "SELECT study_id, state, count(*) FROM trials GROUP BY study_id, state",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let Some(&i) = index.get(&r.get::<_, StudyId>(0)?) else {
                    continue;
                };
                let state: TrialState = r.get::<_, String>(1)?.parse().map_err(corrupt)?;
                let n = to_u64(r.get(2)?, "count")?;
                out[i].counts.insert(state, n);
                out[i].n_trials += n;
            }
            Ok(out)
        })
    }

    fn delete_study(&self, study: StudyId) -> Result<()> {
        self.write("delete study", |tx| {
            // Trials, params and intermediate values go with it (ON DELETE CASCADE).
            let n = tx
                .prepare_cached("DELETE FROM studies WHERE id = ?1")?
                .execute([study])?;
            if n == 0 {
                return Err(study_not_found(study));
            }
            Ok(())
        })
    }

    fn set_study_user_attr(
        &self,
        study: StudyId,
        key: &str,
        value: serde_json::Value,
    ) -> Result<()> {
        self.write("set study attribute", |tx| {
            study_exists(tx, study)?;
            set_attr(tx, "studies", "user_attrs", study, key, &value)
        })
    }

    fn set_study_system_attr(
        &self,
        study: StudyId,
        key: &str,
        value: serde_json::Value,
    ) -> Result<()> {
        self.write("set study attribute", |tx| {
            study_exists(tx, study)?;
            set_attr(tx, "studies", "system_attrs", study, key, &value)
        })
    }

    fn create_trial(&self, study: StudyId, new: NewTrial) -> Result<FrozenTrial> {
        let mut system_attrs = new.system_attrs;
        if !new.fixed_params.is_empty() {
            system_attrs.insert(
                FIXED_PARAMS_ATTR.to_string(),
                serde_json::to_value(&new.fixed_params)?,
            );
        }
        let user_attrs = serde_json::to_string(&new.user_attrs)?;
        let system_attrs = serde_json::to_string(&system_attrs)?;
        let (state, start, heartbeat) = if new.waiting {
            (TrialState::Waiting, false, false)
        } else {
            (TrialState::Running, true, new.heartbeat)
        };
        self.write("create trial", |tx| {
            let retried_from = new
                .retried_from
                .map(|n| to_i64(n, "retried_from"))
                .transpose()?;
            if let Some(key) = &new.claim_key {
                let taken = tx
                    .prepare_cached("SELECT 1 FROM trials WHERE study_id = ?1 AND claim_key = ?2")?
                    .query_row(params![study, key], |_| Ok(()))
                    .optional()?;
                if taken.is_some() {
                    return Err(Fail::App(Error::ClaimTaken(key.clone())));
                }
            }
            let (number, seq): (i64, i64) = tx
                .prepare_cached(
                    "UPDATE studies SET next_number = next_number + 1, seq = seq + 1 \
                     WHERE id = ?1 RETURNING next_number - 1, seq",
                )?
                .query_row([study], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
                .ok_or_else(|| study_not_found(study))?;
            let now = now_micros();
            tx.prepare_cached(
                "INSERT INTO trials (study_id, number, state, user_attrs, system_attrs, \
                 datetime_start, heartbeat, retried_from, claim_key, updated_seq) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                study,
                number,
                state.as_str(),
                user_attrs,
                system_attrs,
                start.then_some(now),
                heartbeat.then_some(now),
                retried_from,
                new.claim_key,
                seq,
            ])?;
            let id = tx.last_insert_rowid();
            load_trial(tx, Which::Id(id), || trial_not_found(id))
        })
    }

    fn claim_waiting_trial(&self, study: StudyId, heartbeat: bool) -> Result<Option<FrozenTrial>> {
        // Most asks find nothing waiting: look without the write lock first. A trial
        // enqueued right after this look is simply claimed by the next ask.
        let any_waiting = self.read("look for waiting trials", |tx| {
            study_exists(tx, study)?;
            Ok(tx
                .prepare_cached(
                    "SELECT EXISTS(SELECT 1 FROM trials WHERE study_id = ?1 AND state = 'waiting')",
                )?
                .query_row([study], |r| r.get::<_, bool>(0))?)
        })?;
        if !any_waiting {
            return Ok(None);
        }
        self.write("claim waiting trial", |tx| {
            study_exists(tx, study)?;
            let Some(id) = tx
                .prepare_cached(
                    "SELECT id FROM trials WHERE study_id = ?1 AND state = 'waiting' \
                     ORDER BY number LIMIT 1",
                )?
                .query_row([study], |r| r.get::<_, TrialId>(0))
                .optional()?
            else {
                return Ok(None);
            };
            let seq = bump_seq(tx, study)?;
            let now = now_micros();
            let n = tx
                .prepare_cached(
                    "UPDATE trials SET state = 'running', datetime_start = ?1, heartbeat = ?2, \
                     updated_seq = ?3 WHERE id = ?4 AND state = 'waiting'",
                )?
                .execute(params![now, heartbeat.then_some(now), seq, id])?;
            if n != 1 {
                return Err(corrupt(format!(
                    "waiting trial {id} changed under a write lock"
                )));
            }
            load_trial(tx, Which::Id(id), || trial_not_found(id)).map(Some)
        })
    }

    fn set_trial_param(
        &self,
        trial: TrialId,
        name: &str,
        distribution: &Distribution,
        value: &ParamValue,
    ) -> Result<()> {
        let dist = serde_json::to_string(distribution)?;
        let value = serde_json::to_string(value)?;
        self.write("set trial param", |tx| {
            let study = running_trial(tx, trial)?;
            tx.prepare_cached(
                "INSERT INTO trial_params (trial_id, name, distribution, value) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (trial_id, name) \
                 DO UPDATE SET distribution = excluded.distribution, value = excluded.value",
            )?
            .execute(params![trial, name, dist, value])?;
            touch(tx, study, trial)
        })
    }

    fn report_intermediate(&self, trial: TrialId, step: u64, value: f64) -> Result<()> {
        self.write("report intermediate value", |tx| {
            let study = running_trial(tx, trial)?;
            tx.prepare_cached(
                "INSERT INTO trial_intermediate_values (trial_id, step, value) \
                 VALUES (?1, ?2, ?3) ON CONFLICT (trial_id, step) \
                 DO UPDATE SET value = excluded.value",
            )?
            .execute(params![trial, to_i64(step, "step")?, value])?;
            touch(tx, study, trial)
        })
    }

    fn set_trial_user_attr(
        &self,
        trial: TrialId,
        key: &str,
        value: serde_json::Value,
    ) -> Result<()> {
        self.write("set trial attribute", |tx| {
            let study = running_trial(tx, trial)?;
            set_attr(tx, "trials", "user_attrs", trial, key, &value)?;
            touch(tx, study, trial)
        })
    }

    fn set_trial_system_attr(
        &self,
        trial: TrialId,
        key: &str,
        value: serde_json::Value,
    ) -> Result<()> {
        self.write("set trial attribute", |tx| {
            let study = running_trial(tx, trial)?;
            set_attr(tx, "trials", "system_attrs", trial, key, &value)?;
            touch(tx, study, trial)
        })
    }

    fn heartbeat(&self, trials: &[TrialId]) -> Result<()> {
        if trials.is_empty() {
            return Ok(());
        }
        self.write("heartbeat", |tx| {
            // Not a change that samplers need to see: updated_seq stays.
            let now = now_micros();
            let mut stmt = tx.prepare_cached(
                "UPDATE trials SET heartbeat = ?1 WHERE id = ?2 AND state = 'running'",
            )?;
            for id in trials {
                stmt.execute(params![now, id])?;
            }
            Ok(())
        })
    }

    fn finish_trial(&self, trial: TrialId, result: &TrialResult) -> Result<FrozenTrial> {
        self.write("finish trial", |tx| {
            let study = running_trial(tx, trial)?;
            let mut last = BTreeMap::new();
            if let Some((step, value)) = tx
                .prepare_cached(
                    "SELECT step, value FROM trial_intermediate_values WHERE trial_id = ?1 \
                     ORDER BY step DESC LIMIT 1",
                )?
                .query_row([trial], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, Option<f64>>(1)?))
                })
                .optional()?
            {
                last.insert(to_u64(step, "step")?, value.unwrap_or(f64::NAN));
            }
            let (state, values, reason) = util::finished_values(result, &last);
            let seq = bump_seq(tx, study)?;
            let n = tx
                .prepare_cached(
                    "UPDATE trials SET state = ?1, vals = ?2, fail_reason = ?3, \
                     datetime_complete = ?4, updated_seq = ?5 WHERE id = ?6 AND state = 'running'",
                )?
                .execute(params![
                    state.as_str(),
                    values.as_deref().map(values_to_json),
                    reason,
                    now_micros(),
                    seq,
                    trial
                ])?;
            if n != 1 {
                // Cannot happen under the write lock; refuse rather than double-finish.
                running_trial(tx, trial)?;
                return Err(corrupt(format!("trial {trial} changed under a write lock")));
            }
            load_trial(tx, Which::Id(trial), || trial_not_found(trial))
        })
    }

    fn fail_stale_trials(&self, study: StudyId, stale_after: Duration) -> Result<Vec<FrozenTrial>> {
        let limit = i64::try_from(stale_after.as_micros()).unwrap_or(i64::MAX);
        let reason = util::stale_reason(stale_after);
        self.write("fail stale trials", |tx| {
            study_exists(tx, study)?;
            let now = now_micros();
            let threshold = now.saturating_sub(limit);
            let any = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM trials WHERE study_id = ?1 AND state = 'running' \
                     AND heartbeat IS NOT NULL AND heartbeat < ?2)",
                )?
                .query_row(params![study, threshold], |r| r.get::<_, bool>(0))?;
            if !any {
                return Ok(Vec::new());
            }
            // One sequence number for the whole batch: they are loaded back by it.
            let seq = bump_seq(tx, study)?;
            tx.prepare_cached(
                "UPDATE trials SET state = 'failed', fail_reason = ?1, datetime_complete = ?2, \
                 updated_seq = ?3 WHERE study_id = ?4 AND state = 'running' \
                 AND heartbeat IS NOT NULL AND heartbeat < ?5",
            )?
            .execute(params![reason, now, seq, study, threshold])?;
            load_trials(tx, Which::AtSeq(study, seq))
        })
    }

    fn get_trial(&self, trial: TrialId) -> Result<FrozenTrial> {
        self.read("get trial", |tx| {
            load_trial(tx, Which::Id(trial), || trial_not_found(trial))
        })
    }

    fn get_trial_by_number(&self, study: StudyId, number: u64) -> Result<FrozenTrial> {
        self.read("get trial", |tx| {
            study_exists(tx, study)?;
            let missing = || Fail::App(Error::TrialNotFound(format!("number {number}")));
            let Ok(n) = i64::try_from(number) else {
                return Err(missing());
            };
            load_trial(tx, Which::Number(study, n), missing)
        })
    }

    fn trials_since(&self, study: StudyId, cursor: u64) -> Result<TrialDelta> {
        let cursor = i64::try_from(cursor).unwrap_or(i64::MAX);
        self.read("read trials", |tx| {
            // Same snapshot for the sequence and the trials: nothing is missed.
            let seq: i64 = tx
                .prepare_cached("SELECT seq FROM studies WHERE id = ?1")?
                .query_row([study], |r| r.get(0))
                .optional()?
                .ok_or_else(|| study_not_found(study))?;
            Ok(TrialDelta {
                trials: load_trials(tx, Which::Since(study, cursor))?,
                cursor: to_u64(seq, "sequence")?,
            })
        })
    }
}

//! PostgreSQL storage: one database shared by the workers of many machines.
//!
//! Correctness under concurrency comes from PostgreSQL itself, never from sleeps:
//! - trial numbers: `UPDATE studies SET next_number = next_number + 1 ... RETURNING`
//!   (the study row stays locked until commit) and `UNIQUE (study_id, number)`;
//! - claim keys: checked under that same study row lock, backed by
//!   `UNIQUE (study_id, claim_key)`; a taken key rolls the whole transaction back, so
//!   no number is consumed;
//! - waiting trials and stale trials are picked with `FOR UPDATE SKIP LOCKED`, so each
//!   goes to exactly one caller; a trial is finished only from `running`, under its
//!   row lock;
//! - timestamps (start, heartbeat, completion) come from the server's clock, so
//!   machines with skewed clocks agree on which heartbeats are stale.
//!
//! **The change sequence.** Every trial mutation runs
//! `UPDATE studies SET seq = seq + 1 WHERE id = $1 RETURNING seq` inside its own
//! transaction and stamps the trial with the result (`updated_seq`). That UPDATE locks
//! the study row until the transaction ends, so the next writer of the study gets
//! `seq + 1` only after this one committed (or rolled back, releasing the number):
//! commits happen in sequence order. A reader therefore never sees sequence N + 1
//! committed while N is still pending. Were it possible (say, with a sequence object
//! handing out numbers without a lock), `trials_since(cursor)` could return a cursor
//! past N while N's trial is still invisible, and that change would be skipped
//! forever. `trials_since` reads the study's `seq` and the changed trials in one
//! repeatable-read snapshot, with set-based queries (index `(study_id, updated_seq)`).
//! Heartbeats are not changes and leave the sequence alone.
//!
//! **Outages.** See `conn`: transient failures are retried for a while
//! (`hyperscape_retry_secs`, `HYPERSCAPE_DB_RETRY_SECS`, 120 s by default). A retried
//! write may follow an attempt that committed but whose acknowledgement was lost, so
//! every write is idempotent: creations, claims and finishes carry a random
//! client-generated token stored with the row, and a retry first looks for its own
//! token; the other writes are upserts or set a value.

mod attrs;
mod conn;
mod rows;
mod schema;
mod tls;
mod url;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use super::{util, Storage, StudyId, StudyRecord, StudySummary, TrialDelta, TrialId};
use crate::error::{Error, Result};
use crate::param::{Distribution, ParamValue};
use crate::trial::{Direction, FrozenTrial, NewTrial, TrialResult, TrialState, FIXED_PARAMS_ATTR};
use attrs::{set_attr, AttrColumn};
use conn::{Fail, Mode, Pool, Tx, R};
use rows::{
    corrupt, load_trial, load_trials, study_from_row, to_i64, to_u64, values_to_json, Which,
};

/// The server's clock, in unix microseconds, constant within a statement.
macro_rules! now_us {
    () => {
        "(extract(epoch from statement_timestamp()) * 1000000)::bigint"
    };
}

/// A study storage in a PostgreSQL database. See the module documentation.
pub struct PostgresStorage {
    pool: Pool,
}

impl std::fmt::Debug for PostgresStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the configuration: it holds the password.
        f.debug_struct("PostgresStorage")
            .field("url", &self.pool.target.shown)
            .field("schema", &self.pool.target.schema)
            .finish_non_exhaustive()
    }
}

/// A random token identifying one call across its retries.
fn token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// How long opening a storage retries an unreachable server before giving up.
const OPEN_RETRY_WINDOW: std::time::Duration = std::time::Duration::from_secs(3);

impl PostgresStorage {
    /// The schema version this build reads and writes.
    pub const SCHEMA_VERSION: i64 = schema::CURRENT;

    /// Connects to the database of `url` (see `open_storage`), creating the tables on
    /// first use.
    ///
    /// Errors: [`Error::InvalidStorageUrl`] for a malformed URL, [`Error::SchemaTooNew`]
    /// / [`Error::SchemaTooOld`] for a schema of another hyperscape version, and
    /// [`Error::Storage`] when the server refuses (bad password, no such database) or
    /// stays unreachable for the whole retry window. No message shows the password.
    pub fn open(url: &str) -> Result<Self> {
        Self::open_with(url, schema::MIGRATIONS)
    }

    /// Brings the storage of `url` to the current schema version, applying pending
    /// migrations in one transaction; creates it if absent. Returns the versions before
    /// and after.
    pub fn upgrade(url: &str) -> Result<(i64, i64)> {
        Self::upgrade_with(url, schema::MIGRATIONS)
    }

    /// The URL of this storage, password hidden.
    pub fn redacted_url(&self) -> &str {
        &self.pool.target.shown
    }

    fn open_with(url: &str, migrations: &[&str]) -> Result<Self> {
        let pool = Pool::new(url::parse(url)?);
        let (shown, name) = (pool.target.shown.clone(), pool.target.schema.clone());
        let supported = migrations.len() as i64;
        // The first contact gets a short window: a server that is unreachable, or a
        // typo in the host, is an error the user should see at once. The outage window
        // is for a storage that was reachable and went away mid-study.
        let window = OPEN_RETRY_WINDOW.min(pool.target.retry);
        let found = pool.run_within("read schema version", Mode::Read, window, |tx| {
            schema::found(tx, &name)
        })?;
        if found == schema::Found::Empty {
            // A new database: create the schema, unless another process beats us to it.
            pool.run("create schema", Mode::Write, |tx| {
                schema::lock(tx, &name)?;
                match schema::found(tx, &name)? {
                    schema::Found::Empty => {
                        schema::migrate(tx, migrations, &shown, &name)?;
                    }
                    other => schema::check(other, supported, &shown, &name)?,
                }
                Ok(())
            })?;
        } else {
            schema::check(found, supported, &shown, &name)?;
        }
        Ok(Self { pool })
    }

    fn upgrade_with(url: &str, migrations: &[&str]) -> Result<(i64, i64)> {
        let pool = Pool::new(url::parse(url)?);
        let (shown, name) = (pool.target.shown.clone(), pool.target.schema.clone());
        // A one-shot admin command: fail at once on an unreachable server, like `open`.
        let window = OPEN_RETRY_WINDOW.min(pool.target.retry);
        pool.run_within("upgrade schema", Mode::Write, window, |tx| {
            schema::lock(tx, &name)?;
            schema::migrate(tx, migrations, &shown, &name)
        })
    }

    fn write<T>(&self, what: &str, f: impl FnMut(&mut Tx<'_>) -> R<T>) -> Result<T> {
        self.pool.run(what, Mode::Write, f)
    }

    fn read<T>(&self, what: &str, f: impl FnMut(&mut Tx<'_>) -> R<T>) -> Result<T> {
        self.pool.run(what, Mode::Read, f)
    }
}

// ---- helpers on a transaction ----

fn study_not_found(id: StudyId) -> Fail {
    Fail::App(Error::StudyNotFound(format!("#{id}")))
}

fn trial_not_found(id: TrialId) -> Fail {
    Fail::App(Error::TrialNotFound(format!("id {id}")))
}

fn study_exists(tx: &mut Tx<'_>, study: StudyId) -> R<()> {
    tx.query_opt("SELECT 1 FROM studies WHERE id = $1", &[&study])?
        .map(|_| ())
        .ok_or_else(|| study_not_found(study))
}

/// Bumps the study's change sequence and returns the new value. Locks the study row
/// until the end of the transaction: see the module documentation.
fn bump_seq(tx: &mut Tx<'_>, study: StudyId) -> R<i64> {
    let row = tx
        .query_opt(
            "UPDATE studies SET seq = seq + 1 WHERE id = $1 RETURNING seq",
            &[&study],
        )?
        .ok_or_else(|| study_not_found(study))?;
    Ok(row.try_get(0)?)
}

/// A trial locked for update: its study, number, state and finishing token.
struct Locked {
    study: StudyId,
    number: u64,
    state: TrialState,
    finish_token: Option<String>,
}

fn lock_trial(tx: &mut Tx<'_>, trial: TrialId) -> R<Locked> {
    let r = tx
        .query_opt(
            "SELECT study_id, number, state, finish_token FROM trials WHERE id = $1 FOR UPDATE",
            &[&trial],
        )?
        .ok_or_else(|| trial_not_found(trial))?;
    Ok(Locked {
        study: r.try_get(0)?,
        number: to_u64(r.try_get(1)?, "trial number")?,
        state: r.try_get::<_, &str>(2)?.parse().map_err(corrupt)?,
        finish_token: r.try_get(3)?,
    })
}

/// Locks running trial `trial` and returns its study; `TrialFinished` if not running.
fn running_trial(tx: &mut Tx<'_>, trial: TrialId) -> R<StudyId> {
    let t = lock_trial(tx, trial)?;
    if t.state != TrialState::Running {
        return Err(Fail::App(Error::TrialFinished {
            number: t.number,
            state: t.state,
        }));
    }
    Ok(t.study)
}

/// Marks `trial` as changed now: bumps its study's sequence.
fn touch(tx: &mut Tx<'_>, study: StudyId, trial: TrialId) -> R<()> {
    let seq = bump_seq(tx, study)?;
    tx.execute(
        "UPDATE trials SET updated_seq = $1 WHERE id = $2",
        &[&seq, &trial],
    )?;
    Ok(())
}

impl PostgresStorage {
    fn set_study_attr(
        &self,
        column: AttrColumn,
        study: StudyId,
        key: &str,
        value: &serde_json::Value,
    ) -> Result<()> {
        self.write("set study attribute", |tx| {
            set_attr(tx, column, study, key, value)?.ok_or_else(|| study_not_found(study))
        })
    }

    fn set_trial_attr(
        &self,
        column: AttrColumn,
        trial: TrialId,
        key: &str,
        value: &serde_json::Value,
    ) -> Result<()> {
        self.write("set trial attribute", |tx| {
            let study = running_trial(tx, trial)?;
            set_attr(tx, column, trial, key, value)?;
            touch(tx, study, trial)
        })
    }
}

impl Storage for PostgresStorage {
    fn create_study(&self, name: &str, directions: &[Direction]) -> Result<StudyRecord> {
        let dirs = serde_json::to_string(directions)?;
        let token = token();
        self.write("create study", |tx| {
            if tx.retried {
                if let Some(r) = tx.query_opt(
                    "SELECT id, name, directions, user_attrs, system_attrs, created_at \
                     FROM studies WHERE request_token = $1",
                    &[&token],
                )? {
                    return study_from_row(&r);
                }
            }
            // A concurrent creation of the same name makes this one do nothing.
            let row = tx.query_opt(
                concat!(
                    "INSERT INTO studies (name, directions, created_at, request_token) \
                     VALUES ($1, $2, ",
                    now_us!(),
                    ", $3) ON CONFLICT (name) DO NOTHING \
                     RETURNING id, name, directions, user_attrs, system_attrs, created_at"
                ),
                &[&name, &dirs, &token],
            )?;
            match row {
                Some(r) => study_from_row(&r),
                None => Err(Fail::App(Error::StudyExists(name.to_string()))),
            }
        })
    }

    fn get_study(&self, name: &str) -> Result<StudyRecord> {
        self.read("get study", |tx| {
            match tx.query_opt(
                "SELECT id, name, directions, user_attrs, system_attrs, created_at \
                 FROM studies WHERE name = $1",
                &[&name],
            )? {
                Some(r) => study_from_row(&r),
                None => Err(Fail::App(Error::StudyNotFound(name.to_string()))),
            }
        })
    }

    fn list_studies(&self) -> Result<Vec<StudySummary>> {
        self.read("list studies", |tx| {
            let mut out = Vec::new();
            let mut index = HashMap::new();
            for r in tx.query(
                "SELECT id, name, directions, user_attrs, system_attrs, created_at \
                 FROM studies ORDER BY id",
                &[],
            )? {
                let study = study_from_row(&r)?;
                index.insert(study.id, out.len());
                out.push(StudySummary {
                    study,
                    n_trials: 0,
                    counts: BTreeMap::new(),
                });
            }
            for r in tx.query(
                "SELECT study_id, state, count(*) FROM trials GROUP BY study_id, state",
                &[],
            )? {
                let Some(&i) = index.get(&r.try_get::<_, StudyId>(0)?) else {
                    continue;
                };
                let state: TrialState = r.try_get::<_, &str>(1)?.parse().map_err(corrupt)?;
                let n = to_u64(r.try_get(2)?, "count")?;
                out[i].counts.insert(state, n);
                out[i].n_trials += n;
            }
            Ok(out)
        })
    }

    fn delete_study(&self, study: StudyId) -> Result<()> {
        self.write("delete study", |tx| {
            // Trials, params and intermediate values go with it (ON DELETE CASCADE).
            let n = tx.execute("DELETE FROM studies WHERE id = $1", &[&study])?;
            // Gone on a retry: the lost attempt deleted it.
            if n == 0 && !tx.retried {
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
        self.set_study_attr(AttrColumn::StudyUser, study, key, &value)
    }

    fn set_study_system_attr(
        &self,
        study: StudyId,
        key: &str,
        value: serde_json::Value,
    ) -> Result<()> {
        self.set_study_attr(AttrColumn::StudySystem, study, key, &value)
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
        let token = token();
        self.write("create trial", |tx| {
            if tx.retried {
                // The lost attempt may have committed: return its trial.
                if let Some(r) =
                    tx.query_opt("SELECT id FROM trials WHERE request_token = $1", &[&token])?
                {
                    let id: TrialId = r.try_get(0)?;
                    return load_trial(tx, Which::Id(id), || trial_not_found(id));
                }
            }
            let retried_from = new
                .retried_from
                .map(|n| to_i64(n, "retried_from"))
                .transpose()?;
            // Locks the study row: numbers and claim keys are handed out one at a time.
            let r = tx
                .query_opt(
                    "UPDATE studies SET next_number = next_number + 1, seq = seq + 1 \
                     WHERE id = $1 RETURNING next_number - 1, seq",
                    &[&study],
                )?
                .ok_or_else(|| study_not_found(study))?;
            let (number, seq): (i64, i64) = (r.try_get(0)?, r.try_get(1)?);
            if let Some(key) = &new.claim_key {
                if tx
                    .query_opt(
                        "SELECT 1 FROM trials WHERE study_id = $1 AND claim_key = $2",
                        &[&study, key],
                    )?
                    .is_some()
                {
                    // Rolls back the number too.
                    return Err(Fail::App(Error::ClaimTaken(key.clone())));
                }
            }
            let r = tx
                .query_opt(
                    concat!(
                        "INSERT INTO trials (study_id, number, state, user_attrs, system_attrs, \
                         datetime_start, heartbeat, retried_from, claim_key, updated_seq, \
                         request_token) SELECT $1, $2, $3, $4, $5, \
                         CASE WHEN $6 THEN n END, CASE WHEN $7 THEN n END, $8, $9, $10, $11 \
                         FROM (SELECT ",
                        now_us!(),
                        " AS n) now RETURNING id"
                    ),
                    &[
                        &study,
                        &number,
                        &state.as_str(),
                        &user_attrs,
                        &system_attrs,
                        &start,
                        &heartbeat,
                        &retried_from,
                        &new.claim_key,
                        &seq,
                        &token,
                    ],
                )?
                .ok_or_else(|| corrupt("INSERT returned no row"))?;
            let id: TrialId = r.try_get(0)?;
            load_trial(tx, Which::Id(id), || trial_not_found(id))
        })
    }

    fn claim_waiting_trial(&self, study: StudyId, heartbeat: bool) -> Result<Option<FrozenTrial>> {
        let token = token();
        self.write("claim waiting trial", |tx| {
            if tx.retried {
                if let Some(r) =
                    tx.query_opt("SELECT id FROM trials WHERE claim_token = $1", &[&token])?
                {
                    let id: TrialId = r.try_get(0)?;
                    return load_trial(tx, Which::Id(id), || trial_not_found(id)).map(Some);
                }
            }
            // Skips waiting trials that other callers are claiming right now.
            let Some(r) = tx.query_opt(
                "SELECT id FROM trials WHERE study_id = $1 AND state = 'waiting' \
                 ORDER BY number LIMIT 1 FOR UPDATE SKIP LOCKED",
                &[&study],
            )?
            else {
                study_exists(tx, study)?;
                return Ok(None);
            };
            let id: TrialId = r.try_get(0)?;
            let seq = bump_seq(tx, study)?;
            let n = tx.execute(
                concat!(
                    "UPDATE trials SET state = 'running', datetime_start = n, \
                     heartbeat = CASE WHEN $1 THEN n END, updated_seq = $2, claim_token = $3 \
                     FROM (SELECT ",
                    now_us!(),
                    " AS n) now WHERE id = $4 AND state = 'waiting'"
                ),
                &[&heartbeat, &seq, &token, &id],
            )?;
            if n != 1 {
                return Err(corrupt(format!(
                    "waiting trial {id} changed under its lock"
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
            tx.execute(
                "INSERT INTO trial_params (trial_id, name, distribution, value) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (trial_id, name) \
                 DO UPDATE SET distribution = excluded.distribution, value = excluded.value",
                &[&trial, &name, &dist, &value],
            )?;
            touch(tx, study, trial)
        })
    }

    fn report_intermediate(&self, trial: TrialId, step: u64, value: f64) -> Result<()> {
        self.write("report intermediate value", |tx| {
            let study = running_trial(tx, trial)?;
            tx.execute(
                "INSERT INTO trial_intermediate_values (trial_id, step, value) \
                 VALUES ($1, $2, $3) ON CONFLICT (trial_id, step) \
                 DO UPDATE SET value = excluded.value",
                &[&trial, &to_i64(step, "step")?, &value],
            )?;
            touch(tx, study, trial)
        })
    }

    fn set_trial_user_attr(
        &self,
        trial: TrialId,
        key: &str,
        value: serde_json::Value,
    ) -> Result<()> {
        self.set_trial_attr(AttrColumn::TrialUser, trial, key, &value)
    }

    fn set_trial_system_attr(
        &self,
        trial: TrialId,
        key: &str,
        value: serde_json::Value,
    ) -> Result<()> {
        self.set_trial_attr(AttrColumn::TrialSystem, trial, key, &value)
    }

    fn heartbeat(&self, trials: &[TrialId]) -> Result<()> {
        if trials.is_empty() {
            return Ok(());
        }
        self.write("heartbeat", |tx| {
            // Not a change that samplers need to see: updated_seq stays.
            tx.execute(
                concat!(
                    "UPDATE trials SET heartbeat = ",
                    now_us!(),
                    " WHERE id = ANY($1) AND state = 'running'"
                ),
                &[&trials],
            )?;
            Ok(())
        })
    }

    fn finish_trial(&self, trial: TrialId, result: &TrialResult) -> Result<FrozenTrial> {
        let token = token();
        self.write("finish trial", |tx| {
            let t = lock_trial(tx, trial)?;
            if t.state != TrialState::Running {
                if tx.retried && t.finish_token.as_deref() == Some(token.as_str()) {
                    // The lost attempt finished it: same outcome, not a second finish.
                    return load_trial(tx, Which::Id(trial), || trial_not_found(trial));
                }
                return Err(Fail::App(Error::TrialFinished {
                    number: t.number,
                    state: t.state,
                }));
            }
            let mut last = BTreeMap::new();
            if let Some(r) = tx.query_opt(
                "SELECT step, value FROM trial_intermediate_values WHERE trial_id = $1 \
                 ORDER BY step DESC LIMIT 1",
                &[&trial],
            )? {
                last.insert(to_u64(r.try_get(0)?, "step")?, r.try_get::<_, f64>(1)?);
            }
            let (state, values, reason) = util::finished_values(result, &last);
            let seq = bump_seq(tx, t.study)?;
            tx.execute(
                concat!(
                    "UPDATE trials SET state = $1, vals = $2, fail_reason = $3, \
                     datetime_complete = ",
                    now_us!(),
                    ", updated_seq = $4, finish_token = $5 WHERE id = $6"
                ),
                &[
                    &state.as_str(),
                    &values.as_deref().map(values_to_json),
                    &reason,
                    &seq,
                    &token,
                    &trial,
                ],
            )?;
            load_trial(tx, Which::Id(trial), || trial_not_found(trial))
        })
    }

    fn fail_stale_trials(&self, study: StudyId, stale_after: Duration) -> Result<Vec<FrozenTrial>> {
        let limit = i64::try_from(stale_after.as_micros()).unwrap_or(i64::MAX);
        let reason = util::stale_reason(stale_after);
        let token = token();
        self.write("fail stale trials", |tx| {
            study_exists(tx, study)?;
            // Rows locked by another sweeper are theirs to fail.
            let ids: Vec<TrialId> = tx
                .query(
                    concat!(
                        "SELECT id FROM trials WHERE study_id = $1 AND state = 'running' \
                         AND heartbeat IS NOT NULL AND heartbeat < ",
                        now_us!(),
                        " - $2 FOR UPDATE SKIP LOCKED"
                    ),
                    &[&study, &limit],
                )?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<std::result::Result<_, _>>()?;
            if !ids.is_empty() {
                let seq = bump_seq(tx, study)?;
                tx.execute(
                    concat!(
                        "UPDATE trials SET state = 'failed', fail_reason = $1, datetime_complete = ",
                        now_us!(),
                        ", updated_seq = $2, finish_token = $3 WHERE id = ANY($4)"
                    ),
                    &[&reason, &seq, &token, &ids],
                )?;
            } else if !tx.retried {
                return Ok(Vec::new());
            }
            // With those a lost earlier attempt of this call failed, if any.
            load_trials(tx, Which::FinishedBy(study, &token))
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
            // One snapshot for the sequence and the trials: nothing is missed.
            let seq: i64 = tx
                .query_opt("SELECT seq FROM studies WHERE id = $1", &[&study])?
                .ok_or_else(|| study_not_found(study))?
                .try_get(0)?;
            Ok(TrialDelta {
                trials: load_trials(tx, Which::Since(study, cursor))?,
                cursor: to_u64(seq, "sequence")?,
            })
        })
    }
}

#[cfg(test)]
mod tests;
#[cfg(all(test, feature = "postgres-tls"))]
mod tls_tests;

//! Connections: a small pool, transactions, and retries across outages.
//!
//! A transaction that fails with a transient error (server down or restarting, the
//! connection reset, `08*`, `57P01`-`57P03`, serialization failure or deadlock) is
//! rolled back and run again on a fresh connection, with capped, jittered exponential
//! backoff, until it succeeds or the retry window (`Target::retry`) has passed. A
//! broken connection is dropped rather than returned to the pool. Anything else
//! (authentication, missing database, SQL errors) fails at once.
//!
//! A retried transaction may follow one that did commit but whose acknowledgement was
//! lost: operations see `Tx::retried` and make themselves idempotent (see the callers).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, IsolationLevel, Row, Statement};

use super::url::Target;
use crate::error::Error;

/// Idle connections kept for reuse.
const MAX_IDLE: usize = 16;
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Why a transaction failed: the database (maybe transient), or a typed error.
#[derive(Debug)]
pub(super) enum Fail {
    Db(postgres::Error),
    App(Error),
    /// Tests: the transaction committed, but the caller is told the connection broke.
    #[cfg(test)]
    LostAck,
}

impl From<postgres::Error> for Fail {
    fn from(e: postgres::Error) -> Self {
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

pub(super) type R<T> = std::result::Result<T, Fail>;

/// Whether `e` may go away by itself: the operation is worth running again.
pub(super) fn is_transient(e: &postgres::Error) -> bool {
    if let Some(code) = e.code() {
        return code.code().starts_with("08")
            || [
                SqlState::T_R_SERIALIZATION_FAILURE,
                SqlState::T_R_DEADLOCK_DETECTED,
                SqlState::ADMIN_SHUTDOWN,
                SqlState::CRASH_SHUTDOWN,
                SqlState::CANNOT_CONNECT_NOW,
                SqlState::TOO_MANY_CONNECTIONS,
            ]
            .contains(code);
    }
    // No SQLSTATE: the connection closed, or an I/O error (refused, reset, timeout).
    if e.is_closed() {
        return true;
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return true;
        }
        source = s.source();
    }
    // tokio-postgres reports a connect timeout without an I/O error.
    e.to_string().contains("timeout")
}

/// One line describing a database error, for messages.
pub(super) fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!(
            "{}: {} (SQLSTATE {})",
            db.severity(),
            db.message(),
            db.code().code()
        ),
        None => {
            let mut msg = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                msg = format!("{msg}: {s}");
                source = s.source();
            }
            msg
        }
    }
}

/// A pooled connection, with the statements prepared on it.
pub(super) struct Conn {
    client: Client,
    statements: HashMap<&'static str, Statement>,
}

/// A transaction, handed to operations. Statements are prepared once per connection.
pub(super) struct Tx<'a> {
    tx: postgres::Transaction<'a>,
    statements: &'a mut HashMap<&'static str, Statement>,
    /// An earlier attempt of this operation failed transiently, maybe after committing.
    pub retried: bool,
}

impl Tx<'_> {
    fn statement(&mut self, sql: &'static str) -> R<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.tx.prepare(sql)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    pub fn query(&mut self, sql: &'static str, args: &[&(dyn ToSql + Sync)]) -> R<Vec<Row>> {
        let s = self.statement(sql)?;
        Ok(self.tx.query(&s, args)?)
    }

    pub fn query_opt(&mut self, sql: &'static str, args: &[&(dyn ToSql + Sync)]) -> R<Option<Row>> {
        let s = self.statement(sql)?;
        Ok(self.tx.query_opt(&s, args)?)
    }

    pub fn execute(&mut self, sql: &'static str, args: &[&(dyn ToSql + Sync)]) -> R<u64> {
        let s = self.statement(sql)?;
        Ok(self.tx.execute(&s, args)?)
    }

    /// Runs SQL built at run time (DDL), unprepared.
    pub fn batch(&mut self, sql: &str) -> R<()> {
        Ok(self.tx.batch_execute(sql)?)
    }
}

/// What kind of transaction an operation needs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Read committed, read-write. Writers serialise on row locks.
    Write,
    /// Repeatable read, read-only: every query sees one snapshot.
    Read,
}

/// Connections to one database, and the retry policy.
pub(super) struct Pool {
    pub target: Target,
    idle: Mutex<Vec<Conn>>,
    /// Tests: how many of the next commits "lose" their acknowledgement.
    #[cfg(test)]
    pub lose_acks: std::sync::atomic::AtomicU32,
}

impl Pool {
    pub fn new(target: Target) -> Self {
        Self {
            target,
            idle: Mutex::new(Vec::new()),
            #[cfg(test)]
            lose_acks: Default::default(),
        }
    }

    fn idle(&self) -> MutexGuard<'_, Vec<Conn>> {
        // The vector stays consistent whatever panicked while it was locked.
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn take(&self) -> Result<Conn, postgres::Error> {
        while let Some(conn) = self.idle().pop() {
            if !conn.client.is_closed() {
                return Ok(conn);
            }
        }
        let client = self.target.connector.connect(&self.target.config)?;
        Ok(Conn {
            client,
            statements: HashMap::new(),
        })
    }

    fn give_back(&self, conn: Conn) {
        if conn.client.is_closed() {
            return;
        }
        let mut idle = self.idle();
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }

    /// Drops every idle connection (after an outage they are all suspect).
    fn flush(&self) {
        self.idle().clear();
    }

    /// Runs `f` as one transaction, retrying transient failures (see the module docs)
    /// for the storage's whole outage window. `f` must be the whole transaction: a
    /// failed attempt leaves nothing behind.
    pub fn run<T>(
        &self,
        what: &str,
        mode: Mode,
        f: impl FnMut(&mut Tx<'_>) -> R<T>,
    ) -> Result<T, Error> {
        self.run_within(what, mode, self.target.retry, f)
    }

    /// [`run`](Self::run), retrying transient failures for at most `window`.
    pub fn run_within<T>(
        &self,
        what: &str,
        mode: Mode,
        window: Duration,
        mut f: impl FnMut(&mut Tx<'_>) -> R<T>,
    ) -> Result<T, Error> {
        let start = Instant::now();
        let mut backoff = FIRST_BACKOFF;
        let mut retried = false;
        loop {
            let mut conn = None;
            let outcome = self.attempt(&mut conn, mode, retried, &mut f);
            match outcome {
                Ok(v) => {
                    if let Some(c) = conn {
                        self.give_back(c);
                    }
                    return Ok(v);
                }
                Err(Fail::App(e)) => {
                    // Rolled back; the connection is fine.
                    if let Some(c) = conn {
                        self.give_back(c);
                    }
                    return Err(e);
                }
                #[cfg(test)]
                Err(Fail::LostAck) => retried = true,
                Err(Fail::Db(e)) => {
                    let transient = is_transient(&e);
                    // After a SQL error the connection is usable, but when in doubt a
                    // new one is cheap compared to a poisoned session.
                    drop(conn);
                    if !transient {
                        return Err(self.error(what, &e, None));
                    }
                    self.flush();
                    let waited = start.elapsed();
                    if waited >= window {
                        return Err(self.error(what, &e, Some(waited)));
                    }
                    let jitter = rand::random_range(0..=backoff.as_micros() as u64 / 2);
                    let pause = (backoff / 2 + Duration::from_micros(jitter))
                        .min(window.saturating_sub(waited));
                    std::thread::sleep(pause);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    retried = true;
                }
            }
        }
    }

    fn attempt<T>(
        &self,
        slot: &mut Option<Conn>,
        mode: Mode,
        retried: bool,
        f: &mut impl FnMut(&mut Tx<'_>) -> R<T>,
    ) -> R<T> {
        let conn = slot.insert(self.take()?);
        let mut builder = conn.client.build_transaction();
        if mode == Mode::Read {
            builder = builder
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true);
        }
        let tx = builder.start()?;
        let mut tx = Tx {
            tx,
            statements: &mut conn.statements,
            retried,
        };
        let out = f(&mut tx)?;
        tx.tx.commit()?;
        #[cfg(test)]
        {
            use std::sync::atomic::Ordering::SeqCst;
            if self
                .lose_acks
                .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return Err(Fail::LostAck);
            }
        }
        Ok(out)
    }

    /// The error to return for a database failure, with the URL (password hidden).
    pub fn error(&self, what: &str, e: &postgres::Error, waited: Option<Duration>) -> Error {
        let url = &self.target.shown;
        let detail = describe(e);
        let msg = match (e.code(), waited) {
            (Some(c), _) if *c == SqlState::INVALID_PASSWORD => format!(
                "cannot connect to PostgreSQL at `{url}`: authentication failed: {detail}"
            ),
            (Some(c), _) if *c == SqlState::INVALID_CATALOG_NAME => format!(
                "cannot connect to PostgreSQL at `{url}`: the database does not exist: {detail}"
            ),
            (_, Some(waited)) => format!(
                "{what}: PostgreSQL at `{url}` still unavailable after retrying for {:.0}s: {detail}",
                waited.as_secs_f64()
            ),
            _ => format!("{what} on PostgreSQL at `{url}`: {detail}"),
        };
        Error::Storage(msg)
    }
}

//! Row encoding and decoding of the SQLite storage, and set-based trial loading.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use rusqlite::{params, Row, Transaction};

use super::{corrupt, study_not_found, Fail, R};
use crate::param::{Distribution, ParamValue};
pub(super) use crate::storage::codec::{
    opt_datetime, parse_json, to_datetime, to_i64, to_u64, values_from_json, values_to_json,
};
use crate::storage::{StudyId, StudyRecord, TrialId};
use crate::trial::{Direction, FrozenTrial};

// ---- conversions ----

/// Now, at the precision stored (microseconds).
pub(super) fn now_micros() -> i64 {
    Utc::now().timestamp_micros()
}

pub(super) type Attrs = BTreeMap<String, serde_json::Value>;

pub(super) const STUDY_COLUMNS: &str = "id, name, directions, user_attrs, system_attrs, created_at";

pub(super) fn study_from_row(r: &Row<'_>) -> R<StudyRecord> {
    Ok(StudyRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        directions: parse_json::<Vec<Direction>>(&r.get::<_, String>(2)?, "study directions")?,
        user_attrs: parse_json(&r.get::<_, String>(3)?, "study user attrs")?,
        system_attrs: parse_json(&r.get::<_, String>(4)?, "study system attrs")?,
        created_at: to_datetime(r.get(5)?)?,
    })
}

pub(super) fn get_study_by_id(tx: &Transaction<'_>, study: StudyId) -> R<StudyRecord> {
    let sql = format!("SELECT {STUDY_COLUMNS} FROM studies WHERE id = ?1");
    let mut stmt = tx.prepare_cached(&sql)?;
    let mut rows = stmt.query([study])?;
    match rows.next()? {
        Some(r) => study_from_row(r),
        None => Err(study_not_found(study)),
    }
}

/// Which trials to load.
#[derive(Clone, Copy)]
pub(super) enum Which {
    Id(TrialId),
    Number(StudyId, i64),
    /// Changed after a cursor.
    Since(StudyId, i64),
    /// Changed at exactly this sequence number.
    AtSeq(StudyId, i64),
}

impl Which {
    fn filter(self) -> (&'static str, [i64; 2]) {
        match self {
            Which::Id(id) => ("t.id = ?1 AND ?2 = 0", [id, 0]),
            Which::Number(s, n) => ("t.study_id = ?1 AND t.number = ?2", [s, n]),
            Which::Since(s, c) => ("t.study_id = ?1 AND t.updated_seq > ?2", [s, c]),
            Which::AtSeq(s, q) => ("t.study_id = ?1 AND t.updated_seq = ?2", [s, q]),
        }
    }
}

pub(super) const TRIAL_COLUMNS: &str =
    "t.id, t.number, t.state, t.vals, t.user_attrs, t.system_attrs, \
     t.datetime_start, t.datetime_complete, t.heartbeat, t.fail_reason, t.retried_from, \
     t.claim_key";

pub(super) fn trial_from_row(r: &Row<'_>) -> R<FrozenTrial> {
    let state: String = r.get(2)?;
    Ok(FrozenTrial {
        id: r.get(0)?,
        number: to_u64(r.get(1)?, "trial number")?,
        state: state.parse().map_err(corrupt)?,
        values: r
            .get::<_, Option<String>>(3)?
            .map(|s| values_from_json(&s))
            .transpose()?,
        params: BTreeMap::new(),
        distributions: BTreeMap::new(),
        intermediate_values: BTreeMap::new(),
        user_attrs: parse_json(&r.get::<_, String>(4)?, "trial user attrs")?,
        system_attrs: parse_json(&r.get::<_, String>(5)?, "trial system attrs")?,
        datetime_start: opt_datetime(r.get(6)?)?,
        datetime_complete: opt_datetime(r.get(7)?)?,
        heartbeat: opt_datetime(r.get(8)?)?,
        fail_reason: r.get(9)?,
        retried_from: r
            .get::<_, Option<i64>>(10)?
            .map(|n| to_u64(n, "retried_from"))
            .transpose()?,
        claim_key: r.get(11)?,
    })
}

/// The queries of [`load_trials`]: 0 trials, 1 their params, 2 their intermediate values.
fn load_sql(part: usize, filter: &str) -> String {
    match part {
        0 => format!("SELECT {TRIAL_COLUMNS} FROM trials t WHERE {filter} ORDER BY t.number"),
        1 => format!(
            "SELECT p.trial_id, p.name, p.distribution, p.value \
             FROM trials t JOIN trial_params p ON p.trial_id = t.id WHERE {filter}"
        ),
        _ => format!(
            "SELECT v.trial_id, v.step, v.value \
             FROM trials t JOIN trial_intermediate_values v ON v.trial_id = t.id WHERE {filter}"
        ),
    }
}

/// Loads the selected trials, ordered by number, with three queries whatever their
/// count: trials, then the params and intermediate values of all of them.
pub(super) fn load_trials(tx: &Transaction<'_>, which: Which) -> R<Vec<FrozenTrial>> {
    let (filter, args) = which.filter();
    let mut trials = Vec::new();
    {
        let sql = load_sql(0, filter);
        let mut stmt = tx.prepare_cached(&sql)?;
        let mut rows = stmt.query(params![args[0], args[1]])?;
        while let Some(r) = rows.next()? {
            trials.push(trial_from_row(r)?);
        }
    }
    if trials.is_empty() {
        return Ok(trials);
    }
    let index: HashMap<TrialId, usize> =
        trials.iter().enumerate().map(|(i, t)| (t.id, i)).collect();
    let slot = |id: TrialId| index.get(&id).copied().ok_or_else(|| corrupt("orphan row"));

    let sql = load_sql(1, filter);
    let mut stmt = tx.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![args[0], args[1]])?;
    while let Some(r) = rows.next()? {
        let t = &mut trials[slot(r.get(0)?)?];
        let name: String = r.get(1)?;
        let dist: Distribution = parse_json(&r.get::<_, String>(2)?, "distribution")?;
        let value: ParamValue = parse_json(&r.get::<_, String>(3)?, "param value")?;
        t.distributions.insert(name.clone(), dist);
        t.params.insert(name, value);
    }

    let sql = load_sql(2, filter);
    let mut stmt = tx.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![args[0], args[1]])?;
    while let Some(r) = rows.next()? {
        let t = &mut trials[slot(r.get(0)?)?];
        let step = to_u64(r.get(1)?, "step")?;
        let value: Option<f64> = r.get(2)?;
        t.intermediate_values
            .insert(step, value.unwrap_or(f64::NAN));
    }
    Ok(trials)
}

pub(super) fn load_trial(
    tx: &Transaction<'_>,
    which: Which,
    missing: impl FnOnce() -> Fail,
) -> R<FrozenTrial> {
    load_trials(tx, which)?.pop().ok_or_else(missing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    /// Reading changed trials uses indexes only: its cost follows the number of trials
    /// changed, not the number stored.
    #[test]
    fn incremental_reads_scan_no_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.db");
        drop(super::super::SqliteStorage::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        for which in [
            Which::Since(1, 5),
            Which::AtSeq(1, 5),
            Which::Id(3),
            Which::Number(1, 2),
        ] {
            let (filter, _) = which.filter();
            for part in 0..3 {
                let sql = format!("EXPLAIN QUERY PLAN {}", load_sql(part, filter));
                let mut stmt = conn.prepare(&sql).unwrap();
                let plan: Vec<String> = stmt
                    .query_map([1, 5], |r| r.get::<_, String>(3))
                    .unwrap()
                    .collect::<rusqlite::Result<_>>()
                    .unwrap();
                assert!(
                    plan.iter().any(|step| step.starts_with("SEARCH"))
                        && plan.iter().all(|step| !step.starts_with("SCAN")),
                    "{sql}: {plan:?}"
                );
            }
        }
    }
}

//! Row decoding of the PostgreSQL storage, and set-based trial loading.

use std::collections::{BTreeMap, HashMap};

use postgres::Row;

use super::conn::{Fail, Tx, R};
use crate::error::Error;
use crate::param::{Distribution, ParamValue};
pub(super) use crate::storage::codec::{
    opt_datetime, parse_json, to_datetime, to_i64, to_u64, values_from_json, values_to_json,
};
use crate::storage::{StudyRecord, TrialId};
use crate::trial::{Direction, FrozenTrial};

pub(super) fn corrupt(what: impl std::fmt::Display) -> Fail {
    Fail::App(Error::Storage(format!("corrupt storage: {what}")))
}

pub(super) type Attrs = BTreeMap<String, serde_json::Value>;

pub(super) fn study_from_row(r: &Row) -> R<StudyRecord> {
    Ok(StudyRecord {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        directions: parse_json::<Vec<Direction>>(r.try_get(2)?, "study directions")?,
        user_attrs: parse_json(r.try_get(3)?, "study user attrs")?,
        system_attrs: parse_json(r.try_get(4)?, "study system attrs")?,
        created_at: to_datetime(r.try_get(5)?)?,
    })
}

fn trial_from_row(r: &Row) -> R<FrozenTrial> {
    let state: &str = r.try_get(2)?;
    Ok(FrozenTrial {
        id: r.try_get(0)?,
        number: to_u64(r.try_get(1)?, "trial number")?,
        state: state.parse().map_err(corrupt)?,
        values: r
            .try_get::<_, Option<&str>>(3)?
            .map(values_from_json)
            .transpose()?,
        params: BTreeMap::new(),
        distributions: BTreeMap::new(),
        intermediate_values: BTreeMap::new(),
        user_attrs: parse_json(r.try_get(4)?, "trial user attrs")?,
        system_attrs: parse_json(r.try_get(5)?, "trial system attrs")?,
        datetime_start: opt_datetime(r.try_get(6)?)?,
        datetime_complete: opt_datetime(r.try_get(7)?)?,
        heartbeat: opt_datetime(r.try_get(8)?)?,
        fail_reason: r.try_get(9)?,
        retried_from: r
            .try_get::<_, Option<i64>>(10)?
            .map(|n| to_u64(n, "retried_from"))
            .transpose()?,
        claim_key: r.try_get(11)?,
    })
}

/// Which trials to load. Every variant is one indexed, set-based filter.
#[derive(Clone, Copy)]
pub(super) enum Which<'a> {
    Id(TrialId),
    Number(i64, i64),
    /// Changed after a cursor.
    Since(i64, i64),
    /// Those the call with this token finished (a stale-trial sweep).
    FinishedBy(i64, &'a str),
}

/// The three queries of one [`Which`]: trials, their params, their intermediate values.
macro_rules! trial_queries {
    ($filter:literal) => {
        [
            concat!(
                "SELECT t.id, t.number, t.state, t.vals, t.user_attrs, t.system_attrs, \
                 t.datetime_start, t.datetime_complete, t.heartbeat, t.fail_reason, \
                 t.retried_from, t.claim_key FROM trials t WHERE ",
                $filter,
                " ORDER BY t.number"
            ),
            concat!(
                "SELECT p.trial_id, p.name, p.distribution, p.value \
                 FROM trials t JOIN trial_params p ON p.trial_id = t.id WHERE ",
                $filter
            ),
            concat!(
                "SELECT v.trial_id, v.step, v.value \
                 FROM trials t JOIN trial_intermediate_values v ON v.trial_id = t.id WHERE ",
                $filter
            ),
        ]
    };
}

const BY_ID: [&str; 3] = trial_queries!("t.id = $1");
const BY_NUMBER: [&str; 3] = trial_queries!("t.study_id = $1 AND t.number = $2");
const SINCE: [&str; 3] = trial_queries!("t.study_id = $1 AND t.updated_seq > $2");
const FINISHED_BY: [&str; 3] = trial_queries!("t.study_id = $1 AND t.finish_token = $2");

/// Loads the selected trials, ordered by number, with three queries whatever their
/// count (no per-trial query).
pub(super) fn load_trials(tx: &mut Tx<'_>, which: Which<'_>) -> R<Vec<FrozenTrial>> {
    type Arg<'x> = &'x (dyn postgres::types::ToSql + Sync);
    let (sql, args): (&[&'static str; 3], Vec<Arg<'_>>) = match &which {
        Which::Id(id) => (&BY_ID, vec![id]),
        Which::Number(s, n) => (&BY_NUMBER, vec![s, n]),
        Which::Since(s, c) => (&SINCE, vec![s, c]),
        Which::FinishedBy(s, t) => (&FINISHED_BY, vec![s, t]),
    };
    let mut trials = Vec::new();
    for r in tx.query(sql[0], &args)? {
        trials.push(trial_from_row(&r)?);
    }
    if trials.is_empty() {
        return Ok(trials);
    }
    let index: HashMap<TrialId, usize> =
        trials.iter().enumerate().map(|(i, t)| (t.id, i)).collect();
    let slot = |id: TrialId| index.get(&id).copied().ok_or_else(|| corrupt("orphan row"));

    for r in tx.query(sql[1], &args)? {
        let t = &mut trials[slot(r.try_get(0)?)?];
        let name: String = r.try_get(1)?;
        let dist: Distribution = parse_json(r.try_get(2)?, "distribution")?;
        let value: ParamValue = parse_json(r.try_get(3)?, "param value")?;
        t.distributions.insert(name.clone(), dist);
        t.params.insert(name, value);
    }
    for r in tx.query(sql[2], &args)? {
        let t = &mut trials[slot(r.try_get(0)?)?];
        let step = to_u64(r.try_get(1)?, "step")?;
        t.intermediate_values.insert(step, r.try_get(2)?);
    }
    Ok(trials)
}

pub(super) fn load_trial(
    tx: &mut Tx<'_>,
    which: Which<'_>,
    missing: impl FnOnce() -> Fail,
) -> R<FrozenTrial> {
    load_trials(tx, which)?.pop().ok_or_else(missing)
}

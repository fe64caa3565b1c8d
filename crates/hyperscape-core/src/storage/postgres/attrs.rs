//! Attribute maps (JSON text columns), set one key at a time under a row lock.

use super::conn::{Tx, R};
use super::rows::{parse_json, Attrs};

/// An attribute map column, with its (static) statements.
#[derive(Clone, Copy)]
pub(super) enum AttrColumn {
    StudyUser,
    StudySystem,
    TrialUser,
    TrialSystem,
}

impl AttrColumn {
    fn sql(self) -> (&'static str, &'static str) {
        match self {
            AttrColumn::StudyUser => (
                "SELECT user_attrs FROM studies WHERE id = $1 FOR UPDATE",
                "UPDATE studies SET user_attrs = $1 WHERE id = $2",
            ),
            AttrColumn::StudySystem => (
                "SELECT system_attrs FROM studies WHERE id = $1 FOR UPDATE",
                "UPDATE studies SET system_attrs = $1 WHERE id = $2",
            ),
            AttrColumn::TrialUser => (
                "SELECT user_attrs FROM trials WHERE id = $1 FOR UPDATE",
                "UPDATE trials SET user_attrs = $1 WHERE id = $2",
            ),
            AttrColumn::TrialSystem => (
                "SELECT system_attrs FROM trials WHERE id = $1 FOR UPDATE",
                "UPDATE trials SET system_attrs = $1 WHERE id = $2",
            ),
        }
    }
}

/// Reads an attribute map under a row lock, sets `key`, writes it back. `None` if the
/// row does not exist. Setting the same value again is harmless (idempotent retries).
pub(super) fn set_attr(
    tx: &mut Tx<'_>,
    column: AttrColumn,
    id: i64,
    key: &str,
    value: &serde_json::Value,
) -> R<Option<()>> {
    let (select, update) = column.sql();
    let Some(row) = tx.query_opt(select, &[&id])? else {
        return Ok(None);
    };
    let mut attrs: Attrs = parse_json(row.try_get(0)?, "attributes")?;
    attrs.insert(key.to_string(), value.clone());
    tx.execute(update, &[&serde_json::to_string(&attrs)?, &id])?;
    Ok(Some(()))
}

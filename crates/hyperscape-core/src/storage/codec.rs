//! Encodings shared by the SQL backends (SQLite, PostgreSQL): timestamps as unix
//! microseconds, counters as `i64`, attribute maps and objective values as JSON.

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};

/// The error for stored data that does not decode.
pub(crate) fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::Storage(format!("corrupt storage: {what}"))
}

pub(crate) fn to_datetime(micros: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(micros).ok_or_else(|| corrupt(format!("timestamp {micros}")))
}

pub(crate) fn opt_datetime(micros: Option<i64>) -> Result<Option<DateTime<Utc>>> {
    micros.map(to_datetime).transpose()
}

pub(crate) fn to_i64(v: u64, what: &str) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::Storage(format!("{what} {v} is too large")))
}

pub(crate) fn to_u64(v: i64, what: &str) -> Result<u64> {
    u64::try_from(v).map_err(|_| corrupt(format!("negative {what} {v}")))
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(s: &str, what: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| corrupt(format!("{what}: {e}")))
}

/// Objective values as JSON; non-finite values (which JSON lacks) as strings.
pub(crate) fn values_to_json(values: &[f64]) -> String {
    let v: Vec<serde_json::Value> = values
        .iter()
        .map(|x| match serde_json::Number::from_f64(*x) {
            Some(n) => serde_json::Value::Number(n),
            None => serde_json::Value::String(x.to_string()),
        })
        .collect();
    serde_json::Value::Array(v).to_string()
}

/// The inverse of [`values_to_json`].
pub(crate) fn values_from_json(s: &str) -> Result<Vec<f64>> {
    let v: Vec<serde_json::Value> = parse_json(s, "trial values")?;
    v.iter()
        .map(|x| match x {
            serde_json::Value::Number(n) => n.as_f64(),
            serde_json::Value::String(s) => s.parse().ok(),
            _ => None,
        })
        .map(|x| x.ok_or_else(|| corrupt(format!("trial values {s}"))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_values_round_trip() {
        let v = [1.5, f64::INFINITY, f64::NEG_INFINITY];
        assert_eq!(values_from_json(&values_to_json(&v)).unwrap(), v);
        assert!(values_from_json("[true]").is_err());
        assert!(to_u64(-1, "n").is_err());
    }
}

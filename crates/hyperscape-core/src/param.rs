//! Parameter values and the distributions they are drawn from.
//!
//! A [`Distribution`] describes one hyperparameter: a float (uniform, log-uniform or
//! stepped), an int (uniform or log, with a step) or a categorical choice. Samplers work
//! on an *internal* `f64` representation (the value itself for numbers, the index of the
//! choice for categoricals) and convert back with [`Distribution::to_external`].

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The value of one hyperparameter in one trial.
///
/// Serialised untagged, so JSON and TOML show plain `0.1`, `3`, `"relu"` or `true`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl ParamValue {
    /// The value as a float, for numbers (ints are widened).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            ParamValue::Float(x) => Some(*x),
            ParamValue::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            ParamValue::Int(i) => Some(*i),
            ParamValue::Float(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Some(*x as i64),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            ParamValue::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            ParamValue::Bool(b) => Some(*b),
            _ => None,
        }
    }
    /// Equality that treats `Int(3)` and `Float(3.0)` as the same choice.
    pub fn same_as(&self, other: &ParamValue) -> bool {
        match (self, other) {
            (ParamValue::Int(a), ParamValue::Float(b))
            | (ParamValue::Float(b), ParamValue::Int(a)) => (*a as f64) == *b,
            _ => self == other,
        }
    }
    /// A short name of the value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            ParamValue::Bool(_) => "bool",
            ParamValue::Int(_) => "int",
            ParamValue::Float(_) => "float",
            ParamValue::Str(_) => "string",
        }
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Bool(b) => write!(f, "{b}"),
            ParamValue::Int(i) => write!(f, "{i}"),
            ParamValue::Float(x) => write!(f, "{x}"),
            ParamValue::Str(s) => write!(f, "{s}"),
        }
    }
}

impl From<f64> for ParamValue {
    fn from(x: f64) -> Self {
        ParamValue::Float(x)
    }
}
impl From<i64> for ParamValue {
    fn from(x: i64) -> Self {
        ParamValue::Int(x)
    }
}
impl From<i32> for ParamValue {
    fn from(x: i32) -> Self {
        ParamValue::Int(x as i64)
    }
}
impl From<bool> for ParamValue {
    fn from(x: bool) -> Self {
        ParamValue::Bool(x)
    }
}
impl From<&str> for ParamValue {
    fn from(x: &str) -> Self {
        ParamValue::Str(x.to_string())
    }
}
impl From<String> for ParamValue {
    fn from(x: String) -> Self {
        ParamValue::Str(x)
    }
}

fn default_int_step() -> i64 {
    1
}
fn is_one(x: &i64) -> bool {
    *x == 1
}
fn is_false(b: &bool) -> bool {
    !*b
}

/// The distribution of one hyperparameter.
///
/// Construct with [`Distribution::float`], [`Distribution::int`],
/// [`Distribution::categorical`] and friends, which validate; or deserialise and call
/// [`Distribution::validate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Distribution {
    /// A real number in `[low, high]`, uniform, log-uniform (`log`), or on the grid
    /// `low, low + step, ...` (`step`).
    Float {
        low: f64,
        high: f64,
        #[serde(default, skip_serializing_if = "is_false")]
        log: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<f64>,
    },
    /// An integer in `[low, high]` on the grid `low, low + step, ...`, uniform or log.
    Int {
        low: i64,
        high: i64,
        #[serde(default, skip_serializing_if = "is_false")]
        log: bool,
        #[serde(default = "default_int_step", skip_serializing_if = "is_one")]
        step: i64,
    },
    /// One of a list of strings, numbers or bools.
    Categorical { choices: Vec<ParamValue> },
}

impl fmt::Display for Distribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Distribution::Float {
                low,
                high,
                log,
                step,
            } => {
                write!(f, "float[{low}, {high}]")?;
                if *log {
                    write!(f, " log")?;
                }
                if let Some(s) = step {
                    write!(f, " step {s}")?;
                }
                Ok(())
            }
            Distribution::Int {
                low,
                high,
                log,
                step,
            } => {
                write!(f, "int[{low}, {high}]")?;
                if *log {
                    write!(f, " log")?;
                }
                if *step != 1 {
                    write!(f, " step {step}")?;
                }
                Ok(())
            }
            Distribution::Categorical { choices } => {
                let c: Vec<String> = choices.iter().map(|c| format!("{c}")).collect();
                write!(f, "categorical{{{}}}", c.join(", "))
            }
        }
    }
}

impl Distribution {
    /// Uniform float in `[low, high)`.
    pub fn float(low: f64, high: f64) -> Self {
        Distribution::Float {
            low,
            high,
            log: false,
            step: None,
        }
    }
    /// Log-uniform float in `[low, high)`; needs `low > 0`.
    pub fn float_log(low: f64, high: f64) -> Self {
        Distribution::Float {
            low,
            high,
            log: true,
            step: None,
        }
    }
    /// Float on the grid `low, low + step, ..., high`.
    pub fn float_step(low: f64, high: f64, step: f64) -> Self {
        Distribution::Float {
            low,
            high,
            log: false,
            step: Some(step),
        }
    }
    /// Integer in `[low, high]`, both ends included.
    pub fn int(low: i64, high: i64) -> Self {
        Distribution::Int {
            low,
            high,
            log: false,
            step: 1,
        }
    }
    /// Log-uniform integer in `[low, high]`; needs `low > 0`.
    pub fn int_log(low: i64, high: i64) -> Self {
        Distribution::Int {
            low,
            high,
            log: true,
            step: 1,
        }
    }
    /// Integer on the grid `low, low + step, ..., high`.
    pub fn int_step(low: i64, high: i64, step: i64) -> Self {
        Distribution::Int {
            low,
            high,
            log: false,
            step,
        }
    }
    /// One of `choices`.
    pub fn categorical<T: Into<ParamValue>>(choices: impl IntoIterator<Item = T>) -> Self {
        Distribution::Categorical {
            choices: choices.into_iter().map(Into::into).collect(),
        }
    }

    /// Checks the distribution, naming `name` in the error. On success returns the
    /// distribution with `high` snapped down onto the step grid (as Optuna does).
    pub fn validate(&self, name: &str) -> Result<Distribution> {
        match self {
            Distribution::Float {
                low,
                high,
                log,
                step,
            } => {
                if !low.is_finite() || !high.is_finite() {
                    return Err(Error::invalid_dist(
                        name,
                        format!("bounds must be finite, got low={low}, high={high}"),
                    ));
                }
                if low >= high {
                    return Err(Error::invalid_dist(
                        name,
                        format!("low ({low}) must be less than high ({high})"),
                    ));
                }
                if *log && *low <= 0.0 {
                    return Err(Error::invalid_dist(
                        name,
                        format!("log scale needs low > 0, got low={low}"),
                    ));
                }
                if let Some(s) = step {
                    if *log {
                        return Err(Error::invalid_dist(name, "step and log cannot be combined"));
                    }
                    if !(s.is_finite() && *s > 0.0) {
                        return Err(Error::invalid_dist(
                            name,
                            format!("step must be positive, got {s}"),
                        ));
                    }
                    let k = ((high - low) / s + 1e-9).floor();
                    let snapped = low + k * s;
                    return Ok(Distribution::Float {
                        low: *low,
                        high: if (snapped - high).abs() <= 1e-9 * s.max(1.0) {
                            *high
                        } else {
                            snapped
                        },
                        log: false,
                        step: Some(*s),
                    });
                }
                Ok(self.clone())
            }
            Distribution::Int {
                low,
                high,
                log,
                step,
            } => {
                if low >= high {
                    return Err(Error::invalid_dist(
                        name,
                        format!("low ({low}) must be less than high ({high})"),
                    ));
                }
                if *log && *low <= 0 {
                    return Err(Error::invalid_dist(
                        name,
                        format!("log scale needs low > 0, got low={low}"),
                    ));
                }
                if *step <= 0 {
                    return Err(Error::invalid_dist(
                        name,
                        format!("step must be positive, got {step}"),
                    ));
                }
                if *log && *step != 1 {
                    return Err(Error::invalid_dist(name, "step and log cannot be combined"));
                }
                let snapped = low + (high - low) / step * step;
                Ok(Distribution::Int {
                    low: *low,
                    high: snapped,
                    log: *log,
                    step: *step,
                })
            }
            Distribution::Categorical { choices } => {
                if choices.is_empty() {
                    return Err(Error::invalid_dist(name, "categorical choices are empty"));
                }
                for (i, c) in choices.iter().enumerate() {
                    if let ParamValue::Float(x) = c {
                        if !x.is_finite() {
                            return Err(Error::invalid_dist(
                                name,
                                format!("choice #{i} is not finite ({x})"),
                            ));
                        }
                    }
                    if choices[..i].iter().any(|p| p.same_as(c)) {
                        return Err(Error::invalid_dist(
                            name,
                            format!("choice `{c}` appears more than once"),
                        ));
                    }
                }
                Ok(self.clone())
            }
        }
    }

    /// Whether two distributions may share one parameter name within a study.
    ///
    /// Following Optuna, a name keeps its kind (float, int or categorical) and, for
    /// categoricals, its choices; numeric bounds may differ between trials.
    pub fn is_compatible(&self, other: &Distribution) -> bool {
        match (self, other) {
            (Distribution::Float { log: a, .. }, Distribution::Float { log: b, .. }) => a == b,
            (Distribution::Int { log: a, .. }, Distribution::Int { log: b, .. }) => a == b,
            (
                Distribution::Categorical { choices: a },
                Distribution::Categorical { choices: b },
            ) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_as(y)),
            _ => false,
        }
    }

    pub fn is_categorical(&self) -> bool {
        matches!(self, Distribution::Categorical { .. })
    }
    pub fn is_log(&self) -> bool {
        matches!(
            self,
            Distribution::Float { log: true, .. } | Distribution::Int { log: true, .. }
        )
    }

    /// Number of distinct values, or `None` for a continuous float.
    pub fn cardinality(&self) -> Option<u64> {
        match self {
            Distribution::Float { step: None, .. } => None,
            Distribution::Float {
                low,
                high,
                step: Some(s),
                ..
            } => Some(((high - low) / s + 1e-9).floor() as u64 + 1),
            Distribution::Int {
                low, high, step, ..
            } => Some(((high - low) / step) as u64 + 1),
            Distribution::Categorical { choices } => Some(choices.len() as u64),
        }
    }

    /// Every value, in order, for discrete distributions; `None` for continuous floats.
    pub fn levels(&self) -> Option<Vec<ParamValue>> {
        let n = self.cardinality()?;
        Some(match self {
            Distribution::Float {
                low, high, step, ..
            } => {
                let s = step.expect("discrete float has a step");
                (0..n)
                    .map(|i| {
                        ParamValue::Float(
                            round_to_step(low + i as f64 * s, *low, s).clamp(*low, *high),
                        )
                    })
                    .collect()
            }
            Distribution::Int { low, step, .. } => (0..n)
                .map(|i| ParamValue::Int(low + i as i64 * step))
                .collect(),
            Distribution::Categorical { choices } => choices.clone(),
        })
    }

    /// Checks that `value` belongs to this distribution and returns it in canonical
    /// form (an int given for a float distribution becomes a float, and so on).
    pub fn check_value(&self, name: &str, value: &ParamValue) -> Result<ParamValue> {
        match self {
            Distribution::Float {
                low, high, step, ..
            } => {
                let x = value.as_f64().ok_or_else(|| {
                    Error::invalid_value(
                        name,
                        value,
                        format!("expected a float, got a {}", value.type_name()),
                    )
                })?;
                let tol = 1e-12 * (high - low).abs().max(1.0);
                if !x.is_finite() || x < low - tol || x > high + tol {
                    return Err(Error::invalid_value(
                        name,
                        value,
                        format!("outside the bounds [{low}, {high}]"),
                    ));
                }
                if let Some(s) = step {
                    let k = (x - low) / s;
                    if (k - k.round()).abs() > 1e-6 {
                        return Err(Error::invalid_value(
                            name,
                            value,
                            format!("not on the grid {low} + k*{s}"),
                        ));
                    }
                    // Clamped: rounding onto the step's decimals can land an ulp
                    // outside a computed bound (-99.95 + 0.1 is -99.85000000000001,
                    // whose grid value rounds to -99.85).
                    return Ok(ParamValue::Float(
                        round_to_step(x, *low, *s).clamp(*low, *high),
                    ));
                }
                Ok(ParamValue::Float(x.clamp(*low, *high)))
            }
            Distribution::Int {
                low, high, step, ..
            } => {
                let i = value.as_i64().ok_or_else(|| {
                    Error::invalid_value(
                        name,
                        value,
                        format!("expected an integer, got {}", value.type_name()),
                    )
                })?;
                if i < *low || i > *high {
                    return Err(Error::invalid_value(
                        name,
                        value,
                        format!("outside the bounds [{low}, {high}]"),
                    ));
                }
                if (i - low) % step != 0 {
                    return Err(Error::invalid_value(
                        name,
                        value,
                        format!("not on the grid {low} + k*{step}"),
                    ));
                }
                Ok(ParamValue::Int(i))
            }
            Distribution::Categorical { choices } => choices
                .iter()
                .find(|c| c.same_as(value))
                .cloned()
                .ok_or_else(|| {
                    let c: Vec<String> = choices.iter().map(|c| c.to_string()).collect();
                    Error::invalid_value(
                        name,
                        value,
                        format!("not one of the choices [{}]", c.join(", ")),
                    )
                }),
        }
    }

    /// The internal `f64` form that samplers work with: the number itself, or the index
    /// of a categorical choice. The value must already belong to the distribution.
    pub fn to_internal(&self, value: &ParamValue) -> Option<f64> {
        match self {
            Distribution::Categorical { choices } => choices
                .iter()
                .position(|c| c.same_as(value))
                .map(|i| i as f64),
            _ => value.as_f64(),
        }
    }

    /// Converts an internal value back, rounding onto the step grid and clamping into
    /// the bounds, so any `f64` a sampler produces becomes a valid value.
    pub fn to_external(&self, x: f64) -> ParamValue {
        match self {
            Distribution::Float {
                low, high, step, ..
            } => {
                let x = if x.is_nan() { *low } else { x };
                match step {
                    Some(s) => {
                        let k = ((x - low) / s).round().max(0.0);
                        ParamValue::Float(round_to_step(low + k * s, *low, *s).clamp(*low, *high))
                    }
                    None => ParamValue::Float(x.clamp(*low, *high)),
                }
            }
            Distribution::Int {
                low, high, step, ..
            } => {
                let x = if x.is_nan() { *low as f64 } else { x };
                let k = ((x - *low as f64) / *step as f64).round().max(0.0) as i64;
                ParamValue::Int((low + k * step).clamp(*low, *high))
            }
            Distribution::Categorical { choices } => {
                let i = if x.is_nan() {
                    0
                } else {
                    x.round().max(0.0) as usize
                };
                choices[i.min(choices.len() - 1)].clone()
            }
        }
    }

    /// Maps `u` in `[0, 1)` to a value, uniformly in the distribution's own scale
    /// (log scale for `log`, equal mass per level for steps, ints and choices).
    pub fn from_unit(&self, u: f64) -> ParamValue {
        let u = u.clamp(0.0, 1.0 - f64::EPSILON);
        match self {
            Distribution::Float {
                low,
                high,
                log,
                step,
            } => match step {
                Some(_) => {
                    let n = self.cardinality().unwrap_or(1);
                    self.to_external(low + (u * n as f64).floor() * step.unwrap_or(1.0))
                }
                None if *log => {
                    let (a, b) = (low.ln(), high.ln());
                    ParamValue::Float((a + u * (b - a)).exp().clamp(*low, *high))
                }
                None => ParamValue::Float(low + u * (high - low)),
            },
            Distribution::Int {
                low,
                high,
                log,
                step,
            } => {
                if *log {
                    // Log-uniform over [low - 0.5, high + 0.5], then rounded, as Optuna does.
                    let (a, b) = ((*low as f64 - 0.5).max(0.5).ln(), (*high as f64 + 0.5).ln());
                    self.to_external((a + u * (b - a)).exp())
                } else {
                    let n = (high - low) / step + 1;
                    let k = ((u * n as f64).floor() as i64).min(n - 1);
                    ParamValue::Int(low + k * step)
                }
            }
            Distribution::Categorical { choices } => {
                let k = ((u * choices.len() as f64).floor() as usize).min(choices.len() - 1);
                choices[k].clone()
            }
        }
    }

    /// Maps a value to `[0, 1]` in the distribution's own scale (the inverse of
    /// [`from_unit`](Self::from_unit) up to rounding). Categoricals map their index.
    pub fn to_unit(&self, value: &ParamValue) -> Option<f64> {
        let x = self.to_internal(value)?;
        Some(match self {
            Distribution::Float {
                low,
                high,
                log: true,
                ..
            } => (x.ln() - low.ln()) / (high.ln() - low.ln()),
            Distribution::Float { low, high, .. } => (x - low) / (high - low),
            Distribution::Int {
                low,
                high,
                log: true,
                ..
            } => {
                let (a, b) = ((*low as f64 - 0.5).max(0.5).ln(), (*high as f64 + 0.5).ln());
                (x.ln() - a) / (b - a)
            }
            Distribution::Int {
                low, high, step, ..
            } => {
                let n = ((high - low) / step + 1) as f64;
                ((x - *low as f64) / *step as f64 + 0.5) / n
            }
            Distribution::Categorical { choices } => (x + 0.5) / choices.len() as f64,
        })
    }
}

/// Rounds `x` onto `low + k*step`. When `low` and `step` are short decimals (0.1,
/// 2.5e-3), the result is rounded to their decimals, so levels print as 0.3 rather than
/// 0.30000000000000004; otherwise it is left as computed.
fn round_to_step(x: f64, low: f64, step: f64) -> f64 {
    let k = ((x - low) / step).round();
    let v = low + k * step;
    match (decimals(low), decimals(step)) {
        (Some(a), Some(b)) => {
            let p = 10f64.powi(a.max(b) as i32);
            let r = (v * p).round() / p;
            if (r - v).abs() <= step * 1e-9 {
                r
            } else {
                v
            }
        }
        _ => v,
    }
}

/// The number of decimals of `x` if it has at most 12, else `None`.
fn decimals(x: f64) -> Option<u32> {
    (0..=12u32).find(|d| {
        let p = 10f64.powi(*d as i32);
        let r = (x * p).round() / p;
        r == x || ((r - x).abs() <= x.abs() * 1e-15)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stepped_value_never_rounds_outside_a_computed_bound() {
        // -99.95 + 0.1 = -99.85000000000001 in f64; rounding onto the step's decimals
        // gives -99.85, one ulp above that bound.
        let d = Distribution::float_step(-99.95, -99.95 + 0.1, 0.1)
            .validate("p")
            .unwrap();
        let Distribution::Float { low, high, .. } = d else {
            unreachable!()
        };
        for x in [low, low + 1e-13, high, high + 1e-13] {
            let v = d.check_value("p", &ParamValue::Float(x)).unwrap();
            let v = v.as_f64().unwrap();
            assert!(
                (low..=high).contains(&v),
                "{x} -> {v} outside [{low}, {high}]"
            );
        }
        for v in d.levels().unwrap() {
            let v = v.as_f64().unwrap();
            assert!(
                (low..=high).contains(&v),
                "level {v} outside [{low}, {high}]"
            );
        }
        assert_eq!(d.levels().unwrap().len(), 2);
    }

    #[test]
    fn validation_names_the_parameter() {
        let e = Distribution::float(1.0, 1.0).validate("lr").unwrap_err();
        assert!(
            e.to_string().contains("`lr`") && e.to_string().contains("low"),
            "{e}"
        );
        let e = Distribution::float_log(0.0, 1.0)
            .validate("lr")
            .unwrap_err();
        assert!(e.to_string().contains("log"), "{e}");
        let e = Distribution::int_log(-1, 5).validate("n").unwrap_err();
        assert!(e.to_string().contains("low > 0"), "{e}");
        let e = Distribution::categorical(Vec::<String>::new())
            .validate("act")
            .unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
        let e = Distribution::int_step(0, 10, 0).validate("n").unwrap_err();
        assert!(e.to_string().contains("step"), "{e}");
    }

    #[test]
    fn step_snaps_high_down() {
        let d = Distribution::float_step(0.0, 1.05, 0.1)
            .validate("x")
            .unwrap();
        assert_eq!(d.cardinality(), Some(11));
        let d = Distribution::int_step(1, 10, 4).validate("n").unwrap();
        assert_eq!(d.levels().unwrap(), vec![1.into(), 5.into(), 9.into()]);
    }

    #[test]
    fn check_value_rejects_out_of_bounds_and_off_grid() {
        let d = Distribution::int_step(0, 10, 2);
        assert!(d.check_value("n", &ParamValue::Int(11)).is_err());
        assert!(d.check_value("n", &ParamValue::Int(3)).is_err());
        assert_eq!(
            d.check_value("n", &ParamValue::Float(4.0)).unwrap(),
            ParamValue::Int(4)
        );
        let c = Distribution::categorical(["a", "b"]);
        assert!(c.check_value("c", &"z".into()).is_err());
        assert!(c.check_value("c", &ParamValue::Int(1)).is_err());
    }

    #[test]
    fn float_step_levels_are_clean() {
        let d = Distribution::float_step(0.0, 0.3, 0.1);
        let l = d.levels().unwrap();
        assert_eq!(l.last(), Some(&ParamValue::Float(0.3)));
    }

    #[test]
    fn serde_round_trip_matches_toml_shape() {
        let d: Distribution =
            toml::from_str("type = \"float\"\nlow = 1e-5\nhigh = 1.0\nlog = true").unwrap();
        assert_eq!(d, Distribution::float_log(1e-5, 1.0));
        let c: Distribution =
            toml::from_str("type = \"categorical\"\nchoices = [\"relu\", 3, true]").unwrap();
        assert_eq!(
            c,
            Distribution::categorical([ParamValue::from("relu"), 3.into(), true.into()])
        );
    }
}

//! Benchmark problems: test functions from [`functions`](crate::functions) with a
//! declared search space, a direction and a known optimum, for measuring samplers
//! (`hyperscape bench quality`).
//!
//! Every problem is a minimisation. Parameters of the n-dimensional problems are named
//! `x0 .. x{n-1}`; Branin's are `x1`, `x2` as in the literature.
//!
//! | name | space | optimum |
//! |------|-------|---------|
//! | `branin` | x1 in [-5, 10], x2 in [0, 15] | 0.397887 |
//! | `hartmann6` | [0, 1]^6 | -3.32237 |
//! | `rosenbrock-5d` | [-5, 10]^5 | 0 |
//! | `ackley-10d` | [-32.768, 32.768]^10 | 0 |
//! | `levy-10d` | [-10, 10]^10 | 0 |
//! | `styblinski-tang-10d` | [-5, 5]^10 | -391.6617 |
//! | `sphere-20d` | [-5.12, 5.12]^20 | 0 |
//! | `branin-mixed` | x1 float, x2 = `x2_int` (int 0..=14) + `x2_offset` (categorical) | 0.397887 |
//! | `branin-conditional` | `branch` categorical, `z` only on branch `tuned` | 0.397887 |
//! | `jenatton` | a tree of binary choices `x1`-`x3` over floats `x4`-`x7`, `r8`, `r9` in [0, 1] | 0.1 |
//!
//! `branin-mixed` keeps Branin's optimum exact: `x2 = x2_int + x2_offset` with the
//! offsets {0, 0.25, 0.275, 0.475, 0.5, 0.75}, so the three minimisers' x2 values 2.275,
//! 12.275 and 2.475 are all reachable (x1 stays continuous).
//!
//! `branin-conditional` has a categorical `branch` in {`plain`, `tuned`}: on `plain` the
//! value is `branin(x1, x2) + 1`; on `tuned` a parameter `z` in [0, 1] appears and the
//! value is `branin(x1, x2) + 10 (z - 0.3)^2`. The optimum, Branin's minimum, lies on
//! the `tuned` branch at z = 0.3; the best of `plain` is one worse.
//!
//! `jenatton` is the tree-structured function of Jenatton et al. (2017), "Bayesian
//! optimization with tree-structured dependencies", with the domain Ax uses: `x1`
//! chooses between the subtree of `x2` (with `r8`) and that of `x3` (with `r9`); `x2`
//! chooses `x4` or `x5`, `x3` chooses `x6` or `x7`; the value is `x_leaf² + c + r` with
//! c = 0.1, 0.2, 0.3, 0.4 for the leaves `x4` .. `x7`. Nine parameters, at most four
//! active at once; the optimum 0.1 lies at `x1 = x2 = 0`, `x4 = r8 = 0`.
//!
//! Multi-objective problems (ZDT1, ZDT2, DTLZ2, measured by hypervolume) are in
//! [`multi`].

pub mod multi;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::functions::{self, BRANIN_MIN, HARTMANN6_MIN, STYBLINSKI_TANG_ARGMIN};
use crate::param::{Distribution, ParamValue};
use crate::space::SpaceDecl;
use crate::trial::Direction;

/// Names of the problems [`problem_by_name`] knows, in the order of the table above.
pub const PROBLEMS: &[&str] = &[
    "branin",
    "hartmann6",
    "rosenbrock-5d",
    "ackley-10d",
    "levy-10d",
    "styblinski-tang-10d",
    "sphere-20d",
    "branin-mixed",
    "branin-conditional",
    "jenatton",
];

/// The evaluation of a problem: parameters to objective value. A missing or ill-typed
/// parameter gives NaN (see [`Problem::evaluate`] for the checked form). Shared, so a
/// tabular problem's table is loaded once for every study that runs on it.
pub type EvalFn = Arc<dyn Fn(&BTreeMap<String, ParamValue>) -> f64 + Send + Sync>;

/// A benchmark problem with a known optimum.
#[derive(Clone)]
pub struct Problem {
    pub name: String,
    /// The declared search space (with conditions for `branin-conditional`).
    pub space: SpaceDecl,
    /// One direction (every problem here minimises).
    pub directions: Vec<Direction>,
    /// The best value attainable in `space`.
    pub optimum: f64,
    /// A point of `space` where the value is `optimum` (within `tolerance`).
    pub argmin: BTreeMap<String, ParamValue>,
    /// How close `eval(argmin)` is to `optimum` (the published argmin's precision).
    pub tolerance: f64,
    /// The objective.
    pub eval: EvalFn,
}

impl fmt::Debug for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Problem")
            .field("name", &self.name)
            .field("space", &self.space)
            .field("optimum", &self.optimum)
            .finish_non_exhaustive()
    }
}

impl Problem {
    /// The objective at `params`, or [`Error::InvalidObjectiveValue`] when a parameter
    /// the problem needs is missing or not a number.
    pub fn evaluate(&self, params: &BTreeMap<String, ParamValue>) -> Result<f64> {
        let v = (self.eval)(params);
        if v.is_finite() {
            Ok(v)
        } else {
            Err(Error::InvalidObjectiveValue(format!(
                "problem `{}` cannot be evaluated at {params:?} (a parameter is missing or invalid)",
                self.name
            )))
        }
    }

    /// The single direction of the problem.
    pub fn direction(&self) -> Direction {
        self.directions
            .first()
            .copied()
            .unwrap_or(Direction::Minimize)
    }

    /// The regret of `value`: how far it is from the optimum, direction-aware (>= 0 up
    /// to rounding for values attainable in the space).
    pub fn regret(&self, value: f64) -> f64 {
        match self.direction() {
            Direction::Minimize => value - self.optimum,
            Direction::Maximize => self.optimum - value,
        }
    }
}

/// The problem called `name` (see [`PROBLEMS`]).
pub fn problem_by_name(name: &str) -> Result<Problem> {
    let p = match name {
        "branin" => Problem {
            name: "branin".into(),
            space: SpaceDecl::new()
                .param("x1", Distribution::float(-5.0, 10.0))?
                .param("x2", Distribution::float(0.0, 15.0))?,
            directions: vec![Direction::Minimize],
            optimum: BRANIN_MIN,
            argmin: point(&[("x1", std::f64::consts::PI.into()), ("x2", 2.275.into())]),
            tolerance: 1e-6,
            eval: Arc::new(branin),
        },
        "hartmann6" => {
            const X: [f64; 6] = [0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573];
            cube("hartmann6", 6, 0.0, 1.0, HARTMANN6_MIN, &X, 1e-4, hartmann6)?
        }
        "rosenbrock-5d" => cube("rosenbrock-5d", 5, -5.0, 10.0, 0.0, &[1.0; 5], 0.0, |p| {
            vector(p, 5).map_or(f64::NAN, |x| functions::rosenbrock(&x))
        })?,
        "ackley-10d" => cube(
            "ackley-10d",
            10,
            -32.768,
            32.768,
            0.0,
            &[0.0; 10],
            1e-12,
            |p| vector(p, 10).map_or(f64::NAN, |x| functions::ackley(&x)),
        )?,
        "levy-10d" => cube("levy-10d", 10, -10.0, 10.0, 0.0, &[1.0; 10], 1e-12, |p| {
            vector(p, 10).map_or(f64::NAN, |x| functions::levy(&x))
        })?,
        "styblinski-tang-10d" => cube(
            "styblinski-tang-10d",
            10,
            -5.0,
            5.0,
            10.0 * functions::STYBLINSKI_TANG_MIN_PER_DIM,
            &[STYBLINSKI_TANG_ARGMIN; 10],
            1e-9,
            |p| vector(p, 10).map_or(f64::NAN, |x| functions::styblinski_tang(&x)),
        )?,
        "sphere-20d" => cube("sphere-20d", 20, -5.12, 5.12, 0.0, &[0.0; 20], 0.0, |p| {
            vector(p, 20).map_or(f64::NAN, |x| functions::sphere(&x))
        })?,
        "branin-mixed" => Problem {
            name: "branin-mixed".into(),
            space: SpaceDecl::new()
                .param("x1", Distribution::float(-5.0, 10.0))?
                .param("x2_int", Distribution::int(0, 14))?
                .param(
                    "x2_offset",
                    Distribution::categorical(BRANIN_MIXED_OFFSETS.iter().copied()),
                )?,
            directions: vec![Direction::Minimize],
            optimum: BRANIN_MIN,
            argmin: point(&[
                ("x1", std::f64::consts::PI.into()),
                ("x2_int", 2_i64.into()),
                ("x2_offset", 0.275.into()),
            ]),
            tolerance: 1e-6,
            eval: Arc::new(branin_mixed),
        },
        "branin-conditional" => Problem {
            name: "branin-conditional".into(),
            space: SpaceDecl::new()
                .param("branch", Distribution::categorical(["plain", "tuned"]))?
                .param("x1", Distribution::float(-5.0, 10.0))?
                .param("x2", Distribution::float(0.0, 15.0))?
                .conditional_param(
                    "z",
                    Distribution::float(0.0, 1.0),
                    "branch",
                    vec!["tuned".into()],
                )?,
            directions: vec![Direction::Minimize],
            optimum: BRANIN_MIN,
            argmin: point(&[
                ("branch", "tuned".into()),
                ("x1", std::f64::consts::PI.into()),
                ("x2", 2.275.into()),
                ("z", 0.3.into()),
            ]),
            tolerance: 1e-6,
            eval: Arc::new(branin_conditional),
        },
        "jenatton" => {
            let bit = || Distribution::categorical([0_i64, 1]);
            let unit = || Distribution::float(0.0, 1.0);
            let when = |p: &str, v: i64| (p.to_string(), vec![ParamValue::from(v)]);
            let mut space = SpaceDecl::new().param("x1", bit())?;
            for (name, dist, (parent, values)) in [
                ("x2", bit(), when("x1", 0)),
                ("x3", bit(), when("x1", 1)),
                ("x4", unit(), when("x2", 0)),
                ("x5", unit(), when("x2", 1)),
                ("x6", unit(), when("x3", 0)),
                ("x7", unit(), when("x3", 1)),
                ("r8", unit(), when("x1", 0)),
                ("r9", unit(), when("x1", 1)),
            ] {
                space = space.conditional_param(name, dist, &parent, values)?;
            }
            Problem {
                name: "jenatton".into(),
                space,
                directions: vec![Direction::Minimize],
                optimum: 0.1,
                argmin: point(&[
                    ("x1", 0_i64.into()),
                    ("x2", 0_i64.into()),
                    ("x4", 0.0.into()),
                    ("r8", 0.0.into()),
                ]),
                tolerance: 1e-12,
                eval: Arc::new(jenatton),
            }
        }
        _ if name.contains('/') => return crate::tabular::problem(name),
        _ => {
            return Err(Error::UnknownProblem {
                name: name.to_string(),
                known: format!(
                    "{}, and the tabular problems {}",
                    PROBLEMS.join(", "),
                    crate::tabular::SUITES
                        .iter()
                        .map(|s| format!("{}/<{}>", s.name, s.datasets.join("|")))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
        }
    };
    Ok(p)
}

/// The offsets `x2_offset` of `branin-mixed` may take.
pub const BRANIN_MIXED_OFFSETS: [f64; 6] = [0.0, 0.25, 0.275, 0.475, 0.5, 0.75];

fn point(pairs: &[(&str, ParamValue)]) -> BTreeMap<String, ParamValue> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// A problem on the cube `[low, high]^n` with parameters `x0 .. x{n-1}`.
#[allow(clippy::too_many_arguments)]
fn cube(
    name: &'static str,
    n: usize,
    low: f64,
    high: f64,
    optimum: f64,
    argmin: &[f64],
    tolerance: f64,
    eval: fn(&BTreeMap<String, ParamValue>) -> f64,
) -> Result<Problem> {
    let mut space = SpaceDecl::new();
    for i in 0..n {
        space = space.param(&format!("x{i}"), Distribution::float(low, high))?;
    }
    Ok(Problem {
        name: name.into(),
        space,
        directions: vec![Direction::Minimize],
        optimum,
        argmin: argmin
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("x{i}"), ParamValue::Float(*v)))
            .collect(),
        tolerance,
        eval: Arc::new(eval),
    })
}

fn num(p: &BTreeMap<String, ParamValue>, name: &str) -> Option<f64> {
    p.get(name).and_then(ParamValue::as_f64)
}

/// `x0 .. x{n-1}` as a vector, if all are present and numeric.
fn vector(p: &BTreeMap<String, ParamValue>, n: usize) -> Option<Vec<f64>> {
    (0..n).map(|i| num(p, &format!("x{i}"))).collect()
}

fn branin(p: &BTreeMap<String, ParamValue>) -> f64 {
    match (num(p, "x1"), num(p, "x2")) {
        (Some(a), Some(b)) => functions::branin(a, b),
        _ => f64::NAN,
    }
}

fn hartmann6(p: &BTreeMap<String, ParamValue>) -> f64 {
    vector(p, 6)
        .and_then(|x| <[f64; 6]>::try_from(x).ok())
        .map_or(f64::NAN, |x| functions::hartmann6(&x))
}

fn branin_mixed(p: &BTreeMap<String, ParamValue>) -> f64 {
    match (num(p, "x1"), num(p, "x2_int"), num(p, "x2_offset")) {
        (Some(a), Some(i), Some(o)) => functions::branin(a, i + o),
        _ => f64::NAN,
    }
}

fn branin_conditional(p: &BTreeMap<String, ParamValue>) -> f64 {
    let base = branin(p);
    match p.get("branch").and_then(ParamValue::as_str) {
        Some("plain") => base + 1.0,
        Some("tuned") => num(p, "z").map_or(f64::NAN, |z| base + 10.0 * (z - 0.3).powi(2)),
        _ => f64::NAN,
    }
}

fn jenatton(p: &BTreeMap<String, ParamValue>) -> f64 {
    let bit = |name: &str| p.get(name).and_then(ParamValue::as_i64);
    let leaf = |name: &str, c: f64, r: &str| {
        num(p, name)
            .zip(num(p, r))
            .map_or(f64::NAN, |(x, r)| x * x + c + r)
    };
    match (bit("x1"), bit("x2"), bit("x3")) {
        (Some(0), Some(0), _) => leaf("x4", 0.1, "r8"),
        (Some(0), Some(1), _) => leaf("x5", 0.2, "r8"),
        (Some(1), _, Some(0)) => leaf("x6", 0.3, "r9"),
        (Some(1), _, Some(1)) => leaf("x7", 0.4, "r9"),
        _ => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_attains_its_optimum_at_its_argmin_inside_the_space() {
        for name in PROBLEMS {
            let p = problem_by_name(name).unwrap();
            assert_eq!(p.name, *name);
            assert_eq!(p.directions, vec![Direction::Minimize]);
            // The argmin assigns exactly the active parameters, each inside its range.
            for decl in &p.space.params {
                let active = SpaceDecl::is_active(decl, &p.argmin);
                let v = p.argmin.get(&decl.name);
                assert_eq!(active, v.is_some(), "{name}: {}", decl.name);
                if let Some(v) = v {
                    decl.distribution
                        .check_value(&decl.name, v)
                        .unwrap_or_else(|e| panic!("{name}: {e}"));
                }
            }
            assert_eq!(
                p.argmin.len(),
                p.space
                    .params
                    .iter()
                    .filter(|d| SpaceDecl::is_active(d, &p.argmin))
                    .count()
            );
            let v = p.evaluate(&p.argmin).unwrap();
            assert!(
                (v - p.optimum).abs() <= p.tolerance.max(1e-12),
                "{name}: f(argmin) = {v}, optimum {}",
                p.optimum
            );
            assert!(p.regret(v) >= -p.tolerance.max(1e-12));
        }
    }

    #[test]
    fn points_away_from_the_argmin_are_worse() {
        for name in PROBLEMS {
            let p = problem_by_name(name).unwrap();
            let mut other = p.argmin.clone();
            let first = p
                .space
                .params
                .iter()
                .find(|d| !d.distribution.is_categorical())
                .unwrap();
            let moved = first.distribution.from_unit(0.9);
            other.insert(first.name.clone(), moved);
            let v = p.evaluate(&other).unwrap();
            assert!(p.regret(v) > 1e-3, "{name}: {v} vs optimum {}", p.optimum);
        }
    }

    #[test]
    fn branin_mixed_and_conditional_reach_every_branin_minimiser() {
        let mixed = problem_by_name("branin-mixed").unwrap();
        for (x1, i, o) in [(-std::f64::consts::PI, 12, 0.275), (9.424_78, 2, 0.475)] {
            let v = mixed
                .evaluate(&point(&[
                    ("x1", x1.into()),
                    ("x2_int", i.into()),
                    ("x2_offset", o.into()),
                ]))
                .unwrap();
            assert!((v - BRANIN_MIN).abs() < 1e-5, "{v}");
        }
        let cond = problem_by_name("branin-conditional").unwrap();
        let mut plain = cond.argmin.clone();
        plain.insert("branch".into(), "plain".into());
        plain.remove("z");
        assert!((cond.evaluate(&plain).unwrap() - (BRANIN_MIN + 1.0)).abs() < 1e-6);
    }

    #[test]
    fn jenatton_takes_each_leaf_of_its_tree() {
        let j = problem_by_name("jenatton").unwrap();
        let at = |pairs: &[(&str, ParamValue)]| j.evaluate(&point(pairs)).unwrap();
        let (half, quarter) = (ParamValue::from(0.5), ParamValue::from(0.25));
        for (x1, sub, leaf, c, r) in [
            (0_i64, ("x2", 0_i64), "x4", 0.1, "r8"),
            (0, ("x2", 1), "x5", 0.2, "r8"),
            (1, ("x3", 0), "x6", 0.3, "r9"),
            (1, ("x3", 1), "x7", 0.4, "r9"),
        ] {
            let v = at(&[
                ("x1", x1.into()),
                (sub.0, sub.1.into()),
                (leaf, half.clone()),
                (r, quarter.clone()),
            ]);
            assert!((v - (0.25 + c + 0.25)).abs() < 1e-12, "{leaf}: {v}");
        }
        // Only the parameters of the taken path are active.
        let active: Vec<&str> = j
            .space
            .params
            .iter()
            .filter(|d| SpaceDecl::is_active(d, &j.argmin))
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(active, ["x1", "x2", "x4", "r8"]);
        // A path without its leaf is an error.
        assert!(j
            .evaluate(&point(&[("x1", 1_i64.into()), ("x3", 0_i64.into())]))
            .is_err());
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let e = problem_by_name("nope").unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, Error::UnknownProblem { .. }));
        assert!(
            msg.contains("nope") && msg.contains("branin") && msg.contains("sphere-20d"),
            "{msg}"
        );
        let p = problem_by_name("hartmann6").unwrap();
        assert!(p.evaluate(&BTreeMap::new()).is_err());
        let mut wrong = p.argmin.clone();
        wrong.insert("x3".into(), "text".into());
        assert!(p.evaluate(&wrong).is_err());
        let c = problem_by_name("branin-conditional").unwrap();
        let mut no_z = c.argmin.clone();
        no_z.remove("z");
        assert!(c.evaluate(&no_z).is_err());
    }
}

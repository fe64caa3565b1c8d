//! Multi-objective benchmark problems: test functions with a known Pareto front, a
//! fixed reference point and the front's exact hypervolume, for measuring samplers by
//! the hypervolume of what they found (`hyperscape bench quality`).
//!
//! Every objective is minimised; parameters are `x0 .. x5` in `[0, 1]` (six dimensions,
//! small enough for model-based samplers at budgets of 25 to 100).
//!
//! | name | objectives | reference point | hypervolume of the front |
//! |------|------------|-----------------|--------------------------|
//! | `zdt1-6d` | 2, convex front `f2 = 1 − √f1` | (11, 11) | 121 − 1/3 |
//! | `zdt2-6d` | 2, concave front `f2 = 1 − f1²` | (11, 11) | 121 − 2/3 |
//! | `dtlz2-6d` | 3, unit-sphere octant | (1.1, 1.1, 1.1) | 1.1³ − π/6 |
//!
//! The ZDT reference point (11, 11) is the one of the ZDT literature; DTLZ2's is 1.1 in
//! each objective, just beyond the front's nadir (1, 1, 1).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::functions;
use crate::param::{Distribution, ParamValue};
use crate::sampler::multi::hypervolume;
use crate::space::SpaceDecl;
use crate::trial::Direction;

/// Names of the problems [`multi_problem_by_name`] knows.
pub const MULTI_PROBLEMS: &[&str] = &["zdt1-6d", "zdt2-6d", "dtlz2-6d"];

/// A problem's objective count, reference point, front hypervolume and function.
type Definition = (usize, Vec<f64>, f64, fn(&[f64]) -> Vec<f64>);

/// Dimensions of every problem here.
const DIMS: usize = 6;

/// Parameters to objective values (`None` when a parameter is missing or not a number).
pub type MultiEvalFn = Arc<dyn Fn(&BTreeMap<String, ParamValue>) -> Option<Vec<f64>> + Send + Sync>;

/// A multi-objective benchmark problem with a known front.
#[derive(Clone)]
pub struct MultiProblem {
    pub name: String,
    pub space: SpaceDecl,
    /// One per objective (all minimise).
    pub directions: Vec<Direction>,
    /// The reference point hypervolumes are measured from.
    pub reference: Vec<f64>,
    /// The hypervolume of the true Pareto front from `reference`: the most attainable.
    pub optimal_hypervolume: f64,
    pub eval: MultiEvalFn,
}

impl fmt::Debug for MultiProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiProblem")
            .field("name", &self.name)
            .field("reference", &self.reference)
            .field("optimal_hypervolume", &self.optimal_hypervolume)
            .finish_non_exhaustive()
    }
}

impl MultiProblem {
    /// The objective values at `params`, or [`Error::InvalidObjectiveValue`] when a
    /// parameter is missing or not a number.
    pub fn evaluate(&self, params: &BTreeMap<String, ParamValue>) -> Result<Vec<f64>> {
        match (self.eval)(params) {
            Some(v) if v.iter().all(|x| x.is_finite()) => Ok(v),
            _ => Err(Error::InvalidObjectiveValue(format!(
                "problem `{}` cannot be evaluated at {params:?} (a parameter is missing or invalid)",
                self.name
            ))),
        }
    }

    /// Hypervolume of `points` (objective values) from the problem's reference point.
    pub fn hypervolume(&self, points: &[Vec<f64>]) -> f64 {
        let p: Vec<&[f64]> = points.iter().map(Vec::as_slice).collect();
        hypervolume(&p, &self.reference)
    }
}

/// The multi-objective problem called `name`, or `None` when `name` is not one (see
/// [`MULTI_PROBLEMS`]).
pub fn multi_problem_by_name(name: &str) -> Option<Result<MultiProblem>> {
    let (objectives, reference, optimal, f): Definition = match name {
        "zdt1-6d" => (2, vec![11.0, 11.0], 121.0 - 1.0 / 3.0, |x| {
            functions::zdt1(x).to_vec()
        }),
        "zdt2-6d" => (2, vec![11.0, 11.0], 121.0 - 2.0 / 3.0, |x| {
            functions::zdt2(x).to_vec()
        }),
        "dtlz2-6d" => (
            3,
            vec![1.1, 1.1, 1.1],
            1.1f64.powi(3) - std::f64::consts::PI / 6.0,
            |x| functions::dtlz2(x).to_vec(),
        ),
        _ => return None,
    };
    Some(build(name, objectives, reference, optimal, f))
}

fn build(
    name: &str,
    objectives: usize,
    reference: Vec<f64>,
    optimal_hypervolume: f64,
    f: fn(&[f64]) -> Vec<f64>,
) -> Result<MultiProblem> {
    let mut space = SpaceDecl::new();
    for i in 0..DIMS {
        space = space.param(&format!("x{i}"), Distribution::float(0.0, 1.0))?;
    }
    Ok(MultiProblem {
        name: name.to_string(),
        space,
        directions: vec![Direction::Minimize; objectives],
        reference,
        optimal_hypervolume,
        eval: Arc::new(move |p: &BTreeMap<String, ParamValue>| {
            let x: Option<Vec<f64>> = (0..DIMS)
                .map(|i| p.get(&format!("x{i}")).and_then(ParamValue::as_f64))
                .collect();
            x.map(|x| f(&x))
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(x: &[f64]) -> BTreeMap<String, ParamValue> {
        x.iter()
            .enumerate()
            .map(|(i, v)| (format!("x{i}"), ParamValue::Float(*v)))
            .collect()
    }

    #[test]
    fn dense_samples_of_each_front_approach_its_hypervolume() {
        for name in MULTI_PROBLEMS {
            let p = multi_problem_by_name(name).unwrap().unwrap();
            assert_eq!(p.name, *name);
            assert_eq!(p.directions.len(), p.reference.len());
            // Points on the front: the position variables sweep [0, 1], the rest sit
            // at the front's value (0 for ZDT, 0.5 for DTLZ2).
            let mut pts = Vec::new();
            let k = if p.reference.len() == 2 { 1 } else { 2 };
            let n = if k == 1 { 4000 } else { 60 };
            let rest = if k == 1 { 0.0 } else { 0.5 };
            for i in 0..=n {
                for j in 0..=(if k == 1 { 0 } else { n }) {
                    let mut x = vec![rest; DIMS];
                    x[0] = i as f64 / n as f64;
                    if k == 2 {
                        x[1] = j as f64 / n as f64;
                    }
                    pts.push(p.evaluate(&at(&x)).unwrap());
                }
            }
            let hv = p.hypervolume(&pts);
            let gap = p.optimal_hypervolume - hv;
            assert!(gap >= -1e-9, "{name}: {hv} above {}", p.optimal_hypervolume);
            // The grid's staircase misses a sliver of the front's volume.
            let tol = if k == 1 { 0.01 } else { 0.04 };
            assert!(gap < tol, "{name}: gap {gap}");
            // A point off the front is dominated by the front's hypervolume.
            let off = p.evaluate(&at(&[0.5, 0.5, 0.9, 0.9, 0.9, 0.9])).unwrap();
            let mut with = pts.clone();
            with.push(off);
            assert!((p.hypervolume(&with) - hv).abs() < 1e-9, "{name}");
        }
    }

    #[test]
    fn unknown_names_and_bad_parameters() {
        assert!(multi_problem_by_name("branin").is_none());
        let p = multi_problem_by_name("zdt1-6d").unwrap().unwrap();
        assert!(p.evaluate(&BTreeMap::new()).is_err());
        let mut bad = at(&[0.5; DIMS]);
        bad.insert("x3".into(), "text".into());
        assert!(p.evaluate(&bad).is_err());
    }
}

//! Observations in the GP's coordinates, kept incrementally, and the encoding of
//! parameters into the unit cube.
//!
//! Numeric parameters map through [`Distribution::to_unit`] (log scale for log
//! parameters; an integer sits at the centre of its cell); a categorical stores its
//! choice index. Discrete numeric parameters (ints, steps) are rounded by decoding to
//! the nearest level and encoding it again, so a rounded point has exactly the bits of
//! an observed one and re-proposals can be detected.
//!
//! Conditional parameters (declared with a condition on another parameter of the space)
//! are imputed where inactive: a trial that lacks one because its condition fails sits
//! at a fixed coordinate ([`INACTIVE`] for numbers, the first choice for categoricals),
//! and every proposal is put in the same canonical form before it is scored. So trials
//! of every branch inform the GP, two points that differ only in inactive coordinates
//! are the same point, and the acquisition never prefers a point for a coordinate the
//! objective will not see.

use std::collections::{BTreeMap, HashSet};

use crate::param::{Distribution, ParamValue};
use crate::space::{Condition, SearchSpace};
use crate::trial::{Direction, FrozenTrial, TrialState};
use crate::view::StudyView;

/// The encoding of one joint search space.
#[derive(Debug, Clone)]
pub struct Encoding {
    pub space: SearchSpace,
    pub dims: Vec<(String, Distribution)>,
    pub is_cat: Vec<bool>,
    /// Choices of categorical dimensions.
    pub levels: Vec<Option<usize>>,
    discrete: Vec<bool>,
    /// Per dimension: active only when the dimension `.0` takes one of the values `.1`.
    cond: Vec<Option<(usize, Vec<ParamValue>)>>,
    /// Dimensions in an order where every condition's parent comes before its child.
    order: Vec<usize>,
}

/// The unit coordinate of an inactive numeric parameter.
pub const INACTIVE: f64 = 0.5;

/// The exact inverse of `to_unit` for numeric distributions (no rounding).
fn from_unit_exact(dist: &Distribution, u: f64) -> f64 {
    match dist {
        Distribution::Float {
            low,
            high,
            log: true,
            ..
        } => (low.ln() + u * (high.ln() - low.ln())).exp(),
        Distribution::Float { low, high, .. } => low + u * (high - low),
        Distribution::Int {
            low,
            high,
            log: true,
            ..
        } => {
            let (a, b) = ((*low as f64 - 0.5).max(0.5).ln(), (*high as f64 + 0.5).ln());
            (a + u * (b - a)).exp()
        }
        Distribution::Int {
            low, high, step, ..
        } => {
            let n = ((high - low) / step + 1) as f64;
            *low as f64 + (u * n - 0.5) * *step as f64
        }
        Distribution::Categorical { .. } => u,
    }
}

impl Encoding {
    /// The encoding of `space`; `conditions` (by parameter name) mark its conditional
    /// parameters. A condition on a parameter outside the space is ignored (the
    /// parameter is then treated as always present).
    pub fn new(space: &SearchSpace, conditions: &BTreeMap<String, Condition>) -> Self {
        let dims: Vec<(String, Distribution)> =
            space.iter().map(|(n, d)| (n.clone(), d.clone())).collect();
        let index: BTreeMap<&str, usize> = dims
            .iter()
            .enumerate()
            .map(|(k, (n, _))| (n.as_str(), k))
            .collect();
        let cond: Vec<Option<(usize, Vec<ParamValue>)>> = dims
            .iter()
            .map(|(name, _)| {
                let c = conditions.get(name)?;
                let parent = *index.get(c.param.as_str())?;
                Some((parent, c.values.clone()))
            })
            .collect();
        // Depth in the condition forest (a cycle, which a validated declaration cannot
        // have, is cut at the number of dimensions).
        let depth = |mut k: usize| {
            let mut n = 0;
            while let Some((p, _)) = &cond[k] {
                if n > dims.len() {
                    break;
                }
                k = *p;
                n += 1;
            }
            n
        };
        let mut order: Vec<usize> = (0..dims.len()).collect();
        order.sort_by_key(|&k| depth(k));
        let is_cat = dims.iter().map(|(_, d)| d.is_categorical()).collect();
        let levels = dims
            .iter()
            .map(|(_, d)| match d {
                Distribution::Categorical { choices } => Some(choices.len()),
                _ => None,
            })
            .collect();
        let discrete = dims
            .iter()
            .map(|(_, d)| match d {
                Distribution::Float { step, .. } => step.is_some(),
                Distribution::Int { .. } => true,
                Distribution::Categorical { .. } => false,
            })
            .collect();
        Self {
            space: space.clone(),
            dims,
            is_cat,
            levels,
            discrete,
            cond,
            order,
        }
    }

    /// Which dimensions are discrete numbers (ints, steps).
    pub fn discrete(&self) -> &[bool] {
        &self.discrete
    }

    /// Whether any dimension is conditional.
    pub fn has_conditions(&self) -> bool {
        self.cond.iter().any(Option::is_some)
    }

    /// Which dimensions are active at `x` (whose parents must be finite where active).
    pub fn active(&self, x: &[f64]) -> Vec<bool> {
        let mut on = vec![true; self.d()];
        if !self.has_conditions() {
            return on;
        }
        for &k in &self.order {
            if let Some((p, values)) = &self.cond[k] {
                on[k] = on[*p] && {
                    let v = self.decode_one(*p, x[*p]);
                    values.iter().any(|c| c.same_as(&v))
                };
            }
        }
        on
    }

    /// Puts every inactive coordinate at its fixed imputed value.
    pub fn canonicalise(&self, x: &mut [f64]) {
        if !self.has_conditions() {
            return;
        }
        for (k, on) in self.active(x).into_iter().enumerate() {
            if !on {
                x[k] = if self.is_cat[k] { 0.0 } else { INACTIVE };
            }
        }
    }

    pub fn d(&self) -> usize {
        self.dims.len()
    }

    /// The trial's point, in canonical form, if it has every active parameter with the
    /// same distribution (a conditional parameter may be missing where its condition
    /// fails).
    pub fn encode(
        &self,
        params: &BTreeMap<String, ParamValue>,
        dists: &BTreeMap<String, Distribution>,
    ) -> Option<Vec<f64>> {
        let mut missing = false;
        let mut x = self
            .dims
            .iter()
            .enumerate()
            .map(|(k, (name, dist))| {
                if self.cond[k].is_some() && !params.contains_key(name) {
                    missing = true;
                    return Some(f64::NAN);
                }
                if dists.get(name) != Some(dist) {
                    return None;
                }
                let v = params.get(name)?;
                let u = if dist.is_categorical() {
                    dist.to_internal(v)?
                } else {
                    dist.to_unit(v)?
                };
                u.is_finite().then_some(u)
            })
            .collect::<Option<Vec<f64>>>()?;
        if missing {
            let on = self.active(&x);
            if x.iter().zip(&on).any(|(u, on)| *on && u.is_nan()) {
                return None; // an active parameter is missing
            }
        }
        self.canonicalise(&mut x);
        Some(x)
    }

    fn decode_one(&self, k: usize, u: f64) -> ParamValue {
        let dist = &self.dims[k].1;
        if dist.is_categorical() {
            return dist.to_external(u);
        }
        dist.to_external(from_unit_exact(dist, u.clamp(0.0, 1.0)))
    }

    pub fn decode(&self, x: &[f64]) -> BTreeMap<String, ParamValue> {
        (0..self.d())
            .map(|k| (self.dims[k].0.clone(), self.decode_one(k, x[k])))
            .collect()
    }

    /// Rounds discrete numeric coordinates onto their levels, then puts the point in
    /// canonical form (inactive coordinates at their imputed values).
    pub fn round(&self, x: &mut [f64]) {
        for k in 0..self.d() {
            if self.discrete[k] {
                let v = self.decode_one(k, x[k]);
                if let Some(u) = self.dims[k].1.to_unit(&v) {
                    x[k] = u;
                }
            }
        }
        self.canonicalise(x);
    }
}

/// One complete trial in the joint space.
#[derive(Debug, Clone)]
pub struct Obs {
    /// Losses (minimised), one per objective.
    pub loss: Vec<f64>,
    /// Constraint values (≤ 0 feasible), if the trial set any.
    pub constraints: Option<Vec<f64>>,
}

impl Obs {
    pub fn feasible(&self) -> bool {
        self.constraints
            .as_ref()
            .is_none_or(|c| c.iter().all(|v| *v <= 0.0))
    }
}

/// Complete trials of one joint space, in ingestion order.
#[derive(Debug)]
pub struct Store {
    pub enc: Encoding,
    /// `n × d`, row-major.
    pub x: Vec<f64>,
    pub obs: Vec<Obs>,
    pub keys: HashSet<Vec<u64>>,
    seen: HashSet<u64>,
    watermark: u64,
}

impl Store {
    pub fn new(space: &SearchSpace, conditions: &BTreeMap<String, Condition>) -> Self {
        Self {
            enc: Encoding::new(space, conditions),
            x: Vec::new(),
            obs: Vec::new(),
            keys: HashSet::new(),
            seen: HashSet::new(),
            watermark: 0,
        }
    }

    pub fn n(&self) -> usize {
        self.obs.len()
    }

    pub fn row(&self, i: usize) -> &[f64] {
        let d = self.enc.d();
        &self.x[i * d..(i + 1) * d]
    }

    /// Takes in the trials finished since the last call.
    pub fn refresh(&mut self, view: &StudyView<'_>) {
        let mut contiguous = true;
        let mut next = self.watermark;
        for t in view.trials_from(self.watermark) {
            if t.state.is_finished() {
                if !self.seen.contains(&t.number) {
                    self.ingest(view.directions(), t);
                }
                if contiguous && t.number == next {
                    next = t.number + 1;
                }
            } else {
                contiguous = false;
            }
        }
        self.watermark = next;
    }

    fn ingest(&mut self, dirs: &[Direction], t: &FrozenTrial) {
        self.seen.insert(t.number);
        if t.state != TrialState::Complete {
            return;
        }
        let Some(values) = &t.values else { return };
        if values.len() != dirs.len() || values.iter().any(|v| !v.is_finite()) {
            return;
        }
        let Some(x) = self.enc.encode(&t.params, &t.distributions) else {
            return;
        };
        let constraints = t.constraints().and_then(Result::ok);
        self.keys.insert(super::acqf::key(&x));
        self.x.extend_from_slice(&x);
        self.obs.push(Obs {
            loss: values
                .iter()
                .zip(dirs)
                .map(|(v, d)| d.to_loss(*v))
                .collect(),
            constraints,
        });
    }

    /// Points of running trials (other workers), for fantasies: those the storage
    /// shows, and those this sampler proposed for trials not yet finished (another
    /// thread may not have written them yet). Forgets proposals of finished trials.
    pub fn running(
        &self,
        view: &StudyView<'_>,
        current: u64,
        issued: &mut BTreeMap<u64, Vec<f64>>,
    ) -> Vec<Vec<f64>> {
        issued.retain(|n, _| view.trial(*n).is_none_or(|t| !t.state.is_finished()));
        let mut out: BTreeMap<u64, Vec<f64>> = view
            .trials_from(self.watermark)
            .filter(|t| t.state == TrialState::Running && t.number != current)
            .filter_map(|t| Some((t.number, self.enc.encode(&t.params, &t.distributions)?)))
            .collect();
        for (n, x) in issued.iter() {
            if *n != current {
                out.entry(*n).or_insert_with(|| x.clone());
            }
        }
        out.into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_round_decode_round_trips_every_kind() {
        let mut m = BTreeMap::new();
        m.insert("a".to_string(), Distribution::float(-1.0, 1.0));
        m.insert("b".to_string(), Distribution::float_log(1e-3, 1.0));
        m.insert("c".to_string(), Distribution::float_step(0.0, 1.0, 0.1));
        m.insert("d".to_string(), Distribution::int(1, 7));
        m.insert("e".to_string(), Distribution::int_log(1, 1000));
        m.insert("f".to_string(), Distribution::int_step(0, 30, 5));
        m.insert("g".to_string(), Distribution::categorical(["x", "y", "z"]));
        let enc = Encoding::new(&SearchSpace(m.clone()), &BTreeMap::new());
        for i in 0..50 {
            let u = i as f64 / 49.0;
            let mut x: Vec<f64> = enc
                .levels
                .iter()
                .map(|l| l.map_or(u, |c| ((u * c as f64).floor()).min(c as f64 - 1.0)))
                .collect();
            enc.round(&mut x);
            let p = enc.decode(&x);
            for (name, v) in &p {
                m[name].check_value(name, v).unwrap();
            }
            let back = enc.encode(&p, &m).unwrap();
            for k in 0..x.len() {
                if enc.discrete[k] || enc.is_cat[k] {
                    assert_eq!(back[k].to_bits(), x[k].to_bits(), "{k} at {u}");
                } else {
                    assert!((back[k] - x[k]).abs() < 1e-9);
                }
            }
        }
    }

    #[test]
    fn inactive_conditional_parameters_are_imputed_and_canonical() {
        use crate::space::SpaceDecl;
        // branch in {plain, tuned}; z only on tuned; w only when z's branch is on and
        // mode = fast (a nested condition through a categorical child).
        let decl = SpaceDecl::new()
            .param("branch", Distribution::categorical(["plain", "tuned"]))
            .unwrap()
            .param("x", Distribution::float(0.0, 1.0))
            .unwrap()
            .conditional_param(
                "z",
                Distribution::float(0.0, 10.0),
                "branch",
                vec!["tuned".into()],
            )
            .unwrap()
            .conditional_param(
                "mode",
                Distribution::categorical(["slow", "fast"]),
                "branch",
                vec!["tuned".into()],
            )
            .unwrap()
            .conditional_param("w", Distribution::int(1, 9), "mode", vec!["fast".into()])
            .unwrap();
        let conditions: BTreeMap<String, Condition> = decl
            .params
            .iter()
            .filter_map(|p| Some((p.name.clone(), p.condition.clone()?)))
            .collect();
        let space = decl.search_space();
        let enc = Encoding::new(&space, &conditions);
        assert!(enc.has_conditions());
        let dists = space.0.clone();
        let names: Vec<&str> = enc.dims.iter().map(|(n, _)| n.as_str()).collect();
        let at = |n: &str| names.iter().position(|m| *m == n).unwrap();
        let p = |pairs: &[(&str, ParamValue)]| -> BTreeMap<String, ParamValue> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect()
        };
        // A plain trial lacks z, mode and w: kept, at the imputed coordinates.
        let plain = enc
            .encode(&p(&[("branch", "plain".into()), ("x", 0.3.into())]), &dists)
            .expect("a trial of the plain branch is part of the GP's data");
        assert_eq!(plain[at("z")], INACTIVE);
        assert_eq!(plain[at("mode")], 0.0);
        assert_eq!(plain[at("w")], INACTIVE);
        assert_eq!(plain[at("x")], 0.3);
        // A tuned trial without z is incomplete: dropped.
        assert!(enc
            .encode(&p(&[("branch", "tuned".into()), ("x", 0.3.into())]), &dists)
            .is_none());
        // A tuned, slow trial lacks only w (nested condition fails).
        let slow = enc
            .encode(
                &p(&[
                    ("branch", "tuned".into()),
                    ("x", 0.3.into()),
                    ("z", 2.5.into()),
                    ("mode", "slow".into()),
                ]),
                &dists,
            )
            .unwrap();
        assert_eq!(slow[at("z")], 0.25);
        assert_eq!(slow[at("mode")], 0.0); // "slow" is choice 0
        assert_eq!(slow[at("w")], INACTIVE);
        // Values given for inactive parameters are ignored (canonical form).
        let extra = enc
            .encode(
                &p(&[
                    ("branch", "plain".into()),
                    ("x", 0.3.into()),
                    ("z", 7.0.into()),
                    ("mode", "fast".into()),
                    ("w", 4_i64.into()),
                ]),
                &dists,
            )
            .unwrap();
        assert_eq!(extra, plain);
        // Rounding a proposal canonicalises it; activity follows the parents.
        let mut y = vec![0.0; enc.d()];
        y[at("branch")] = 0.0;
        y[at("x")] = 0.3;
        y[at("z")] = 0.9;
        y[at("mode")] = 1.0;
        y[at("w")] = 0.1;
        enc.round(&mut y);
        assert_eq!(y, plain);
        y[at("branch")] = 1.0;
        y[at("z")] = 0.9;
        y[at("mode")] = 1.0;
        y[at("w")] = 0.1;
        let on = enc.active(&y);
        assert!(on.iter().all(|a| *a), "tuned and fast: everything active");
        enc.round(&mut y);
        assert_eq!(y[at("z")], 0.9);
        assert_ne!(y[at("w")], INACTIVE);
        // Without conditions nothing is imputed: the plain trial is incomplete.
        let plain_enc = Encoding::new(&space, &BTreeMap::new());
        assert!(!plain_enc.has_conditions());
        assert!(plain_enc
            .encode(&p(&[("branch", "plain".into()), ("x", 0.3.into())]), &dists)
            .is_none());
    }
}

//! Observations in the GP's coordinates, kept incrementally, and the encoding of
//! parameters into the unit cube.
//!
//! Numeric parameters map through [`Distribution::to_unit`] (log scale for log
//! parameters; an integer sits at the centre of its cell); a categorical stores its
//! choice index. Discrete numeric parameters (ints, steps) are rounded by decoding to
//! the nearest level and encoding it again, so a rounded point has exactly the bits of
//! an observed one and re-proposals can be detected.

use std::collections::{BTreeMap, HashSet};

use crate::param::{Distribution, ParamValue};
use crate::space::SearchSpace;
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
}

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
    pub fn new(space: &SearchSpace) -> Self {
        let dims: Vec<(String, Distribution)> =
            space.iter().map(|(n, d)| (n.clone(), d.clone())).collect();
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
        }
    }

    pub fn d(&self) -> usize {
        self.dims.len()
    }

    /// The trial's point, if it has every parameter with the same distribution.
    pub fn encode(
        &self,
        params: &BTreeMap<String, ParamValue>,
        dists: &BTreeMap<String, Distribution>,
    ) -> Option<Vec<f64>> {
        self.dims
            .iter()
            .map(|(name, dist)| {
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
            .collect()
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

    /// Rounds discrete numeric coordinates onto their levels.
    pub fn round(&self, x: &mut [f64]) {
        for k in 0..self.d() {
            if self.discrete[k] {
                let v = self.decode_one(k, x[k]);
                if let Some(u) = self.dims[k].1.to_unit(&v) {
                    x[k] = u;
                }
            }
        }
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
    pub fn new(space: &SearchSpace) -> Self {
        Self {
            enc: Encoding::new(space),
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
        let enc = Encoding::new(&SearchSpace(m.clone()));
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
}

//! NSGA-II (Deb, Pratap, Agarwal & Meyarivan 2002), after Optuna's `NSGAIISampler`;
//! with one objective, an elitist genetic algorithm for mixed spaces (`ga`).
//!
//! - **Generations** are derived from the view, so nothing has to be written to the
//!   storage: a generation closes as soon as `population_size` complete trials not yet
//!   in any generation are known; it takes the lowest-numbered ones. Pruned and failed
//!   trials are never members. With one worker, trials finish in number order, so
//!   generation *g* is complete trials `g·P .. (g+1)·P` in order; with several, a slow
//!   trial joins whichever generation is open when it finishes, instead of holding the
//!   next one back.
//! - **Survival** is elitist (μ+λ): the parents and the new generation are ranked
//!   together by Deb's constrained domination (feasible first by non-dominated sorting,
//!   then infeasible by total violation) and the best `population_size` survive, the
//!   last front cut by crowding distance.
//! - **Children**: binary tournament (rank, then crowding distance), crossover with
//!   probability `crossover_prob` (SBX in the unit cube for floats and ints, each
//!   variable with probability 1/2; a uniform pick between the parents for
//!   categoricals), then polynomial mutation (numbers) or random reset (categoricals),
//!   each parameter with probability `mutation_prob` (default 1/d).
//! - Until the first generation closes, and for parameters outside the intersection
//!   space of complete trials (conditional ones), values are drawn uniformly at random.
//! - **Parallel workers** simply breed more children of the latest closed generation.
//! - **Reproducible**: each child draws from the stream of `(seed, trial number)`.

use std::collections::BTreeMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::multi::{constrained_fronts, crowding_distance};
use super::{fresh_seed, seeded_uniform, trial_rng, Sampler, TrialContext};
use crate::error::{Error, Result};
use crate::param::{Distribution, ParamValue};
use crate::space::SearchSpace;
use crate::trial::{FrozenTrial, TrialState};
use crate::view::StudyView;

/// Builds an [`Nsga2Sampler`].
#[derive(Debug, Clone)]
pub struct Nsga2Builder {
    seed: Option<u64>,
    population_size: usize,
    crossover_prob: f64,
    mutation_prob: Option<f64>,
    eta_crossover: f64,
    eta_mutation: f64,
    name: &'static str,
    survival: Survival,
}

/// How the last front that does not fit is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Survival {
    /// NSGA-II: by crowding distance.
    Crowding,
    /// NSGA-III: by reference-point niching (`nsga3.rs`).
    ReferencePoints { divisions: Option<usize> },
}

impl Default for Nsga2Builder {
    fn default() -> Self {
        Self {
            seed: None,
            population_size: 50,
            crossover_prob: 0.9,
            mutation_prob: None,
            eta_crossover: 15.0,
            eta_mutation: 20.0,
            name: "nsga2",
            survival: Survival::Crowding,
        }
    }
}

impl Nsga2Builder {
    /// Seed of every random draw; `None` (default) takes one from the OS.
    pub fn seed(mut self, seed: Option<u64>) -> Self {
        self.seed = seed;
        self
    }
    /// Individuals per generation (default 50, at least 2).
    pub fn population_size(mut self, n: usize) -> Self {
        self.population_size = n;
        self
    }
    /// Probability that a child is bred by crossover (default 0.9).
    pub fn crossover_prob(mut self, p: f64) -> Self {
        self.crossover_prob = p;
        self
    }
    /// Per-parameter mutation probability (default `1/d` for `d` parameters).
    pub fn mutation_prob(mut self, p: Option<f64>) -> Self {
        self.mutation_prob = p;
        self
    }
    /// Distribution index of SBX (default 15; larger keeps children nearer parents).
    pub fn eta_crossover(mut self, eta: f64) -> Self {
        self.eta_crossover = eta;
        self
    }
    /// Distribution index of polynomial mutation (default 20).
    pub fn eta_mutation(mut self, eta: f64) -> Self {
        self.eta_mutation = eta;
        self
    }
    /// Report the name `ga` (the same algorithm, registered for single objectives).
    pub fn ga(mut self) -> Self {
        self.name = "ga";
        self
    }

    /// Reference-point survival (NSGA-III), named `nsga3`.
    pub(super) fn survival(mut self, s: Survival) -> Self {
        self.survival = s;
        if matches!(s, Survival::ReferencePoints { .. }) {
            self.name = "nsga3";
        }
        self
    }

    /// Checks the settings.
    pub fn build(self) -> Result<Nsga2Sampler> {
        let bad = |m: String| Err(Error::InvalidSampler(format!("{}: {m}", self.name)));
        if self.population_size < 2 {
            return bad(format!(
                "population_size must be at least 2, got {}",
                self.population_size
            ));
        }
        if !(0.0..=1.0).contains(&self.crossover_prob) {
            return bad(format!(
                "crossover_prob must be in [0, 1], got {}",
                self.crossover_prob
            ));
        }
        if let Some(p) = self.mutation_prob {
            if !(0.0..=1.0).contains(&p) {
                return bad(format!("mutation_prob must be in [0, 1], got {p}"));
            }
        }
        for (what, eta) in [
            ("eta_crossover", self.eta_crossover),
            ("eta_mutation", self.eta_mutation),
        ] {
            if !(eta.is_finite() && eta >= 0.0) {
                return bad(format!("{what} must be finite and >= 0, got {eta}"));
            }
        }
        Ok(Nsga2Sampler {
            seed: self.seed.unwrap_or_else(fresh_seed),
            cfg: self,
            state: State::default(),
        })
    }
}

/// One surviving individual.
#[derive(Debug, Clone)]
pub(super) struct Member {
    pub(super) number: u64,
    pub(super) loss: Vec<f64>,
    pub(super) violation: f64,
    pub(super) params: BTreeMap<String, ParamValue>,
    pub(super) distributions: BTreeMap<String, Distribution>,
    pub(super) rank: usize,
    pub(super) crowding: f64,
}

impl Member {
    fn of(view: &StudyView<'_>, t: &FrozenTrial) -> Option<Member> {
        let dirs = view.directions();
        let values = t.values.as_ref()?;
        if t.state != TrialState::Complete
            || values.len() != dirs.len()
            || values.iter().any(|v| !v.is_finite())
        {
            return None;
        }
        let violation = t.constraint_violation().unwrap_or(0.0);
        Some(Member {
            number: t.number,
            loss: values
                .iter()
                .zip(dirs)
                .map(|(v, d)| d.to_loss(*v))
                .collect(),
            violation,
            params: t.params.clone(),
            distributions: t.distributions.clone(),
            rank: 0,
            crowding: 0.0,
        })
    }

    /// The parameter in the unit cube, if this member has it with `dist`.
    fn unit(&self, name: &str, dist: &Distribution) -> Option<f64> {
        if self.distributions.get(name) != Some(dist) {
            return None;
        }
        dist.to_unit(self.params.get(name)?)
            .map(|u| u.clamp(0.0, 1.0))
    }
}

/// Generation bookkeeping, derived from the view (see the module documentation).
#[derive(Debug, Default)]
struct State {
    parents: Vec<Member>,
    generation: u64,
    /// Every trial numbered below this is finished and, if complete, in a generation.
    watermark: u64,
    /// Complete trials at or past the watermark already in a generation.
    consumed: std::collections::BTreeSet<u64>,
}

/// NSGA-II / elitist GA. Build with [`Nsga2Sampler::builder`].
#[derive(Debug)]
pub struct Nsga2Sampler {
    seed: u64,
    cfg: Nsga2Builder,
    state: State,
}

impl Nsga2Sampler {
    pub fn builder() -> Nsga2Builder {
        Nsga2Builder::default()
    }
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// Generations closed so far (0 while the first is being evaluated).
    pub fn generation(&self) -> u64 {
        self.state.generation
    }

    /// Closes every generation the view completes.
    fn refresh(&mut self, view: &StudyView<'_>) {
        let pop = self.cfg.population_size;
        let st = &mut self.state;
        loop {
            let block: Vec<&FrozenTrial> = view
                .trials_from(st.watermark)
                .filter(|t| t.state == TrialState::Complete && !st.consumed.contains(&t.number))
                .take(pop)
                .collect();
            if block.len() < pop {
                break;
            }
            st.consumed.extend(block.iter().map(|t| t.number));
            let mut pool = std::mem::take(&mut st.parents);
            pool.extend(block.into_iter().filter_map(|t| Member::of(view, t)));
            st.parents = match self.cfg.survival {
                Survival::Crowding => survive(pool, pop),
                Survival::ReferencePoints { divisions } => {
                    super::nsga3::survive(pool, pop, divisions, self.seed, st.generation)
                }
            };
            st.generation += 1;
        }
        // Advance past trials that can no longer join a generation.
        while let Some(t) = view.trial(st.watermark) {
            let done = match t.state {
                TrialState::Complete => st.consumed.remove(&t.number),
                s => s.is_finished(),
            };
            if !done {
                break;
            }
            st.watermark += 1;
        }
    }

    /// Binary tournament: lower rank, then larger crowding distance, then a coin.
    fn tournament(&self, rng: &mut ChaCha8Rng) -> usize {
        let n = self.state.parents.len();
        let (a, b) = (rng.random_range(0..n), rng.random_range(0..n));
        let (pa, pb) = (&self.state.parents[a], &self.state.parents[b]);
        match pa
            .rank
            .cmp(&pb.rank)
            .then(pb.crowding.total_cmp(&pa.crowding))
        {
            std::cmp::Ordering::Less => a,
            std::cmp::Ordering::Greater => b,
            std::cmp::Ordering::Equal => {
                if rng.random::<bool>() {
                    a
                } else {
                    b
                }
            }
        }
    }
}

/// Elitist survival: rank `pool` by constrained domination, keep the best `n`, cutting
/// the last front by crowding distance (ties: older trial first).
fn survive(pool: Vec<Member>, n: usize) -> Vec<Member> {
    let pts: Vec<&[f64]> = pool.iter().map(|m| m.loss.as_slice()).collect();
    let viol: Vec<f64> = pool.iter().map(|m| m.violation).collect();
    let mut keep: Vec<(usize, usize, f64)> = Vec::with_capacity(n);
    for (rank, front) in constrained_fronts(&pts, &viol).into_iter().enumerate() {
        if keep.len() >= n {
            break;
        }
        let fp: Vec<&[f64]> = front.iter().map(|&i| pts[i]).collect();
        let cd = crowding_distance(&fp);
        let mut order: Vec<usize> = (0..front.len()).collect();
        order.sort_by(|&a, &b| {
            cd[b]
                .total_cmp(&cd[a])
                .then(pool[front[a]].number.cmp(&pool[front[b]].number))
        });
        for j in order.into_iter().take(n - keep.len()) {
            keep.push((front[j], rank, cd[j]));
        }
    }
    let mut slots: Vec<Option<Member>> = pool.into_iter().map(Some).collect();
    keep.into_iter()
        .filter_map(|(i, rank, crowding)| {
            let mut m = slots[i].take()?;
            m.rank = rank;
            m.crowding = crowding;
            Some(m)
        })
        .collect()
}

/// Bounded simulated binary crossover on `[0, 1]` (Deb & Agrawal 1995): two children.
fn sbx(x1: f64, x2: f64, eta: f64, u: f64) -> (f64, f64) {
    let (y1, y2) = if x1 <= x2 { (x1, x2) } else { (x2, x1) };
    let d = y2 - y1;
    if d < 1e-14 {
        return (x1, x2);
    }
    let betaq = |beta: f64| {
        let alpha = 2.0 - beta.powf(-(eta + 1.0));
        if u <= 1.0 / alpha {
            (u * alpha).powf(1.0 / (eta + 1.0))
        } else {
            (1.0 / (2.0 - u * alpha)).powf(1.0 / (eta + 1.0))
        }
    };
    let c1 = 0.5 * ((y1 + y2) - betaq(1.0 + 2.0 * y1 / d) * d);
    let c2 = 0.5 * ((y1 + y2) + betaq(1.0 + 2.0 * (1.0 - y2) / d) * d);
    (c1.clamp(0.0, 1.0), c2.clamp(0.0, 1.0))
}

/// Bounded polynomial mutation on `[0, 1]` (Deb & Goyal 1996).
fn polynomial_mutation(y: f64, eta: f64, u: f64) -> f64 {
    let pow = 1.0 / (eta + 1.0);
    let dq = if u < 0.5 {
        let v = 2.0 * u + (1.0 - 2.0 * u) * (1.0 - y).powf(eta + 1.0);
        v.powf(pow) - 1.0
    } else {
        let v = 2.0 * (1.0 - u) + 2.0 * (u - 0.5) * y.powf(eta + 1.0);
        1.0 - v.powf(pow)
    };
    (y + dq).clamp(0.0, 1.0)
}

impl Sampler for Nsga2Sampler {
    fn name(&self) -> &str {
        self.cfg.name
    }

    fn infer_relative_search_space(
        &mut self,
        view: &StudyView<'_>,
        _trial: &TrialContext,
    ) -> SearchSpace {
        self.refresh(view);
        if self.state.parents.is_empty() {
            return SearchSpace::default();
        }
        view.intersection_space()
    }

    fn sample_relative(
        &mut self,
        _view: &StudyView<'_>,
        trial: &TrialContext,
        space: &SearchSpace,
    ) -> Result<BTreeMap<String, ParamValue>> {
        if self.state.parents.is_empty() || space.is_empty() {
            return Ok(BTreeMap::new());
        }
        let mut rng = trial_rng(self.seed, trial.number, "\u{0}nsga2");
        let a = self.tournament(&mut rng);
        let mut b = self.tournament(&mut rng);
        for _ in 0..4 {
            if b != a {
                break;
            }
            b = self.tournament(&mut rng);
        }
        let (p1, p2) = (&self.state.parents[a], &self.state.parents[b]);
        let cross = rng.random::<f64>() < self.cfg.crossover_prob;
        let pm = self.cfg.mutation_prob.unwrap_or(1.0 / space.len() as f64);
        let mut out = BTreeMap::new();
        for (name, dist) in space.iter() {
            let (Some(x1), Some(x2)) = (p1.unit(name, dist), p2.unit(name, dist)) else {
                continue; // falls back to independent (random) sampling
            };
            let (r_cross, r_pick, r_mut, r_val): (f64, f64, f64, f64) =
                (rng.random(), rng.random(), rng.random(), rng.random());
            let u = if dist.is_categorical() {
                let x = if cross && r_pick < 0.5 { x2 } else { x1 };
                if r_mut < pm {
                    r_val
                } else {
                    x
                }
            } else {
                let x = if cross && r_cross < 0.5 {
                    let (c1, c2) = sbx(x1, x2, self.cfg.eta_crossover, rng.random());
                    if r_pick < 0.5 {
                        c1
                    } else {
                        c2
                    }
                } else {
                    x1
                };
                if r_mut < pm {
                    polynomial_mutation(x, self.cfg.eta_mutation, r_val)
                } else {
                    x
                }
            };
            out.insert(name.clone(), dist.from_unit(u));
        }
        Ok(out)
    }

    fn sample_independent(
        &mut self,
        _view: &StudyView<'_>,
        trial: &TrialContext,
        name: &str,
        distribution: &Distribution,
    ) -> Result<ParamValue> {
        Ok(seeded_uniform(self.seed, trial, name, distribution))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_stay_in_the_unit_interval() {
        let mut rng = trial_rng(1, 0, "t");
        for _ in 0..2000 {
            let (a, b): (f64, f64) = (rng.random(), rng.random());
            let (c1, c2) = sbx(a, b, 15.0, rng.random());
            assert!((0.0..=1.0).contains(&c1) && (0.0..=1.0).contains(&c2));
            let m = polynomial_mutation(a, 20.0, rng.random());
            assert!((0.0..=1.0).contains(&m));
        }
        // SBX children are symmetric around the parents' mean away from bounds.
        let (c1, c2) = sbx(0.4, 0.6, 15.0, 0.3);
        assert!((c1 + c2 - 1.0).abs() < 1e-12, "{c1} {c2}");
    }

    #[test]
    fn bad_settings_are_clear_errors() {
        let e = Nsga2Sampler::builder()
            .population_size(1)
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("population_size"), "{e}");
        let e = Nsga2Sampler::builder()
            .crossover_prob(1.5)
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("crossover_prob"), "{e}");
        assert!(Nsga2Sampler::builder()
            .eta_mutation(f64::NAN)
            .build()
            .is_err());
    }
}

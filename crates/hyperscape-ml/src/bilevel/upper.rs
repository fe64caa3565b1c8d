//! The global phase of GBHO: a model of the UPPER-level value `F(w*(λ))` — the
//! validation loss of the model retrained at λ — over every λ that has been trained
//! from scratch, and its expected-improvement maximiser as the next global proposal.
//!
//! The value-function GP ([`super::gp`]) models φ(λ), which says where the constraint
//! `f ≤ φ` lies but nothing about where F is low; the augmented Lagrangian then only
//! moves λ locally. This second model is the one that points to promising regions.
//! It is not new GP code: it drives hyperscape-core's [`GpSampler`] (Matérn-5/2 ARD GP
//! with MAP hyperparameters and a fitted noise term, log-EI maximised over Sobol
//! candidates and L-BFGS) through an in-memory [`Study`], with every retrained λ told
//! to the study as a completed trial (enqueued with its fixed λ, then told its F).

use std::collections::BTreeMap;

use hyperscape_core::{
    Distribution, GpSampler, ParamValue, SearchSpace, Study, Trial, TrialResult, TrialState,
};

use crate::error::{Error, Result};

/// GP-EI over `[lo, hi]^d` on observed upper-level values (lower is better).
pub struct UpperBo {
    study: Study,
    names: Vec<String>,
    lo: f64,
    hi: f64,
    /// A proposal not yet observed: its trial and λ.
    pending: Option<(Trial, Vec<f64>)>,
}

impl UpperBo {
    /// An empty model over `[lo, hi]^d`; `seed` drives the acquisition's candidates.
    pub fn new(d: usize, lo: f64, hi: f64, seed: u64) -> Result<Self> {
        if d == 0 || lo.is_nan() || hi.is_nan() || lo >= hi {
            return Err(Error::Invalid(format!(
                "upper-level GP: need d >= 1 and lo < hi (got d {d}, [{lo}, {hi}])"
            )));
        }
        let names: Vec<String> = (0..d).map(|i| format!("lambda_{i}")).collect();
        let mut space = SearchSpace::new();
        for n in &names {
            space = space.add(n, Distribution::float(lo, hi))?;
        }
        // No quasi-random startup: the GBHO design is told before the first proposal.
        let sampler = GpSampler::builder()
            .seed(Some(seed))
            .n_startup_trials(0)
            .build()?;
        let study = Study::builder("gbho-upper")
            .sampler(sampler)
            .space(space)
            .build()?;
        Ok(Self {
            study,
            names,
            lo,
            hi,
            pending: None,
        })
    }

    /// How many λ have been observed.
    pub fn n(&self) -> Result<usize> {
        Ok(self.study.trials_with_state(TrialState::Complete)?.len())
    }

    fn read(&self, trial: &mut Trial) -> Result<Vec<f64>> {
        Ok(self
            .names
            .iter()
            .map(|n| trial.suggest_float(n, self.lo, self.hi))
            .collect::<hyperscape_core::Result<Vec<f64>>>()?)
    }

    /// Records `F(w*(λ)) = value`. A λ returned by [`Self::propose`] completes that
    /// proposal's trial; any other λ is added as a new completed trial.
    pub fn observe(&mut self, lambda: &[f64], value: f64) -> Result<()> {
        if lambda.len() != self.names.len() || !value.is_finite() {
            return Err(Error::Invalid(format!(
                "upper-level GP: a point of dimension {} with a finite value expected \
                 (got {lambda:?}, {value})",
                self.names.len()
            )));
        }
        if let Some((trial, lam)) = self.pending.take() {
            if lam == lambda {
                self.study.tell_values(trial, value)?;
                return Ok(());
            }
            // Superseded proposal: it was never trained, so it leaves the model.
            self.study
                .tell(trial, TrialResult::Failed("superseded".into()))?;
        }
        let params: BTreeMap<String, ParamValue> = self
            .names
            .iter()
            .zip(lambda)
            .map(|(n, &v)| (n.clone(), ParamValue::Float(v.clamp(self.lo, self.hi))))
            .collect();
        self.study.enqueue_trial(params)?;
        let mut trial = self.study.ask()?;
        self.read(&mut trial)?;
        self.study.tell_values(trial, value)?;
        Ok(())
    }

    /// The maximiser of the expected improvement over the best observed value (needs
    /// two observations; with fewer the sampler answers with a quasi-random point).
    pub fn propose(&mut self) -> Result<Vec<f64>> {
        if let Some((trial, _)) = self.pending.take() {
            self.study
                .tell(trial, TrialResult::Failed("superseded".into()))?;
        }
        let mut trial = self.study.ask()?;
        let lam = self.read(&mut trial)?;
        self.pending = Some((trial, lam.clone()));
        Ok(lam)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proposes_the_expected_improvement_maximiser_on_a_toy() {
        // F(λ) = (λ + 3)² on [-10, 0], observed away from its minimum: the best point
        // seen is -4.5 (F = 2.25) and -1.5 (F = 2.25); EI peaks between them, near -3.
        let f = |l: f64| (l + 3.0).powi(2);
        let mut bo = UpperBo::new(1, -10.0, 0.0, 3).unwrap();
        for l in [-10.0, -8.0, -6.0, -4.5, -1.5, 0.0] {
            bo.observe(&[l], f(l)).unwrap();
        }
        assert_eq!(bo.n().unwrap(), 6);
        let p = bo.propose().unwrap();
        assert_eq!(p.len(), 1);
        assert!((p[0] + 3.0).abs() < 0.75, "proposal {p:?}");
        // Completing the proposal adds it; a second proposal moves on (it is closer
        // still, or explores), and is reproducible with the seed.
        bo.observe(&p, f(p[0])).unwrap();
        assert_eq!(bo.n().unwrap(), 7);
        let q = bo.propose().unwrap();
        let mut again = UpperBo::new(1, -10.0, 0.0, 3).unwrap();
        for l in [-10.0, -8.0, -6.0, -4.5, -1.5, 0.0] {
            again.observe(&[l], f(l)).unwrap();
        }
        let p2 = again.propose().unwrap();
        again.observe(&p2, f(p2[0])).unwrap();
        assert_eq!(p, p2);
        assert_eq!(q, again.propose().unwrap());
    }

    #[test]
    fn proposes_in_two_dimensions_near_the_corner_optimum() {
        // F is lowest at the corner (0, 0) of [-10, 0]²; the observations bracket it.
        let f = |l: &[f64]| 0.5 + 0.04 * (l[0] * l[0] + 0.3 * l[1] * l[1]);
        let mut bo = UpperBo::new(2, -10.0, 0.0, 1).unwrap();
        for p in [
            [-10.0, -10.0],
            [-10.0, 0.0],
            [0.0, -10.0],
            [-5.0, -5.0],
            [-2.0, -7.0],
            [-7.0, -2.0],
            [-1.5, -1.0],
        ] {
            bo.observe(&p, f(&p)).unwrap();
        }
        let p = bo.propose().unwrap();
        assert!(p[0] > -2.5 && p[1] > -4.0, "proposal {p:?}");
    }

    #[test]
    fn rejects_bad_input() {
        assert!(UpperBo::new(0, -1.0, 0.0, 0).is_err());
        assert!(UpperBo::new(1, 0.0, -1.0, 0).is_err());
        let mut bo = UpperBo::new(2, -1.0, 0.0, 0).unwrap();
        assert!(bo.observe(&[0.0], 1.0).is_err());
        assert!(bo.observe(&[0.0, 0.0], f64::NAN).is_err());
    }
}

//! The handle an objective uses to ask for parameters and report progress.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::StudyInner;
use crate::error::{Error, Result};
use crate::param::{Distribution, ParamValue};
use crate::pruner::PruneContext;
use crate::sampler::TrialContext;
use crate::space::{SearchSpace, SpaceDecl};
use crate::trial::FrozenTrial;

/// A running trial. Parameters are asked for while the objective runs
/// (define-by-run), so a parameter that exists only under one branch just works.
pub struct Trial {
    inner: Arc<StudyInner>,
    id: i64,
    number: u64,
    params: BTreeMap<String, ParamValue>,
    distributions: BTreeMap<String, Distribution>,
    intermediate: BTreeMap<u64, f64>,
    fixed: BTreeMap<String, ParamValue>,
    relative_space: SearchSpace,
    relative: BTreeMap<String, ParamValue>,
    told: bool,
}

impl std::fmt::Debug for Trial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trial")
            .field("number", &self.number)
            .field("params", &self.params)
            .finish()
    }
}

impl Trial {
    pub(crate) fn new(
        inner: Arc<StudyInner>,
        frozen: FrozenTrial,
        fixed: BTreeMap<String, ParamValue>,
        relative_space: SearchSpace,
        relative: BTreeMap<String, ParamValue>,
    ) -> Self {
        Self {
            inner,
            id: frozen.id,
            number: frozen.number,
            params: frozen.params,
            distributions: frozen.distributions,
            intermediate: frozen.intermediate_values,
            fixed,
            relative_space,
            relative,
            told: false,
        }
    }

    /// Number of the trial within its study.
    pub fn number(&self) -> u64 {
        self.number
    }
    /// Storage-wide id.
    pub fn id(&self) -> i64 {
        self.id
    }
    /// Parameters suggested so far.
    pub fn params(&self) -> &BTreeMap<String, ParamValue> {
        &self.params
    }
    pub fn distributions(&self) -> &BTreeMap<String, Distribution> {
        &self.distributions
    }
    /// Parameters fixed in advance (enqueued trials, grid points, retries).
    pub fn fixed_params(&self) -> &BTreeMap<String, ParamValue> {
        &self.fixed
    }
    pub fn study_name(&self) -> &str {
        &self.inner.record.name
    }

    pub(crate) fn mark_told(mut self) {
        self.told = true;
    }

    /// Asks for a value of `name` drawn from `distribution`.
    ///
    /// Asking again for the same name in the same trial returns the same value. A name
    /// keeps one kind of distribution across the study ([`Error::IncompatibleDistribution`]).
    pub fn suggest(&mut self, name: &str, distribution: Distribution) -> Result<ParamValue> {
        let dist = distribution.validate(name)?;
        if let Some(prev) = self.distributions.get(name) {
            if *prev != dist {
                return Err(Error::IncompatibleDistribution {
                    name: name.to_string(),
                    previous: Box::new(prev.clone()),
                    new: Box::new(dist),
                });
            }
            return Ok(self.params[name].clone());
        }
        let known = self
            .inner
            .with_view(|v| v.known_distribution(name).cloned());
        if let Some(prev) = known {
            if !prev.is_compatible(&dist) {
                return Err(Error::IncompatibleDistribution {
                    name: name.to_string(),
                    previous: Box::new(prev),
                    new: Box::new(dist),
                });
            }
        }
        let value = if let Some(v) = self.fixed.get(name) {
            dist.check_value(name, v)?
        } else if let Some(v) = self
            .relative
            .get(name)
            .filter(|_| self.relative_space.get(name) == Some(&dist))
        {
            v.clone()
        } else {
            let ctx = TrialContext {
                id: self.id,
                number: self.number,
            };
            let mut sampler = self.inner.sampler();
            let v = self
                .inner
                .with_view(|view| sampler.sample_independent(view, &ctx, name, &dist))?;
            dist.check_value(name, &v)?
        };
        self.inner
            .storage
            .set_trial_param(self.id, name, &dist, &value)?;
        self.params.insert(name.to_string(), value.clone());
        self.distributions.insert(name.to_string(), dist);
        Ok(value)
    }

    /// A float uniform in `[low, high)`.
    pub fn suggest_float(&mut self, name: &str, low: f64, high: f64) -> Result<f64> {
        self.float(name, Distribution::float(low, high))
    }
    /// A float log-uniform in `[low, high)`.
    pub fn suggest_float_log(&mut self, name: &str, low: f64, high: f64) -> Result<f64> {
        self.float(name, Distribution::float_log(low, high))
    }
    /// A float on the grid `low, low + step, ..., high`.
    pub fn suggest_float_step(
        &mut self,
        name: &str,
        low: f64,
        high: f64,
        step: f64,
    ) -> Result<f64> {
        self.float(name, Distribution::float_step(low, high, step))
    }
    /// An integer in `[low, high]`.
    pub fn suggest_int(&mut self, name: &str, low: i64, high: i64) -> Result<i64> {
        self.int(name, Distribution::int(low, high))
    }
    /// An integer log-uniform in `[low, high]`.
    pub fn suggest_int_log(&mut self, name: &str, low: i64, high: i64) -> Result<i64> {
        self.int(name, Distribution::int_log(low, high))
    }
    /// An integer on the grid `low, low + step, ..., high`.
    pub fn suggest_int_step(&mut self, name: &str, low: i64, high: i64, step: i64) -> Result<i64> {
        self.int(name, Distribution::int_step(low, high, step))
    }
    /// One of `choices` (strings, numbers or bools).
    pub fn suggest_categorical<T: Into<ParamValue>>(
        &mut self,
        name: &str,
        choices: impl IntoIterator<Item = T>,
    ) -> Result<ParamValue> {
        self.suggest(name, Distribution::categorical(choices))
    }
    /// A bool.
    pub fn suggest_bool(&mut self, name: &str) -> Result<bool> {
        Ok(self
            .suggest(name, Distribution::categorical([false, true]))?
            .as_bool()
            .expect("bool choices"))
    }

    fn float(&mut self, name: &str, d: Distribution) -> Result<f64> {
        Ok(self.suggest(name, d)?.as_f64().expect("float distribution"))
    }
    fn int(&mut self, name: &str, d: Distribution) -> Result<i64> {
        Ok(self.suggest(name, d)?.as_i64().expect("int distribution"))
    }

    /// Suggests every active parameter of a declared space, in order, honouring
    /// conditions; returns the configuration.
    pub fn suggest_space(&mut self, space: &SpaceDecl) -> Result<BTreeMap<String, ParamValue>> {
        let mut out = BTreeMap::new();
        for p in &space.params {
            if SpaceDecl::is_active(p, &out) {
                let v = self.suggest(&p.name, p.distribution.clone())?;
                out.insert(p.name.clone(), v);
            }
        }
        Ok(out)
    }

    /// Records an intermediate value and asks the pruner whether to stop.
    /// Returns [`Error::Pruned`] when the trial should stop: propagate it with `?`.
    pub fn report(&mut self, step: u64, value: f64) -> Result<()> {
        if !value.is_finite() {
            return Err(Error::InvalidObjectiveValue(format!(
                "intermediate value at step {step} is not finite ({value})"
            )));
        }
        self.inner
            .storage
            .report_intermediate(self.id, step, value)?;
        self.intermediate.insert(step, value);
        if self.should_prune_at(step) {
            return Err(Error::Pruned { step });
        }
        Ok(())
    }

    /// Whether the pruner would stop this trial now.
    pub fn should_prune(&self) -> bool {
        match self.intermediate.keys().next_back() {
            Some(&step) => self.should_prune_at(step),
            None => false,
        }
    }

    fn should_prune_at(&self, step: u64) -> bool {
        let ctx = PruneContext {
            number: self.number,
            step,
            intermediate_values: &self.intermediate,
        };
        self.inner
            .with_view(|view| self.inner.pruner.should_prune(view, &ctx))
    }

    /// Intermediate values reported so far.
    pub fn intermediate_values(&self) -> &BTreeMap<u64, f64> {
        &self.intermediate
    }

    /// Reports constraint values for this trial: one number per constraint, `<= 0`
    /// meaning satisfied (Optuna's convention). Stored as the system attribute
    /// [`CONSTRAINTS_ATTR`](crate::trial::CONSTRAINTS_ATTR); constraint-aware samplers
    /// (TPE) prefer feasible trials and rank infeasible ones by total violation.
    /// Non-finite values are rejected.
    pub fn set_constraints(&mut self, values: &[f64]) -> Result<()> {
        if let Some(x) = values.iter().find(|x| !x.is_finite()) {
            return Err(Error::InvalidObjectiveValue(format!(
                "constraint values must be finite, got {x}"
            )));
        }
        self.inner.storage.set_trial_system_attr(
            self.id,
            crate::trial::CONSTRAINTS_ATTR,
            serde_json::json!(values),
        )
    }

    /// Stores a user attribute (any JSON value).
    pub fn set_user_attr(&mut self, key: &str, value: impl Into<serde_json::Value>) -> Result<()> {
        self.inner
            .storage
            .set_trial_user_attr(self.id, key, value.into())
    }
}

impl Drop for Trial {
    fn drop(&mut self) {
        if !self.told {
            // Left running: stop its heartbeat so stale-trial recovery can reclaim it.
            self.inner
                .running
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&self.id);
        }
    }
}

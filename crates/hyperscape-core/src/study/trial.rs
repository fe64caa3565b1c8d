//! The handle an objective uses to ask for parameters and report progress.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::StudyInner;
use crate::error::{Error, Result};
use crate::param::{Distribution, ParamValue};
use crate::pruner::{PruneContext, BUDGET_ATTR, INTERMEDIATE_VECTORS_ATTR};
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
    vectors: BTreeMap<u64, Vec<f64>>,
    system_attrs: BTreeMap<String, serde_json::Value>,
    bracket: Option<u32>,
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
        let bracket = crate::view::trial_bracket(&frozen);
        let vectors = frozen
            .system_attrs
            .get(INTERMEDIATE_VECTORS_ATTR)
            .and_then(|v| serde_json::from_value::<BTreeMap<String, Vec<f64>>>(v.clone()).ok())
            .map(|m| {
                m.into_iter()
                    .filter_map(|(k, v)| Some((k.parse().ok()?, v)))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            inner,
            id: frozen.id,
            number: frozen.number,
            params: frozen.params,
            distributions: frozen.distributions,
            intermediate: frozen.intermediate_values,
            vectors,
            system_attrs: frozen.system_attrs,
            bracket,
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
    /// The bracket (partition) the pruner assigned this trial at ask time, if any.
    pub fn bracket(&self) -> Option<u32> {
        self.bracket
    }
    /// The budget (largest step) the pruner gave this trial at ask time, if any.
    pub fn budget(&self) -> Option<u64> {
        self.system_attrs.get(BUDGET_ATTR).and_then(|v| v.as_u64())
    }

    /// The budget this trial's checkpoint was trained to before it started: its
    /// parent's budget for a promoted trial or a PBT member's next interval, `None`
    /// (start from scratch) otherwise. Train from `previous_budget` to
    /// [`budget`](Self::budget), resuming from [`checkpoint_dir`](Self::checkpoint_dir).
    pub fn previous_budget(&self) -> Option<u64> {
        self.system_attrs
            .get(crate::scheduler::PREVIOUS_BUDGET_ATTR)
            .and_then(|v| v.as_u64())
    }
    /// The trial this one continues (a promotion's parent, the PBT member whose
    /// checkpoint it starts from), if any.
    pub fn parent(&self) -> Option<u64> {
        self.system_attrs
            .get(crate::scheduler::PARENT_ATTR)
            .and_then(|v| v.as_u64())
    }
    /// This trial's checkpoint directory, when the study has a checkpoint root
    /// (`StudyBuilder::checkpoint_root`). It exists when the objective starts, and
    /// holds a copy of the parent's checkpoint for a promoted trial or a PBT exploit.
    pub fn checkpoint_dir(&self) -> Option<std::path::PathBuf> {
        self.system_attrs
            .get(crate::scheduler::CHECKPOINT_DIR_ATTR)
            .and_then(|v| v.as_str())
            .map(std::path::PathBuf::from)
    }
    /// A system attribute of this trial (as stored at ask time, plus this process's
    /// pruner records).
    pub fn system_attr(&self, key: &str) -> Option<&serde_json::Value> {
        self.system_attrs.get(key)
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
            let v = self.inner.with_bracket_view(self.bracket, |view| {
                sampler.sample_independent(view, &ctx, name, &dist)
            })?;
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
        self.judge(step)
    }

    /// Records an intermediate vector (one value per objective) of a multi-objective
    /// trial, as the system attribute
    /// [`INTERMEDIATE_VECTORS_ATTR`](crate::pruner::INTERMEDIATE_VECTORS_ATTR), and asks
    /// the pruner whether to stop (see [`report`](Self::report)).
    pub fn report_values(&mut self, step: u64, values: &[f64]) -> Result<()> {
        let n = self.inner.record.directions.len();
        if values.len() != n {
            return Err(Error::InvalidObjectiveValue(format!(
                "intermediate values at step {step}: got {} value(s), the study has {n} objective(s)",
                values.len()
            )));
        }
        if let Some(x) = values.iter().find(|x| !x.is_finite()) {
            return Err(Error::InvalidObjectiveValue(format!(
                "intermediate value at step {step} is not finite ({x})"
            )));
        }
        if n == 1 {
            return self.report(step, values[0]);
        }
        self.vectors.insert(step, values.to_vec());
        let map: serde_json::Map<String, serde_json::Value> = self
            .vectors
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
            .collect();
        let json = serde_json::Value::Object(map);
        self.inner.storage.set_trial_system_attr(
            self.id,
            INTERMEDIATE_VECTORS_ATTR,
            json.clone(),
        )?;
        self.system_attrs
            .insert(INTERMEDIATE_VECTORS_ATTR.to_string(), json);
        self.judge(step)
    }

    fn judge(&mut self, step: u64) -> Result<()> {
        if self.decide(step)? {
            return Err(Error::Pruned { step });
        }
        Ok(())
    }

    /// Whether the pruner would stop this trial now (its decision's records, such as
    /// completed rungs, are stored).
    pub fn should_prune(&mut self) -> Result<bool> {
        let last = self.intermediate.keys().next_back().copied();
        let last_vec = self.vectors.keys().next_back().copied();
        match last.max(last_vec) {
            Some(step) => self.decide(step),
            None => Ok(false),
        }
    }

    /// Asks the pruner, against a fresh view filtered to this trial's bracket, and
    /// stores the records its decision carries.
    fn decide(&mut self, step: u64) -> Result<bool> {
        // Peers running in other threads or processes may have reported since the ask;
        // a pruner that judges the trial alone needs no fresh view.
        if self.inner.pruner.judges_against_peers() {
            self.inner.refresh()?;
        }
        let ctx = PruneContext {
            number: self.number,
            step,
            intermediate_values: &self.intermediate,
            intermediate_vectors: &self.vectors,
            system_attrs: &self.system_attrs,
            bracket: self.bracket,
        };
        let decision = self
            .inner
            .with_bracket_view(self.bracket, |view| self.inner.pruner.decide(view, &ctx))?;
        for (key, value) in decision.records.iter() {
            self.inner
                .storage
                .set_trial_system_attr(self.id, key, value.clone())?;
            self.system_attrs.insert(key.clone(), value.clone());
        }
        Ok(decision.is_prune())
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

//! In-memory storage: fast, process-local, gone when the process exits.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;
use std::sync::Mutex;
use std::time::Duration;

use chrono::Utc;

use super::{util, Storage, StudyId, StudyRecord, StudySummary, TrialDelta, TrialId};
use crate::error::{Error, Result};
use crate::param::{Distribution, ParamValue};
use crate::trial::{Direction, FrozenTrial, NewTrial, TrialResult, TrialState, FIXED_PARAMS_ATTR};

#[derive(Debug, Default)]
struct MemStudy {
    record: Option<StudyRecord>,
    trials: Vec<FrozenTrial>,
    /// Sequence number of the last change of each trial (same index as `trials`).
    trial_seq: Vec<u64>,
    /// Change log: sequence number -> trial index, one entry per trial (its latest).
    changes: BTreeMap<u64, usize>,
    seq: u64,
    claim_keys: HashSet<String>,
}

impl MemStudy {
    fn touch(&mut self, idx: usize) {
        self.seq += 1;
        let old = self.trial_seq[idx];
        self.changes.remove(&old);
        self.changes.insert(self.seq, idx);
        self.trial_seq[idx] = self.seq;
    }
}

#[derive(Debug, Default)]
struct Inner {
    studies: BTreeMap<StudyId, MemStudy>,
    by_name: HashMap<String, StudyId>,
    /// trial id -> (study id, index in the study's trials)
    trials: HashMap<TrialId, (StudyId, usize)>,
    next_study: StudyId,
    next_trial: TrialId,
}

/// Process-local storage behind one mutex.
#[derive(Debug, Default)]
pub struct InMemoryStorage {
    inner: Mutex<Inner>,
}

impl InMemoryStorage {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-written trial (every
        // mutation is a few field writes), so recover from poisoning.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Inner {
    fn study_mut(&mut self, id: StudyId) -> Result<&mut MemStudy> {
        self.studies
            .get_mut(&id)
            .ok_or_else(|| Error::StudyNotFound(format!("#{id}")))
    }

    /// The running trial `id` for mutation, with its study; errors if finished.
    fn running_trial(&mut self, id: TrialId) -> Result<(&mut MemStudy, usize)> {
        let (sid, idx) = *self
            .trials
            .get(&id)
            .ok_or_else(|| Error::TrialNotFound(format!("id {id}")))?;
        let study = self.study_mut(sid)?;
        let t = &study.trials[idx];
        if t.state != TrialState::Running {
            return Err(Error::TrialFinished {
                number: t.number,
                state: t.state,
            });
        }
        Ok((study, idx))
    }
}

impl Storage for InMemoryStorage {
    fn create_study(&self, name: &str, directions: &[Direction]) -> Result<StudyRecord> {
        let mut g = self.lock();
        if g.by_name.contains_key(name) {
            return Err(Error::StudyExists(name.to_string()));
        }
        g.next_study += 1;
        let id = g.next_study;
        let record = StudyRecord {
            id,
            name: name.to_string(),
            directions: directions.to_vec(),
            user_attrs: BTreeMap::new(),
            system_attrs: BTreeMap::new(),
            created_at: Utc::now(),
        };
        g.by_name.insert(name.to_string(), id);
        g.studies.insert(
            id,
            MemStudy {
                record: Some(record.clone()),
                ..Default::default()
            },
        );
        Ok(record)
    }

    fn get_study(&self, name: &str) -> Result<StudyRecord> {
        let g = self.lock();
        let id = g
            .by_name
            .get(name)
            .ok_or_else(|| Error::StudyNotFound(name.to_string()))?;
        Ok(g.studies[id]
            .record
            .clone()
            .expect("record set at creation"))
    }

    fn list_studies(&self) -> Result<Vec<StudySummary>> {
        let g = self.lock();
        Ok(g.studies
            .values()
            .map(|s| {
                let mut counts = BTreeMap::new();
                for t in &s.trials {
                    *counts.entry(t.state).or_insert(0) += 1;
                }
                StudySummary {
                    study: s.record.clone().expect("record"),
                    n_trials: s.trials.len() as u64,
                    counts,
                }
            })
            .collect())
    }

    fn delete_study(&self, study: StudyId) -> Result<()> {
        let mut g = self.lock();
        let s = g
            .studies
            .remove(&study)
            .ok_or_else(|| Error::StudyNotFound(format!("#{study}")))?;
        g.by_name.remove(&s.record.expect("record").name);
        for t in s.trials {
            g.trials.remove(&t.id);
        }
        Ok(())
    }

    fn set_study_user_attr(
        &self,
        study: StudyId,
        key: &str,
        value: serde_json::Value,
    ) -> Result<()> {
        let mut g = self.lock();
        let s = g.study_mut(study)?;
        s.record
            .as_mut()
            .expect("record")
            .user_attrs
            .insert(key.to_string(), value);
        Ok(())
    }

    fn set_study_system_attr(
        &self,
        study: StudyId,
        key: &str,
        value: serde_json::Value,
    ) -> Result<()> {
        let mut g = self.lock();
        let s = g.study_mut(study)?;
        s.record
            .as_mut()
            .expect("record")
            .system_attrs
            .insert(key.to_string(), value);
        Ok(())
    }

    fn create_trial(&self, study: StudyId, new: NewTrial) -> Result<FrozenTrial> {
        let mut g = self.lock();
        g.next_trial += 1;
        let id = g.next_trial;
        let s = g.study_mut(study)?;
        if let Some(k) = &new.claim_key {
            if !s.claim_keys.insert(k.clone()) {
                return Err(Error::ClaimTaken(k.clone()));
            }
        }
        let now = Utc::now();
        let mut system_attrs = new.system_attrs;
        if !new.fixed_params.is_empty() {
            system_attrs.insert(
                FIXED_PARAMS_ATTR.to_string(),
                serde_json::to_value(&new.fixed_params)?,
            );
        }
        let trial = FrozenTrial {
            id,
            number: s.trials.len() as u64,
            state: if new.waiting {
                TrialState::Waiting
            } else {
                TrialState::Running
            },
            values: None,
            params: BTreeMap::new(),
            distributions: BTreeMap::new(),
            intermediate_values: BTreeMap::new(),
            user_attrs: new.user_attrs,
            system_attrs,
            datetime_start: (!new.waiting).then_some(now),
            datetime_complete: None,
            heartbeat: (new.heartbeat && !new.waiting).then_some(now),
            fail_reason: None,
            retried_from: new.retried_from,
            claim_key: new.claim_key,
        };
        s.trials.push(trial.clone());
        s.trial_seq.push(0);
        let idx = s.trials.len() - 1;
        s.touch(idx);
        g.trials.insert(id, (study, idx));
        Ok(trial)
    }

    fn claim_waiting_trial(&self, study: StudyId, heartbeat: bool) -> Result<Option<FrozenTrial>> {
        let mut g = self.lock();
        let s = g.study_mut(study)?;
        let Some(idx) = s.trials.iter().position(|t| t.state == TrialState::Waiting) else {
            return Ok(None);
        };
        let now = Utc::now();
        let t = &mut s.trials[idx];
        t.state = TrialState::Running;
        t.datetime_start = Some(now);
        t.heartbeat = heartbeat.then_some(now);
        let out = t.clone();
        s.touch(idx);
        Ok(Some(out))
    }

    fn set_trial_param(
        &self,
        trial: TrialId,
        name: &str,
        distribution: &Distribution,
        value: &ParamValue,
    ) -> Result<()> {
        let mut g = self.lock();
        let (s, idx) = g.running_trial(trial)?;
        let t = &mut s.trials[idx];
        t.params.insert(name.to_string(), value.clone());
        t.distributions
            .insert(name.to_string(), distribution.clone());
        s.touch(idx);
        Ok(())
    }

    fn report_intermediate(&self, trial: TrialId, step: u64, value: f64) -> Result<()> {
        let mut g = self.lock();
        let (s, idx) = g.running_trial(trial)?;
        s.trials[idx].intermediate_values.insert(step, value);
        s.touch(idx);
        Ok(())
    }

    fn set_trial_user_attr(
        &self,
        trial: TrialId,
        key: &str,
        value: serde_json::Value,
    ) -> Result<()> {
        let mut g = self.lock();
        let (s, idx) = g.running_trial(trial)?;
        s.trials[idx].user_attrs.insert(key.to_string(), value);
        s.touch(idx);
        Ok(())
    }

    fn set_trial_system_attr(
        &self,
        trial: TrialId,
        key: &str,
        value: serde_json::Value,
    ) -> Result<()> {
        let mut g = self.lock();
        let (s, idx) = g.running_trial(trial)?;
        s.trials[idx].system_attrs.insert(key.to_string(), value);
        s.touch(idx);
        Ok(())
    }

    fn heartbeat(&self, trials: &[TrialId]) -> Result<()> {
        let mut g = self.lock();
        let now = Utc::now();
        for id in trials {
            if let Ok((s, idx)) = g.running_trial(*id) {
                // A heartbeat is not a change that samplers need to see: no touch.
                s.trials[idx].heartbeat = Some(now);
            }
        }
        Ok(())
    }

    fn finish_trial(&self, trial: TrialId, result: &TrialResult) -> Result<FrozenTrial> {
        let mut g = self.lock();
        let (s, idx) = g.running_trial(trial)?;
        let t = &mut s.trials[idx];
        let (state, values, reason) = util::finished_values(result, &t.intermediate_values);
        t.state = state;
        t.values = values;
        t.fail_reason = reason;
        t.datetime_complete = Some(Utc::now());
        let out = t.clone();
        s.touch(idx);
        Ok(out)
    }

    fn fail_stale_trials(&self, study: StudyId, stale_after: Duration) -> Result<Vec<FrozenTrial>> {
        let mut g = self.lock();
        let s = g.study_mut(study)?;
        let now = Utc::now();
        let limit = chrono::Duration::from_std(stale_after).unwrap_or(chrono::Duration::MAX);
        let stale: Vec<usize> = s
            .trials
            .iter()
            .enumerate()
            .filter(|(_, t)| {
                t.state == TrialState::Running && t.heartbeat.is_some_and(|h| now - h > limit)
            })
            .map(|(i, _)| i)
            .collect();
        let mut out = Vec::new();
        for idx in stale {
            let t = &mut s.trials[idx];
            t.state = TrialState::Failed;
            t.fail_reason = Some(util::stale_reason(stale_after));
            t.datetime_complete = Some(now);
            out.push(t.clone());
            s.touch(idx);
        }
        Ok(out)
    }

    fn get_trial(&self, trial: TrialId) -> Result<FrozenTrial> {
        let g = self.lock();
        let (sid, idx) = g
            .trials
            .get(&trial)
            .ok_or_else(|| Error::TrialNotFound(format!("id {trial}")))?;
        Ok(g.studies[sid].trials[*idx].clone())
    }

    fn get_trial_by_number(&self, study: StudyId, number: u64) -> Result<FrozenTrial> {
        let g = self.lock();
        let s = g
            .studies
            .get(&study)
            .ok_or_else(|| Error::StudyNotFound(format!("#{study}")))?;
        s.trials
            .get(number as usize)
            .cloned()
            .ok_or_else(|| Error::TrialNotFound(format!("number {number}")))
    }

    fn trials_since(&self, study: StudyId, cursor: u64) -> Result<TrialDelta> {
        let g = self.lock();
        let s = g
            .studies
            .get(&study)
            .ok_or_else(|| Error::StudyNotFound(format!("#{study}")))?;
        let after = (Bound::Excluded(cursor), Bound::Unbounded);
        let mut idx: Vec<usize> = s.changes.range(after).map(|(_, i)| *i).collect();
        idx.sort_unstable();
        Ok(TrialDelta {
            trials: idx.into_iter().map(|i| s.trials[i].clone()).collect(),
            cursor: s.seq,
        })
    }
}

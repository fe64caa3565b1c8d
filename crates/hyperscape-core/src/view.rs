//! The study as samplers and pruners see it: an incrementally updated, read-only view.
//!
//! A study keeps one [`StudyCache`] per process, refreshed from the storage with
//! `trials_since(cursor)`, so an ask costs O(trials changed), not O(trials stored).

use std::collections::{BTreeMap, HashSet};

use crate::param::Distribution;
use crate::space::SearchSpace;
use crate::storage::TrialDelta;
use crate::trial::{Direction, FrozenTrial, TrialState};

/// Incrementally maintained copy of a study's trials.
#[derive(Debug, Default)]
pub(crate) struct StudyCache {
    pub cursor: u64,
    pub trials: BTreeMap<u64, FrozenTrial>,
    /// Intersection of the distributions of all complete trials (None before the first).
    pub intersection: Option<BTreeMap<String, Distribution>>,
    /// First distribution seen for each parameter name in the study.
    pub known: BTreeMap<String, Distribution>,
    pub claimed: HashSet<String>,
    pub n_complete: usize,
}

impl StudyCache {
    pub fn apply(&mut self, delta: TrialDelta) {
        // Two threads may refresh at once; a delta fetched from an older snapshot than
        // the one already applied would overwrite newer trial versions, and the cursor
        // would never fetch them again. Every delta is a consistent snapshot of all
        // changes up to its cursor, so an older one carries nothing new: drop it.
        if delta.cursor < self.cursor {
            return;
        }
        for t in delta.trials {
            let was_complete = self
                .trials
                .get(&t.number)
                .is_some_and(|o| o.state == TrialState::Complete);
            if t.state == TrialState::Complete && !was_complete {
                self.n_complete += 1;
                self.intersection = Some(match self.intersection.take() {
                    None => t.distributions.clone(),
                    Some(mut cur) => {
                        cur.retain(|k, d| t.distributions.get(k) == Some(d));
                        cur
                    }
                });
            }
            for (k, d) in &t.distributions {
                self.known.entry(k.clone()).or_insert_with(|| d.clone());
            }
            if let Some(k) = &t.claim_key {
                self.claimed.insert(k.clone());
            }
            self.trials.insert(t.number, t);
        }
        self.cursor = self.cursor.max(delta.cursor);
    }
}

/// What a sampler or pruner sees of a study. Cheap to build; borrows the cache.
#[derive(Debug, Clone, Copy)]
pub struct StudyView<'a> {
    pub(crate) name: &'a str,
    pub(crate) directions: &'a [Direction],
    pub(crate) declared_space: Option<&'a SearchSpace>,
    pub(crate) cache: &'a StudyCache,
    /// When set, only the trials of this bracket are visible.
    pub(crate) bracket: Option<u32>,
}

impl<'a> StudyView<'a> {
    pub fn study_name(&self) -> &'a str {
        self.name
    }
    pub fn directions(&self) -> &'a [Direction] {
        self.directions
    }
    pub fn is_multi_objective(&self) -> bool {
        self.directions.len() > 1
    }
    /// The space declared for the study up front, if any (for example by the CLI).
    pub fn declared_space(&self) -> Option<&'a SearchSpace> {
        self.declared_space
    }
    /// The same view restricted to the trials of `bracket` (`None`: all trials).
    /// Trials carry their bracket in the system attribute
    /// [`BRACKET_ATTR`](crate::pruner::BRACKET_ATTR), set at ask time.
    pub fn in_bracket(self, bracket: Option<u32>) -> Self {
        Self { bracket, ..self }
    }
    /// The bracket this view is restricted to, if any.
    pub fn bracket(&self) -> Option<u32> {
        self.bracket
    }
    fn visible(bracket: Option<u32>, t: &FrozenTrial) -> bool {
        bracket.is_none_or(|b| trial_bracket(t) == Some(b))
    }
    /// All trials visible in this view, by number.
    pub fn trials(&self) -> impl Iterator<Item = &'a FrozenTrial> + 'a {
        let b = self.bracket;
        self.cache
            .trials
            .values()
            .filter(move |t| Self::visible(b, t))
    }
    pub fn n_trials(&self) -> usize {
        match self.bracket {
            None => self.cache.trials.len(),
            Some(_) => self.trials().count(),
        }
    }
    /// Trials numbered `number` or more, in order (for samplers that keep state and
    /// only need to look at trials that may have changed).
    pub fn trials_from(&self, number: u64) -> impl Iterator<Item = &'a FrozenTrial> + 'a {
        let b = self.bracket;
        self.cache
            .trials
            .range(number..)
            .map(|(_, t)| t)
            .filter(move |t| Self::visible(b, t))
    }
    pub fn trial(&self, number: u64) -> Option<&'a FrozenTrial> {
        self.cache
            .trials
            .get(&number)
            .filter(|t| Self::visible(self.bracket, t))
    }
    pub fn trials_with_state(
        &self,
        state: TrialState,
    ) -> impl Iterator<Item = &'a FrozenTrial> + 'a {
        self.trials().filter(move |t| t.state == state)
    }
    pub fn complete_trials(&self) -> impl Iterator<Item = &'a FrozenTrial> + 'a {
        self.trials_with_state(TrialState::Complete)
    }
    pub fn n_complete(&self) -> usize {
        match self.bracket {
            None => self.cache.n_complete,
            Some(_) => self.complete_trials().count(),
        }
    }
    /// Parameters present, with the same distribution, in every complete trial
    /// of the study, all brackets (Optuna's intersection search space). Empty before the first complete trial.
    pub fn intersection_space(&self) -> SearchSpace {
        SearchSpace(self.cache.intersection.clone().unwrap_or_default())
    }
    /// The distribution first used for `name` anywhere in the study.
    pub fn known_distribution(&self, name: &str) -> Option<&'a Distribution> {
        self.cache.known.get(name)
    }
    /// Whether a trial of the study already holds this claim key.
    pub fn is_claimed(&self, key: &str) -> bool {
        self.cache.claimed.contains(key)
    }
}

/// The bracket a trial was assigned at ask time, if any.
pub fn trial_bracket(t: &FrozenTrial) -> Option<u32> {
    t.system_attrs
        .get(crate::pruner::BRACKET_ATTR)?
        .as_u64()
        .map(|b| b as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{InMemoryStorage, Storage};
    use crate::trial::{NewTrial, TrialResult};

    /// Regression: two threads refreshing at once must not let an older snapshot
    /// overwrite a newer one (found by the threaded reproducibility test).
    #[test]
    fn an_older_delta_never_overwrites_a_newer_one() {
        let s = InMemoryStorage::new();
        let study = s.create_study("v", &[Direction::Minimize]).unwrap();
        let t = s.create_trial(study.id, NewTrial::default()).unwrap();
        let old = s.trials_since(study.id, 0).unwrap();
        s.finish_trial(t.id, &TrialResult::Complete(vec![1.0]))
            .unwrap();
        let new = s.trials_since(study.id, 0).unwrap();
        let mut cache = StudyCache::default();
        cache.apply(new);
        cache.apply(old);
        assert_eq!(cache.trials[&0].state, TrialState::Complete);
        assert_eq!(cache.n_complete, 1);
    }
}

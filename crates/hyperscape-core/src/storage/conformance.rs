//! The storage conformance suite: one function per point of the [`Storage`] contract.
//!
//! Every backend runs all of it through [`storage_conformance_tests!`], which expands to
//! one `#[test]` per case:
//!
//! ```ignore
//! hyperscape_core::storage_conformance_tests!(memory, || -> Arc<dyn Storage> {
//!     Arc::new(InMemoryStorage::new())
//! });
//! ```
//!
//! The factory returns a [`Fixture`]: the storage, or a pair `(storage, guard)` whose
//! guard (a temporary directory, say) lives until the end of the test, or an `Option`
//! of either: `None` skips the test (a backend whose server is not configured; the
//! factory says why).
//!
//! [`storage_conformance_tests!`]: crate::storage_conformance_tests

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::Duration;

use super::{util, Storage, StudyId, TrialId};
use crate::error::Error;
use crate::param::{Distribution, ParamValue};
use crate::study::{HeartbeatConfig, OptimizeOptions, Study};
use crate::trial::{Direction, FrozenTrial, NewTrial, TrialResult, TrialState, FIXED_PARAMS_ATTR};
use crate::{GridSampler, RandomSampler};

/// What a conformance factory returns: a storage, and whatever must outlive it.
pub trait Fixture {
    fn storage(&self) -> Arc<dyn Storage>;
    /// The storage to test, or `None` to skip the test.
    fn available(&self) -> Option<Arc<dyn Storage>> {
        Some(self.storage())
    }
}

/// A fixture that may be missing: `None` skips the test.
impl<T: Fixture> Fixture for Option<T> {
    fn storage(&self) -> Arc<dyn Storage> {
        match self {
            Some(f) => f.storage(),
            None => panic!("no storage in this fixture (the test should have been skipped)"),
        }
    }
    fn available(&self) -> Option<Arc<dyn Storage>> {
        self.as_ref().map(Fixture::storage)
    }
}

impl Fixture for Arc<dyn Storage> {
    fn storage(&self) -> Arc<dyn Storage> {
        self.clone()
    }
}

/// A storage and a guard (for example the temporary directory of its file) dropped
/// after it.
impl<T> Fixture for (Arc<dyn Storage>, T) {
    fn storage(&self) -> Arc<dyn Storage> {
        self.0.clone()
    }
}

/// Expands to one `#[test]` per point of the storage contract, in a module `$name`.
/// `$factory` is a closure returning a fresh, empty storage (a [`Fixture`]).
///
/// [`Fixture`]: crate::storage::conformance::Fixture
#[macro_export]
macro_rules! storage_conformance_tests {
    ($name:ident, $factory:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $crate::__storage_conformance_cases!($factory;
                study_create_get_list,
                study_duplicate_name_and_unknown,
                study_attrs,
                delete_study_cascades,
                create_trial_numbering,
                unknown_trials,
                waiting_vs_running_start_times,
                new_trial_fields_and_fixed_params,
                claim_key_taken_consumes_no_number,
                claim_waiting_oldest_first,
                params_roundtrip,
                intermediate_values,
                trial_attrs,
                finished_trial_is_immutable,
                finish_complete_pruned_failed,
                heartbeat_is_not_a_change,
                trials_since_returns_exactly_the_changes,
                every_mutation_is_a_change,
                stale_trials_failed_once,
                stale_trials_retried_by_the_engine,
                concurrent_create_numbers,
                concurrent_claim_waiting,
                concurrent_claim_keys,
                concurrent_finish,
                concurrent_fail_stale,
                engine_parallel_optimize,
                engine_grid_parallel_studies,
            );
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __storage_conformance_cases {
    ($factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let fixture = ($factory)();
                if let Some(storage) = $crate::storage::conformance::Fixture::available(&fixture) {
                    $crate::storage::conformance::$case(storage);
                }
            }
        )*
    };
}

macro_rules! assert_err {
    ($e:expr, $p:pat $(if $g:expr)?) => {
        match $e {
            Err($p) $(if $g)? => {}
            other => panic!(
                "expected Err({}), got {:?}",
                stringify!($p $(if $g)?),
                other
            ),
        }
    };
}

const THREADS: usize = 8;

// ---- helpers ----

fn study(s: &dyn Storage, name: &str) -> StudyId {
    s.create_study(name, &[Direction::Minimize]).unwrap().id
}

fn running(s: &dyn Storage, study: StudyId) -> FrozenTrial {
    s.create_trial(study, NewTrial::default()).unwrap()
}

fn waiting(s: &dyn Storage, study: StudyId) -> FrozenTrial {
    s.create_trial(
        study,
        NewTrial {
            waiting: true,
            ..Default::default()
        },
    )
    .unwrap()
}

fn with_heartbeat(s: &dyn Storage, study: StudyId) -> FrozenTrial {
    s.create_trial(
        study,
        NewTrial {
            heartbeat: true,
            ..Default::default()
        },
    )
    .unwrap()
}

fn keyed(key: &str) -> NewTrial {
    NewTrial {
        claim_key: Some(key.to_string()),
        ..Default::default()
    }
}

fn numbers(trials: &[FrozenTrial]) -> Vec<u64> {
    trials.iter().map(|t| t.number).collect()
}

fn complete(v: f64) -> TrialResult {
    TrialResult::Complete(vec![v])
}

fn dist() -> Distribution {
    Distribution::float(0.0, 1.0)
}

/// Runs `f(thread index)` on `THREADS` threads released together; returns the results.
fn race<T: Send>(f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let barrier = Barrier::new(THREADS);
    thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|i| {
                let (f, barrier) = (&f, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    f(i)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

// ---- studies ----

pub fn study_create_get_list(s: Arc<dyn Storage>) {
    let dirs = [Direction::Minimize, Direction::Maximize];
    let a = s.create_study("a", &dirs).unwrap();
    assert_eq!(a.name, "a");
    assert_eq!(a.directions, dirs);
    assert!(a.user_attrs.is_empty() && a.system_attrs.is_empty());
    assert_eq!(s.get_study("a").unwrap(), a);
    let b = s.create_study("b", &[Direction::Maximize]).unwrap();
    assert_ne!(a.id, b.id);
    running(&*s, a.id);
    let t = running(&*s, a.id);
    s.finish_trial(t.id, &complete(1.0)).unwrap();
    waiting(&*s, a.id);

    let list = s.list_studies().unwrap();
    assert_eq!(list.len(), 2);
    let sa = list.iter().find(|x| x.study.id == a.id).unwrap();
    assert_eq!(sa.study, a);
    assert_eq!(sa.n_trials, 3);
    let expected: BTreeMap<TrialState, u64> = [
        (TrialState::Running, 1),
        (TrialState::Complete, 1),
        (TrialState::Waiting, 1),
    ]
    .into();
    assert_eq!(sa.counts, expected);
    let sb = list.iter().find(|x| x.study.id == b.id).unwrap();
    assert_eq!(sb.n_trials, 0);
    assert!(sb.counts.values().all(|n| *n == 0));
}

pub fn study_duplicate_name_and_unknown(s: Arc<dyn Storage>) {
    let a = s.create_study("dup", &[Direction::Minimize]).unwrap();
    assert_err!(
        s.create_study("dup", &[Direction::Maximize]),
        Error::StudyExists(n) if n == "dup"
    );
    // The failed creation changed nothing.
    assert_eq!(s.get_study("dup").unwrap(), a);
    assert_eq!(s.list_studies().unwrap().len(), 1);
    assert_err!(s.get_study("nope"), Error::StudyNotFound(n) if n == "nope");
    let bad = a.id + 1000;
    assert_err!(s.delete_study(bad), Error::StudyNotFound(_));
    assert_err!(
        s.create_trial(bad, NewTrial::default()),
        Error::StudyNotFound(_)
    );
    assert_err!(s.claim_waiting_trial(bad, false), Error::StudyNotFound(_));
    assert_err!(s.trials_since(bad, 0), Error::StudyNotFound(_));
    assert_err!(s.all_trials(bad), Error::StudyNotFound(_));
    assert_err!(s.get_trial_by_number(bad, 0), Error::StudyNotFound(_));
    assert_err!(
        s.fail_stale_trials(bad, Duration::from_secs(1)),
        Error::StudyNotFound(_)
    );
    assert_err!(
        s.set_study_user_attr(bad, "k", 1.into()),
        Error::StudyNotFound(_)
    );
    assert_err!(
        s.set_study_system_attr(bad, "k", 1.into()),
        Error::StudyNotFound(_)
    );
}

pub fn study_attrs(s: Arc<dyn Storage>) {
    let a = study(&*s, "attrs");
    let other = study(&*s, "other");
    s.set_study_user_attr(a, "owner", "ada".into()).unwrap();
    s.set_study_user_attr(a, "tags", serde_json::json!(["x", {"y": 1.5}]))
        .unwrap();
    s.set_study_system_attr(a, "sampler", "grid".into())
        .unwrap();
    s.set_study_user_attr(a, "owner", "grace".into()).unwrap();
    let r = s.get_study("attrs").unwrap();
    assert_eq!(r.user_attrs["owner"], "grace");
    assert_eq!(r.user_attrs["tags"], serde_json::json!(["x", {"y": 1.5}]));
    assert_eq!(r.user_attrs.len(), 2);
    assert_eq!(r.system_attrs["sampler"], "grid");
    assert_eq!(r.system_attrs.len(), 1);
    let o = s.get_study("other").unwrap();
    assert_eq!(o.id, other);
    assert!(o.user_attrs.is_empty() && o.system_attrs.is_empty());
}

pub fn delete_study_cascades(s: Arc<dyn Storage>) {
    let a = study(&*s, "doomed");
    let keep = study(&*s, "kept");
    let t = running(&*s, a);
    s.set_trial_param(t.id, "x", &dist(), &ParamValue::Float(0.5))
        .unwrap();
    s.report_intermediate(t.id, 1, 0.25).unwrap();
    s.set_trial_user_attr(t.id, "u", 1.into()).unwrap();
    let k = running(&*s, keep);
    s.set_trial_param(k.id, "x", &dist(), &ParamValue::Float(0.5))
        .unwrap();
    s.delete_study(a).unwrap();

    assert_err!(s.get_study("doomed"), Error::StudyNotFound(_));
    assert_err!(s.get_trial(t.id), Error::TrialNotFound(_));
    assert_err!(s.trials_since(a, 0), Error::StudyNotFound(_));
    assert_err!(s.delete_study(a), Error::StudyNotFound(_));
    assert_eq!(s.list_studies().unwrap().len(), 1);
    // The other study is untouched.
    assert_eq!(s.get_trial(k.id).unwrap().params.len(), 1);
    assert_eq!(s.all_trials(keep).unwrap().len(), 1);
    // The name is free again, and the new study starts from trial 0 with no claims.
    let again = study(&*s, "doomed");
    assert_ne!(again, a);
    let t0 = s.create_trial(again, keyed("k")).unwrap();
    assert_eq!(t0.number, 0);
    assert!(t0.params.is_empty());
}

// ---- trials ----

pub fn create_trial_numbering(s: Arc<dyn Storage>) {
    let a = study(&*s, "a");
    let b = study(&*s, "b");
    let mut ids = HashSet::new();
    for i in 0..5u64 {
        let ta = running(&*s, a);
        assert_eq!(ta.number, i);
        assert!(ids.insert(ta.id));
        assert_eq!(s.get_trial(ta.id).unwrap(), ta);
        assert_eq!(s.get_trial_by_number(a, i).unwrap(), ta);
        if i < 3 {
            let tb = waiting(&*s, b);
            assert_eq!(tb.number, i);
            assert!(ids.insert(tb.id));
        }
    }
    assert_eq!(numbers(&s.all_trials(a).unwrap()), vec![0, 1, 2, 3, 4]);
    assert_eq!(numbers(&s.all_trials(b).unwrap()), vec![0, 1, 2]);
    assert_eq!(
        s.all_trials(a).unwrap(),
        s.trials_since(a, 0).unwrap().trials
    );
}

pub fn unknown_trials(s: Arc<dyn Storage>) {
    let a = study(&*s, "a");
    let t = running(&*s, a);
    let bad: TrialId = t.id + 1000;
    assert_err!(s.get_trial(bad), Error::TrialNotFound(_));
    assert_err!(s.get_trial_by_number(a, 1), Error::TrialNotFound(_));
    assert_err!(s.get_trial_by_number(a, u64::MAX), Error::TrialNotFound(_));
    assert_err!(
        s.set_trial_param(bad, "x", &dist(), &ParamValue::Float(0.1)),
        Error::TrialNotFound(_)
    );
    assert_err!(s.report_intermediate(bad, 0, 1.0), Error::TrialNotFound(_));
    assert_err!(
        s.set_trial_user_attr(bad, "k", 1.into()),
        Error::TrialNotFound(_)
    );
    assert_err!(
        s.set_trial_system_attr(bad, "k", 1.into()),
        Error::TrialNotFound(_)
    );
    assert_err!(s.finish_trial(bad, &complete(1.0)), Error::TrialNotFound(_));
    // Heartbeats of unknown trials are ignored.
    s.heartbeat(&[bad]).unwrap();
    s.heartbeat(&[]).unwrap();
}

pub fn waiting_vs_running_start_times(s: Arc<dyn Storage>) {
    let a = study(&*s, "a");
    let r = running(&*s, a);
    assert_eq!(r.state, TrialState::Running);
    assert!(r.datetime_start.is_some());
    assert_eq!(r.heartbeat, None);
    assert_eq!(r.datetime_complete, None);
    let h = with_heartbeat(&*s, a);
    assert!(h.heartbeat.is_some());
    let w = s
        .create_trial(
            a,
            NewTrial {
                waiting: true,
                heartbeat: true,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(w.state, TrialState::Waiting);
    assert_eq!(w.datetime_start, None);
    assert_eq!(w.heartbeat, None, "a waiting trial has no heartbeat");
    assert_eq!(s.get_trial(w.id).unwrap(), w);

    thread::sleep(Duration::from_millis(5));
    let c = s.claim_waiting_trial(a, true).unwrap().unwrap();
    assert_eq!(
        (c.id, c.number, c.state),
        (w.id, w.number, TrialState::Running)
    );
    let start = c.datetime_start.unwrap();
    assert!(
        start > r.datetime_start.unwrap(),
        "claiming starts the trial"
    );
    assert_eq!(c.heartbeat, Some(start));
    assert_eq!(s.get_trial(c.id).unwrap(), c);

    let w2 = waiting(&*s, a);
    let c2 = s.claim_waiting_trial(a, false).unwrap().unwrap();
    assert_eq!(c2.id, w2.id);
    assert!(c2.datetime_start.is_some());
    assert_eq!(c2.heartbeat, None);
}

pub fn new_trial_fields_and_fixed_params(s: Arc<dyn Storage>) {
    let a = study(&*s, "a");
    let fixed: BTreeMap<String, ParamValue> = [
        ("lr".to_string(), ParamValue::Float(0.01)),
        ("layers".to_string(), ParamValue::Int(3)),
        ("act".to_string(), ParamValue::Str("relu".into())),
        ("bn".to_string(), ParamValue::Bool(true)),
    ]
    .into();
    let t = s
        .create_trial(
            a,
            NewTrial {
                waiting: true,
                fixed_params: fixed.clone(),
                retried_from: Some(7),
                claim_key: Some("key".into()),
                heartbeat: false,
                user_attrs: [("u".to_string(), serde_json::json!({"a": [1, 2]}))].into(),
                system_attrs: [("s".to_string(), serde_json::json!("v"))].into(),
            },
        )
        .unwrap();
    assert_eq!(t.retried_from, Some(7));
    assert_eq!(t.claim_key.as_deref(), Some("key"));
    assert_eq!(t.user_attrs["u"], serde_json::json!({"a": [1, 2]}));
    assert_eq!(t.system_attrs["s"], "v");
    assert!(t.params.is_empty(), "fixed params are not params yet");
    let stored: BTreeMap<String, ParamValue> =
        serde_json::from_value(t.system_attrs[FIXED_PARAMS_ATTR].clone()).unwrap();
    assert_eq!(stored, fixed);
    assert_eq!(s.get_trial(t.id).unwrap(), t);
    let claimed = s.claim_waiting_trial(a, false).unwrap().unwrap();
    assert_eq!(claimed.system_attrs, t.system_attrs);
    assert_eq!(claimed.retried_from, Some(7));

    let plain = running(&*s, a);
    assert!(!plain.system_attrs.contains_key(FIXED_PARAMS_ATTR));
    assert_eq!(plain.retried_from, None);
    assert_eq!(plain.claim_key, None);
}

pub fn claim_key_taken_consumes_no_number(s: Arc<dyn Storage>) {
    let a = study(&*s, "a");
    let b = study(&*s, "b");
    let t0 = s.create_trial(a, keyed("grid:1")).unwrap();
    assert_eq!(t0.number, 0);
    let before = s.trials_since(a, 0).unwrap();
    assert_err!(
        s.create_trial(a, keyed("grid:1")),
        Error::ClaimTaken(k) if k == "grid:1"
    );
    // Also taken once the holder is finished, and for a waiting trial.
    s.finish_trial(t0.id, &complete(0.0)).unwrap();
    assert_err!(
        s.create_trial(
            a,
            NewTrial {
                waiting: true,
                ..keyed("grid:1")
            }
        ),
        Error::ClaimTaken(_)
    );
    // Nothing was created and no number or change was consumed.
    let after = s.trials_since(a, before.cursor).unwrap();
    assert_eq!(
        numbers(&after.trials),
        vec![0],
        "only the finish is a change"
    );
    assert_eq!(after.cursor, before.cursor + 1);
    assert_eq!(s.create_trial(a, keyed("grid:2")).unwrap().number, 1);
    assert_eq!(running(&*s, a).number, 2);
    assert_eq!(running(&*s, a).number, 3, "trials without key never clash");
    // Keys are per study.
    assert_eq!(s.create_trial(b, keyed("grid:1")).unwrap().number, 0);
    assert_eq!(numbers(&s.all_trials(a).unwrap()), vec![0, 1, 2, 3]);
}

pub fn claim_waiting_oldest_first(s: Arc<dyn Storage>) {
    let a = study(&*s, "a");
    let other = study(&*s, "other");
    waiting(&*s, other);
    assert_eq!(s.claim_waiting_trial(a, false).unwrap(), None);
    let w0 = waiting(&*s, a);
    running(&*s, a);
    let w2 = waiting(&*s, a);
    let w3 = waiting(&*s, a);
    assert_eq!(s.claim_waiting_trial(a, false).unwrap().unwrap().id, w0.id);
    assert_eq!(s.claim_waiting_trial(a, false).unwrap().unwrap().id, w2.id);
    assert_eq!(s.claim_waiting_trial(a, false).unwrap().unwrap().id, w3.id);
    assert_eq!(s.claim_waiting_trial(a, false).unwrap(), None);
    assert!(s
        .all_trials(a)
        .unwrap()
        .iter()
        .all(|t| t.state == TrialState::Running));
    // The other study's waiting trial was not taken.
    assert_eq!(s.all_trials(other).unwrap()[0].state, TrialState::Waiting);
}

pub fn params_roundtrip(s: Arc<dyn Storage>) {
    let a = study(&*s, "a");
    let t = running(&*s, a);
    let cat = Distribution::Categorical {
        choices: vec![
            ParamValue::Str("relu".into()),
            ParamValue::Int(2),
            ParamValue::Float(2.5),
            ParamValue::Bool(false),
        ],
    };
    let set: Vec<(&str, Distribution, ParamValue)> = vec![
        (
            "x",
            Distribution::float(-1.0, 1.0),
            ParamValue::Float(-0.123456789012345),
        ),
        (
            "whole",
            Distribution::float(0.0, 10.0),
            ParamValue::Float(3.0),
        ),
        // Needs an exact decimal round trip.
        (
            "hard",
            Distribution::float(0.0, 10.0),
            ParamValue::Float(2.1147011171655743),
        ),
        (
            "sum",
            Distribution::float(0.0, 1.0),
            ParamValue::Float(0.1 + 0.2),
        ),
        (
            "lr",
            Distribution::float_log(1e-5, 1.0),
            ParamValue::Float(1.5e-4),
        ),
        (
            "q",
            Distribution::float_step(0.0, 1.0, 0.25),
            ParamValue::Float(0.75),
        ),
        ("n", Distribution::int(1, 100), ParamValue::Int(42)),
        (
            "big",
            Distribution::int_log(1, 1 << 40),
            ParamValue::Int(1 << 33),
        ),
        ("s", Distribution::int_step(0, 10, 2), ParamValue::Int(4)),
        ("c", cat.clone(), ParamValue::Str("relu".into())),
        ("c2", cat, ParamValue::Bool(false)),
    ];
    for (name, d, v) in &set {
        s.set_trial_param(t.id, name, d, v).unwrap();
    }
    // Setting a name again replaces it.
    s.set_trial_param(t.id, "n", &Distribution::int(1, 100), &ParamValue::Int(43))
        .unwrap();
    let got = s.get_trial(t.id).unwrap();
    assert_eq!(got.params.len(), set.len());
    for (name, d, v) in &set {
        assert_eq!(&got.distributions[*name], d, "{name}");
        if *name != "n" {
            assert_eq!(&got.params[*name], v, "{name}");
        }
    }
    assert_eq!(got.params["n"], ParamValue::Int(43));
    assert!(matches!(got.params["whole"], ParamValue::Float(_)));
    let finished = s.finish_trial(t.id, &complete(1.0)).unwrap();
    assert_eq!(finished.params, got.params);
    assert_eq!(s.trials_since(a, 0).unwrap().trials[0].params, got.params);
}

pub fn intermediate_values(s: Arc<dyn Storage>) {
    let a = study(&*s, "a");
    let t = running(&*s, a);
    let u = running(&*s, a);
    s.report_intermediate(t.id, 10, 0.5).unwrap();
    s.report_intermediate(t.id, 0, 2.0).unwrap();
    s.report_intermediate(t.id, 5, 1.0).unwrap();
    s.report_intermediate(t.id, 5, 0.75).unwrap();
    s.report_intermediate(t.id, u64::from(u32::MAX) + 1, -3.0)
        .unwrap();
    s.report_intermediate(u.id, 1, 9.0).unwrap();
    let got = s.get_trial(t.id).unwrap();
    let expected: BTreeMap<u64, f64> = [
        (0, 2.0),
        (5, 0.75),
        (10, 0.5),
        (u64::from(u32::MAX) + 1, -3.0),
    ]
    .into();
    assert_eq!(got.intermediate_values, expected);
    assert_eq!(got.values, None, "reports are not values");
    assert_eq!(
        s.get_trial(u.id).unwrap().intermediate_values,
        [(1, 9.0)].into()
    );
}

pub fn trial_attrs(s: Arc<dyn Storage>) {
    let a = study(&*s, "a");
    let t = s
        .create_trial(
            a,
            NewTrial {
                user_attrs: [("keep".to_string(), 1.into())].into(),
                ..Default::default()
            },
        )
        .unwrap();
    s.set_trial_user_attr(t.id, "loss", serde_json::json!([0.1, 0.2]))
        .unwrap();
    s.set_trial_user_attr(t.id, "loss", serde_json::json!("replaced"))
        .unwrap();
    s.set_trial_system_attr(t.id, "note", serde_json::json!({"k": null}))
        .unwrap();
    let got = s.get_trial(t.id).unwrap();
    assert_eq!(got.user_attrs.len(), 2);
    assert_eq!(got.user_attrs["keep"], 1);
    assert_eq!(got.user_attrs["loss"], "replaced");
    assert_eq!(got.system_attrs["note"], serde_json::json!({"k": null}));
    assert_eq!(got.system_attrs.len(), 1);
}

pub fn finished_trial_is_immutable(s: Arc<dyn Storage>) {
    let a = study(&*s, "a");
    let t = running(&*s, a);
    s.set_trial_param(t.id, "x", &dist(), &ParamValue::Float(0.5))
        .unwrap();
    let done = s.finish_trial(t.id, &complete(1.0)).unwrap();
    let cursor = s.trials_since(a, 0).unwrap().cursor;
    let finished = |e: &Error| matches!(e, Error::TrialFinished { number, state: TrialState::Complete } if *number == t.number);
    let errs = [
        s.set_trial_param(t.id, "y", &dist(), &ParamValue::Float(0.1))
            .unwrap_err(),
        s.report_intermediate(t.id, 1, 1.0).unwrap_err(),
        s.set_trial_user_attr(t.id, "k", 1.into()).unwrap_err(),
        s.set_trial_system_attr(t.id, "k", 1.into()).unwrap_err(),
        s.finish_trial(t.id, &complete(2.0)).unwrap_err(),
        s.finish_trial(t.id, &TrialResult::Failed("late".into()))
            .unwrap_err(),
    ];
    for e in &errs {
        assert!(finished(e), "expected TrialFinished, got {e:?}");
    }
    assert_eq!(s.get_trial(t.id).unwrap(), done, "nothing changed");
    let delta = s.trials_since(a, cursor).unwrap();
    assert!(delta.trials.is_empty());
    assert_eq!(delta.cursor, cursor);
    // A waiting trial cannot be written either until it is claimed.
    let w = waiting(&*s, a);
    assert_err!(
        s.set_trial_param(w.id, "x", &dist(), &ParamValue::Float(0.5)),
        Error::TrialFinished {
            state: TrialState::Waiting,
            ..
        }
    );
    assert_err!(
        s.finish_trial(w.id, &complete(1.0)),
        Error::TrialFinished {
            state: TrialState::Waiting,
            ..
        }
    );
}

pub fn finish_complete_pruned_failed(s: Arc<dyn Storage>) {
    let a = study(&*s, "a");
    let c = running(&*s, a);
    thread::sleep(Duration::from_millis(2));
    let fc = s
        .finish_trial(c.id, &TrialResult::Complete(vec![1.5, -2.0]))
        .unwrap();
    assert_eq!(fc.state, TrialState::Complete);
    assert_eq!(fc.values, Some(vec![1.5, -2.0]));
    assert_eq!(fc.fail_reason, None);
    assert!(fc.datetime_complete.unwrap() > fc.datetime_start.unwrap());
    assert_eq!(s.get_trial(c.id).unwrap(), fc);

    let p = running(&*s, a);
    s.report_intermediate(p.id, 3, 0.3).unwrap();
    s.report_intermediate(p.id, 7, 0.7).unwrap();
    s.report_intermediate(p.id, 5, 0.5).unwrap();
    let fp = s.finish_trial(p.id, &TrialResult::Pruned).unwrap();
    assert_eq!(fp.state, TrialState::Pruned);
    assert_eq!(fp.values, Some(vec![0.7]), "pruned keeps the last report");
    assert_eq!(fp.intermediate_values.len(), 3);
    assert_eq!(s.get_trial(p.id).unwrap(), fp);

    let p0 = running(&*s, a);
    let fp0 = s.finish_trial(p0.id, &TrialResult::Pruned).unwrap();
    assert_eq!((fp0.state, fp0.values), (TrialState::Pruned, None));

    let f = running(&*s, a);
    s.report_intermediate(f.id, 1, 1.0).unwrap();
    let ff = s
        .finish_trial(f.id, &TrialResult::Failed("objective error: boom".into()))
        .unwrap();
    assert_eq!(ff.state, TrialState::Failed);
    assert_eq!(ff.values, None);
    assert_eq!(ff.fail_reason.as_deref(), Some("objective error: boom"));
    assert!(ff.datetime_complete.is_some());
    assert_eq!(s.get_trial(f.id).unwrap(), ff);

    let extreme = running(&*s, a);
    let fe = s
        .finish_trial(
            extreme.id,
            &TrialResult::Complete(vec![f64::MAX, 1e-300, 2.1147011171655743, 0.1 + 0.2]),
        )
        .unwrap();
    assert_eq!(
        fe.values,
        Some(vec![f64::MAX, 1e-300, 2.1147011171655743, 0.1 + 0.2])
    );
    assert_eq!(s.get_trial(extreme.id).unwrap().values, fe.values);
}

// ---- changes ----

pub fn heartbeat_is_not_a_change(s: Arc<dyn Storage>) {
    let a = study(&*s, "a");
    let t = with_heartbeat(&*s, a);
    let done = with_heartbeat(&*s, a);
    let done = s.finish_trial(done.id, &complete(1.0)).unwrap();
    let cursor = s.trials_since(a, 0).unwrap().cursor;
    thread::sleep(Duration::from_millis(3));
    s.heartbeat(&[t.id, done.id]).unwrap();
    let delta = s.trials_since(a, cursor).unwrap();
    assert!(delta.trials.is_empty(), "a heartbeat is not a change");
    assert_eq!(delta.cursor, cursor);
    let after = s.get_trial(t.id).unwrap();
    assert!(after.heartbeat.unwrap() > t.heartbeat.unwrap());
    assert_eq!(after.state, TrialState::Running);
    // A finished trial's heartbeat is left alone.
    assert_eq!(s.get_trial(done.id).unwrap(), done);
}

pub fn trials_since_returns_exactly_the_changes(s: Arc<dyn Storage>) {
    let a = study(&*s, "a");
    let b = study(&*s, "b");
    let empty = s.trials_since(a, 0).unwrap();
    assert!(empty.trials.is_empty());
    let ts: Vec<FrozenTrial> = (0..6).map(|_| running(&*s, a)).collect();
    let all = s.trials_since(a, empty.cursor).unwrap();
    assert_eq!(numbers(&all.trials), vec![0, 1, 2, 3, 4, 5]);
    assert!(all.cursor > empty.cursor);
    let c1 = all.cursor;

    // Changes to another study do not show here.
    let tb = running(&*s, b);
    s.report_intermediate(tb.id, 0, 1.0).unwrap();
    // Change trials 4 and 1 (in that order), 4 twice.
    s.report_intermediate(ts[4].id, 0, 4.0).unwrap();
    s.set_trial_param(ts[1].id, "x", &dist(), &ParamValue::Float(0.1))
        .unwrap();
    s.set_trial_user_attr(ts[4].id, "k", "v".into()).unwrap();
    let d = s.trials_since(a, c1).unwrap();
    assert_eq!(numbers(&d.trials), vec![1, 4], "once each, by number");
    assert_eq!(d.trials[0].params["x"], ParamValue::Float(0.1));
    assert_eq!(d.trials[1].intermediate_values[&0], 4.0);
    assert_eq!(d.trials[1].user_attrs["k"], "v");
    assert_eq!(d.trials[0], s.get_trial(ts[1].id).unwrap());
    // The cursor makes the next call empty, with the same cursor.
    let again = s.trials_since(a, d.cursor).unwrap();
    assert!(again.trials.is_empty());
    assert_eq!(again.cursor, d.cursor);
    // An older cursor still sees them; cursor 0 sees everything, fully loaded.
    assert_eq!(numbers(&s.trials_since(a, c1).unwrap().trials), vec![1, 4]);
    let full = s.trials_since(a, 0).unwrap();
    assert_eq!(full.trials.len(), 6);
    assert_eq!(full.cursor, d.cursor);
    assert_eq!(full.trials[4].user_attrs["k"], "v");
    // A cursor far ahead sees nothing and gets the current cursor back.
    let ahead = s.trials_since(a, u64::MAX).unwrap();
    assert!(ahead.trials.is_empty());
    assert_eq!(ahead.cursor, d.cursor);
}

pub fn every_mutation_is_a_change(s: Arc<dyn Storage>) {
    let a = study(&*s, "a");
    let w = waiting(&*s, a);
    let t = with_heartbeat(&*s, a);
    let mut cursor = s.trials_since(a, 0).unwrap().cursor;
    let mut expect = |what: &str, id: TrialId| {
        let d = s.trials_since(a, cursor).unwrap();
        let ids: Vec<TrialId> = d.trials.iter().map(|t| t.id).collect();
        assert_eq!(ids, vec![id], "{what} must be a change");
        assert!(d.cursor > cursor, "{what} must advance the cursor");
        cursor = d.cursor;
    };
    s.claim_waiting_trial(a, false).unwrap().unwrap();
    expect("claim", w.id);
    s.set_trial_param(w.id, "x", &dist(), &ParamValue::Float(0.2))
        .unwrap();
    expect("set_trial_param", w.id);
    s.report_intermediate(w.id, 1, 0.5).unwrap();
    expect("report_intermediate", w.id);
    s.set_trial_user_attr(w.id, "u", 1.into()).unwrap();
    expect("set_trial_user_attr", w.id);
    s.set_trial_system_attr(w.id, "s", 1.into()).unwrap();
    expect("set_trial_system_attr", w.id);
    s.finish_trial(w.id, &TrialResult::Pruned).unwrap();
    expect("finish_trial", w.id);
    thread::sleep(Duration::from_millis(20));
    assert_eq!(
        s.fail_stale_trials(a, Duration::from_millis(5))
            .unwrap()
            .len(),
        1
    );
    expect("fail_stale_trials", t.id);
    let n = running(&*s, a);
    expect("create_trial", n.id);
}

// ---- stale trials ----

pub fn stale_trials_failed_once(s: Arc<dyn Storage>) {
    let a = study(&*s, "a");
    let other = study(&*s, "other");
    let stale = with_heartbeat(&*s, a);
    let no_hb = running(&*s, a);
    let done = with_heartbeat(&*s, a);
    s.finish_trial(done.id, &complete(1.0)).unwrap();
    let w = waiting(&*s, a);
    let other_stale = with_heartbeat(&*s, other);
    thread::sleep(Duration::from_millis(300));
    let fresh = with_heartbeat(&*s, a);
    let after = Duration::from_millis(150);

    let failed = s.fail_stale_trials(a, after).unwrap();
    assert_eq!(
        failed.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![stale.id]
    );
    let f = &failed[0];
    assert_eq!(f.state, TrialState::Failed);
    assert_eq!(f.fail_reason, Some(util::stale_reason(after)));
    assert!(super::is_stale_failure(f));
    assert!(f.datetime_complete.is_some());
    assert_eq!(s.get_trial(stale.id).unwrap(), *f);
    // Failed once: a second call finds nothing.
    assert!(s.fail_stale_trials(a, after).unwrap().is_empty());
    // Trials without heartbeat, finished, waiting, fresh, or of another study: untouched.
    for id in [no_hb.id, fresh.id] {
        assert_eq!(s.get_trial(id).unwrap().state, TrialState::Running);
    }
    assert_eq!(s.get_trial(done.id).unwrap().state, TrialState::Complete);
    assert_eq!(s.get_trial(w.id).unwrap().state, TrialState::Waiting);
    assert_eq!(
        s.get_trial(other_stale.id).unwrap().state,
        TrialState::Running
    );
    // A fresh heartbeat keeps a trial alive.
    thread::sleep(Duration::from_millis(200));
    s.heartbeat(&[fresh.id]).unwrap();
    assert!(s.fail_stale_trials(a, after).unwrap().is_empty());
    // A failed stale trial cannot be finished by its late worker.
    assert_err!(
        s.finish_trial(stale.id, &complete(1.0)),
        Error::TrialFinished {
            state: TrialState::Failed,
            ..
        }
    );
    // Its configuration can be retried as a new trial.
    let retry = s
        .create_trial(
            a,
            NewTrial {
                waiting: true,
                retried_from: Some(f.number),
                ..Default::default()
            },
        )
        .unwrap();
    let claimed = s.claim_waiting_trial(a, true).unwrap().unwrap();
    assert_eq!(claimed.id, w.id, "older waiting trials first");
    let claimed = s.claim_waiting_trial(a, true).unwrap().unwrap();
    assert_eq!(claimed.id, retry.id);
    assert_eq!(claimed.retried_from, Some(stale.number));
}

pub fn stale_trials_retried_by_the_engine(s: Arc<dyn Storage>) {
    let cfg = HeartbeatConfig::new(Duration::from_millis(20))
        .stale_after(Duration::from_millis(300))
        .max_retries(1);
    let build = || {
        Study::builder("retry")
            .storage(s.clone())
            .sampler(RandomSampler::new(Some(3)))
            .heartbeat(cfg)
            .load_if_exists(true)
            .build()
            .unwrap()
    };
    let study = build();
    let mut dead = study.ask().unwrap();
    let x = dead.suggest_float("x", 0.0, 1.0).unwrap();
    let dead_number = dead.number();
    drop(dead); // the worker "dies": no more heartbeats, never told
    thread::sleep(Duration::from_millis(450));

    // Several workers ask at once; exactly one of them fails the stale trial and
    // enqueues its retry.
    race(|_| {
        let w = build();
        let mut t = w.ask().unwrap();
        let v = t.suggest_float("x", 0.0, 1.0).unwrap();
        w.tell_values(t, v).unwrap();
    });
    let trials = study.trials().unwrap();
    let dead = &trials[dead_number as usize];
    assert_eq!(dead.state, TrialState::Failed);
    assert_eq!(dead.fail_reason, Some(util::stale_reason(cfg.stale_after)));
    let retries: Vec<&FrozenTrial> = trials
        .iter()
        .filter(|t| t.retried_from == Some(dead_number))
        .collect();
    assert_eq!(retries.len(), 1, "retried exactly once");
    if retries[0].state == TrialState::Waiting {
        // Enqueued after every racer had asked: the next ask runs it.
        let mut t = study.ask().unwrap();
        assert_eq!(t.number(), retries[0].number);
        t.suggest_float("x", 0.0, 1.0).unwrap();
        study.tell_values(t, 0.0).unwrap();
    }
    let retry = study
        .trials()
        .unwrap()
        .into_iter()
        .find(|t| t.retried_from == Some(dead_number))
        .unwrap();
    assert_eq!(retry.state, TrialState::Complete);
    assert_eq!(
        retry.params["x"],
        ParamValue::Float(x),
        "same configuration"
    );
    let all = study.trials().unwrap();
    assert_eq!(numbers(&all), (0..all.len() as u64).collect::<Vec<_>>());
    assert_eq!(
        all.iter().filter(|t| t.state == TrialState::Failed).count(),
        1
    );
    assert!(all
        .iter()
        .filter(|t| t.number != dead_number)
        .all(|t| t.state == TrialState::Complete));
}

// ---- concurrency ----

pub fn concurrent_create_numbers(s: Arc<dyn Storage>) {
    let a = study(&*s, "a");
    let b = study(&*s, "b");
    let created = race(|_| {
        (0..50)
            .map(|j| {
                // Interleave a few writes to another study.
                if j % 10 == 0 {
                    running(&*s, b);
                }
                running(&*s, a)
            })
            .collect::<Vec<_>>()
    });
    let mut nums: Vec<u64> = created.iter().flatten().map(|t| t.number).collect();
    nums.sort_unstable();
    assert_eq!(nums, (0..400).collect::<Vec<_>>());
    let ids: HashSet<TrialId> = created.iter().flatten().map(|t| t.id).collect();
    assert_eq!(ids.len(), 400);
    let stored = s.all_trials(a).unwrap();
    assert_eq!(numbers(&stored), (0..400).collect::<Vec<_>>());
    assert_eq!(
        numbers(&s.all_trials(b).unwrap()),
        (0..40).collect::<Vec<_>>()
    );
}

pub fn concurrent_claim_waiting(s: Arc<dyn Storage>) {
    let a = study(&*s, "a");
    let ids: BTreeSet<TrialId> = (0..100).map(|_| waiting(&*s, a).id).collect();
    let claimed = race(|_| {
        let mut mine = Vec::new();
        while let Some(t) = s.claim_waiting_trial(a, true).unwrap() {
            assert_eq!(t.state, TrialState::Running);
            mine.push(t.id);
        }
        mine
    });
    let all: Vec<TrialId> = claimed.into_iter().flatten().collect();
    assert_eq!(all.len(), 100, "each waiting trial claimed once");
    assert_eq!(all.iter().copied().collect::<BTreeSet<_>>(), ids);
    assert!(s
        .all_trials(a)
        .unwrap()
        .iter()
        .all(|t| t.state == TrialState::Running && t.heartbeat.is_some()));
}

pub fn concurrent_claim_keys(s: Arc<dyn Storage>) {
    let a = study(&*s, "a");
    let results = race(|i| {
        let mut won = Vec::new();
        for k in 0..40 {
            // Threads walk the keys in different orders.
            let key = format!("grid:{}", (k + i * 5) % 40);
            match s.create_trial(a, keyed(&key)) {
                Ok(t) => won.push((key, t.number)),
                Err(Error::ClaimTaken(taken)) => assert_eq!(taken, key),
                Err(e) => panic!("unexpected {e}"),
            }
        }
        won
    });
    let won: Vec<(String, u64)> = results.into_iter().flatten().collect();
    let keys: BTreeSet<&String> = won.iter().map(|(k, _)| k).collect();
    assert_eq!(won.len(), 40, "each key granted once");
    assert_eq!(keys.len(), 40);
    let stored = s.all_trials(a).unwrap();
    assert_eq!(numbers(&stored), (0..40).collect::<Vec<_>>(), "no gaps");
    for (k, n) in &won {
        assert_eq!(stored[*n as usize].claim_key.as_ref(), Some(k));
    }
}

pub fn concurrent_finish(s: Arc<dyn Storage>) {
    let a = study(&*s, "a");
    let trials: Vec<FrozenTrial> = (0..20).map(|_| running(&*s, a)).collect();
    let outcomes = race(|i| {
        trials
            .iter()
            .map(|t| match s.finish_trial(t.id, &complete(i as f64)) {
                Ok(f) => Some(f.values.unwrap()[0]),
                Err(Error::TrialFinished { .. }) => None,
                Err(e) => panic!("unexpected {e}"),
            })
            .collect::<Vec<_>>()
    });
    for (j, t) in trials.iter().enumerate() {
        let winners: Vec<f64> = outcomes.iter().filter_map(|o| o[j]).collect();
        assert_eq!(winners.len(), 1, "trial {} finished once", t.number);
        let stored = s.get_trial(t.id).unwrap();
        assert_eq!(stored.state, TrialState::Complete);
        assert_eq!(stored.values, Some(vec![winners[0]]), "the winner's values");
    }
}

pub fn concurrent_fail_stale(s: Arc<dyn Storage>) {
    let a = study(&*s, "a");
    let stale: BTreeSet<TrialId> = (0..30).map(|_| with_heartbeat(&*s, a).id).collect();
    thread::sleep(Duration::from_millis(40));
    let failed = race(|_| {
        s.fail_stale_trials(a, Duration::from_millis(20))
            .unwrap()
            .into_iter()
            .map(|t| t.id)
            .collect::<Vec<_>>()
    });
    let all: Vec<TrialId> = failed.into_iter().flatten().collect();
    assert_eq!(
        all.len(),
        30,
        "each stale trial failed by exactly one caller"
    );
    assert_eq!(all.into_iter().collect::<BTreeSet<_>>(), stale);
}

// ---- through the engine ----

pub fn engine_parallel_optimize(s: Arc<dyn Storage>) {
    let study = Study::builder("engine")
        .storage(s.clone())
        .sampler(RandomSampler::new(Some(7)))
        .build()
        .unwrap();
    let summary = study
        .optimize_with(
            |t| -> crate::Result<f64> {
                let x = t.suggest_float("x", -2.0, 2.0)?;
                t.report(0, x.abs())?;
                Ok(x * x)
            },
            OptimizeOptions::n_trials(40).n_jobs(4),
        )
        .unwrap();
    assert_eq!(summary.complete, 40);
    let trials = s.all_trials(study.id()).unwrap();
    assert_eq!(numbers(&trials), (0..40).collect::<Vec<_>>());
    for t in &trials {
        let x = t.params["x"].as_f64().unwrap();
        assert_eq!(t.state, TrialState::Complete);
        assert_eq!(t.values, Some(vec![x * x]));
        assert_eq!(t.intermediate_values[&0], x.abs());
    }
}

pub fn engine_grid_parallel_studies(s: Arc<dyn Storage>) {
    let points: Vec<BTreeMap<String, ParamValue>> = (0..24)
        .map(|i| [("i".to_string(), ParamValue::Int(i))].into())
        .collect();
    let seen = Mutex::new(Vec::new());
    let summaries = race(|w| {
        // One study object per worker, as separate processes would have.
        let study = Study::builder("grid")
            .storage(s.clone())
            .sampler(GridSampler::new(points.clone(), Some(w as u64)).unwrap())
            .load_if_exists(true)
            .build()
            .unwrap();
        study
            .optimize(
                |t| -> crate::Result<f64> {
                    let i = t.suggest_int("i", 0, 23)?;
                    seen.lock().unwrap().push(i);
                    Ok(i as f64)
                },
                100,
            )
            .unwrap()
    });
    assert!(summaries.iter().all(|s| s.exhausted));
    assert_eq!(summaries.iter().map(|s| s.complete).sum::<usize>(), 24);
    let mut seen = seen.into_inner().unwrap();
    seen.sort_unstable();
    assert_eq!(seen, (0..24).collect::<Vec<_>>(), "every point once");
    let study = s.get_study("grid").unwrap();
    let trials = s.all_trials(study.id).unwrap();
    assert_eq!(numbers(&trials), (0..24).collect::<Vec<_>>());
    assert!(trials.iter().all(|t| t.state == TrialState::Complete));
}

//! Behaviour of the study engine: reproducibility, grids under threads, conditional
//! spaces, bad input, failing objectives, best trials, enqueue, callbacks, heartbeats.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyperscape_core::{
    Direction, Distribution, Error, GridSampler, HeartbeatConfig, InMemoryStorage, OptimizeOptions,
    ParamValue, RandomSampler, Sampler, SobolSampler, SpaceDecl, Storage, Study, TrialResult,
    TrialState,
};

type Params = BTreeMap<String, ParamValue>;

fn mixed(t: &mut hyperscape_core::Trial) -> hyperscape_core::Result<f64> {
    let x = t.suggest_float("x", -5.0, 5.0)?;
    let lr = t.suggest_float_log("lr", 1e-5, 1.0)?;
    let n = t.suggest_int_step("n", 2, 64, 2)?;
    let act = t.suggest_categorical("act", ["relu", "tanh", "gelu"])?;
    Ok(x * x + lr + n as f64 + act.as_str().unwrap().len() as f64)
}

fn params_by_number(study: &Study) -> BTreeMap<u64, Params> {
    study
        .trials()
        .unwrap()
        .into_iter()
        .map(|t| (t.number, t.params))
        .collect()
}

fn mixed_space() -> SpaceDecl {
    SpaceDecl::new()
        .param("x", Distribution::float(-5.0, 5.0))
        .and_then(|s| s.param("lr", Distribution::float_log(1e-5, 1.0)))
        .and_then(|s| s.param("n", Distribution::int_step(2, 64, 2)))
        .and_then(|s| s.param("act", Distribution::categorical(["relu", "tanh", "gelu"])))
        .unwrap()
}

/// Runs 40 trials; with `declared`, the study knows its space up front (as the CLI's
/// does), so joint samplers sample it from the first trial.
fn run(sampler: Box<dyn Sampler>, jobs: usize, declared: bool) -> BTreeMap<u64, Params> {
    let mut b = Study::builder("r").boxed_sampler(sampler);
    if declared {
        b = b.space(mixed_space().search_space());
    }
    let study = b.build().unwrap();
    study
        .optimize_with(mixed, OptimizeOptions::n_trials(40).n_jobs(jobs))
        .unwrap();
    params_by_number(&study)
}

#[test]
fn seeded_samplers_are_reproducible_even_with_threads() {
    // The random sampler is independent per trial; Sobol is joint over the declared
    // space. (Without a declared space, Sobol's joint space is what complete trials
    // share, which depends on which trials completed first, as in Optuna.)
    type Make = fn(u64) -> Box<dyn Sampler>;
    let random: Make = |s| Box::new(RandomSampler::new(Some(s)));
    let sobol: Make = |s| Box::new(SobolSampler::new(Some(s)));
    for (make, declared) in [(random, false), (sobol, true)] {
        let a = run(make(11), 1, declared);
        assert_eq!(a.len(), 40);
        assert!(a.values().all(|p| p.len() == 4));
        assert_eq!(a, run(make(11), 1, declared), "same seed, same run");
        for _ in 0..3 {
            assert_eq!(
                a,
                run(make(11), 4, declared),
                "trial k gets the same params whatever the thread timing"
            );
        }
        assert_ne!(a, run(make(12), 1, declared), "another seed, another run");
    }
    // Sobol without a declared space is still reproducible on one thread.
    let b = run(sobol(5), 1, false);
    assert_eq!(b, run(sobol(5), 1, false));
}

#[test]
fn grid_is_exhaustive_without_repeats_under_four_threads() {
    let space = SpaceDecl::from_toml_str(
        r#"
[params.a]
type = "int"
low = 0
high = 5
[params.b]
type = "categorical"
choices = ["x", "y", "z"]
[params.c]
type = "float"
low = 0.0
high = 1.0
step = 0.5
"#,
    )
    .unwrap();
    let study = Study::builder("g")
        .sampler(GridSampler::from_space(&space, Some(5)).unwrap())
        .build()
        .unwrap();
    let summary = study
        .optimize_with(
            |t| -> hyperscape_core::Result<f64> {
                t.suggest_space(&space)?;
                std::thread::sleep(Duration::from_millis(1));
                Ok(1.0)
            },
            OptimizeOptions::n_trials(500).n_jobs(4),
        )
        .unwrap();
    assert!(summary.exhausted);
    let trials = study.trials().unwrap();
    assert_eq!(trials.len(), 6 * 3 * 3);
    let distinct: BTreeSet<String> = trials
        .iter()
        .map(|t| serde_json::to_string(&t.params).unwrap())
        .collect();
    assert_eq!(distinct.len(), 54);
    assert!(trials.iter().all(|t| t.state == TrialState::Complete));
    // A finished grid asks no more.
    assert!(matches!(study.ask().unwrap_err(), Error::SpaceExhausted(_)));
}

#[test]
fn seeded_grid_order_is_reproducible() {
    let space = SpaceDecl::new()
        .param("k", Distribution::int(1, 30))
        .unwrap();
    let order = |seed| {
        let study = Study::builder("g")
            .sampler(GridSampler::from_space(&space, Some(seed)).unwrap())
            .build()
            .unwrap();
        study
            .optimize(|t| t.suggest_int("k", 1, 30).map(|k| k as f64), 10)
            .unwrap();
        study
            .trials()
            .unwrap()
            .iter()
            .map(|t| t.params["k"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(order(1), order(1));
    assert_ne!(order(1), order(2));
}

#[test]
fn conditional_parameters_exist_only_under_their_branch() {
    let study = Study::builder("c")
        .sampler(RandomSampler::new(Some(3)))
        .build()
        .unwrap();
    study
        .optimize(
            |t| -> hyperscape_core::Result<f64> {
                let opt = t.suggest_categorical("optimizer", ["sgd", "adam"])?;
                if opt.as_str() == Some("sgd") {
                    let m = t.suggest_float("momentum", 0.0, 0.99)?;
                    Ok(m)
                } else {
                    let b = t.suggest_float("beta2", 0.9, 0.9999)?;
                    Ok(b)
                }
            },
            60,
        )
        .unwrap();
    let trials = study.trials().unwrap();
    assert_eq!(trials.len(), 60);
    let mut saw = (false, false);
    for t in &trials {
        match t.params["optimizer"].as_str().unwrap() {
            "sgd" => {
                saw.0 = true;
                assert!(t.params.contains_key("momentum") && !t.params.contains_key("beta2"));
            }
            _ => {
                saw.1 = true;
                assert!(t.params.contains_key("beta2") && !t.params.contains_key("momentum"));
            }
        }
    }
    assert!(saw.0 && saw.1);
}

#[test]
fn conditional_declared_space_with_sobol() {
    let space = SpaceDecl::from_toml_str(
        r#"
[params.opt]
type = "categorical"
choices = ["sgd", "adam"]
[params.momentum]
type = "float"
low = 0.0
high = 0.9
when = { opt = "sgd" }
"#,
    )
    .unwrap();
    let study = Study::builder("c")
        .sampler(SobolSampler::new(Some(1)))
        .space(space.search_space())
        .build()
        .unwrap();
    study
        .optimize(|t| t.suggest_space(&space).map(|p| p.len() as f64), 32)
        .unwrap();
    for t in study.trials().unwrap() {
        assert_eq!(
            t.params.contains_key("momentum"),
            t.params["opt"].as_str() == Some("sgd")
        );
    }
}

#[test]
fn invalid_distributions_are_typed_errors_naming_the_parameter() {
    let study = Study::builder("bad").build().unwrap();
    let mut t = study.ask().unwrap();
    let cases: Vec<(Distribution, &str)> = vec![
        (Distribution::float(1.0, 1.0), "low"),
        (Distribution::float(2.0, 1.0), "low"),
        (Distribution::int(5, 1), "low"),
        (Distribution::float_log(0.0, 1.0), "log"),
        (Distribution::float_log(-1.0, 1.0), "log"),
        (Distribution::int_log(0, 10), "log"),
        (Distribution::categorical(Vec::<String>::new()), "empty"),
        (Distribution::float(f64::NAN, 1.0), "finite"),
    ];
    for (d, word) in cases {
        let e = t.suggest("p", d.clone()).unwrap_err();
        assert!(
            matches!(e, Error::InvalidDistribution { ref name, .. } if name == "p"),
            "{d}: {e:?}"
        );
        assert!(e.to_string().contains(word), "{d}: {e}");
    }
}

#[test]
fn a_name_reused_with_another_distribution_is_an_error() {
    let study = Study::builder("reuse").build().unwrap();
    let mut t = study.ask().unwrap();
    t.suggest_float("x", 0.0, 1.0).unwrap();
    let e = t.suggest_int("x", 0, 1).unwrap_err();
    assert!(
        matches!(e, Error::IncompatibleDistribution { ref name, .. } if name == "x"),
        "{e:?}"
    );
    // Same trial, same distribution: same value.
    let v = t.suggest_float("x", 0.0, 1.0).unwrap();
    assert_eq!(Some(v), t.params()["x"].as_f64());
    // Same trial, same kind but other bounds: also an error within one trial.
    assert!(t.suggest_float("x", 0.0, 2.0).is_err());
    study.tell_values(t, 1.0).unwrap();
    // Across trials: kind must match (Optuna's rule); bounds may change.
    let mut t2 = study.ask().unwrap();
    assert!(t2.suggest_float("x", 0.0, 2.0).is_ok());
    let mut t3 = study.ask().unwrap();
    let e = t3.suggest_categorical("x", ["a"]).unwrap_err();
    assert!(e.to_string().contains("`x`"), "{e}");
}

#[test]
fn enqueued_values_outside_bounds_fail_the_trial_with_a_reason() {
    let study = Study::builder("enq").build().unwrap();
    let mut p = Params::new();
    p.insert("x".into(), ParamValue::Float(99.0));
    study.enqueue_trial(p).unwrap();
    study
        .optimize(|t| t.suggest_float("x", 0.0, 1.0), 2)
        .unwrap();
    let trials = study.trials().unwrap();
    assert_eq!(trials[0].state, TrialState::Failed);
    let reason = trials[0].fail_reason.as_deref().unwrap();
    assert!(
        reason.contains("`x`") && reason.contains("outside"),
        "{reason}"
    );
    assert_eq!(trials[1].state, TrialState::Complete, "the study goes on");
}

#[test]
fn enqueued_trials_run_first_with_their_params() {
    let study = Study::builder("enq")
        .sampler(RandomSampler::new(Some(1)))
        .build()
        .unwrap();
    for x in [0.25, 0.75] {
        study
            .enqueue_trial([("x".to_string(), ParamValue::Float(x))].into())
            .unwrap();
    }
    study
        .optimize(|t| t.suggest_float("x", 0.0, 1.0), 4)
        .unwrap();
    let trials = study.trials().unwrap();
    assert_eq!(trials.len(), 4);
    assert_eq!(trials[0].params["x"], ParamValue::Float(0.25));
    assert_eq!(trials[1].params["x"], ParamValue::Float(0.75));
    assert!(trials.iter().all(|t| t.state == TrialState::Complete));
}

#[test]
fn bad_objective_values_fail_the_trial_and_the_study_goes_on() {
    let study = Study::builder("bad")
        .sampler(RandomSampler::new(Some(1)))
        .build()
        .unwrap();
    let calls = AtomicUsize::new(0);
    let summary = study
        .optimize(
            |t| -> Result<f64, Box<dyn std::error::Error + Send + Sync>> {
                t.suggest_float("x", 0.0, 1.0)?;
                match calls.fetch_add(1, Ordering::SeqCst) {
                    0 => Ok(f64::NAN),
                    1 => Ok(f64::INFINITY),
                    2 => Ok(f64::NEG_INFINITY),
                    3 => panic!("boom at trial 3"),
                    4 => Err("disk full".into()),
                    _ => Ok(1.0),
                }
            },
            7,
        )
        .unwrap();
    assert_eq!((summary.complete, summary.failed), (2, 5));
    let t = study.trials().unwrap();
    let reason = |i: usize| t[i].fail_reason.clone().unwrap();
    assert!(reason(0).contains("NaN"), "{}", reason(0));
    assert!(reason(1).contains("inf"), "{}", reason(1));
    assert!(reason(2).contains("-inf"), "{}", reason(2));
    assert!(
        reason(3).contains("panicked") && reason(3).contains("boom at trial 3"),
        "{}",
        reason(3)
    );
    assert!(reason(4).contains("disk full"), "{}", reason(4));
    assert!(t[..5]
        .iter()
        .all(|t| t.state == TrialState::Failed && t.values.is_none()));
    assert_eq!(study.best_value().unwrap(), 1.0);
}

#[test]
fn wrong_number_of_values_fails_the_trial() {
    let study = Study::builder("mo")
        .directions(vec![Direction::Minimize, Direction::Maximize])
        .build()
        .unwrap();
    let t = study.ask().unwrap();
    let f = study.tell(t, TrialResult::Complete(vec![1.0])).unwrap();
    assert_eq!(f.state, TrialState::Failed);
    assert!(f.fail_reason.unwrap().contains("2 direction"));
}

#[test]
fn best_trial_respects_direction_and_pareto_front_is_non_dominated() {
    let study = Study::builder("max")
        .direction(Direction::Maximize)
        .build()
        .unwrap();
    for v in [1.0, 5.0, 3.0] {
        let t = study.ask().unwrap();
        study.tell_values(t, v).unwrap();
    }
    assert_eq!(study.best_trial().unwrap().number, 1);

    let mo = Study::builder("mo")
        .directions(vec![Direction::Minimize, Direction::Minimize])
        .build()
        .unwrap();
    let pts = [
        [1.0, 5.0],
        [2.0, 2.0],
        [5.0, 1.0],
        [3.0, 3.0],
        [2.0, 2.0],
        [6.0, 6.0],
    ];
    for p in pts {
        let t = mo.ask().unwrap();
        mo.tell_values(t, p).unwrap();
    }
    let front: Vec<u64> = mo.best_trials().unwrap().iter().map(|t| t.number).collect();
    assert_eq!(front, vec![0, 1, 2, 4]);
    assert!(
        mo.best_trial().is_err(),
        "best_trial is single-objective only"
    );
    let empty = Study::builder("e").build().unwrap();
    assert!(matches!(
        empty.best_trial().unwrap_err(),
        Error::NoCompletedTrials(_)
    ));
}

#[test]
fn callbacks_see_every_trial_and_can_stop_the_study() {
    let study = Study::builder("cb").build().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let s2 = seen.clone();
    let summary = study
        .optimize_with(
            |t| t.suggest_float("x", 0.0, 1.0),
            OptimizeOptions::n_trials(1000).callback(move |study, trial| {
                assert!(trial.state.is_finished());
                if s2.fetch_add(1, Ordering::SeqCst) + 1 == 7 {
                    study.stop();
                }
            }),
        )
        .unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 7);
    assert_eq!(summary.complete, 7);
}

#[test]
fn timeout_bounds_the_run() {
    let study = Study::builder("to").build().unwrap();
    let start = std::time::Instant::now();
    study
        .optimize_with(
            |t| {
                std::thread::sleep(Duration::from_millis(20));
                t.suggest_float("x", 0.0, 1.0)
            },
            OptimizeOptions::default()
                .timeout(Duration::from_millis(200))
                .n_jobs(2),
        )
        .unwrap();
    assert!(start.elapsed() < Duration::from_secs(2));
    let n = study.trials().unwrap().len();
    assert!((2..=30).contains(&n), "{n} trials");
}

#[test]
fn resume_continues_numbering_and_n_trials_adds() {
    let storage: Arc<dyn Storage> = Arc::new(InMemoryStorage::new());
    let open = || {
        Study::builder("resume")
            .storage(storage.clone())
            .load_if_exists(true)
            .build()
            .unwrap()
    };
    open()
        .optimize(|t| t.suggest_float("x", 0.0, 1.0), 3)
        .unwrap();
    open()
        .optimize(|t| t.suggest_float("x", 0.0, 1.0), 3)
        .unwrap();
    let numbers: Vec<u64> = open().trials().unwrap().iter().map(|t| t.number).collect();
    assert_eq!(numbers, (0..6).collect::<Vec<_>>());
    // Without load_if_exists, an existing name is an error; other directions too.
    assert!(matches!(
        Study::builder("resume")
            .storage(storage.clone())
            .build()
            .unwrap_err(),
        Error::StudyExists(_)
    ));
    assert!(matches!(
        Study::builder("resume")
            .storage(storage.clone())
            .direction(Direction::Maximize)
            .load_if_exists(true)
            .build()
            .unwrap_err(),
        Error::DirectionMismatch { .. }
    ));
}

#[test]
fn report_records_intermediate_values() {
    let study = Study::builder("rep").build().unwrap();
    study
        .optimize(
            |t| -> hyperscape_core::Result<f64> {
                for step in 0..5 {
                    t.report(step, step as f64 * 0.5)?;
                }
                assert!(!t.should_prune()?);
                Ok(2.0)
            },
            1,
        )
        .unwrap();
    let t = &study.trials().unwrap()[0];
    assert_eq!(t.intermediate_values.len(), 5);
    assert_eq!(t.intermediate_values[&4], 2.0);
}

#[test]
fn heartbeat_recovers_a_dead_workers_trial_and_retries_it() {
    let storage: Arc<dyn Storage> = Arc::new(InMemoryStorage::new());
    let hb = HeartbeatConfig::new(Duration::from_millis(50))
        .stale_after(Duration::from_millis(150))
        .max_retries(1);
    // A dead worker leaves behind a running trial whose heartbeat is no longer refreshed.
    // (The real SIGKILL of a process is covered by the CLI tests.)
    let study = Study::builder("hb")
        .storage(storage.clone())
        .build()
        .unwrap();
    let dead = storage
        .create_trial(
            study.id(),
            hyperscape_core::trial::NewTrial {
                heartbeat: true,
                ..Default::default()
            },
        )
        .unwrap();
    let x = ParamValue::Float(0.125);
    storage
        .set_trial_param(dead.id, "x", &Distribution::float(0.0, 1.0), &x)
        .unwrap();
    let dead_params: Params = [("x".to_string(), x)].into();
    std::thread::sleep(Duration::from_millis(400));
    let live = Study::builder("hb")
        .storage(storage.clone())
        .heartbeat(hb)
        .load_if_exists(true)
        .build()
        .unwrap();
    live.optimize(|t| t.suggest_float("x", 0.0, 1.0), 2)
        .unwrap();
    let trials = live.trials().unwrap();
    assert_eq!(trials[0].state, TrialState::Failed);
    assert!(trials[0]
        .fail_reason
        .as_deref()
        .unwrap()
        .contains("heartbeat"));
    let retry = &trials[1];
    assert_eq!(retry.retried_from, Some(0));
    assert_eq!(retry.state, TrialState::Complete);
    assert_eq!(
        retry.params, dead_params,
        "the retry repeats the dead trial's configuration"
    );
}

#[test]
fn live_heartbeats_keep_slow_trials_alive() {
    let storage: Arc<dyn Storage> = Arc::new(InMemoryStorage::new());
    let hb =
        HeartbeatConfig::new(Duration::from_millis(30)).stale_after(Duration::from_millis(120));
    let a = Study::builder("hb")
        .storage(storage.clone())
        .heartbeat(hb)
        .build()
        .unwrap();
    let b = Study::builder("hb")
        .storage(storage.clone())
        .heartbeat(hb)
        .load_if_exists(true)
        .build()
        .unwrap();
    let slow = a.ask().unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let quick = b.ask().unwrap(); // runs stale recovery
    b.tell_values(quick, 1.0).unwrap();
    let f = a.tell_values(slow, 2.0).unwrap();
    assert_eq!(
        f.state,
        TrialState::Complete,
        "a live worker's trial must not be failed"
    );
}

#[test]
fn export_json_and_csv() {
    let study = Study::builder("ex")
        .sampler(RandomSampler::new(Some(2)))
        .build()
        .unwrap();
    study
        .optimize(|t| t.suggest_float("x", 0.0, 1.0), 3)
        .unwrap();
    let t = study.ask().unwrap();
    study.tell(t, TrialResult::Failed("oops".into())).unwrap();
    let trials = study.trials().unwrap();
    let json = hyperscape_core::export::to_json(&trials, 1);
    let arr = json.as_array().unwrap();
    assert_eq!(arr.len(), 4);
    assert!(arr[0]["value"].is_f64() && arr[0]["params"]["x"].is_f64());
    assert_eq!(arr[0]["state"], "complete");
    assert_eq!(arr[3]["state"], "failed");
    assert_eq!(arr[3]["fail_reason"], "oops");
    let mut buf = Vec::new();
    hyperscape_core::export::write_csv(&trials, 1, &mut buf).unwrap();
    let text = String::from_utf8(buf).unwrap();
    let mut lines = text.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("number,state,value,params_x,"));
    assert_eq!(text.lines().count(), 5);
}

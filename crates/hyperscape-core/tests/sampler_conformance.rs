//! The sampler conformance suite: every sampler registered in `SAMPLERS` must pass it,
//! so a new sampler is covered the moment it is registered (as every storage backend
//! passes `storage_conformance_tests!`). Properties:
//! - every parameter kind (float, log, step, int, log int, step int, categorical)
//!   yields valid values, and every trial completes, with the space declared up front
//!   or inferred from complete trials;
//! - a seeded run is exactly reproducible, and another seed gives another run (both
//!   with and without a declared space);
//! - define-by-run conditional parameters exist only under their branch;
//! - enqueued fixed parameters are used as given;
//! - four threads run a study to its exact trial count without errors;
//! - the grid sampler (which needs an enumerable space) is run on a declared grid.

use std::collections::BTreeMap;

use hyperscape_core::sampler::{sampler_by_name, SAMPLERS};
use hyperscape_core::{
    Distribution, OptimizeOptions, ParamValue, SpaceDecl, Study, Trial, TrialState,
};

/// Enough trials for model-based samplers to leave their start-up phase (TPE, GP),
/// run several CMA-ES generations, and breed a second NSGA-II generation.
const TRIALS: usize = 60;

/// The mixed space, declared, with grid levels so the grid sampler can enumerate it.
fn space() -> SpaceDecl {
    let with_grid =
        |name: &str, d: Distribution, grid: Vec<ParamValue>| hyperscape_core::space::ParamDecl {
            name: name.into(),
            distribution: d,
            condition: None,
            grid: Some(grid),
        };
    SpaceDecl::new()
        .push(with_grid(
            "a",
            Distribution::float(-5.0, 5.0),
            vec![(-1.0).into(), 0.5.into()],
        ))
        .and_then(|s| {
            s.push(with_grid(
                "b",
                Distribution::float_log(1e-4, 1.0),
                vec![1e-3.into(), 1e-1.into()],
            ))
        })
        .and_then(|s| s.param("c", Distribution::float_step(0.0, 1.0, 0.25)))
        .and_then(|s| s.param("k", Distribution::int(1, 3)))
        .and_then(|s| {
            s.push(with_grid(
                "m",
                Distribution::int_log(1, 1000),
                vec![1.into(), 10.into()],
            ))
        })
        .and_then(|s| s.param("s", Distribution::int_step(0, 10, 5)))
        .and_then(|s| s.param("cat", Distribution::categorical(["x", "y", "z"])))
        .unwrap()
}

fn objective(t: &mut Trial, space: &SpaceDecl) -> hyperscape_core::Result<f64> {
    let p = t.suggest_space(space)?;
    let num = |n: &str| p[n].as_f64().unwrap();
    Ok(num("a").powi(2)
        + (num("b").log10() + 2.0).powi(2)
        + (num("c") - 0.3).powi(2)
        + (num("k") - 2.0).abs()
        + (num("m").ln() - 3.0).powi(2)
        + (num("s") - 5.0).abs() / 5.0
        + if p["cat"].as_str() == Some("y") {
            0.0
        } else {
            1.0
        })
}

/// A study of `name`; with `declared`, the study knows its space up front (as the CLI's
/// do), otherwise joint samplers infer it from complete trials.
fn study_with(name: &str, seed: u64, space: &SpaceDecl, declared: bool) -> Study {
    let sampler =
        sampler_by_name(name, Some(seed), Some(space)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let b = Study::builder("conformance").boxed_sampler(sampler);
    let b = if declared {
        b.space(space.search_space())
    } else {
        b
    };
    b.build().unwrap()
}

fn study(name: &str, seed: u64, space: &SpaceDecl) -> Study {
    study_with(name, seed, space, true)
}

fn run(name: &str, seed: u64, jobs: usize) -> Study {
    run_with(name, seed, jobs, true)
}

fn run_with(name: &str, seed: u64, jobs: usize, declared: bool) -> Study {
    let space = space();
    let s = study_with(name, seed, &space, declared);
    s.optimize_with(
        |t| objective(t, &space),
        OptimizeOptions::n_trials(TRIALS).n_jobs(jobs),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    s
}

fn params(s: &Study) -> Vec<BTreeMap<String, ParamValue>> {
    s.trials().unwrap().into_iter().map(|t| t.params).collect()
}

#[test]
fn every_registered_sampler_yields_valid_values_of_every_kind() {
    let grid_size = space().grid_size().unwrap();
    for name in SAMPLERS {
        let s = run(name, 3, 1);
        let trials = s.trials().unwrap();
        let expected = if *name == "grid" {
            TRIALS.min(grid_size)
        } else {
            TRIALS
        };
        assert_eq!(trials.len(), expected, "{name}");
        for t in &trials {
            assert_eq!(t.state, TrialState::Complete, "{name}: {:?}", t.fail_reason);
            assert_eq!(t.params.len(), 7, "{name}: {:?}", t.params);
            for (p, v) in &t.params {
                t.distributions[p]
                    .check_value(p, v)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            }
        }
    }
}

#[test]
fn every_registered_sampler_is_reproducible_under_its_seed() {
    for (name, declared) in SAMPLERS.iter().flat_map(|n| [(n, true), (n, false)]) {
        let go = |seed| params(&run_with(name, seed, 1, declared));
        let a = go(11);
        assert_eq!(
            a,
            go(11),
            "{name} (declared space: {declared}): same seed, same run"
        );
        assert_ne!(
            a,
            go(12),
            "{name} (declared space: {declared}): the seed must matter"
        );
    }
}

#[test]
fn every_registered_sampler_handles_define_by_run_conditionals() {
    let grid_space = SpaceDecl::from_toml_str(
        "[params.opt]\ntype = \"categorical\"\nchoices = [\"sgd\", \"adam\"]\n\
         [params.momentum]\ntype = \"float\"\nlow = 0.0\nhigh = 0.9\nstep = 0.3\nwhen = { opt = \"sgd\" }\n\
         [params.lr]\ntype = \"float\"\nlow = 0.001\nhigh = 0.1\nlog = true\ngrid = [0.001, 0.01]\n",
    )
    .unwrap();
    for name in SAMPLERS {
        // No declared space: the objective asks as it goes (the grid needs its space).
        let sampler = sampler_by_name(name, Some(5), Some(&grid_space)).unwrap();
        let s = Study::builder("cond")
            .boxed_sampler(sampler)
            .build()
            .unwrap();
        s.optimize(
            |t| -> hyperscape_core::Result<f64> {
                let lr = t.suggest_float_log("lr", 0.001, 0.1)?;
                let opt = t.suggest_categorical("opt", ["sgd", "adam"])?;
                Ok(if opt.as_str() == Some("sgd") {
                    lr + t.suggest_float_step("momentum", 0.0, 0.9, 0.3)?
                } else {
                    lr
                })
            },
            40,
        )
        .unwrap();
        let trials = s.trials().unwrap();
        assert!(!trials.is_empty(), "{name}");
        for t in &trials {
            assert_eq!(t.state, TrialState::Complete, "{name}: {:?}", t.fail_reason);
            let sgd = t.params["opt"].as_str() == Some("sgd");
            assert_eq!(
                t.params.contains_key("momentum"),
                sgd,
                "{name}: {:?}",
                t.params
            );
        }
    }
}

#[test]
fn every_registered_sampler_uses_enqueued_parameters() {
    let space = space();
    for name in SAMPLERS {
        let s = study(name, 1, &space);
        let fixed: BTreeMap<String, ParamValue> = [
            ("a".to_string(), ParamValue::Float(0.5)),
            ("cat".to_string(), ParamValue::from("z")),
        ]
        .into();
        s.enqueue_trial(fixed.clone()).unwrap();
        s.optimize(|t| objective(t, &space), 3).unwrap();
        let first = &s.trials().unwrap()[0];
        assert_eq!(
            first.state,
            TrialState::Complete,
            "{name}: {:?}",
            first.fail_reason
        );
        for (k, v) in &fixed {
            assert_eq!(&first.params[k], v, "{name}: enqueued `{k}`");
        }
    }
}

#[test]
fn every_registered_sampler_runs_on_four_threads() {
    let grid_size = space().grid_size().unwrap();
    for name in SAMPLERS {
        let s = run(name, 7, 4);
        let trials = s.trials().unwrap();
        let expected = if *name == "grid" {
            TRIALS.min(grid_size)
        } else {
            TRIALS
        };
        assert_eq!(trials.len(), expected, "{name}");
        let numbers: Vec<u64> = trials.iter().map(|t| t.number).collect();
        assert_eq!(numbers, (0..expected as u64).collect::<Vec<_>>(), "{name}");
        assert!(
            trials.iter().all(|t| t.state == TrialState::Complete),
            "{name}: {:?}",
            trials.iter().find_map(|t| t.fail_reason.clone())
        );
    }
}

//! CMA-ES sampler: bounds, reproducibility, quality against random search, IPOP/BIPOP
//! restarts, the margin for integers, warm starts, pruned/failed trials and bad input.
//! All seeded, so every figure below is deterministic.

use std::collections::{BTreeMap, BTreeSet};

use hyperscape_core::functions::{rosenbrock, sphere};
use hyperscape_core::sampler::{sampler_by_name, CmaEsSampler, Restart};
use hyperscape_core::{
    Direction, Error, FrozenTrial, OptimizeOptions, ParamValue, RandomSampler, Sampler, Study,
    TrialResult,
};

fn study(sampler: Box<dyn Sampler>) -> Study {
    Study::builder("t").boxed_sampler(sampler).build().unwrap()
}

fn cma(seed: u64) -> Box<dyn Sampler> {
    Box::new(CmaEsSampler::new(Some(seed)))
}

/// Runs `n` trials of `f` over `[lo, hi]^d`; returns the study.
fn run(
    sampler: Box<dyn Sampler>,
    d: usize,
    lo: f64,
    hi: f64,
    n: usize,
    f: fn(&[f64]) -> f64,
) -> Study {
    let s = study(sampler);
    s.optimize(
        |t| -> hyperscape_core::Result<f64> {
            let x: Vec<f64> = (0..d)
                .map(|i| t.suggest_float(&format!("x{i:02}"), lo, hi))
                .collect::<Result<_, _>>()?;
            Ok(f(&x))
        },
        n,
    )
    .unwrap();
    s
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn shifted_sphere(x: &[f64]) -> f64 {
    x.iter().map(|v| (v - 1.5).powi(2)).sum()
}

fn ellipsoid(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    x.iter()
        .enumerate()
        .map(|(i, v)| 1e4f64.powf(i as f64 / (n - 1.0)) * (v - 1.5).powi(2))
        .sum()
}

fn rastrigin(x: &[f64]) -> f64 {
    use std::f64::consts::TAU;
    10.0 * x.len() as f64
        + x.iter()
            .map(|v| v * v - 10.0 * (TAU * v).cos())
            .sum::<f64>()
}

#[test]
fn cmaes_beats_random_on_10d_sphere_ellipsoid_and_rosenbrock() {
    for (name, f, lo, hi) in [
        ("sphere", shifted_sphere as fn(&[f64]) -> f64, -5.0, 5.0),
        ("ellipsoid", ellipsoid, -5.0, 5.0),
        ("rosenbrock", rosenbrock, -2.0, 2.0),
    ] {
        let best = |s: Box<dyn Sampler>| run(s, 10, lo, hi, 300, f).best_value().unwrap();
        let c: Vec<f64> = (0..4).map(|s| best(cma(s))).collect();
        let r: Vec<f64> = (0..4)
            .map(|s| best(Box::new(RandomSampler::new(Some(s)))))
            .collect();
        println!(
            "{name} 10-D, 300 trials, mean best of 4 seeds: cmaes {:.4}, random {:.4}",
            mean(&c),
            mean(&r)
        );
        assert!(
            mean(&c) < 0.2 * mean(&r),
            "{name}: cmaes {c:?} vs random {r:?}"
        );
    }
}

#[test]
fn ipop_restarts_on_rastrigin_and_beats_a_single_run() {
    let (mut ipop, mut single, mut restarts) = (vec![], vec![], vec![]);
    for seed in 0..4 {
        let smp = CmaEsSampler::builder()
            .seed(Some(seed))
            .restart(Restart::Ipop)
            .tolerances(1e-4, 1e-6)
            .build()
            .unwrap();
        let stats = smp.stats();
        ipop.push(
            run(Box::new(smp), 5, -5.12, 5.12, 3000, rastrigin)
                .best_value()
                .unwrap(),
        );
        let st = stats.lock().unwrap().clone();
        let pops: Vec<usize> = st.runs.iter().map(|r| r.popsize).collect();
        assert!(pops.len() >= 2, "seed {seed}: no restart, runs {pops:?}");
        for w in pops.windows(2) {
            assert_eq!(w[1], 2 * w[0], "IPOP doubles the population: {pops:?}");
        }
        assert!(st.runs[..st.runs.len() - 1]
            .iter()
            .all(|r| r.stop.is_some()));
        restarts.push(pops.len() - 1);
        let smp = CmaEsSampler::builder()
            .seed(Some(seed))
            .tolerances(1e-4, 1e-6)
            .build()
            .unwrap();
        single.push(
            run(Box::new(smp), 5, -5.12, 5.12, 3000, rastrigin)
                .best_value()
                .unwrap(),
        );
    }
    println!(
        "rastrigin 5-D, 3000 trials, mean best of 4 seeds: ipop {:.3} (restarts {restarts:?}), single run {:.3}",
        mean(&ipop),
        mean(&single)
    );
    assert!(
        mean(&ipop) < mean(&single),
        "ipop {ipop:?} vs single {single:?}"
    );
}

#[test]
fn bipop_alternates_large_and_small_populations() {
    let smp = CmaEsSampler::builder()
        .seed(Some(1))
        .restart(Restart::Bipop)
        .tolerances(1e-4, 1e-6)
        .build()
        .unwrap();
    let stats = smp.stats();
    run(Box::new(smp), 5, -5.12, 5.12, 4000, rastrigin);
    let st = stats.lock().unwrap().clone();
    let base = st.runs[0].popsize;
    let pops: Vec<usize> = st.runs.iter().map(|r| r.popsize).collect();
    assert!(
        pops.iter().any(|p| *p >= 2 * base),
        "no large run: {pops:?}"
    );
    let small = st
        .runs
        .iter()
        .skip(1)
        .filter(|r| r.popsize < 2 * base)
        .count();
    assert!(small >= 1, "no small run: {pops:?}");
    assert!(
        st.runs.iter().any(|r| r.sigma0 < st.runs[0].sigma0),
        "small runs take a smaller sigma0"
    );
}

/// Four integer dimensions in [0, 9] and four floats; optimum at ints 7 and floats 0.
fn int_objective(t: &mut hyperscape_core::Trial) -> hyperscape_core::Result<f64> {
    let mut v = 0.0;
    for i in 0..4 {
        v += ((t.suggest_int(&format!("k{i}"), 0, 9)? - 7) as f64).abs();
        v += t.suggest_float(&format!("x{i}"), -3.0, 3.0)?.powi(2);
    }
    Ok(v)
}

#[test]
fn integer_dimensions_keep_exploring_with_margin() {
    let distinct_late = |margin: bool| {
        let smp = CmaEsSampler::builder()
            .seed(Some(4))
            .margin(margin)
            .build()
            .unwrap();
        let s = study(Box::new(smp));
        s.optimize(int_objective, 600).unwrap();
        let trials = s.trials().unwrap();
        let late = &trials[trials.len() - 150..];
        let per_dim: Vec<usize> = (0..4)
            .map(|i| {
                late.iter()
                    .map(|t| t.params[&format!("k{i}")].clone().as_i64().unwrap())
                    .collect::<BTreeSet<_>>()
                    .len()
            })
            .collect();
        (per_dim, s.best_value().unwrap())
    };
    let (with, best_with) = distinct_late(true);
    let (without, best_without) = distinct_late(false);
    println!("distinct ints in the last 150 trials: margin {with:?} (best {best_with:.4}), none {without:?} (best {best_without:.4})");
    assert!(with.iter().all(|k| *k >= 2), "margin: {with:?}");
    assert!(
        without.iter().all(|k| *k == 1),
        "without margin the ints freeze: {without:?}"
    );
    assert!(
        best_with < 0.5,
        "margin finds the integer optimum: {best_with}"
    );
}

/// Trials of a random search on a sphere centred at 0.8 of the range in every dim.
fn source_trials() -> Vec<FrozenTrial> {
    let s = run(
        Box::new(RandomSampler::new(Some(9))),
        6,
        0.0,
        1.0,
        200,
        |x| x.iter().map(|v| (v - 0.8).powi(2)).sum(),
    );
    s.trials().unwrap()
}

fn first_generation_centre(s: &Study, from: usize, count: usize) -> f64 {
    let t = s.trials().unwrap();
    let pts: Vec<f64> = t[from..from + count]
        .iter()
        .flat_map(|t| t.params.values().map(|v| v.as_f64().unwrap()))
        .collect();
    mean(&pts)
}

#[test]
fn warm_start_from_source_trials_starts_near_their_best() {
    let obj = |x: &[f64]| x.iter().map(|v| (v - 0.8).powi(2)).sum::<f64>();
    let smp = CmaEsSampler::builder()
        .seed(Some(2))
        .source_trials(source_trials())
        .build()
        .unwrap();
    let warm = run(Box::new(smp), 6, 0.0, 1.0, 9, obj);
    let cold = run(cma(2), 6, 0.0, 1.0, 9, obj);
    // Trial 0 is the independent startup trial; 1..=8 the first generation (λ = 8).
    let (w, c) = (
        first_generation_centre(&warm, 1, 8),
        first_generation_centre(&cold, 1, 8),
    );
    println!("first generation centre: warm {w:.3}, cold {c:.3} (source best near 0.8)");
    // The best tenth of 200 random points centres between the middle and 0.8.
    assert!((w - 0.8).abs() < 0.2 && w - c > 0.12, "warm {w}, cold {c}");
    assert!((c - 0.5).abs() < 0.1, "cold {c}");
}

#[test]
fn warm_start_from_the_study_uses_its_best_complete_trials() {
    let s = Study::builder("w")
        .sampler(
            CmaEsSampler::builder()
                .seed(Some(5))
                .n_startup_trials(3)
                .warm_start(true)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    // Three enqueued trials; the best is at 0.1 in every dimension.
    for (x, _) in [(0.1, 0), (0.9, 1), (0.6, 2)] {
        let p: BTreeMap<String, ParamValue> = (0..3)
            .map(|i| (format!("x{i}"), ParamValue::Float(x)))
            .collect();
        s.enqueue_trial(p).unwrap();
    }
    s.optimize(
        |t| -> hyperscape_core::Result<f64> {
            let x: Vec<f64> = (0..3)
                .map(|i| t.suggest_float(&format!("x{i}"), 0.0, 1.0))
                .collect::<Result<_, _>>()?;
            Ok(x.iter().map(|v| (v - 0.1).powi(2)).sum())
        },
        10,
    )
    .unwrap();
    let c = first_generation_centre(&s, 3, 7);
    assert!(
        (c - 0.1).abs() < 0.1,
        "first generation centred at {c}, not near 0.1"
    );
}

#[test]
fn failed_and_pruned_trials_are_replaced_and_the_run_goes_on() {
    let smp = CmaEsSampler::new(Some(6));
    let stats = smp.stats();
    let s = study(Box::new(smp));
    for i in 0..400u64 {
        let mut t = s.ask().unwrap();
        let x: Vec<f64> = (0..4)
            .map(|j| t.suggest_float(&format!("x{j}"), -5.0, 5.0).unwrap())
            .collect();
        let result = match i % 5 {
            0 => TrialResult::Failed("boom".into()),
            1 => TrialResult::Pruned,
            _ => TrialResult::Complete(vec![shifted_sphere(&x)]),
        };
        s.tell(t, result).unwrap();
    }
    let gens = stats.lock().unwrap().runs[0].generations;
    // 240 complete trials, of which ~239 are members (one startup trial); λ = 8.
    assert!(gens >= 28, "only {gens} generations");
    assert!(
        s.best_value().unwrap() < 0.05,
        "{}",
        s.best_value().unwrap()
    );
}

#[test]
fn parallel_workers_advance_generations() {
    let smp = CmaEsSampler::new(Some(8));
    let stats = smp.stats();
    let s = study(Box::new(smp));
    s.run_trials(
        |t| {
            let x: Vec<f64> = (0..4)
                .map(|j| t.suggest_float(&format!("x{j}"), -5.0, 5.0).unwrap())
                .collect();
            TrialResult::Complete(vec![shifted_sphere(&x)])
        },
        OptimizeOptions {
            n_trials: Some(200),
            n_jobs: 2,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(s.trials().unwrap().len(), 200);
    assert!(stats.lock().unwrap().runs[0].generations >= 15);
    assert!(s.best_value().unwrap() < 0.5);
}

#[test]
fn maximisation_climbs() {
    let s = Study::builder("max")
        .direction(Direction::Maximize)
        .sampler(CmaEsSampler::new(Some(3)))
        .build()
        .unwrap();
    s.optimize(
        |t| -> hyperscape_core::Result<f64> {
            let x = t.suggest_float("x", -5.0, 5.0)?;
            let y = t.suggest_float("y", -5.0, 5.0)?;
            Ok(-(x - 2.0).powi(2) - (y + 1.0).powi(2))
        },
        150,
    )
    .unwrap();
    assert!(
        s.best_value().unwrap() > -1e-3,
        "{}",
        s.best_value().unwrap()
    );
}

#[test]
fn bad_settings_and_several_objectives_are_clear_errors() {
    for b in [
        CmaEsSampler::builder().sigma0(0.0),
        CmaEsSampler::builder().popsize(1),
        CmaEsSampler::builder().margin_alpha(0.7),
        CmaEsSampler::builder().warm_start_gamma_alpha(0.0, 0.1),
        CmaEsSampler::builder().tolerances(-1.0, 0.0),
    ] {
        let e = b.build().unwrap_err();
        assert!(
            matches!(e, Error::InvalidSampler(_)) && e.to_string().contains("cmaes"),
            "{e}"
        );
    }
    let s = Study::builder("mo")
        .directions(vec![Direction::Minimize, Direction::Minimize])
        .sampler(CmaEsSampler::new(Some(0)))
        .build()
        .unwrap();
    let t = s.ask().unwrap();
    let mut t = t;
    let x = t.suggest_float("x", 0.0, 1.0).unwrap();
    s.tell_values(t, vec![x, 1.0 - x]).unwrap();
    let e = s.ask().map(|_| ()).unwrap_err();
    assert!(e.to_string().contains("single objective"), "{e}");
    assert_eq!(
        sampler_by_name("cmaes-bipop", Some(1), None)
            .unwrap()
            .name(),
        "cmaes-bipop"
    );
}

#[test]
fn quick_sanity_on_plain_sphere() {
    let s = run(cma(0), 3, -5.0, 5.0, 200, sphere);
    assert!(
        s.best_value().unwrap() < 1e-3,
        "{}",
        s.best_value().unwrap()
    );
}

#[test]
fn a_declared_space_with_a_conditional_parameter_still_advances() {
    use hyperscape_core::{Distribution, SearchSpace};
    let mut space = BTreeMap::new();
    for name in ["x0", "x1", "y"] {
        space.insert(name.to_string(), Distribution::float(-5.0, 5.0));
    }
    let smp = CmaEsSampler::new(Some(7));
    let stats = smp.stats();
    let s = Study::builder("decl")
        .space(SearchSpace(space))
        .sampler(smp)
        .build()
        .unwrap();
    s.optimize(
        |t| -> hyperscape_core::Result<f64> {
            let x0 = t.suggest_float("x0", -5.0, 5.0)?;
            let x1 = t.suggest_float("x1", -5.0, 5.0)?;
            // `y` exists only on one branch.
            let y = if x0 > 0.0 {
                t.suggest_float("y", -5.0, 5.0)?
            } else {
                0.0
            };
            Ok((x0 - 1.0).powi(2) + (x1 + 2.0).powi(2) + y * y)
        },
        200,
    )
    .unwrap();
    let gens = stats.lock().unwrap().runs[0].generations;
    assert!(gens >= 25, "only {gens} generations");
    assert!(
        s.best_value().unwrap() < 0.01,
        "{}",
        s.best_value().unwrap()
    );
}

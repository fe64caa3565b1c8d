//! GP sampler with several objectives: log-EHVI (the default) against random search on
//! ZDT1 and a three-objective problem by hypervolume, ParEGO still available, constraints, parallel
//! workers, and seeded reproducibility. All seeded.

use std::collections::{BTreeMap, HashSet};

use hyperscape_core::problems::multi::{multi_problem_by_name, MultiProblem};
use hyperscape_core::sampler::multi::hypervolume;
use hyperscape_core::sampler::{sampler_by_name, GpSampler, MultiObjective};
use hyperscape_core::{Direction, OptimizeOptions, ParamValue, RandomSampler, Sampler, Study};

fn gp(seed: u64, mo: MultiObjective) -> Box<dyn Sampler> {
    Box::new(
        GpSampler::builder()
            .seed(Some(seed))
            .multi_objective(mo)
            .build()
            .unwrap(),
    )
}

/// Runs `n` trials on a benchmark problem; the trials' parameters and values.
fn run(
    p: &MultiProblem,
    sampler: Box<dyn Sampler>,
    n: usize,
) -> Vec<(BTreeMap<String, ParamValue>, Vec<f64>)> {
    let s = Study::builder("mo")
        .directions(p.directions.clone())
        .boxed_sampler(sampler)
        .space(p.space.search_space())
        .build()
        .unwrap();
    s.optimize(
        |t| -> hyperscape_core::Result<Vec<f64>> {
            let params = t.suggest_space(&p.space)?;
            p.evaluate(&params)
        },
        n,
    )
    .unwrap();
    let mut trials = s.trials().unwrap();
    trials.sort_by_key(|t| t.number);
    trials
        .into_iter()
        .map(|t| (t.params, t.values.unwrap()))
        .collect()
}

fn hv_gap(p: &MultiProblem, trials: &[(BTreeMap<String, ParamValue>, Vec<f64>)]) -> f64 {
    let values: Vec<Vec<f64>> = trials.iter().map(|t| t.1.clone()).collect();
    p.optimal_hypervolume - p.hypervolume(&values)
}

#[test]
fn ehvi_finds_more_hypervolume_than_random_on_zdt1() {
    let p = multi_problem_by_name("zdt1-6d").unwrap().unwrap();
    let mut gaps = Vec::new();
    for seed in 0..3 {
        let g = hv_gap(&p, &run(&p, gp(seed, MultiObjective::Ehvi), 40));
        let r = hv_gap(&p, &run(&p, Box::new(RandomSampler::new(Some(seed))), 40));
        println!("zdt1-6d seed {seed}: hypervolume gap gp-ehvi {g:.3}, random {r:.3}");
        gaps.push((g, r));
    }
    for (g, r) in &gaps {
        assert!(g < r, "gp {g} not below random {r}");
    }
    let (gs, rs): (f64, f64) = gaps.iter().fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
    assert!(gs < 0.5 * rs, "mean gap gp {gs} vs random {rs}");
}

#[test]
fn ehvi_handles_three_objectives_better_than_random() {
    // f_j = squared distance to one of three centres in [-2, 2]²: the Pareto set is
    // their triangle. Hypervolume from (1.5, 1.5, 1.5), exact by slicing.
    let centres = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]];
    let hv = |sampler: Box<dyn Sampler>| {
        let s = Study::builder("mo3")
            .directions(vec![Direction::Minimize; 3])
            .boxed_sampler(sampler)
            .build()
            .unwrap();
        s.optimize(
            |t| -> hyperscape_core::Result<Vec<f64>> {
                let x = t.suggest_float("x", -2.0, 2.0)?;
                let y = t.suggest_float("y", -2.0, 2.0)?;
                Ok(centres
                    .iter()
                    .map(|c| (x - c[0]).powi(2) + (y - c[1]).powi(2))
                    .collect())
            },
            30,
        )
        .unwrap();
        let values: Vec<Vec<f64>> = s
            .trials()
            .unwrap()
            .into_iter()
            .map(|t| t.values.unwrap())
            .collect();
        let pts: Vec<&[f64]> = values.iter().map(Vec::as_slice).collect();
        hypervolume(&pts, &[1.5, 1.5, 1.5])
    };
    for seed in 0..2 {
        let g = hv(gp(seed, MultiObjective::Ehvi));
        let r = hv(Box::new(RandomSampler::new(Some(seed))));
        println!("three centres, seed {seed}: hypervolume gp-ehvi {g:.4}, random {r:.4}");
        assert!(g > 1.2 * r, "gp {g} vs random {r}");
    }
}

#[test]
fn a_seeded_multi_objective_run_is_reproducible() {
    let p = multi_problem_by_name("zdt2-6d").unwrap().unwrap();
    for mo in [MultiObjective::Ehvi, MultiObjective::ParEgo] {
        let a = run(&p, gp(11, mo), 16);
        let b = run(&p, gp(11, mo), 16);
        assert_eq!(a, b, "{mo:?}");
        let c = run(&p, gp(12, mo), 16);
        assert_ne!(a, c, "{mo:?}");
    }
    // The two methods propose different points once the GP starts.
    let e = run(&p, gp(11, MultiObjective::Ehvi), 14);
    let q = run(&p, gp(11, MultiObjective::ParEgo), 14);
    assert_eq!(e[..10], q[..10]);
    assert_ne!(e[10..], q[10..]);
}

#[test]
fn parego_stays_available_by_name_and_builder() {
    let s = sampler_by_name("gp-parego", Some(0), None).unwrap();
    assert_eq!(s.name(), "gp");
    let p = multi_problem_by_name("zdt1-6d").unwrap().unwrap();
    let g = hv_gap(&p, &run(&p, gp(1, MultiObjective::ParEgo), 30));
    let r = hv_gap(&p, &run(&p, Box::new(RandomSampler::new(Some(1))), 30));
    assert!(g < r, "parego {g} vs random {r}");
}

#[test]
fn constrained_ehvi_searches_the_feasible_front() {
    // f1 = x², f2 = (x − 2)² (+ y²): the front is x in [0, 2], y = 0; feasible only for
    // x ≥ 1, so the feasible front is x in [1, 2].
    let s = Study::builder("mo-c")
        .directions(vec![Direction::Minimize, Direction::Minimize])
        .boxed_sampler(Box::new(
            GpSampler::builder()
                .seed(Some(2))
                .n_startup_trials(6)
                .build()
                .unwrap(),
        ))
        .build()
        .unwrap();
    s.optimize(
        |t| -> hyperscape_core::Result<Vec<f64>> {
            let x = t.suggest_float("x", -4.0, 4.0)?;
            let y = t.suggest_float("y", -4.0, 4.0)?;
            t.set_constraints(&[1.0 - x])?;
            Ok(vec![x * x + y * y, (x - 2.0).powi(2) + y * y])
        },
        30,
    )
    .unwrap();
    let late: Vec<(f64, f64)> = s.trials().unwrap()[6..]
        .iter()
        .map(|t| {
            (
                t.params["x"].as_f64().unwrap(),
                t.params["y"].as_f64().unwrap(),
            )
        })
        .collect();
    let feasible = late.iter().filter(|(x, _)| *x >= 1.0).count();
    let on_front = late
        .iter()
        .filter(|(x, y)| (0.9..=2.2).contains(x) && y.abs() < 0.5)
        .count();
    println!("of 24 late trials: {feasible} feasible, {on_front} near the feasible front");
    assert!(feasible >= 18, "{feasible} of 24 feasible");
    assert!(on_front >= 12, "{on_front} of 24 near the feasible front");
}

#[test]
fn four_threads_propose_distinct_points_with_two_objectives() {
    let s = Study::builder("mo-par")
        .directions(vec![Direction::Minimize, Direction::Minimize])
        .boxed_sampler(gp(9, MultiObjective::Ehvi))
        .build()
        .unwrap();
    s.optimize_with(
        |t| -> hyperscape_core::Result<Vec<f64>> {
            let x = t.suggest_float("x", 0.0, 1.0)?;
            let y = t.suggest_float("y", 0.0, 1.0)?;
            std::thread::sleep(std::time::Duration::from_millis(2));
            Ok(vec![x + y, 1.0 - x + y])
        },
        OptimizeOptions::n_trials(24).n_jobs(4),
    )
    .unwrap();
    let trials = s.trials().unwrap();
    assert_eq!(trials.len(), 24);
    let distinct: HashSet<String> = trials.iter().map(|t| format!("{:?}", t.params)).collect();
    assert_eq!(distinct.len(), 24);
}

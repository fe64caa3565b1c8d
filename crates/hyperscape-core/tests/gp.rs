//! GP sampler: bounds for every kind, reproducibility, quality against random search
//! (and TPE, printed) on Branin and Hartmann-6, log-EI in the far tail, duplicate
//! points, constraints, several objectives, fantasies and threads. All seeded.

use std::collections::HashSet;

use hyperscape_core::functions::{branin, hartmann6, BRANIN_MIN, HARTMANN6_MIN};
use hyperscape_core::sampler::{log_ei, log_h, sampler_by_name, GpSampler, TpeSampler};
use hyperscape_core::{
    Direction, Error, OptimizeOptions, RandomSampler, Sampler, Study, TrialResult, TrialState,
};

fn gp(seed: u64) -> Box<dyn Sampler> {
    Box::new(GpSampler::builder().seed(Some(seed)).build().unwrap())
}
fn tpe(seed: u64) -> Box<dyn Sampler> {
    Box::new(TpeSampler::builder().seed(Some(seed)).build().unwrap())
}
fn tpe_mv(seed: u64) -> Box<dyn Sampler> {
    let b = TpeSampler::builder().seed(Some(seed)).multivariate(true);
    Box::new(b.build().unwrap())
}
fn random(seed: u64) -> Box<dyn Sampler> {
    Box::new(RandomSampler::new(Some(seed)))
}
fn study(sampler: Box<dyn Sampler>) -> Study {
    Study::builder("t").boxed_sampler(sampler).build().unwrap()
}
fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Best value after `n` trials of `f` over `[0, 1]^d`.
fn best_of(sampler: Box<dyn Sampler>, d: usize, n: usize, f: fn(&[f64]) -> f64) -> f64 {
    let s = study(sampler);
    s.optimize(
        |t| -> hyperscape_core::Result<f64> {
            let x: Vec<f64> = (0..d)
                .map(|i| t.suggest_float(&format!("x{i}"), 0.0, 1.0))
                .collect::<Result<_, _>>()?;
            Ok(f(&x))
        },
        n,
    )
    .unwrap();
    s.best_value().unwrap()
}

fn mixed_objective(t: &mut hyperscape_core::Trial) -> hyperscape_core::Result<f64> {
    let a = t.suggest_float("a", -5.0, 5.0)?;
    let b = t.suggest_float_log("b", 1e-4, 1.0)?;
    let c = t.suggest_float_step("c", 0.0, 1.0, 0.1)?;
    let k = t.suggest_int("k", 1, 20)?;
    let m = t.suggest_int_log("m", 1, 1000)?;
    let s = t.suggest_int_step("s", 0, 30, 5)?;
    let cat = t.suggest_categorical("cat", ["x", "y", "z"])?;
    Ok(a * a
        + (b.log10() + 2.0).powi(2)
        + (c - 0.3).powi(2)
        + ((k - 7) as f64).abs()
        + ((m as f64).ln() - 3.0).powi(2)
        + (s as f64 - 15.0).abs() / 5.0
        + if cat.as_str() == Some("y") { 0.0 } else { 1.0 })
}

fn small_gp(seed: u64) -> GpSampler {
    GpSampler::builder()
        .seed(Some(seed))
        .n_startup_trials(5)
        .build()
        .unwrap()
}

#[test]
fn every_kind_stays_in_bounds_and_the_gp_improves_on_startup() {
    let s = study(Box::new(small_gp(3)));
    s.optimize(mixed_objective, 30).unwrap();
    let trials = s.trials().unwrap();
    for t in &trials {
        assert_eq!(t.state, TrialState::Complete, "{:?}", t.fail_reason);
        for (name, v) in &t.params {
            t.distributions[name].check_value(name, v).unwrap();
        }
    }
    let startup = trials[..5]
        .iter()
        .map(|t| t.values.as_ref().unwrap()[0])
        .fold(f64::INFINITY, f64::min);
    assert!(s.best_value().unwrap() < startup);
}

fn branin01(x: &[f64]) -> f64 {
    branin(-5.0 + 15.0 * x[0], 15.0 * x[1])
}
fn hartmann01(x: &[f64]) -> f64 {
    hartmann6(&[x[0], x[1], x[2], x[3], x[4], x[5]])
}

/// Mean regret of gp, tpe, tpe-multivariate and random over `seeds`, printed.
fn regrets(name: &str, d: usize, n: usize, f: fn(&[f64]) -> f64, min: f64, seeds: u64) -> [f64; 4] {
    let makers: [fn(u64) -> Box<dyn Sampler>; 4] = [gp, tpe, tpe_mv, random];
    let r = makers.map(|mk| {
        let v: Vec<f64> = (0..seeds).map(|s| best_of(mk(s), d, n, f)).collect();
        mean(&v) - min
    });
    println!(
        "{name} regret, {seeds} seeds, {n} trials: gp {:.4}, tpe {:.4}, \
         tpe-multivariate {:.4}, random {:.4}",
        r[0], r[1], r[2], r[3]
    );
    r
}

#[test]
fn gp_beats_random_on_branin() {
    let [g, _, _, r] = regrets("branin", 2, 40, branin01, BRANIN_MIN, 4);
    assert!(g < 0.2 * r, "gp {g} vs random {r}");
    assert!(g < 0.05, "gp regret {g}");
}

#[test]
fn gp_beats_random_on_hartmann6() {
    let [g, _, _, r] = regrets("hartmann6", 6, 60, hartmann01, HARTMANN6_MIN, 3);
    assert!(g < 0.5 * r, "gp {g} vs random {r}");
}

#[test]
fn log_ei_is_finite_and_monotone_for_extreme_z() {
    let zs = [
        -1e8, -1e4, -500.0, -40.0, -25.0, -10.0, -1.0, 0.0, 1.0, 10.0, 1e4,
    ];
    let mut prev = f64::NEG_INFINITY;
    for z in zs {
        let v = log_h(z);
        assert!(v.is_finite(), "log_h({z}) = {v}");
        assert!(v > prev, "log_h not increasing at {z}");
        prev = v;
    }
    // Far in the tail, ln h(z) ≈ −z²/2 − ln√(2π) − 2 ln|z|.
    let z = -40.0f64;
    let approx = -0.5 * z * z - 0.918_938_533_204_672_8 - 2.0 * 40f64.ln();
    assert!((log_h(z) - approx).abs() < 1e-2);
    // For large z, EI ≈ μ − best.
    assert!((log_ei(10.0, 1e-4, 0.0) - 10f64.ln()).abs() < 1e-9);
    assert!(log_ei(-1e3, 1e-6, 0.0).is_finite());
}

#[test]
fn duplicate_points_and_exhausted_discrete_spaces_are_safe() {
    // Two choices and a flat objective: every point is observed again and again, so the
    // kernel matrix is singular but for the noise; the Cholesky must cope.
    let s = study(Box::new(small_gp(1)));
    s.optimize(
        |t| -> hyperscape_core::Result<f64> {
            let c = t.suggest_categorical("c", [true, false])?;
            let k = t.suggest_int("k", 0, 1)?;
            // Flat in both parameters.
            let _ = (c, k);
            Ok(1.0)
        },
        20,
    )
    .unwrap();
    assert!(s
        .trials()
        .unwrap()
        .iter()
        .all(|t| t.state == TrialState::Complete));
}

#[test]
fn evaluated_discrete_points_are_not_proposed_again() {
    let s = study(Box::new(small_gp(2)));
    s.optimize(
        |t| -> hyperscape_core::Result<f64> {
            let k = t.suggest_int("k", 0, 29)?;
            Ok(((k - 17) as f64).powi(2))
        },
        20,
    )
    .unwrap();
    let ks: HashSet<i64> = s
        .trials()
        .unwrap()
        .iter()
        .map(|t| t.params["k"].as_i64().unwrap())
        .collect();
    assert_eq!(ks.len(), 20);
    assert!(ks.contains(&17));
}

#[test]
fn constraints_steer_towards_feasibility() {
    // Feasible only inside a disc of radius 1 around (2, 2) in [-5, 5]^2 (~3% of the box);
    // the objective pulls towards the origin.
    let run = |sampler: Box<dyn Sampler>| {
        let s = study(sampler);
        s.optimize(
            |t| -> hyperscape_core::Result<f64> {
                let x = t.suggest_float("x", -5.0, 5.0)?;
                let y = t.suggest_float("y", -5.0, 5.0)?;
                t.set_constraints(&[(x - 2.0).powi(2) + (y - 2.0).powi(2) - 1.0])?;
                Ok(x * x + y * y)
            },
            40,
        )
        .unwrap();
        let feasible: Vec<f64> = s
            .trials()
            .unwrap()
            .iter()
            .filter(|t| t.system_attrs["constraints"][0].as_f64().unwrap() <= 0.0)
            .map(|t| t.values.as_ref().unwrap()[0])
            .collect();
        (
            feasible.len() as f64,
            feasible.into_iter().fold(f64::INFINITY, f64::min),
        )
    };
    let g: Vec<(f64, f64)> = (0..3).map(|s| run(gp(s))).collect();
    let r: Vec<(f64, f64)> = (0..3).map(|s| run(random(s))).collect();
    let gf = mean(&g.iter().map(|x| x.0).collect::<Vec<_>>());
    let rf = mean(&r.iter().map(|x| x.0).collect::<Vec<_>>());
    println!("feasible trials out of 40 (mean of 3 seeds): gp {gf:.1}, random {rf:.1}");
    assert!(gf > 4.0 * rf.max(1.0), "gp {gf} vs random {rf}");
    // The constrained optimum is 8 − 4√2·… ≈ 3.34 (closest feasible point to the origin).
    let opt = (8f64.sqrt() - 1.0).powi(2);
    for (_, best) in &g {
        assert!(*best < opt + 0.5, "best feasible {best} vs optimum {opt}");
    }
}

#[test]
fn two_objectives_spread_along_the_front() {
    // ParEGO: f1 = x², f2 = (x − 2)² on y ≡ 0 plus a penalty on y; the front is x ∈ [0, 2], y = 0.
    let s = Study::builder("mo")
        .directions(vec![Direction::Minimize, Direction::Minimize])
        .boxed_sampler(Box::new(small_gp(4)))
        .build()
        .unwrap();
    s.optimize(
        |t| -> hyperscape_core::Result<Vec<f64>> {
            let x = t.suggest_float("x", -4.0, 4.0)?;
            let y = t.suggest_float("y", -4.0, 4.0)?;
            Ok(vec![x * x + y * y, (x - 2.0).powi(2) + y * y])
        },
        30,
    )
    .unwrap();
    let late: Vec<(f64, f64)> = s.trials().unwrap()[10..]
        .iter()
        .map(|t| {
            (
                t.params["x"].as_f64().unwrap(),
                t.params["y"].as_f64().unwrap(),
            )
        })
        .collect();
    let near_front = late
        .iter()
        .filter(|(x, y)| (-0.3..=2.3).contains(x) && y.abs() < 0.5)
        .count();
    let xs: Vec<f64> = late.iter().map(|p| p.0).collect();
    let spread = xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
        - xs.iter().cloned().fold(f64::INFINITY, f64::min);
    assert!(near_front >= 12, "{near_front} of 20 near the front");
    assert!(spread > 1.0, "spread {spread}");
}

#[test]
fn fantasies_spread_pending_asks() {
    let spread = |fantasies: bool| {
        let smp = GpSampler::builder()
            .seed(Some(5))
            .n_startup_trials(6)
            .fantasies(fantasies)
            .build()
            .unwrap();
        let s = study(Box::new(smp));
        s.optimize(
            |t| -> hyperscape_core::Result<f64> {
                Ok((t.suggest_float("x", 0.0, 1.0)? - 0.5).powi(2))
            },
            10,
        )
        .unwrap();
        let mut xs = Vec::new();
        let mut pending = Vec::new();
        for _ in 0..6 {
            let mut t = s.ask().unwrap();
            xs.push(t.suggest_float("x", 0.0, 1.0).unwrap());
            pending.push(t);
        }
        for t in pending {
            s.tell(t, TrialResult::Complete(vec![0.0])).unwrap();
        }
        let mut d = f64::INFINITY;
        for (i, a) in xs.iter().enumerate() {
            for b in &xs[i + 1..] {
                d = d.min((a - b).abs());
            }
        }
        d
    };
    let (with, without) = (spread(true), spread(false));
    println!("closest pair of 6 pending asks: fantasies {with:.2e}, none {without:.2e}");
    assert!(with > 1e-2 && with > 100.0 * without, "{with} vs {without}");
}

#[test]
fn four_threads_propose_distinct_points() {
    let s = study(Box::new(small_gp(9)));
    s.optimize_with(
        |t| -> hyperscape_core::Result<f64> {
            let x = t.suggest_float("x", -1.0, 1.0)?;
            let y = t.suggest_float("y", -1.0, 1.0)?;
            std::thread::sleep(std::time::Duration::from_millis(2));
            Ok(x * x + y * y)
        },
        OptimizeOptions::n_trials(32).n_jobs(4),
    )
    .unwrap();
    let trials = s.trials().unwrap();
    assert_eq!(trials.len(), 32);
    let distinct: HashSet<String> = trials.iter().map(|t| format!("{:?}", t.params)).collect();
    assert_eq!(distinct.len(), 32);
    assert!(s.best_value().unwrap() < 0.05);
}

#[test]
fn bad_settings_are_typed_errors_and_gp_is_registered() {
    assert!(matches!(
        GpSampler::builder().n_candidates(0).build(),
        Err(Error::InvalidSampler(_))
    ));
    assert!(matches!(
        GpSampler::builder().refit_growth(f64::NAN).build(),
        Err(Error::InvalidSampler(_))
    ));
    assert_eq!(sampler_by_name("gp", Some(0), None).unwrap().name(), "gp");
}

#[test]
fn gp_roulette_starts_are_reproducible_and_change_the_search() {
    use hyperscape_core::sampler::StartRule;
    let run = |rule: StartRule, seed: u64| -> Vec<String> {
        let smp = GpSampler::builder()
            .seed(Some(seed))
            .n_startup_trials(5)
            .n_local_search(9)
            .start_rule(rule)
            .build()
            .unwrap();
        let s = study(Box::new(smp));
        s.optimize(
            |t| -> hyperscape_core::Result<f64> {
                let x: Vec<f64> = (0..6)
                    .map(|i| t.suggest_float(&format!("x{i}"), 0.0, 1.0))
                    .collect::<Result<_, _>>()?;
                Ok(hartmann01(&x))
            },
            14,
        )
        .unwrap();
        s.trials()
            .unwrap()
            .iter()
            .map(|t| format!("{:?}", t.params))
            .collect()
    };
    let a = run(StartRule::Roulette, 4);
    assert_eq!(a, run(StartRule::Roulette, 4), "same seed, same trials");
    let b = run(StartRule::Best, 4);
    // The startup points are shared; the model-based proposals are not all the same.
    assert_eq!(a[..5], b[..5]);
    assert_ne!(a[5..], b[5..]);
}

/// A study of `n` trials of the named test problem on its declared space, as
/// `bench quality` runs it.
fn problem_study(name: &str, sampler: Box<dyn Sampler>, n: usize) -> Study {
    use hyperscape_core::problems::problem_by_name;
    let p = problem_by_name(name).unwrap();
    let s = Study::builder(format!("{name}-study"))
        .boxed_sampler(sampler)
        .space(p.space.search_space())
        .build()
        .unwrap();
    s.optimize(
        |t| -> hyperscape_core::Result<f64> {
            let params = t.suggest_space(&p.space)?;
            p.evaluate(&params)
        },
        n,
    )
    .unwrap();
    s
}

/// Branin on a conditional space (`branin-conditional`: a branch `plain` that adds 1, and
/// a branch `tuned` with a parameter `z` that adds 10 (z − 0.3)²), `n` trials; the
/// best regret, and how many trials repeat an earlier one's parameters.
fn conditional_run(sampler: Box<dyn Sampler>, n: usize) -> (f64, usize) {
    use hyperscape_core::problems::problem_by_name;
    let p = problem_by_name("branin-conditional").unwrap();
    let s = problem_study("branin-conditional", sampler, n);
    let trials = s.trials().unwrap();
    let mut seen = HashSet::new();
    let repeats = trials
        .iter()
        .filter(|t| !seen.insert(format!("{:?}", t.params)))
        .count();
    (p.regret(s.best_value().unwrap()), repeats)
}

#[test]
fn the_gp_models_every_branch_of_a_declared_conditional_space() {
    use hyperscape_core::problems::problem_by_name;
    let decl = problem_by_name("branin-conditional").unwrap().space;
    for seed in 0..3 {
        // Through the registry with the declaration: the conditions reach the GP, trials
        // of the `plain` branch (without z) are data too, and no proposal repeats.
        let gp = sampler_by_name("gp", Some(seed), Some(&decl)).unwrap();
        let (regret, repeats) = conditional_run(gp, 75);
        assert_eq!(repeats, 0, "seed {seed}: the GP proposed a point again");
        assert!(regret < 0.01, "seed {seed}: regret {regret}");
    }
}

#[test]
fn without_its_conditions_the_gp_models_the_shared_parameters_and_still_advances() {
    for seed in 0..3 {
        // The declared space reaches the study but not the sampler: z is left to
        // independent draws (Optuna's rule), and the GP keeps proposing new points of
        // the parameters every trial has instead of stalling on trials it cannot place.
        let gp = Box::new(GpSampler::builder().seed(Some(seed)).build().unwrap());
        let (regret, repeats) = conditional_run(gp, 50);
        let (random_regret, _) = conditional_run(random(seed), 50);
        assert_eq!(repeats, 0, "seed {seed}");
        // The plain branch's minimum (regret 1) or better, and better than random search.
        assert!(regret < 1.05, "seed {seed}: regret {regret}");
        assert!(
            regret < random_regret,
            "seed {seed}: {regret} vs random {random_regret}"
        );
    }
}

#[test]
fn continuous_coordinates_are_refined_after_the_discrete_ones_are_rounded() {
    // branin-mixed: x2 = an int plus a categorical offset, x1 continuous. Branin's
    // valley is curved, so the x1 that maximises the acquisition at a fractional x2_int
    // is wrong once x2_int is rounded. Without the second, discrete-fixed local search
    // the GP found the exact discrete minimiser but left x1 0.001-0.005 off: final
    // regrets 7.6e-5, 1.8e-5, 8.9e-5 and 1.1e-4 on seeds 1-4 (median 8.3e-5); with it
    // 1.1e-5, 5.3e-8, 1.2e-5 and 1.2e-5 (median 1.2e-5).
    use hyperscape_core::problems::problem_by_name;
    let p = problem_by_name("branin-mixed").unwrap();
    let mut regrets: Vec<f64> = std::thread::scope(|scope| {
        let runs: Vec<_> = (1..=4)
            .map(|seed| {
                let p = &p;
                scope.spawn(move || {
                    let gp = sampler_by_name("gp", Some(seed), Some(&p.space)).unwrap();
                    let s = problem_study("branin-mixed", gp, 100);
                    p.regret(s.best_value().unwrap())
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    regrets.sort_by(f64::total_cmp);
    let median = (regrets[1] + regrets[2]) / 2.0;
    assert!(
        median < 3e-5,
        "median final regret {median:.2e}: {regrets:?}"
    );
}

#[test]
fn the_startup_design_is_sobol_by_default_and_random_on_request() {
    use hyperscape_core::sampler::Startup;
    // The first eight trials (all startup) on Hartmann-6's declared space, as
    // `bench quality` runs it: points of [0, 1]^6.
    let startup = |design: Startup, seed: u64| -> Vec<Vec<f64>> {
        let smp = GpSampler::builder()
            .seed(Some(seed))
            .n_startup_trials(8)
            .startup(design)
            .build()
            .unwrap();
        let s = problem_study("hartmann6", Box::new(smp), 8);
        s.trials()
            .unwrap()
            .iter()
            .map(|t| t.params.values().map(|v| v.as_f64().unwrap()).collect())
            .collect()
    };
    let sobol = startup(Startup::Sobol, 3);
    let random = startup(Startup::Random, 3);
    assert_eq!(
        random,
        startup(Startup::Random, 3),
        "same seed, same points"
    );
    assert_ne!(
        random,
        startup(Startup::Random, 4),
        "another seed, other points"
    );
    assert_ne!(random, sobol);
    assert!(random.iter().flatten().all(|v| (0.0..=1.0).contains(v)));
    // Eight scrambled Sobol points fill every eighth of every axis once; eight
    // independent uniform draws almost never do (8!/8^8 per axis).
    let stratified = |pts: &[Vec<f64>], j: usize| {
        let cells: HashSet<usize> = pts.iter().map(|p| (p[j] * 8.0) as usize).collect();
        cells.len() == 8
    };
    assert!((0..6).all(|j| stratified(&sobol, j)), "{sobol:?}");
    assert!(!(0..6).all(|j| stratified(&random, j)), "{random:?}");
}

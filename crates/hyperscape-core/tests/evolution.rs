//! NSGA-II / GA and the `auto` sampler: bounds, reproducibility, quality against random
//! search on ZDT1 and a mixed problem, constraints, and auto's rule. All seeded.

use std::collections::BTreeMap;

use hyperscape_core::functions::{hypervolume2, zdt1};
use hyperscape_core::sampler::{
    auto_choose, sampler_by_name, AutoInput, AutoSampler, Nsga2Sampler, SAMPLERS,
};
use hyperscape_core::{
    Direction, Distribution, ParamValue, RandomSampler, Sampler, SearchSpace, SpaceDecl, Study,
    TrialState,
};

fn nsga(seed: u64, pop: usize) -> Box<dyn Sampler> {
    Box::new(
        Nsga2Sampler::builder()
            .seed(Some(seed))
            .population_size(pop)
            .build()
            .unwrap(),
    )
}

fn mixed_objective(t: &mut hyperscape_core::Trial) -> hyperscape_core::Result<f64> {
    let a = t.suggest_float("a", -5.0, 5.0)?;
    let b = t.suggest_float_log("b", 1e-4, 1.0)?;
    let c = t.suggest_float_step("c", 0.0, 1.0, 0.1)?;
    let k = t.suggest_int("k", 1, 20)?;
    let m = t.suggest_int_log("m", 1, 1000)?;
    let s = t.suggest_int_step("s", 0, 30, 5)?;
    let cat = t.suggest_categorical("cat", ["x", "y", "z"])?;
    let flag = t.suggest_categorical("flag", [true, false])?;
    let d = t.suggest_float("d", 0.0, 10.0)?;
    let e = t.suggest_int("e", -50, 50)?;
    Ok(a * a
        + (b.log10() + 2.0).powi(2)
        + (c - 0.3).powi(2)
        + ((k - 7) as f64).abs()
        + ((m as f64).ln() - 3.0).powi(2)
        + (s as f64 - 15.0).abs() / 5.0
        + if cat.as_str() == Some("y") { 0.0 } else { 1.0 }
        + if flag.as_bool() == Some(true) {
            0.0
        } else {
            1.0
        }
        + (d - 7.0).powi(2) / 4.0
        + (e as f64 - 12.0).abs() / 10.0)
}

fn run_mixed(sampler: Box<dyn Sampler>, n: usize) -> Study {
    let s = Study::builder("t").boxed_sampler(sampler).build().unwrap();
    s.optimize(mixed_objective, n).unwrap();
    s
}

/// ZDT1 over 10 variables; returns the study.
fn run_zdt1(sampler: Box<dyn Sampler>, n: usize, constrained: bool, report: bool) -> Study {
    let s = Study::builder("z")
        .directions(vec![Direction::Minimize, Direction::Minimize])
        .boxed_sampler(sampler)
        .build()
        .unwrap();
    s.optimize(
        |t| -> hyperscape_core::Result<Vec<f64>> {
            let x: Vec<f64> = (0..10)
                .map(|i| t.suggest_float(&format!("x{i:02}"), 0.0, 1.0))
                .collect::<Result<_, _>>()?;
            let f = zdt1(&x);
            if constrained {
                // Feasible when x0 <= 0.2 and the mean of the rest <= 0.3.
                let rest = x[1..].iter().sum::<f64>() / 9.0;
                let c = [x[0] - 0.2, rest - 0.3];
                t.set_user_attr("feasible", c.iter().all(|v| *v <= 0.0))?;
                if report {
                    t.set_constraints(&c)?;
                }
            }
            Ok(f.to_vec())
        },
        n,
    )
    .unwrap();
    s
}

fn hv(study: &Study) -> f64 {
    let pts: Vec<[f64; 2]> = study
        .trials_with_state(TrialState::Complete)
        .unwrap()
        .iter()
        .map(|t| {
            let v = t.values.as_ref().unwrap();
            [v[0], v[1]]
        })
        .collect();
    hypervolume2(&pts, [1.1, 11.0])
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn every_kind_stays_in_bounds() {
    for name in ["nsga2", "ga", "auto"] {
        let s = run_mixed(sampler_by_name(name, Some(3), None).unwrap(), 120);
        for t in s.trials().unwrap() {
            assert_eq!(t.state, TrialState::Complete, "{name}: {:?}", t.fail_reason);
            for (p, v) in &t.params {
                t.distributions[p].check_value(p, v).unwrap();
            }
        }
    }
    // Small populations breed many generations; still in bounds.
    let s = run_mixed(nsga(5, 4), 150);
    for t in s.trials().unwrap() {
        for (p, v) in &t.params {
            t.distributions[p].check_value(p, v).unwrap();
        }
    }
}

#[test]
fn seeded_runs_are_reproducible() {
    let params = |s: &Study| -> Vec<BTreeMap<String, ParamValue>> {
        s.trials().unwrap().into_iter().map(|t| t.params).collect()
    };
    let a = run_mixed(nsga(11, 10), 80);
    let b = run_mixed(nsga(11, 10), 80);
    assert_eq!(params(&a), params(&b));
    let c = run_mixed(nsga(12, 10), 80);
    assert_ne!(params(&a), params(&c));
    let a = run_mixed(sampler_by_name("auto", Some(4), None).unwrap(), 40);
    let b = run_mixed(sampler_by_name("auto", Some(4), None).unwrap(), 40);
    assert_eq!(params(&a), params(&b));
}

#[test]
fn children_come_from_the_population() {
    // After the first generation, a child's categorical values come from its parents or
    // a random reset: with mutation off, every child's `cat` is one the population had.
    let sampler = Nsga2Sampler::builder()
        .seed(Some(2))
        .population_size(6)
        .mutation_prob(Some(0.0))
        .build()
        .unwrap();
    let s = run_mixed(Box::new(sampler), 60);
    let trials = s.trials().unwrap();
    let first: std::collections::BTreeSet<String> = trials[..6]
        .iter()
        .map(|t| t.params["cat"].as_str().unwrap().to_string())
        .collect();
    for t in &trials[6..] {
        assert!(first.contains(t.params["cat"].as_str().unwrap()));
    }
    // And the GA converged on a good region: the last children are better than the
    // first generation on average.
    let val = |t: &hyperscape_core::FrozenTrial| t.value().unwrap();
    let early = mean(&trials[..6].iter().map(val).collect::<Vec<_>>());
    let late = mean(&trials[48..].iter().map(val).collect::<Vec<_>>());
    assert!(late < early, "late {late} early {early}");
}

#[test]
fn nsga2_beats_random_on_zdt1() {
    let mut nsga_hv = Vec::new();
    let mut rand_hv = Vec::new();
    for seed in 0..3 {
        nsga_hv.push(hv(&run_zdt1(nsga(seed, 50), 500, false, false)));
        rand_hv.push(hv(&run_zdt1(
            Box::new(RandomSampler::new(Some(seed))),
            500,
            false,
            false,
        )));
    }
    let (n, r) = (mean(&nsga_hv), mean(&rand_hv));
    println!("ZDT1 10-D, 500 trials, HV ref (1.1, 11): nsga2 {n:.3}, random {r:.3}");
    assert!(n > r + 0.5, "nsga2 {nsga_hv:?} random {rand_hv:?}");
}

#[test]
fn ga_beats_random_on_a_mixed_problem() {
    let mut ga = Vec::new();
    let mut rnd = Vec::new();
    for seed in 0..3 {
        let g = Nsga2Sampler::builder()
            .seed(Some(seed))
            .population_size(20)
            .ga()
            .build()
            .unwrap();
        ga.push(run_mixed(Box::new(g), 300).best_value().unwrap());
        rnd.push(
            run_mixed(Box::new(RandomSampler::new(Some(seed))), 300)
                .best_value()
                .unwrap(),
        );
    }
    println!("mixed 10-D, 300 trials, best: ga {ga:?}, random {rnd:?}");
    assert!(mean(&ga) < 0.7 * mean(&rnd), "ga {ga:?} random {rnd:?}");
}

#[test]
fn constraints_yield_more_feasible_trials() {
    let feasible_late = |s: &Study| {
        s.trials().unwrap()[150..]
            .iter()
            .filter(|t| t.user_attrs["feasible"] == serde_json::Value::Bool(true))
            .count()
    };
    let with = feasible_late(&run_zdt1(nsga(1, 30), 300, true, true));
    let blind = feasible_late(&run_zdt1(nsga(1, 30), 300, true, false));
    let rand = feasible_late(&run_zdt1(
        Box::new(RandomSampler::new(Some(1))),
        300,
        true,
        true,
    ));
    println!("feasible among trials 150..300: constrained {with}, blind {blind}, random {rand}");
    assert!(with > 2 * rand.max(1), "with {with} random {rand}");
    assert!(with > blind, "with {with} blind {blind}");
}

fn space(pairs: &[(&str, Distribution)]) -> SearchSpace {
    SearchSpace(
        pairs
            .iter()
            .map(|(n, d)| (n.to_string(), d.clone()))
            .collect(),
    )
}

#[test]
fn auto_rule_picks_as_documented() {
    let floats = space(&[
        ("x", Distribution::float(0.0, 1.0)),
        ("y", Distribution::int(0, 9)),
    ]);
    let cats = space(&[("c", Distribution::categorical(["a", "b"]))]);
    let mixed = space(&[
        ("x", Distribution::float(0.0, 1.0)),
        ("c", Distribution::categorical(["a", "b"])),
    ]);
    let all = [
        "tpe",
        "tpe-multivariate",
        "tpe-group",
        "nsga2",
        "gp",
        "cmaes",
    ];
    let bare = ["tpe", "tpe-multivariate", "tpe-group", "nsga2"];
    let pick_with = |s: &SearchSpace, cond, declared, n_obj, budget, avail: &[&str]| {
        auto_choose(
            &AutoInput {
                space: s,
                conditional: cond,
                declared_conditions: declared,
                n_objectives: n_obj,
                budget,
            },
            avail,
        )
    };
    let pick = |s: &SearchSpace, cond, n_obj, budget, avail: &[&str]| {
        pick_with(s, cond, false, n_obj, budget, avail)
    };
    assert_eq!(pick(&floats, false, 2, None, &all), "nsga2");
    assert_eq!(pick(&floats, false, 2, Some(1000), &all), "nsga2");
    assert_eq!(pick(&floats, false, 2, Some(100), &all), "tpe-multivariate");
    // A small budget on an unconditional space goes to GP, whatever the kinds.
    assert_eq!(pick(&cats, false, 1, Some(100), &all), "gp");
    assert_eq!(pick(&mixed, false, 1, Some(100), &all), "gp");
    assert_eq!(pick(&floats, false, 1, Some(100), &all), "gp");
    // Without GP, or with a large or unknown budget, categoricals go to TPE.
    assert_eq!(pick(&cats, false, 1, Some(100), &bare), "tpe-group");
    assert_eq!(pick(&mixed, false, 1, Some(100), &bare), "tpe-multivariate");
    assert_eq!(pick(&cats, false, 1, Some(5000), &all), "tpe-group");
    assert_eq!(pick(&mixed, false, 1, Some(5000), &all), "tpe-multivariate");
    assert_eq!(pick(&mixed, false, 1, None, &all), "tpe-multivariate");
    // Conditional spaces seen only in the trials go to the group TPE at any budget;
    // declared ones to GP under rule 3's limits (it imputes inactive parameters).
    assert_eq!(pick(&floats, true, 1, Some(100), &all), "tpe-group");
    assert_eq!(pick_with(&floats, true, true, 1, Some(100), &all), "gp");
    assert_eq!(
        pick_with(&floats, true, true, 1, Some(5000), &all),
        "tpe-group"
    );
    assert_eq!(pick_with(&floats, true, true, 1, None, &all), "tpe-group");
    assert_eq!(
        pick_with(&floats, true, true, 1, Some(100), &bare),
        "tpe-group"
    );
    assert_eq!(
        pick_with(&floats, true, true, 2, Some(100), &all),
        "tpe-multivariate"
    );
    assert_eq!(
        pick(&floats, false, 1, Some(100), &bare),
        "tpe-multivariate"
    );
    assert_eq!(pick(&floats, false, 1, Some(5000), &all), "cmaes");
    assert_eq!(
        pick(&floats, false, 1, Some(5000), &bare),
        "tpe-multivariate"
    );
    assert_eq!(pick(&floats, false, 1, None, &all), "tpe-multivariate");
    let wide = SearchSpace(
        (0..30)
            .map(|i| (format!("x{i}"), Distribution::float(0.0, 1.0)))
            .collect(),
    );
    assert_eq!(pick(&wide, false, 1, Some(100), &all), "tpe-multivariate");
}

#[test]
fn auto_delegates_in_a_study() {
    // Several objectives → NSGA-II; a conditional declared space → TPE group; a small
    // continuous budget → GP when registered, multivariate TPE otherwise.
    let auto = AutoSampler::builder().seed(Some(1)).build();
    let chosen = auto.chosen_handle();
    let s = run_zdt1(Box::new(auto), 20, false, false);
    assert_eq!(s.trials().unwrap().len(), 20);
    assert_eq!(chosen.get(), Some("nsga2"));

    let decl = SpaceDecl::new()
        .param("kind", Distribution::categorical(["a", "b"]))
        .unwrap()
        .conditional_param(
            "x",
            Distribution::float(0.0, 1.0),
            "kind",
            vec![ParamValue::from("a")],
        )
        .unwrap();
    let auto = AutoSampler::builder()
        .seed(Some(1))
        .space(Some(decl.clone()))
        .build();
    let chosen = auto.chosen_handle();
    run_mixed(Box::new(auto), 15);
    assert_eq!(chosen.get(), Some("tpe-group"));
    // The same declared conditional space with a small known budget: GP.
    let auto = AutoSampler::builder()
        .seed(Some(1))
        .space(Some(decl.clone()))
        .budget(Some(15))
        .build();
    let chosen = auto.chosen_handle();
    run_mixed(Box::new(auto), 15);
    let want = if SAMPLERS.contains(&"gp") {
        "gp"
    } else {
        "tpe-group"
    };
    assert_eq!(chosen.get(), Some(want));

    let auto = AutoSampler::builder()
        .seed(Some(1))
        .budget(Some(30))
        .build();
    let chosen = auto.chosen_handle();
    let s = Study::builder("f").sampler(auto).build().unwrap();
    s.optimize(
        |t| -> hyperscape_core::Result<f64> {
            let x = t.suggest_float("x", -5.0, 5.0)?;
            let y = t.suggest_float("y", -5.0, 5.0)?;
            Ok(x * x + y * y)
        },
        30,
    )
    .unwrap();
    let want = if SAMPLERS.contains(&"gp") {
        "gp"
    } else {
        "tpe-multivariate"
    };
    assert_eq!(chosen.get(), Some(want));
}

#[test]
fn parallel_workers_breed_more_children() {
    // Four threads: every ask gets a child of the latest closed generation; the run
    // completes and still beats random search clearly. (Regression: a generation once
    // waited for its lowest running trial, so a descheduled thread made the others breed
    // hundreds of children from stale parents.)
    let s = Study::builder("p")
        .directions(vec![Direction::Minimize, Direction::Minimize])
        .boxed_sampler(nsga(3, 30))
        .build()
        .unwrap();
    s.run_trials(
        |t| {
            let x: Vec<f64> = (0..10)
                .map(|i| t.suggest_float(&format!("x{i:02}"), 0.0, 1.0).unwrap())
                .collect();
            hyperscape_core::TrialResult::Complete(zdt1(&x).to_vec())
        },
        hyperscape_core::OptimizeOptions::n_trials(400).n_jobs(4),
    )
    .unwrap();
    assert_eq!(
        s.trials_with_state(TrialState::Complete).unwrap().len(),
        400
    );
    let random = hv(&run_zdt1(
        Box::new(RandomSampler::new(Some(3))),
        400,
        false,
        false,
    ));
    assert!(hv(&s) > random + 0.5, "{} vs {random}", hv(&s));
}

#[test]
fn three_objectives_approach_the_dtlz2_sphere() {
    // DTLZ2's front is the unit sphere: NSGA-II's last generation is nearer to it
    // than its first.
    let s = Study::builder("d")
        .directions(vec![Direction::Minimize; 3])
        .boxed_sampler(nsga(4, 20))
        .build()
        .unwrap();
    s.optimize(
        |t| -> hyperscape_core::Result<Vec<f64>> {
            let x: Vec<f64> = (0..6)
                .map(|i| t.suggest_float(&format!("x{i}"), 0.0, 1.0))
                .collect::<Result<_, _>>()?;
            Ok(hyperscape_core::functions::dtlz2(&x).to_vec())
        },
        300,
    )
    .unwrap();
    let radius = |t: &hyperscape_core::FrozenTrial| {
        t.values
            .as_ref()
            .unwrap()
            .iter()
            .map(|v| v * v)
            .sum::<f64>()
            .sqrt()
    };
    let trials = s.trials().unwrap();
    let first = mean(&trials[..20].iter().map(radius).collect::<Vec<_>>());
    let last = mean(&trials[260..].iter().map(radius).collect::<Vec<_>>());
    assert!(
        last < first - 0.1 && last < 1.2,
        "first {first} last {last}"
    );
}

#[test]
fn conditional_parameters_fall_back_to_random() {
    // `x` exists only under kind = a: it is outside the intersection space, so it is
    // drawn independently, and the run stays valid.
    let s = Study::builder("c")
        .boxed_sampler(nsga(6, 8))
        .build()
        .unwrap();
    s.optimize(
        |t| -> hyperscape_core::Result<f64> {
            let kind = t.suggest_categorical("kind", ["a", "b"])?;
            let y = t.suggest_float("y", -1.0, 1.0)?;
            Ok(if kind.as_str() == Some("a") {
                t.suggest_float("x", 0.0, 2.0)? + y * y
            } else {
                1.0 + y * y
            })
        },
        80,
    )
    .unwrap();
    let trials = s.trials().unwrap();
    assert!(trials.iter().all(|t| t.state == TrialState::Complete));
    assert!(trials.iter().any(|t| t.params.contains_key("x")));
}

/// The study's budget reaches `auto` through `sampler_by_name_with_budget`: with a small
/// budget on a continuous space it picks GP rather than its budget-less fallback (TPE
/// multivariate), so the two runs share the Sobol start-up and then part.
#[test]
fn auto_uses_the_budget_hint() {
    use hyperscape_core::sampler::sampler_by_name_with_budget;
    let space = hyperscape_core::SpaceDecl::new()
        .param("x1", hyperscape_core::Distribution::float(-5.0, 10.0))
        .unwrap()
        .param("x2", hyperscape_core::Distribution::float(0.0, 15.0))
        .unwrap();
    let go = |budget: Option<usize>| -> Vec<BTreeMap<String, ParamValue>> {
        let s = Study::builder("auto-budget")
            .boxed_sampler(
                sampler_by_name_with_budget("auto", Some(9), Some(&space), budget).unwrap(),
            )
            .space(space.search_space())
            .build()
            .unwrap();
        s.optimize(
            |t| -> hyperscape_core::Result<f64> {
                let p = t.suggest_space(&space)?;
                Ok(hyperscape_core::functions::branin(
                    p["x1"].as_f64().unwrap(),
                    p["x2"].as_f64().unwrap(),
                ))
            },
            16,
        )
        .unwrap();
        s.trials().unwrap().into_iter().map(|t| t.params).collect()
    };
    // A budget of 100 keeps the default start-up of 10 trials (smaller budgets shorten it).
    let (hinted, plain) = (go(Some(100)), go(None));
    assert_eq!(hinted[..10], plain[..10], "same Sobol start-up");
    assert_ne!(
        hinted[10..],
        plain[10..],
        "a different sampler after the start-up"
    );
    assert_eq!(hinted, go(Some(100)), "still reproducible");
}

//! NSGA-II cost and quality, and whether `auto`'s rule is a good one.
//!
//! Run: `cargo bench -p hyperscape-core --bench evolution` (`-- --only speed|zdt|auto`,
//! `-- --seeds 5`, `-- --sizes 100,500` for `zdt`).
//!
//! Printed:
//! - `speed`: median per-trial µs (ask + suggest + tell, in memory) of NSGA-II on ZDT1
//!   with 10 variables, over a whole study of 1,000 and of 10,000 trials, and over its
//!   last 10%;
//! - `zdt`: hypervolume regret (optimum minus reached, reference (1.1, 11)) on ZDT1
//!   (10-D) at 100 and 500 trials for NSGA-II, MOTPE, random and `auto`;
//! - `auto`: mean regret over seeds of `auto` (told the budget) and of every registered
//!   single-objective candidate on Branin, 5-D Rosenbrock, 10-D sphere and a 10-D mixed
//!   function, at 100 trials.

use std::time::Instant;

use hyperscape_core::functions::{branin, hypervolume2, rosenbrock, sphere, zdt1, BRANIN_MIN};
use hyperscape_core::sampler::{sampler_by_name, AutoSampler, SAMPLERS};
use hyperscape_core::{Direction, Sampler, Study, Trial, TrialState};

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn zdt_trial(t: &mut Trial) -> Vec<f64> {
    let x: Vec<f64> = (0..10)
        .map(|i| t.suggest_float(&format!("x{i:02}"), 0.0, 1.0).unwrap())
        .collect();
    zdt1(&x).to_vec()
}

fn mo_study(sampler: Box<dyn Sampler>) -> Study {
    Study::builder("bench")
        .directions(vec![Direction::Minimize, Direction::Minimize])
        .boxed_sampler(sampler)
        .build()
        .expect("study")
}

fn speed(n: usize) -> (f64, f64) {
    let study = mo_study(sampler_by_name("nsga2", Some(0), None).unwrap());
    let mut per = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        let mut t = study.ask().expect("ask");
        let v = zdt_trial(&mut t);
        study.tell_values(t, v).expect("tell");
        per.push(t0.elapsed().as_secs_f64() * 1e6);
    }
    let mut last = per[n - n / 10..].to_vec();
    (median(&mut per), median(&mut last))
}

const HV_REF: [f64; 2] = [1.1, 11.0];
/// Hypervolume of the exact ZDT1 front for `HV_REF`: 1.1·11 − ∫₀¹(1 − √f)df − 0.1·… ;
/// computed from a dense front sample.
fn zdt_hv_opt() -> f64 {
    let front: Vec<[f64; 2]> = (0..=20_000)
        .map(|i| {
            let f = i as f64 / 20_000.0;
            [f, 1.0 - f.sqrt()]
        })
        .collect();
    hypervolume2(&front, HV_REF)
}

fn zdt_regret(sampler: Box<dyn Sampler>, n: usize, opt: f64) -> f64 {
    let study = mo_study(sampler);
    for _ in 0..n {
        let mut t = study.ask().expect("ask");
        let v = zdt_trial(&mut t);
        study.tell_values(t, v).expect("tell");
    }
    let pts: Vec<[f64; 2]> = study
        .trials_with_state(TrialState::Complete)
        .unwrap()
        .iter()
        .map(|t| {
            let v = t.values.as_ref().unwrap();
            [v[0], v[1]]
        })
        .collect();
    opt - hypervolume2(&pts, HV_REF)
}

type Objective = fn(&mut Trial) -> f64;

fn f_branin(t: &mut Trial) -> f64 {
    let x = t.suggest_float("x1", -5.0, 10.0).unwrap();
    let y = t.suggest_float("x2", 0.0, 15.0).unwrap();
    branin(x, y) - BRANIN_MIN
}
fn f_rosen(t: &mut Trial) -> f64 {
    let x: Vec<f64> = (0..5)
        .map(|i| t.suggest_float(&format!("x{i}"), -2.0, 2.0).unwrap())
        .collect();
    rosenbrock(&x)
}
fn f_sphere(t: &mut Trial) -> f64 {
    let x: Vec<f64> = (0..10)
        .map(|i| t.suggest_float(&format!("x{i}"), -5.0, 5.0).unwrap())
        .collect();
    sphere(&x)
}
/// Mixed 10-D: 5 floats (one log), 3 ints, 2 categoricals; minimum 0.
fn f_mixed(t: &mut Trial) -> f64 {
    let x: Vec<f64> = (0..4)
        .map(|i| t.suggest_float(&format!("x{i}"), -5.0, 5.0).unwrap())
        .collect();
    let lr = t.suggest_float_log("lr", 1e-5, 1.0).unwrap();
    let k: Vec<i64> = (0..3)
        .map(|i| t.suggest_int(&format!("k{i}"), 0, 20).unwrap())
        .collect();
    let c = t.suggest_categorical("c", ["a", "b", "c", "d"]).unwrap();
    let d = t.suggest_categorical("d", [1, 2, 3]).unwrap();
    sphere(&x)
        + (lr.log10() + 3.0).powi(2)
        + k.iter().map(|v| (*v as f64 - 7.0).abs()).sum::<f64>()
        + if c.as_str() == Some("c") { 0.0 } else { 2.0 }
        + if d.as_i64() == Some(2) { 0.0 } else { 2.0 }
}

fn so_regret(sampler: Box<dyn Sampler>, f: Objective, n: usize) -> f64 {
    let study = Study::builder("bench")
        .boxed_sampler(sampler)
        .build()
        .expect("study");
    for _ in 0..n {
        let mut t = study.ask().expect("ask");
        let v = f(&mut t);
        study.tell_values(t, v).expect("tell");
    }
    study.best_value().expect("best")
}

fn arg(name: &str) -> Option<String> {
    let a: Vec<String> = std::env::args().collect();
    a.iter()
        .position(|x| x == name)
        .and_then(|i| a.get(i + 1).cloned())
}

fn main() {
    let only = arg("--only");
    let seeds: u64 = arg("--seeds").and_then(|s| s.parse().ok()).unwrap_or(5);
    let on = |what: &str| only.as_deref().is_none_or(|o| o == what);
    if on("speed") {
        for n in [1_000, 10_000] {
            let (all, last) = speed(n);
            println!(
                "nsga2 zdt1 10-D 2 obj, {n} trials: median per-trial {all:.1} µs, last 10% {last:.1} µs"
            );
        }
    }
    if on("zdt") {
        let opt = zdt_hv_opt();
        let sizes: Vec<usize> = arg("--sizes")
            .map(|s| s.split(',').filter_map(|x| x.parse().ok()).collect())
            .unwrap_or_else(|| vec![100, 500]);
        for n in sizes {
            for name in ["nsga2", "tpe-multivariate", "random", "auto"] {
                let r: f64 = (0..seeds)
                    .map(|s| {
                        let sampler: Box<dyn Sampler> = if name == "auto" {
                            Box::new(AutoSampler::builder().seed(Some(s)).budget(Some(n)).build())
                        } else {
                            sampler_by_name(name, Some(s), None).unwrap()
                        };
                        zdt_regret(sampler, n, opt)
                    })
                    .sum::<f64>()
                    / seeds as f64;
                println!("zdt1 10-D, {n} trials, {name}: mean HV regret {r:.3}");
            }
        }
    }
    if on("auto") {
        let n = 100;
        let funcs: [(&str, Objective); 4] = [
            ("branin", f_branin),
            ("rosenbrock-5d", f_rosen),
            ("sphere-10d", f_sphere),
            ("mixed-10d", f_mixed),
        ];
        let mut names: Vec<&str> = SAMPLERS
            .iter()
            .copied()
            .filter(|s| *s != "grid" && *s != "auto")
            .collect();
        names.push("auto");
        for (fname, f) in funcs {
            for name in &names {
                let r: f64 = (0..seeds)
                    .map(|s| {
                        let sampler: Box<dyn Sampler> = if *name == "auto" {
                            Box::new(AutoSampler::builder().seed(Some(s)).budget(Some(n)).build())
                        } else {
                            sampler_by_name(name, Some(s), None).unwrap()
                        };
                        so_regret(sampler, f, n)
                    })
                    .sum::<f64>()
                    / seeds as f64;
                println!("{fname}, {n} trials, {name}: mean regret {r:.4}");
            }
        }
    }
}

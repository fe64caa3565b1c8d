//! Seeded CLI runs are reproducible: the CLI declares its space to the study, so joint
//! samplers (Sobol) sample it from the first trial, whatever the thread timing.
#![cfg_attr(not(feature = "sqlite"), allow(unused))]

mod common;

use std::collections::BTreeMap;

use common::*;

const SPACE: &str = r#"
[params.x]
type = "float"
low = 0.0
high = 1.0
[params.n]
type = "int"
low = 1
high = 9
[params.c]
type = "categorical"
choices = ["a", "b", "c"]
"#;

fn params_by_number(env: &Env, study: &str) -> BTreeMap<u64, String> {
    env.trials(study)
        .iter()
        .map(|t| (t["number"].as_u64().unwrap(), t["params"].to_string()))
        .collect()
}

#[test]
#[cfg_attr(not(feature = "sqlite"), ignore = "needs the SQLite storage")]
fn seeded_sobol_runs_are_identical_with_one_or_three_jobs() {
    let env = Env::new();
    let space = env.write("space.toml", SPACE);
    for (study, jobs) in [("one", "1"), ("three", "3")] {
        // `echo {x}` prints x: the objective is the parameter itself.
        env.ok(&[
            "run",
            "--study",
            study,
            "--space",
            &space,
            "--sampler",
            "sobol",
            "--seed",
            "7",
            "--trials",
            "16",
            "--jobs",
            jobs,
            "--",
            "echo",
            "{x}",
        ]);
    }
    let one = params_by_number(&env, "one");
    assert_eq!(one.len(), 16);
    assert_eq!(one, params_by_number(&env, "three"));
    // Sobol covers [0, 1) evenly: of 16 points, 8 fall in each half.
    let low = env
        .trials("one")
        .iter()
        .filter(|t| t["params"]["x"].as_f64().unwrap() < 0.5)
        .count();
    assert_eq!(low, 8);
}

//! `hyperscape bench quality` and `hyperscape bench overhead`.

mod common;

use common::{assert_success, Env};
use serde_json::Value;

const BRANIN_MIN: f64 = 0.397_887_357_729_738_2;

fn json_of(env: &Env, args: &[&str]) -> Value {
    let out = env.hs().args(args).output().expect("run");
    assert_success(&out, args);
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn curves(v: &Value) -> Vec<Vec<f64>> {
    v["curves"]
        .as_array()
        .expect("curves")
        .iter()
        .map(|c| {
            c.as_array()
                .expect("curve")
                .iter()
                .map(|x| x.as_f64().expect("a number in the curve"))
                .collect()
        })
        .collect()
}

fn quality(env: &Env, sampler: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "bench",
        "quality",
        "--problem",
        "branin",
        "--sampler",
        sampler,
        "--budget",
        "20",
        "--seeds",
        "2",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    json_of(env, &args)
}

#[test]
fn quality_reports_curves_and_regret() {
    let env = Env::new();
    let v = quality(&env, "tpe", &[]);
    for key in [
        "problem",
        "sampler",
        "budget",
        "seeds",
        "optimum",
        "curves",
        "final_regret",
        "mean_final_regret",
        "regret_at",
        "seconds",
    ] {
        assert!(v.get(key).is_some(), "missing `{key}` in {v}");
    }
    assert_eq!(v["problem"], "branin");
    assert_eq!(v["sampler"], "tpe");
    assert_eq!(v["budget"], 20);
    assert_eq!(v["seeds"], 2);
    assert!((v["optimum"].as_f64().unwrap() - BRANIN_MIN).abs() < 1e-12);
    let c = curves(&v);
    assert_eq!(c.len(), 2);
    let finals = v["final_regret"].as_array().unwrap();
    assert_eq!(finals.len(), 2);
    for (curve, fin) in c.iter().zip(finals) {
        assert_eq!(curve.len(), 20);
        assert!(curve.windows(2).all(|w| w[1] <= w[0]), "{curve:?}");
        let last = *curve.last().unwrap();
        let regret = fin.as_f64().unwrap();
        assert!(regret >= 0.0, "{regret}");
        assert!((regret - (last - BRANIN_MIN)).abs() < 1e-12);
    }
    // The two seeds explore differently.
    assert_ne!(c[0], c[1]);
    let mean = v["mean_final_regret"].as_f64().unwrap();
    let expect = finals.iter().map(|f| f.as_f64().unwrap()).sum::<f64>() / 2.0;
    assert!((mean - expect).abs() < 1e-12);
    // Only the checkpoints within the budget, each the mean over seeds.
    let at = v["regret_at"].as_object().unwrap();
    assert_eq!(at.keys().collect::<Vec<_>>(), ["10"]);
    let at10 = (c[0][9] + c[1][9]) / 2.0 - BRANIN_MIN;
    assert!((at["10"].as_f64().unwrap() - at10).abs() < 1e-12);
    assert!(v["seconds"].as_f64().unwrap() >= 0.0);
}

#[test]
fn quality_is_reproducible_and_jobs_do_not_change_it() {
    let env = Env::new();
    let a = quality(&env, "tpe", &[]);
    let b = quality(&env, "tpe", &["--jobs", "2"]);
    assert_eq!(curves(&a), curves(&b));
    assert_eq!(a["final_regret"], b["final_regret"]);
}

#[test]
fn several_samplers_give_an_array() {
    let env = Env::new();
    let v = quality(&env, "random,sobol", &[]);
    let a = v.as_array().expect("an array for several samplers");
    assert_eq!(a.len(), 2);
    assert_eq!(a[0]["sampler"], "random");
    assert_eq!(a[1]["sampler"], "sobol");
    assert_ne!(curves(&a[0]), curves(&a[1]));
    // Alone, a sampler gives the same curves as in a list.
    let random = quality(&env, "random", &[]);
    assert_eq!(curves(&random), curves(&a[0]));
}

#[test]
fn quality_on_mixed_and_conditional_problems() {
    let env = Env::new();
    for problem in ["branin-mixed", "branin-conditional"] {
        let v = json_of(
            &env,
            &[
                "bench",
                "quality",
                "--problem",
                problem,
                "--sampler",
                "tpe",
                "--budget",
                "15",
                "--seeds",
                "1",
                "--format",
                "json",
            ],
        );
        assert!((v["optimum"].as_f64().unwrap() - BRANIN_MIN).abs() < 1e-12);
        let c = curves(&v);
        assert_eq!(c[0].len(), 15);
        assert!(v["final_regret"][0].as_f64().unwrap() >= 0.0);
    }
}

#[test]
fn quality_table_summarises() {
    let env = Env::new();
    let out = env
        .hs()
        .args([
            "bench",
            "quality",
            "--problem",
            "hartmann6",
            "--sampler",
            "random",
            "--budget",
            "12",
            "--seeds",
            "2",
        ])
        .output()
        .unwrap();
    assert_success(&out, &["bench quality table"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("regret@10") && !text.contains("regret@25"),
        "{text}"
    );
    assert!(
        text.contains("hartmann6") && text.contains("-3.322368"),
        "{text}"
    );
}

#[test]
fn unknown_problem_or_sampler_is_a_clear_error() {
    let env = Env::new();
    let out = env
        .hs()
        .args(["bench", "quality", "--problem", "nope", "--sampler", "tpe"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown problem `nope`"), "{err}");
    assert!(err.contains("branin-conditional"), "{err}");
    let out = env
        .hs()
        .args([
            "bench",
            "quality",
            "--problem",
            "branin",
            "--sampler",
            "tpe,bogus",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown sampler `bogus`"), "{err}");
    assert!(
        out.stdout.is_empty(),
        "nothing is run before the names are checked"
    );
    let out = env
        .hs()
        .args(["bench", "quality", "--problem", "branin", "--budget", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

fn check_overhead(v: &Value, trials: u64) {
    assert_eq!(v["sampler"], "tpe");
    assert_eq!(v["trials"], trials);
    for key in [
        "per_trial_seconds_last100",
        "per_trial_seconds_median",
        "total_seconds",
    ] {
        let x = v[key]
            .as_f64()
            .unwrap_or_else(|| panic!("missing `{key}` in {v}"));
        assert!(x > 0.0, "{key} = {x}");
    }
    assert!(
        v["total_seconds"].as_f64().unwrap() >= v["per_trial_seconds_median"].as_f64().unwrap()
    );
}

#[test]
fn overhead_with_dims_and_with_a_space_file() {
    let env = Env::new();
    let v = json_of(
        &env,
        &[
            "bench",
            "overhead",
            "--sampler",
            "tpe",
            "--dims",
            "3",
            "--trials",
            "50",
            "--format",
            "json",
        ],
    );
    check_overhead(&v, 50);
    assert_eq!(v["dims"], 3);
    let space = env.write(
        "space.toml",
        "[params.lr]\ntype = \"float\"\nlow = 1e-4\nhigh = 1.0\nlog = true\n\
         [params.opt]\ntype = \"categorical\"\nchoices = [\"sgd\", \"adam\"]\n\
         [params.momentum]\ntype = \"float\"\nlow = 0.0\nhigh = 0.9\nwhen = { opt = \"sgd\" }\n",
    );
    let v = json_of(
        &env,
        &[
            "bench",
            "overhead",
            "--sampler",
            "tpe",
            "--space",
            &space,
            "--trials",
            "30",
            "--format",
            "json",
        ],
    );
    check_overhead(&v, 30);
    assert_eq!(v["space"], space.as_str());
    assert!(v.get("dims").is_none());
}

#[test]
fn overhead_needs_exactly_one_of_dims_and_space() {
    let env = Env::new();
    let space = env.write("space.toml", common::SPACE_X);
    let both = env
        .hs()
        .args([
            "bench",
            "overhead",
            "--sampler",
            "tpe",
            "--dims",
            "3",
            "--space",
            &space,
        ])
        .output()
        .unwrap();
    assert_eq!(both.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&both.stderr).contains("cannot be used with"));
    let neither = env
        .hs()
        .args(["bench", "overhead", "--sampler", "tpe"])
        .output()
        .unwrap();
    assert_eq!(neither.status.code(), Some(2));
    let missing = env
        .hs()
        .args([
            "bench",
            "overhead",
            "--sampler",
            "tpe",
            "--space",
            "nope.toml",
        ])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.toml"));
}

/// A 3 x 2 table with a named optimum (lr 0.1, act relu: acc 0.9).
fn small_table(env: &Env) -> std::path::PathBuf {
    let path = env.path("grid.csv");
    std::fs::write(
        &path,
        "lr,act,acc\n0.001,relu,0.6\n0.001,tanh,0.5\n0.01,relu,0.8\n0.01,tanh,0.7\n\
         0.1,relu,0.9\n0.1,tanh,0.75\n",
    )
    .unwrap();
    path
}

#[test]
fn quality_on_a_csv_table_maximises_by_negation() {
    let env = Env::new();
    let table = small_table(&env);
    let table = table.to_str().unwrap();
    let v = json_of(
        &env,
        &[
            "bench",
            "quality",
            "--table",
            table,
            "--fitness",
            "acc",
            "--params",
            "lr,act",
            "--maximize",
            "--sampler",
            "random",
            "--budget",
            "40",
            "--seeds",
            "2",
            "--format",
            "json",
        ],
    );
    assert_eq!(v["problem"], "table:grid.csv/acc");
    assert!((v["optimum"].as_f64().unwrap() + 0.9).abs() < 1e-12, "{v}");
    for c in curves(&v) {
        // Every value is a negated accuracy of the table, and best-so-far never worsens.
        assert!(c.iter().all(|x| (0.5..=0.9).contains(&-x)), "{c:?}");
        assert!(c.windows(2).all(|w| w[1] <= w[0]), "{c:?}");
    }
    // 40 draws over 6 configurations find the best one.
    for r in v["final_regret"].as_array().unwrap() {
        assert!(r.as_f64().unwrap().abs() < 1e-12, "{v}");
    }
}

#[test]
fn table_problem_errors_are_clear() {
    let env = Env::new();
    let table = small_table(&env);
    let table = table.to_str().unwrap();
    // --table needs --fitness and --params (a usage error).
    let out = env
        .hs()
        .args(["bench", "quality", "--table", table, "--fitness", "acc"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--params"));
    // --problem and --table exclude each other.
    let out = env
        .hs()
        .args(["bench", "quality", "--problem", "branin", "--table", table])
        .args(["--fitness", "acc", "--params", "lr"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // A column that is not there, and a parameter subset that repeats configurations.
    for (params, fitness, message) in [
        ("lr,act", "accuracy", "no column `accuracy`"),
        ("lr", "acc", "appears twice"),
    ] {
        let out = env
            .hs()
            .args(["bench", "quality", "--table", table, "--fitness", fitness])
            .args(["--params", params])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{err}");
        assert!(err.contains("grid.csv"), "{err}");
    }
}

#[test]
fn quality_on_a_multi_objective_problem_reports_hypervolume() {
    let env = Env::new();
    let v = json_of(
        &env,
        &[
            "bench",
            "quality",
            "--problem",
            "zdt1-6d",
            "--sampler",
            "random,gp-parego",
            "--budget",
            "15",
            "--seeds",
            "2",
            "--format",
            "json",
        ],
    );
    let runs = v.as_array().expect("an array for two samplers");
    let optimum = 121.0 - 1.0 / 3.0;
    for r in runs {
        assert_eq!(r["problem"], "zdt1-6d");
        assert_eq!(r["metric"], "hypervolume");
        assert!((r["optimum"].as_f64().unwrap() - optimum).abs() < 1e-12);
        let finals = r["final_regret"].as_array().unwrap();
        for (curve, fin) in curves(r).iter().zip(finals) {
            assert_eq!(curve.len(), 15);
            // Hypervolume never decreases, never exceeds the front's.
            assert!(curve.windows(2).all(|w| w[1] >= w[0]), "{curve:?}");
            let last = *curve.last().unwrap();
            assert!(last > 0.0 && last <= optimum, "{last}");
            assert!((fin.as_f64().unwrap() - (optimum - last)).abs() < 1e-9);
        }
    }
    // An unknown name fails cleanly.
    let out = env
        .hs()
        .args([
            "bench",
            "quality",
            "--problem",
            "zdt9",
            "--sampler",
            "random",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

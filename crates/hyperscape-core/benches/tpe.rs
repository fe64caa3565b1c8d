//! Per-trial overhead of ask + suggest + tell with the TPE sampler on a 10-D mixed
//! space (4 floats of which 2 log, a step float and a step int, 2 log ints,
//! 2 categoricals), in memory, at 100 and 1,000 trials.
//!
//! Run: `cargo bench -p hyperscape-core --bench tpe` (`-- --sizes 100,1000,5000`,
//! `-- --modes default,univariate,multivariate,group,optuna,sharp`, `-- --json`).
//! `default` is the sampler's default (joint for one objective, as Optuna 5, with the
//! sharper magic clip for `l(x)` and duplicate skipping); `univariate` forces
//! per-parameter estimators; `optuna` pins Optuna 5's settings (`optuna_compatible()`,
//! `tpe-optuna`); `sharp` is `tpe-sharp` (`sharp()`: the sharper clip for `g(x)` too).
//!
//! Printed per configuration: the median per-trial time over the whole study and over
//! its last 10% of trials (the cost at that study size), in microseconds.

use std::time::Instant;

use hyperscape_core::{Study, TpeSampler, Trial};

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn objective(t: &mut Trial) -> f64 {
    let a = t.suggest_float("a", -5.0, 5.0).unwrap();
    let b = t.suggest_float("b", 0.0, 1.0).unwrap();
    let c = t.suggest_float_log("c", 1e-5, 1.0).unwrap();
    let d = t.suggest_float_log("d", 1e-3, 1e3).unwrap();
    let e = t.suggest_float_step("e", 0.0, 1.0, 0.05).unwrap();
    let f = t.suggest_int_step("f", 0, 100, 5).unwrap();
    let g = t.suggest_int_log("g", 1, 1024).unwrap();
    let h = t.suggest_int_log("h", 8, 4096).unwrap();
    let i = t
        .suggest_categorical("i", ["relu", "tanh", "gelu", "silu"])
        .unwrap();
    let j = t.suggest_categorical("j", [16, 32, 64]).unwrap();
    a * a
        + (b - 0.3).powi(2)
        + (c.log10() + 3.0).powi(2)
        + d.log10().powi(2)
        + (e - 0.55).abs()
        + (f as f64 - 40.0).abs() / 10.0
        + ((g as f64).ln() - 3.0).powi(2)
        + ((h as f64).ln() - 6.0).powi(2)
        + if i.as_str() == Some("gelu") { 0.0 } else { 1.0 }
        + if j.as_i64() == Some(32) { 0.0 } else { 0.5 }
}

fn run(mode: &str, n: usize) -> (f64, f64) {
    let b = TpeSampler::builder().seed(Some(0));
    let b = match mode {
        "univariate" => b.multivariate(false),
        "multivariate" => b.multivariate(true),
        "group" => b.group(true),
        "optuna" => b.optuna_compatible(),
        "sharp" => b.sharp(),
        _ => b,
    };
    let study = Study::builder("bench")
        .sampler(b.build().expect("sampler"))
        .build()
        .expect("study");
    let mut per_trial = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        let mut t = study.ask().expect("ask");
        let v = objective(&mut t);
        study.tell_values(t, v).expect("tell");
        per_trial.push(t0.elapsed().as_secs_f64() * 1e6);
    }
    let mut tail: Vec<f64> = per_trial[n - n / 10..].to_vec();
    (median(&mut per_trial), median(&mut tail))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let json = args.iter().any(|a| a == "--json");
    let opt = |name: &str, default: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
            .unwrap_or_else(|| default.to_string())
    };
    let sizes: Vec<usize> = opt("--sizes", "100,1000")
        .split(',')
        .map(|s| s.parse().expect("--sizes takes numbers"))
        .collect();
    let modes = opt("--modes", "default,univariate,multivariate");
    if !json {
        println!("hyperscape TPE ask+suggest(10)+tell, 10-D mixed space (microseconds per trial)");
        println!(
            "{:<13} {:>7} {:>10} {:>16}",
            "mode", "trials", "median", "median(last10%)"
        );
    }
    for mode in modes.split(',') {
        for &n in &sizes {
            let (med, tail) = run(mode, n);
            if json {
                println!(
                    "{{\"sampler\":\"tpe\",\"mode\":\"{mode}\",\"trials\":{n},\"median_us\":{med:.1},\"tail_median_us\":{tail:.1}}}"
                );
            } else {
                println!("{mode:<13} {n:>7} {med:>10.1} {tail:>16.1}");
            }
        }
    }
}

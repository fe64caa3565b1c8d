//! Per-trial overhead of ask + suggest + tell with the random sampler, in memory and on
//! SQLite, at 1,000 and 10,000 trials.
//!
//! Run: `cargo bench -p hyperscape-core --bench ask_tell` (add `-- --json` for JSON lines,
//! `-- --sizes 1000,10000` to choose the study sizes, `-- --storages memory,sqlite`).
//!
//! Each trial suggests two floats, one int and one categorical, then tells a value.
//! Printed per configuration: the mean over all trials, the median over all trials,
//! and the median over the last 10% of trials (which would grow if asks re-read the
//! whole study).

use std::time::Instant;

use hyperscape_core::{open_storage, RandomSampler, Study};

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn run(storage_kind: &str, n: usize) -> (f64, f64, f64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = match storage_kind {
        "memory" => "memory:".to_string(),
        "sqlite" => format!("sqlite://{}", dir.path().join("bench.db").display()),
        other => panic!("unknown storage {other}"),
    };
    let storage = open_storage(&url).expect("open storage");
    let study = Study::builder("bench")
        .storage(storage)
        .sampler(RandomSampler::new(Some(0)))
        .build()
        .expect("study");
    let mut per_trial = Vec::with_capacity(n);
    let start = Instant::now();
    for _ in 0..n {
        let t0 = Instant::now();
        let mut t = study.ask().expect("ask");
        let x = t.suggest_float("x", -5.0, 5.0).unwrap();
        let y = t.suggest_float_log("y", 1e-5, 1.0).unwrap();
        let k = t.suggest_int("k", 1, 10).unwrap();
        let c = t.suggest_categorical("c", ["a", "b", "c"]).unwrap();
        let v = x * x + y + k as f64 + c.as_str().map_or(0.0, |s| s.len() as f64);
        study.tell_values(t, v).expect("tell");
        per_trial.push(t0.elapsed().as_secs_f64() * 1e6);
    }
    let mean = start.elapsed().as_secs_f64() * 1e6 / n as f64;
    let mut tail: Vec<f64> = per_trial[n - n / 10..].to_vec();
    (mean, median(&mut per_trial), median(&mut tail))
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
    let sizes: Vec<usize> = opt("--sizes", "1000,10000")
        .split(',')
        .map(|s| s.parse().expect("--sizes takes numbers"))
        .collect();
    let storages = opt("--storages", "memory,sqlite");
    if !json {
        println!("hyperscape ask+suggest(4)+tell overhead, random sampler (microseconds per trial)");
        println!("{:<8} {:>7} {:>10} {:>10} {:>14}", "storage", "trials", "mean", "median", "median(last10%)");
    }
    for storage in storages.split(',') {
        for &n in &sizes {
            let (mean, med, tail) = run(storage, n);
            if json {
                println!(
                    "{{\"tool\":\"hyperscape\",\"storage\":\"{storage}\",\"trials\":{n},\"mean_us\":{mean:.1},\"median_us\":{med:.1},\"tail_median_us\":{tail:.1}}}"
                );
            } else {
                println!("{storage:<8} {n:>7} {mean:>10.1} {med:>10.1} {tail:>14.1}");
            }
        }
    }
}

//! Per-trial overhead of ask + suggest + tell with the CMA-ES sampler on a 10-D
//! continuous space (10 floats, a shifted sphere), in memory, at 1,000 and 10,000
//! trials.
//!
//! Run: `cargo bench -p hyperscape-core --bench cmaes` (`-- --sizes 1000,10000`,
//! `-- --modes cmaes,cmaes-ipop`, `-- --json`). `scripts/bench-samplers.sh` runs it
//! beside Optuna's `CmaEsSampler`.
//!
//! Printed per configuration: the median per-trial time over the whole study and over
//! its last 10% of trials (the cost at that study size), in microseconds.

use std::time::Instant;

use hyperscape_core::sampler::sampler_by_name;
use hyperscape_core::{Study, Trial};

const DIM: usize = 10;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn objective(t: &mut Trial, names: &[String]) -> f64 {
    names
        .iter()
        .map(|n| (t.suggest_float(n, -5.0, 5.0).unwrap() - 1.5).powi(2))
        .sum()
}

fn run(mode: &str, n: usize) -> (f64, f64) {
    let names: Vec<String> = (0..DIM).map(|i| format!("x{i}")).collect();
    let study = Study::builder("bench")
        .boxed_sampler(sampler_by_name(mode, Some(0), None).expect("sampler"))
        .build()
        .expect("study");
    let mut per_trial = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        let mut t = study.ask().expect("ask");
        let v = objective(&mut t, &names);
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
    let sizes: Vec<usize> = opt("--sizes", "1000,10000")
        .split(',')
        .map(|s| s.parse().expect("--sizes takes numbers"))
        .collect();
    let modes = opt("--modes", "cmaes");
    if !json {
        println!("hyperscape CMA-ES ask+suggest(10)+tell, 10-D continuous space (microseconds per trial)");
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
                    "{{\"tool\":\"hyperscape\",\"sampler\":\"{mode}\",\"trials\":{n},\"median_us\":{med:.1},\"tail_median_us\":{tail:.1}}}"
                );
            } else {
                println!("{mode:<13} {n:>7} {med:>10.1} {tail:>16.1}");
            }
        }
    }
}

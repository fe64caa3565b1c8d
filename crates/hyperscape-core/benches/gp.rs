//! Per-trial cost of the GP sampler (ask + 6 suggests + tell, in memory) on Hartmann-6
//! over `[0, 1]^6`, seed 0, at 100, 300 and 1,000 trials: the same study as
//! `bench/samplers/optuna_gp_overhead.py` runs with Optuna's `GPSampler`.
//!
//! Run: `cargo bench -p hyperscape-core --bench gp` (`-- --sizes 100,300,1000`,
//! `-- --json`). One study of the largest size is run; for each size `n`, the trials
//! numbered `[0.9n, n)` are the window: printed are the median and the mean per-trial
//! time there (the mean includes the periodic hyperparameter refits), in
//! microseconds, and the best value found. Times are CPU time of the process (the
//! sampler is single-threaded), which stays meaningful on a loaded machine; the
//! wall-time median is printed too.

use std::time::Instant;

/// CPU time of this process, in microseconds.
fn cpu_us() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e6 + ts.tv_nsec as f64 / 1e3
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

use hyperscape_core::functions::hartmann6;
use hyperscape_core::{GpSampler, Study};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let json = args.iter().any(|a| a == "--json");
    let sizes: Vec<usize> = args
        .iter()
        .position(|a| a == "--sizes")
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| "100,300,1000".into())
        .split(',')
        .map(|s| s.parse().expect("--sizes takes numbers"))
        .collect();
    let n_max = sizes.iter().copied().max().unwrap_or(0);
    let sampler = GpSampler::builder().seed(Some(0)).build().expect("sampler");
    let study = Study::builder("bench")
        .sampler(sampler)
        .build()
        .expect("study");
    let mut per_trial = Vec::with_capacity(n_max);
    let mut wall = Vec::with_capacity(n_max);
    for _ in 0..n_max {
        let t0 = Instant::now();
        let c0 = cpu_us();
        let mut t = study.ask().expect("ask");
        let mut x = [0.0; 6];
        for (i, v) in x.iter_mut().enumerate() {
            *v = t
                .suggest_float(&format!("x{i}"), 0.0, 1.0)
                .expect("suggest");
        }
        study.tell_values(t, hartmann6(&x)).expect("tell");
        per_trial.push(cpu_us() - c0);
        wall.push(t0.elapsed().as_secs_f64() * 1e6);
    }
    let trials = study.trials().expect("trials");
    if !json {
        println!("hyperscape GP ask+suggest(6)+tell, Hartmann-6 (microseconds per trial)");
        println!(
            "{:>7} {:>20} {:>18} {:>21} {:>10}",
            "trials", "cpu median(last10%)", "cpu mean(last10%)", "wall median(last10%)", "best"
        );
    }
    for &n in &sizes {
        let w: Vec<f64> = per_trial[n - n / 10..n].to_vec();
        let mean = w.iter().sum::<f64>() / w.len() as f64;
        let med = median(w);
        let wmed = median(wall[n - n / 10..n].to_vec());
        let best = trials[..n]
            .iter()
            .filter_map(|t| t.values.as_ref().map(|v| v[0]))
            .fold(f64::INFINITY, f64::min);
        if json {
            println!(
                "{{\"tool\":\"hyperscape\",\"sampler\":\"gp\",\"trials\":{n},\"cpu_tail_median_us\":{med:.1},\"cpu_tail_mean_us\":{mean:.1},\"wall_tail_median_us\":{wmed:.1},\"best\":{best:.5}}}"
            );
        } else {
            println!("{n:>7} {med:>20.1} {mean:>18.1} {wmed:>21.1} {best:>10.5}");
        }
    }
}

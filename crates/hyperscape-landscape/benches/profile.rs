//! Full landscape profile: the XGBoost landscape (target < 1 s) and a synthetic
//! 10^6-configuration grid (10 levels × 6 parameters, smooth function plus noise;
//! target < 60 s, < 4 GiB).
//!
//! Run: `cargo bench -p hyperscape-landscape --bench profile`
//! (`-- --runs 5` for the number of timed runs, `-- --skip-1m` to skip the large one,
//! `-- --lon 20` to add the local optima network with 20 perturbations per optimum).
//! Prints medians (load and analysis separately) and the peak resident memory.

use std::path::PathBuf;
use std::time::Instant;

use hyperscape_landscape::{analyze, load_csv, Landscape, LoadOptions, Param, Settings};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A smooth bowl (optimum near level 3 + k) plus uniform noise of ±0.02.
pub fn synthetic(levels: usize, dims: usize) -> Landscape {
    let params = (0..dims)
        .map(|k| Param::ordinal_range(&format!("p{k}"), levels))
        .collect();
    Landscape::full_grid(params, "score", true, |c| {
        let mut key = 0u64;
        let mut f = 0.0;
        for (k, &v) in c.iter().enumerate() {
            key = key * levels as u64 + v as u64;
            let x = v as f64 / (levels - 1) as f64 - (0.3 + 0.1 * k as f64);
            f -= x * x;
        }
        let noise = (splitmix(key) >> 11) as f64 / (1u64 << 53) as f64;
        f + 0.04 * (noise - 0.5)
    })
    .expect("synthetic landscape")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs: usize = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let lon: usize = args
        .iter()
        .position(|a| a == "--lon")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let skip_1m = args.iter().any(|a| a == "--skip-1m");
    let settings = Settings {
        lon_perturbations: lon,
        ..Settings::default()
    };
    println!("threads: {}", rayon::current_num_threads());

    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/xgboost_landscape.csv");
    if path.exists() {
        let opts = LoadOptions {
            fitness: "acc_test".into(),
            maximize: true,
            ..LoadOptions::default()
        };
        let (mut load, mut prof) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let t0 = Instant::now();
            let t = load_csv(&path, &opts).expect("load");
            let t1 = Instant::now();
            let r = analyze(&t.landscape, &settings).expect("analyze");
            let t2 = Instant::now();
            std::hint::black_box(r);
            load.push((t1 - t0).as_secs_f64());
            prof.push((t2 - t1).as_secs_f64());
        }
        let (l, p) = (median(load), median(prof));
        println!(
            "xgboost (14,960 configs): load {:.1} ms, profile {:.1} ms, total {:.1} ms (median of {runs}; target < 1000 ms)",
            l * 1e3,
            p * 1e3,
            (l + p) * 1e3
        );
    } else {
        println!("xgboost: skipped ({} not found)", path.display());
    }

    if !skip_1m {
        let runs = runs.min(3);
        let (mut build, mut prof) = (Vec::new(), Vec::new());
        let mut last = None;
        for _ in 0..runs {
            let t0 = Instant::now();
            let l = synthetic(10, 6);
            let t1 = Instant::now();
            let r = analyze(&l, &settings).expect("analyze");
            let t2 = Instant::now();
            build.push((t1 - t0).as_secs_f64());
            prof.push((t2 - t1).as_secs_f64());
            last = Some(r);
        }
        let r = last.unwrap();
        println!(
            "synthetic 10^6 configs: build {:.2} s, profile {:.2} s (median of {runs}; target < 60 s)",
            median(build),
            median(prof)
        );
        println!(
            "  local optima {}, basins {}, global basin share {:.4}, fdc {:?}, autocorr(1) {:?}",
            r.n_local_optima,
            r.basins.n_basins,
            r.basins.global_basin_share,
            r.fdc.spearman,
            r.autocorrelation.lags[0].pooled
        );
    }
    if let Some(m) = peak_rss_mib() {
        println!("peak resident memory: {m:.0} MiB (target < 4096 MiB)");
    }
}

//! Full landscape profile: the XGBoost landscape (target < 1 s) and a synthetic
//! 10^6-configuration grid (10 levels × 6 parameters, smooth function plus noise;
//! target < 60 s, < 4 GiB).
//!
//! Run: `cargo bench -p hyperscape-landscape --bench profile`
//! (`-- --runs 5` for the number of timed runs, `-- --skip-1m` to skip the large one,
//! `-- --lon 20` to add the local optima network with 20 perturbations per optimum).
//! Prints medians (load and analysis separately) and the peak resident memory.
//!
//! With `--features arrow`: `-- --io` writes the synthetic 10^6-configuration
//! landscape as CSV and as Arrow (LZ4 and uncompressed) into a temporary folder and
//! prints the median load time (file → [`hyperscape_landscape::Table`], neighbour
//! graph included) and size of each, then exits.

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
    if args.iter().any(|a| a == "--io") {
        #[cfg(feature = "arrow")]
        io_bench(runs);
        #[cfg(not(feature = "arrow"))]
        println!("--io needs --features arrow");
        return;
    }
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

/// Load time of the synthetic 10^6 landscape from CSV and from Arrow.
#[cfg(feature = "arrow")]
fn io_bench(runs: usize) {
    use hyperscape_landscape::columnar::{
        load_arrow, write_arrow, ColumnTable, ParamColumn, ParamData,
    };
    use hyperscape_landscape::ParamKind;
    use std::io::Write;

    let l = synthetic(10, 6);
    let n = l.len();
    let d = l.params().len();
    let dir = std::env::temp_dir().join(format!("hyperscape-io-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let csv = dir.join("synthetic.csv");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&csv).expect("csv"));
        let names: Vec<&str> = l.params().iter().map(|p| p.name.as_str()).collect();
        writeln!(w, "{},score", names.join(",")).unwrap();
        for i in 0..n {
            for &c in l.codes(i) {
                write!(w, "{c},").unwrap();
            }
            writeln!(w, "{}", l.fitness()[i]).unwrap();
        }
    }
    let table = ColumnTable {
        source: "synthetic 10^6".into(),
        params: (0..d)
            .map(|k| ParamColumn {
                name: l.params()[k].name.clone(),
                kind: ParamKind::Ordinal,
                data: ParamData::Int((0..n).map(|i| l.codes(i)[k] as i64).collect()),
            })
            .collect(),
        measures: vec![("score".into(), l.fitness().to_vec())],
    };
    let lz4 = dir.join("synthetic.arrow");
    let raw = dir.join("synthetic-uncompressed.arrow");
    write_arrow(&table, &lz4, true).expect("arrow");
    write_arrow(&table, &raw, false).expect("arrow");
    drop(table);
    let opts = LoadOptions {
        fitness: "score".into(),
        maximize: true,
        ..LoadOptions::default()
    };
    let size = |p: &std::path::Path| {
        std::fs::metadata(p)
            .map(|m| m.len() as f64 / 1e6)
            .unwrap_or(0.0)
    };
    let mut results = Vec::new();
    for (name, path, arrow) in [
        ("CSV", &csv, false),
        ("Arrow LZ4", &lz4, true),
        ("Arrow uncompressed", &raw, true),
    ] {
        let mut times = Vec::new();
        for _ in 0..runs {
            let t0 = Instant::now();
            let t = if arrow {
                load_arrow(path, &opts).expect("load arrow")
            } else {
                load_csv(path, &opts).expect("load csv")
            };
            times.push(t0.elapsed().as_secs_f64());
            assert_eq!(t.landscape.len(), n);
            assert_eq!(t.landscape.fitness(), l.fitness());
        }
        let m = median(times);
        if arrow {
            // The file read alone (columns → vectors), without levels and graph.
            let t0 = Instant::now();
            let t = hyperscape_landscape::columnar::read_arrow(path, None).expect("read");
            std::hint::black_box(t);
            println!("  read only {:.3} s", t0.elapsed().as_secs_f64());
        }
        println!(
            "load {name:<20} {m:>7.3} s  ({:.1} MB; median of {runs})",
            size(path)
        );
        results.push(m);
    }
    println!(
        "CSV / Arrow LZ4 load time: {:.1}x; CSV / Arrow uncompressed: {:.1}x",
        results[0] / results[1],
        results[0] / results[2]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

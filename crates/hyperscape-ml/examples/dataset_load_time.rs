//! Prints how long each installed named dataset takes to load (best of `REPEATS`).
//!
//! `cargo run --release -p hyperscape-ml --example dataset_load_time [NAME...]`
//! (registry datasets need `scripts/fetch-datasets.sh` first).

use std::time::Instant;

use hyperscape_ml::data;

const REPEATS: usize = 3;

fn main() {
    let wanted: Vec<String> = std::env::args().skip(1).collect();
    for info in data::catalog() {
        if !wanted.is_empty() && !wanted.iter().any(|w| w == info.name) {
            continue;
        }
        if !info.installed {
            println!("{:<14} not installed", info.name);
            continue;
        }
        let mut best = f64::INFINITY;
        let mut n = 0;
        for _ in 0..REPEATS {
            let t = Instant::now();
            let loaded = data::load(info.name).expect("an installed dataset loads");
            best = best.min(t.elapsed().as_secs_f64());
            n = loaded.train.n_samples() + loaded.test.map_or(0, |t| t.n_samples());
        }
        println!(
            "{:<14} {:>6} samples  {:>9.1} ms (best of {REPEATS})",
            info.name,
            n,
            best * 1e3
        );
    }
}

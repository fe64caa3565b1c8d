//! Pruning on a training-like workload: full-budget random search vs the median
//! pruner vs successive halving vs Hyperband, same sampler and seeds; then the
//! budget-assigning schedulers (SHA, Hyperband, ASHA, BOHB, PBT) against the pruners
//! at one epoch budget.
//!
//! Run: `cargo bench -p hyperscape-core --bench pruning` (`-- --trials 200`,
//! `-- --seeds 10`, `-- --epochs 864` for the schedulers' budget).
//!
//! Workload: two hyperparameters (`lr` on a log scale, `wd`) and a loss curve over 27
//! epochs (steps 0..=26), `final + (2 - final) * exp(-rate * (epoch + 1))` plus small
//! per-epoch noise, where a large learning rate learns fast but ends worse: early
//! epochs mislead, as in real training. Printed per method (means over seeds): epochs
//! spent, trials pruned, the best final loss among complete trials, and epochs per
//! complete trial.

use std::sync::atomic::{AtomicU64, Ordering};

use std::collections::HashMap;
use std::sync::Mutex;

use hyperscape_core::scheduler::{
    AshaScheduler, BohbScheduler, BracketScheduler, DehbScheduler, PbtScheduler,
};
use hyperscape_core::{
    Error, HyperbandPruner, MedianPruner, OptimizeOptions, Pruner, RandomSampler, Study,
    SuccessiveHalvingPruner, Trial,
};

const EPOCHS: u64 = 27;

fn curve(lr_log: f64, wd: f64, epoch: u64, trial: u64) -> f64 {
    // Best around lr = 10^-2.5, wd = 0.3.
    let final_loss = 0.1 + 0.08 * (lr_log + 2.5).powi(2) + 0.5 * (wd - 0.3).powi(2);
    let rate = 0.02 * 10f64.powf(0.5 * (lr_log + 4.0));
    let mut h = (trial * 1_000_003 + epoch).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^= h >> 31;
    let noise = ((h % 10_000) as f64 / 10_000.0 - 0.5) * 0.01;
    final_loss + (2.0 - final_loss) * (-rate * (epoch + 1) as f64).exp() + noise
}

struct Outcome {
    epochs: u64,
    pruned: usize,
    complete: usize,
    best: f64,
}

/// Runs `trials` trials, or fewer if `epoch_budget` epochs are spent first.
fn run(
    pruner: Option<Box<dyn Pruner>>,
    seed: u64,
    trials: usize,
    epoch_budget: Option<u64>,
) -> Outcome {
    let spent = AtomicU64::new(0);
    let mut b = Study::builder("bench").sampler(RandomSampler::new(Some(seed)));
    if let Some(p) = pruner {
        b = b.boxed_pruner(p);
    }
    let study = b.build().unwrap();
    let summary = study
        .optimize_with(
            |t| -> hyperscape_core::Result<f64> {
                let lr_log = t.suggest_float("lr_log", -5.0, -0.5)?;
                let wd = t.suggest_float("wd", 0.0, 1.0)?;
                let mut v = 0.0;
                for e in 0..EPOCHS {
                    v = curve(lr_log, wd, e, t.number());
                    spent.fetch_add(1, Ordering::Relaxed);
                    t.report(e, v)?;
                }
                Ok(v)
            },
            OptimizeOptions::n_trials(trials).callback(|study, _| {
                if epoch_budget.is_some_and(|b| spent.load(Ordering::Relaxed) >= b) {
                    study.stop();
                }
            }),
        )
        .unwrap();
    let all = study.trials().unwrap();
    Outcome {
        epochs: all.iter().map(|t| t.intermediate_values.len() as u64).sum(),
        pruned: summary.pruned,
        complete: summary.complete,
        best: study.best_value().unwrap_or(f64::NAN),
    }
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let trials = arg("--trials", 100);
    let seeds = arg("--seeds", 5) as u64;
    let methods: [(&str, Make); 4] = [
        ("random, full budget", || None),
        ("median pruner", || {
            Some(Box::new(MedianPruner::new().n_warmup_steps(2)))
        }),
        ("successive halving", || {
            Some(Box::new(SuccessiveHalvingPruner::new(1, 3, 0, 0).unwrap()))
        }),
        ("hyperband (1..27, eta 3)", || {
            Some(Box::new(HyperbandPruner::new(1, EPOCHS, 3, 0).unwrap()))
        }),
    ];
    table(&methods, trials, seeds, None);
    println!();
    let budget = trials as u64 * EPOCHS;
    table(&methods, usize::MAX, seeds, Some(budget));
    println!();
    let epochs = arg("--epochs", 32 * EPOCHS as usize) as u64;
    schedulers(epochs, seeds, true);
    println!();
    schedulers(epochs, seeds, false);
}

/// The same workload as a stateful training loop, so that a run can resume from a
/// checkpoint with other hyperparameters (promotions, PBT): one epoch moves the loss
/// `L` towards `final(lr, wd)` by the factor `exp(-rate(lr))`; from `L = 2` with fixed
/// hyperparameters this is exactly `curve` (without its noise). With `misleading`
/// false, every configuration learns at the same rate (0.15 per epoch), so rankings
/// at early epochs hold at the end.
fn epoch(lr_log: f64, wd: f64, loss: f64, misleading: bool) -> f64 {
    let final_loss = 0.1 + 0.08 * (lr_log + 2.5).powi(2) + 0.5 * (wd - 0.3).powi(2);
    let rate = if misleading {
        0.02 * 10f64.powf(0.5 * (lr_log + 4.0))
    } else {
        0.15
    };
    final_loss + (loss - final_loss) * (-rate).exp()
}

/// One scheduler run: epochs spent, trials, and the best loss among trials that
/// trained to the full 27 epochs.
fn run_scheduled(
    make: fn(u64) -> Box<dyn Pruner>,
    seed: u64,
    epoch_budget: u64,
    misleading: bool,
) -> (u64, usize, f64) {
    // "Checkpoints": the loss each trial ended at, by trial number.
    let ckpt: Mutex<HashMap<u64, f64>> = Mutex::new(HashMap::new());
    let spent = AtomicU64::new(0);
    let study = Study::builder("sched")
        .sampler(RandomSampler::new(Some(seed)))
        .boxed_pruner(make(seed))
        .build()
        .unwrap();
    let objective = |t: &mut Trial| -> Result<f64, Error> {
        let lr_log = t.suggest_float("lr_log", -5.0, -0.5)?;
        let wd = t.suggest_float("wd", 0.0, 1.0)?;
        let budget = t.budget().unwrap_or(EPOCHS);
        let from = t.previous_budget().unwrap_or(0);
        let mut loss = match t.parent() {
            Some(p) => ckpt.lock().unwrap()[&p],
            None => 2.0,
        };
        for e in from + 1..=budget {
            loss = epoch(lr_log, wd, loss, misleading);
            spent.fetch_add(1, Ordering::Relaxed);
            t.report(e, loss)?;
        }
        ckpt.lock().unwrap().insert(t.number(), loss);
        Ok(loss)
    };
    let opts = OptimizeOptions::n_trials(1_000_000).callback(|study, _| {
        if spent.load(Ordering::Relaxed) >= epoch_budget {
            study.stop();
        }
    });
    match study.optimize_with(objective, opts) {
        Ok(_) => {}
        Err(e) => panic!("{e}"),
    }
    let all = study.trials().unwrap();
    let best = all
        .iter()
        .filter(|t| t.intermediate_values.keys().next_back() == Some(&EPOCHS))
        .filter_map(|t| t.values.as_ref().map(|v| v[0]))
        .fold(f64::INFINITY, f64::min);
    (spent.load(Ordering::Relaxed), all.len(), best)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

type MakeScheduled = fn(u64) -> Box<dyn Pruner>;

fn schedulers(epoch_budget: u64, seeds: u64, misleading: bool) {
    let methods: [(&str, MakeScheduled); 11] = [
        ("random, full budget", |_| {
            Box::new(hyperscape_core::NopPruner)
        }),
        ("median pruner", |_| {
            Box::new(MedianPruner::new().n_warmup_steps(2))
        }),
        ("hyperband pruner", |_| {
            Box::new(HyperbandPruner::new(1, EPOCHS, 3, 0).unwrap())
        }),
        ("sha scheduler", |_| {
            Box::new(BracketScheduler::successive_halving(1, Some(EPOCHS), 3, None).unwrap())
        }),
        ("hyperband scheduler", |_| {
            Box::new(BracketScheduler::hyperband(1, Some(EPOCHS), 3).unwrap())
        }),
        ("asha", |_| {
            Box::new(AshaScheduler::new(1, Some(EPOCHS), 3).unwrap())
        }),
        ("bohb", |s| {
            Box::new(BohbScheduler::new(1, Some(EPOCHS), 3, Some(s)).unwrap())
        }),
        ("bohb, paper's kde", |s| {
            Box::new(
                BohbScheduler::new(1, Some(EPOCHS), 3, Some(s))
                    .unwrap()
                    .density(hyperscape_core::BohbDensity::Kde),
            )
        }),
        ("dehb", |s| {
            Box::new(DehbScheduler::new(1, Some(EPOCHS), 3, Some(s)).unwrap())
        }),
        ("pbt (16 x 27, every 3)", |s| {
            Box::new(PbtScheduler::new(16, 3, EPOCHS, Some(s)).unwrap())
        }),
        ("pbt (32 x 27, every 3)", |s| {
            Box::new(PbtScheduler::new(32, 3, EPOCHS, Some(s)).unwrap())
        }),
    ];
    println!(
        "{}",
        if misleading {
            "stateful workload, large learning rates learn fast but end worse (early epochs mislead)"
        } else {
            "stateful workload, one learning speed for all (early rankings hold)"
        }
    );
    println!(
        "schedulers vs pruners: stop after {epoch_budget} epochs (PBT: when its population \
         reaches {EPOCHS}); median over {seeds} seeds; best = lowest loss of a trial \
         trained to {EPOCHS} epochs"
    );
    println!(
        "{:<26} {:>8} {:>8} {:>11}",
        "method", "epochs", "trials", "best loss"
    );
    for (name, make) in methods {
        let runs: Vec<(u64, usize, f64)> = (0..seeds)
            .map(|s| run_scheduled(make, s, epoch_budget, misleading))
            .collect();
        println!(
            "{:<26} {:>8.0} {:>8.0} {:>11.4}",
            name,
            median(runs.iter().map(|r| r.0 as f64).collect()),
            median(runs.iter().map(|r| r.1 as f64).collect()),
            median(runs.iter().map(|r| r.2).collect()),
        );
    }
}

type Make = fn() -> Option<Box<dyn Pruner>>;

fn table(methods: &[(&str, Make)], trials: usize, seeds: u64, budget: Option<u64>) {
    match budget {
        None => println!(
            "{trials} trials of at most {EPOCHS} epochs, random sampler, mean over {seeds} seeds"
        ),
        Some(b) => {
            println!("same budget of {b} epochs (the full-budget run's), mean over {seeds} seeds")
        }
    }
    println!(
        "{:<26} {:>8} {:>10} {:>8} {:>9} {:>11} {:>13}",
        "method", "trials", "epochs", "pruned", "complete", "best loss", "epochs/trial"
    );
    for (name, make) in methods {
        let (mut e, mut p, mut c, mut b) = (0.0, 0.0, 0.0, 0.0);
        for s in 0..seeds {
            let o = run(make(), s, trials, budget);
            e += o.epochs as f64;
            p += o.pruned as f64;
            c += o.complete as f64;
            b += o.best;
        }
        let n = seeds as f64;
        let t = (p + c) / n;
        println!(
            "{:<26} {:>8.1} {:>10.0} {:>8.1} {:>9.1} {:>11.4} {:>13.1}",
            name,
            t,
            e / n,
            p / n,
            c / n,
            b / n,
            e / n / t
        );
    }
}

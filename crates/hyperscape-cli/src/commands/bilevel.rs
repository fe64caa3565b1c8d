//! `hyperscape bilevel`: gradient-based bilevel tuning of the L2 regularisation of a
//! neural model (GBHO, arXiv 2208.12118; see `docs/bilevel.md`), or one of the search
//! baselines on the same training code.
//!
//! Splits as the paper's experiments: a seeded subset of the dataset's pool split 60/40
//! into training and validation; the test set is the official one (Fashion-MNIST) or
//! the pool's unused samples (MNIST).
//!
//! Everything of this subcommand (its clap arguments included) lives in this file, so
//! that registering it takes one line in `cli.rs` and two in `commands/mod.rs`.

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use hyperscape_ml::bilevel::{
    gbho, ift, paper_splits, search_in, GbhoConfig, GbhoResult, GbhoScheme, HpKind, IftConfig,
    LowerConfig, ModelSpec, SearchConfig, SearchMethod, SetMetrics, SharedStudy,
};

use crate::cli::StorageArg;
use crate::common::open_storage;
use crate::output;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelArg {
    Mlp,
    Logreg,
    Lenet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HpArg {
    SharedL2,
    PerLayerL2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// GP value function + augmented Lagrangian (the paper's method).
    Gbho,
    /// Implicit-differentiation hypergradients with a Neumann-series inverse Hessian.
    Ift,
    /// Grid search (`--grid` points per λ dimension).
    Grid,
    /// Random search (`--trials`).
    Random,
    /// GP Bayesian optimisation (`--trials`).
    Gp,
    /// TPE (`--trials`).
    Tpe,
    /// Hyperband with training epochs as fidelity (eta 3, rungs from `--max-epochs`
    /// down to at least 15 epochs).
    Hyperband,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemeArg {
    /// Trust-region λ steps along the multiplier-implied hypergradient, w anchored at
    /// the retrained lower-level solution (default; see docs/bilevel.md).
    Anchored,
    /// The paper's joint descent on (λ, w).
    Joint,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    hyperscape bilevel --model mlp --dataset mnist --subset 1000 --hp per-layer-l2\n  \
    hyperscape bilevel --model mlp --dataset fashion-mnist --subset 5000 --hp shared-l2 --format json\n  \
    hyperscape bilevel --model mlp --dataset mnist --method grid --grid 30\n  \
    hyperscape bilevel --model mlp --dataset mnist --method gp --trials 30\n  \
    hyperscape bilevel --model mlp --dataset mnist --subset 5000 --method grid --study grid-5k \\\n      \
    --storage sqlite://bilevel.db   (run it in several processes to share the grid; rerun to resume)\n\n\
    λ is the log L2 weight per layer (or shared), searched in [--lambda-min, --lambda-max] \
    (the paper's [-10, 0] by default). The reported \
    metrics are those of a model trained on the training split only at the λ found.")]
pub struct BilevelArgs {
    #[arg(long, value_enum, default_value = "mlp")]
    pub model: ModelArg,
    /// A dataset of `hyperscape datasets` (mnist, fashion-mnist, digits, ...).
    #[arg(long)]
    pub dataset: String,
    /// Samples drawn from the dataset's pool, split 60/40 into train/validation.
    #[arg(long, default_value_t = 1000)]
    pub subset: usize,
    #[arg(long, value_enum, default_value = "per-layer-l2")]
    pub hp: HpArg,
    #[arg(long, value_enum, default_value = "gbho")]
    pub method: MethodArg,
    /// How GBHO moves λ.
    #[arg(long, value_enum, default_value = "anchored")]
    pub scheme: SchemeArg,
    /// Trial budget of the random, GP and TPE searches.
    #[arg(long, default_value_t = 30)]
    pub trials: usize,
    /// Grid points per λ dimension of the grid search.
    #[arg(long, default_value_t = 30)]
    pub grid: usize,
    /// Outer iterations of GBHO (augmented Lagrangian) or IFT (hypergradient steps).
    #[arg(long)]
    pub outer: Option<usize>,
    /// Epoch cap of each lower-level training run.
    #[arg(long)]
    pub max_epochs: Option<usize>,
    /// GBHO's local-step retraining: `off` trains from scratch; 0-3 warm-starts it
    /// from the anchor's weights with the lower solver started after that many of its
    /// three learning-rate cuts, held to the gradient gate (docs/bilevel.md, "The
    /// gradient gate"). Default: the library's.
    #[arg(long, value_parser = parse_warm_local)]
    pub warm_local: Option<WarmLocal>,
    /// Lower bound of every log regularisation weight λ (all methods).
    #[arg(long, default_value_t = -10.0, allow_negative_numbers = true)]
    pub lambda_min: f64,
    /// Upper bound of every log regularisation weight λ (all methods). The penalty is
    /// exp(λ)·½‖W‖²/n, so λ = ln n puts a weight of 1 on ½‖W‖².
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub lambda_max: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Keep the trials of a grid, random, GP or TPE search in this study of `--storage`:
    /// any number of processes (on any machines sharing a PostgreSQL storage) split its
    /// budget, a rerun resumes it, and a trial whose process died is trained again.
    /// Every process prints the whole search's result once its budget is complete.
    /// Without it, the search's study lives in memory.
    #[arg(long)]
    pub study: Option<String>,
    #[command(flatten)]
    pub storage: StorageArg,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// The value of `--warm-local`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WarmLocal(pub Option<usize>);

fn parse_warm_local(s: &str) -> Result<WarmLocal, String> {
    match s {
        "off" => Ok(WarmLocal(None)),
        _ => match s.parse::<usize>() {
            Ok(n) if n <= 3 => Ok(WarmLocal(Some(n))),
            _ => Err(format!(
                "`{s}` is not `off` or a number of learning-rate cuts from 0 to 3"
            )),
        },
    }
}

fn spec(model: ModelArg) -> ModelSpec {
    match model {
        ModelArg::Mlp => ModelSpec::Mlp { hidden: vec![100] },
        ModelArg::Logreg => ModelSpec::Logreg,
        ModelArg::Lenet => ModelSpec::Lenet,
    }
}

fn metrics_row(name: &str, m: &SetMetrics) -> Vec<String> {
    vec![
        name.to_string(),
        format!("{:.4}", m.cross_entropy),
        m.accuracy.map_or("-".into(), |a| format!("{a:.4}")),
    ]
}

fn table(r: &GbhoResult) -> String {
    let mut s = format!(
        "method {}: λ = [{}] (feasible: {})\n",
        r.method,
        r.lambda
            .iter()
            .map(|v| format!("{v:.3}"))
            .collect::<Vec<_>>()
            .join(", "),
        r.feasible
    );
    let mut rows = vec![
        metrics_row("train", &r.train),
        metrics_row("validation", &r.validation),
    ];
    if let Some(t) = &r.test {
        rows.push(metrics_row("test", t));
    }
    s += &output::table(&["split", "cross_entropy", "accuracy"], &rows);
    if let Some(j) = &r.joint {
        s += &format!(
            "\nthe authors' rule: AL iterate with the best feasible F(w_k), λ = [{}] \
             (w trained against the validation loss too):\n",
            r.joint_lambda
                .iter()
                .flatten()
                .map(|v| format!("{v:.3}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut rows = vec![
            metrics_row("train", &j.train),
            metrics_row("validation", &j.validation),
        ];
        if let Some(t) = &j.test {
            rows.push(metrics_row("test", t));
        }
        s += &output::table(&["split", "cross_entropy", "accuracy"], &rows);
    }
    if !r.trajectory.is_empty() {
        let rows: Vec<Vec<String>> = r
            .trajectory
            .iter()
            .map(|t| {
                vec![
                    t.k.to_string(),
                    t.lambda
                        .iter()
                        .map(|v| format!("{v:.3}"))
                        .collect::<Vec<_>>()
                        .join(" "),
                    format!("{:.4}", t.upper),
                    format!("{:.2e}", t.c),
                    format!("{:.3}", t.mu),
                    format!("{}", t.inner_iters),
                    t.stop.to_string(),
                    format!("{:.4}", t.retrained_validation),
                ]
            })
            .collect();
        s += "\n";
        s += &output::table(
            &["k", "λ", "F", "c", "μ", "inner", "stop", "val (retrained)"],
            &rows,
        );
    }
    s += &format!("\n{} training epochs, {:.1} s\n", r.epochs, r.wall_seconds);
    s
}

pub fn execute(a: BilevelArgs) -> Result<i32> {
    let (lo, hi) = (a.lambda_min, a.lambda_max);
    if !lo.is_finite() || !hi.is_finite() || lo >= hi {
        bail!(
            "--lambda-min {lo} and --lambda-max {hi} do not make a box: both must be finite, \
             and --lambda-min below --lambda-max"
        );
    }
    if a.study.is_some() && matches!(a.method, MethodArg::Gbho | MethodArg::Ift) {
        bail!(
            "--study keeps the trials of a grid, random, gp or tpe search in a storage; \
             --method {} runs in one process and takes no --study",
            if a.method == MethodArg::Gbho {
                "gbho"
            } else {
                "ift"
            }
        );
    }
    let spec = spec(a.model);
    let loaded = hyperscape_ml::data::load(&a.dataset)
        .with_context(|| format!("loading dataset `{}`", a.dataset))?;
    let splits = paper_splits(&loaded, a.subset, a.seed)?;
    let hp = match a.hp {
        HpArg::SharedL2 => HpKind::SharedL2,
        HpArg::PerLayerL2 => HpKind::PerLayerL2,
    };
    let mut lower = LowerConfig::default();
    if let Some(e) = a.max_epochs {
        lower.max_epochs = e;
    }
    let result = match a.method {
        MethodArg::Gbho => {
            let mut cfg = GbhoConfig {
                scheme: match a.scheme {
                    SchemeArg::Anchored => GbhoScheme::Anchored,
                    SchemeArg::Joint => GbhoScheme::Joint,
                },
                mu0: match a.scheme {
                    SchemeArg::Anchored => GbhoConfig::default().mu0,
                    SchemeArg::Joint => 0.0,
                },
                hp,
                seed: a.seed,
                lower,
                lo,
                hi,
                ..GbhoConfig::default()
            };
            if let Some(o) = a.outer {
                cfg.outer_iters = o;
            }
            if let Some(WarmLocal(w)) = a.warm_local {
                cfg.warm_local = w;
            }
            gbho(&spec, &splits, &cfg)?
        }
        MethodArg::Ift => {
            let mut cfg = IftConfig {
                hp,
                seed: a.seed,
                lower,
                lo,
                hi,
                ..IftConfig::default()
            };
            if let Some(o) = a.outer {
                cfg.outer_iters = o;
            }
            ift(&spec, &splits, &cfg)?
        }
        m => {
            let method = match m {
                MethodArg::Grid => SearchMethod::Grid { per_dim: a.grid },
                MethodArg::Random => SearchMethod::Random,
                MethodArg::Gp => SearchMethod::GpBo,
                MethodArg::Hyperband => SearchMethod::Hyperband {
                    eta: 3,
                    min_epochs: 15.min(lower.max_epochs),
                },
                _ => SearchMethod::Tpe,
            };
            let shared = match &a.study {
                Some(name) => Some(SharedStudy {
                    storage: open_storage(&a.storage.storage)?,
                    name: name.clone(),
                }),
                None => None,
            };
            search_in(
                &spec,
                &splits,
                &SearchConfig {
                    method,
                    hp,
                    seed: a.seed,
                    trials: a.trials,
                    lo,
                    hi,
                    lower,
                },
                shared.as_ref(),
            )?
        }
    };
    match a.format {
        Format::Json => output::json(&serde_json::to_value(&result)?)?,
        Format::Table => output::out(&table(&result))?,
    }
    if let Some(note) = bound_note(&result.lambda, lo, hi) {
        eprintln!("{note}");
    }
    Ok(0)
}

/// A note when the returned λ lies on a face of the box (within 1% of its width):
/// the validation optimum may then lie outside the box, which a wider
/// `--lambda-min`/`--lambda-max` would show. On MNIST and Fashion-MNIST with the
/// paper's box the first layer's λ ends at the upper bound 0 (docs/bilevel.md).
fn bound_note(lambda: &[f64], lo: f64, hi: f64) -> Option<String> {
    let tol = 0.01 * (hi - lo);
    let at: Vec<String> = lambda
        .iter()
        .enumerate()
        .filter_map(|(i, &l)| {
            if l >= hi - tol {
                Some(format!(
                    "λ{} = {l:.3} is at the upper bound {hi} (--lambda-max)",
                    i + 1
                ))
            } else if l <= lo + tol {
                Some(format!(
                    "λ{} = {l:.3} is at the lower bound {lo} (--lambda-min)",
                    i + 1
                ))
            } else {
                None
            }
        })
        .collect();
    (!at.is_empty()).then(|| {
        format!(
            "note: {}; the best λ may lie outside the box, so consider widening it",
            at.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::bound_note;

    #[test]
    fn a_lambda_on_a_face_of_the_box_is_named() {
        assert_eq!(bound_note(&[-5.0, -3.0], -10.0, 0.0), None);
        let n = bound_note(&[-0.05, -4.0], -10.0, 0.0).unwrap();
        assert!(
            n.contains("λ1 = -0.050 is at the upper bound 0 (--lambda-max)"),
            "{n}"
        );
        assert!(!n.contains("λ2"), "{n}");
        let n = bound_note(&[-3.0, -9.95], -10.0, 0.0).unwrap();
        assert!(
            n.contains("λ2 = -9.950 is at the lower bound -10 (--lambda-min)"),
            "{n}"
        );
        // 1% of the width: 0.18 in [-10, 8].
        assert_eq!(bound_note(&[7.8], -10.0, 8.0), None);
        assert!(bound_note(&[7.85], -10.0, 8.0).is_some());
    }
}

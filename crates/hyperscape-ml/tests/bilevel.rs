//! The bilevel methods: the augmented Lagrangian on a convex toy bilevel problem with
//! a known solution (ridge regression), gradients with respect to λ through candle,
//! and a small real run on smartcore's digits.
#![cfg(feature = "neural")]

use candle_core::{DType, Device, Tensor, Var};
use hyperscape_ml::bilevel::{
    self, gbho, lower_objective, Data, Dense, DiffModel, GbhoConfig, GbhoScheme, HpKind, ModelSpec,
    Splits,
};
use hyperscape_ml::{Dataset, Target};
use nalgebra::{DMatrix, DVector};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-300);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A linear regression problem: rows, targets.
fn regression(
    n: usize,
    p: usize,
    w: &[f64],
    noise: f64,
    rng: &mut ChaCha8Rng,
) -> (Vec<f64>, Vec<f64>) {
    let mut x = Vec::with_capacity(n * p);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let row: Vec<f64> = (0..p).map(|_| normal(rng)).collect();
        y.push(row.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() + noise * normal(rng));
        x.extend(row);
    }
    (x, y)
}

fn to_data(x: &[f64], y: &[f64], p: usize) -> Data {
    let n = y.len();
    Data {
        x: Tensor::from_slice(x, (n, p), &Device::Cpu).unwrap(),
        y: Tensor::from_slice(y, (n, 1), &Device::Cpu).unwrap(),
        n,
    }
}

/// Closed-form ridge weights for `f = (1/n)‖y − Xw‖² + e^λ ½‖w‖²/n`:
/// `(2XᵀX + e^λ I) w = 2Xᵀy`.
fn ridge(x: &DMatrix<f64>, y: &DVector<f64>, lambda: f64) -> DVector<f64> {
    let p = x.ncols();
    let a = x.transpose() * x * 2.0 + DMatrix::identity(p, p) * lambda.exp();
    a.cholesky().unwrap().solve(&(x.transpose() * y * 2.0))
}

fn mse(x: &DMatrix<f64>, y: &DVector<f64>, w: &DVector<f64>) -> f64 {
    (y - x * w).norm_squared() / y.len() as f64
}

#[test]
fn augmented_lagrangian_finds_the_ridge_optimum() {
    ridge_optimum(GbhoScheme::Joint, 0.0, 0, None);
}

#[test]
fn anchored_scheme_finds_the_ridge_optimum() {
    // Local AL steps only: the trust-region steps must find λ* themselves.
    ridge_optimum(GbhoScheme::Anchored, GbhoConfig::default().mu0, 0, None);
}

#[test]
fn anchored_scheme_with_global_steps_finds_the_ridge_optimum() {
    let d = GbhoConfig::default();
    ridge_optimum(
        GbhoScheme::Anchored,
        d.mu0,
        d.global_per_outer,
        d.warm_local,
    );
}

#[test]
fn warm_started_local_retraining_with_global_steps_finds_the_ridge_optimum() {
    // The opt-in warm start of the local step's retraining, with the global phase,
    // still finds λ* (checked inside). It saves no epochs here (the ridge solver
    // converges from scratch quickly).
    let d = GbhoConfig::default();
    let warm = ridge_optimum(GbhoScheme::Anchored, d.mu0, d.global_per_outer, Some(2));
    eprintln!("epochs with the warm start: {warm}");
}

#[test]
fn warm_started_local_retraining_alone_finds_the_ridge_optimum() {
    // Local steps only, each retraining warm-started from the anchor's weights: the
    // gradient gate keeps the solver going until its weights are as stationary as the
    // design's trainings from scratch, so F(w*(λ_k)) is judged at w*(λ_k) and the
    // trust-region steps find λ* (without the gate they stopped at λ = 4.75 against
    // λ* = 3.54).
    let warm = ridge_optimum(GbhoScheme::Anchored, GbhoConfig::default().mu0, 0, Some(2));
    eprintln!("epochs with the warm start, local steps only: {warm}");
}

/// The lower-level solver tests' problem: 40 noisy rows of an 8-feature linear model.
fn small_regression() -> (usize, Data) {
    let (n, p) = (40, 8);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let w_true: Vec<f64> = (0..p).map(|_| normal(&mut rng)).collect();
    let (x, y) = regression(n, p, &w_true, 0.5, &mut rng);
    (p, to_data(&x, &y, p))
}

#[test]
fn a_warm_start_from_the_solution_stops_early_at_the_same_value() {
    // From the lower-level solution at λ, restarting after two of the three
    // learning-rate cuts stops at the first check (after `window` steps) without moving
    // φ; from scratch the solver needs far more steps. Restarting "after 5 cuts" is
    // the same as after 2 (clamped).
    let (p, train) = small_regression();
    let cfg = bilevel::LowerConfig {
        max_epochs: 3000,
        ..Default::default()
    };
    let lambda = [0.5];
    let model = ModelSpec::Linear.build(p, 1, DType::F64, 1).unwrap();
    let cold = bilevel::solve_lower(model.as_ref(), &lambda, &train, &cfg).unwrap();
    assert!(cold.converged, "{cold:?}");
    let w = bilevel::model::snapshot(model.as_ref()).unwrap();
    let warm = bilevel::solve_lower_from_cut(model.as_ref(), &lambda, &train, &cfg, 2).unwrap();
    assert!(warm.converged);
    assert_eq!(warm.epochs, cfg.window, "{warm:?} vs {cold:?}");
    assert!(cold.epochs > 3 * warm.epochs, "{warm:?} vs {cold:?}");
    assert!(
        (warm.phi - cold.phi).abs() <= 1e-3 * cold.phi.abs(),
        "{warm:?} vs {cold:?}"
    );
    bilevel::model::restore(model.as_ref(), &w).unwrap();
    let clamped = bilevel::solve_lower_from_cut(model.as_ref(), &lambda, &train, &cfg, 5).unwrap();
    assert_eq!(clamped, warm);
}

#[test]
fn the_gradient_gate_keeps_a_warm_start_going_until_it_is_stationary() {
    // Warm-started at λ = 3 from the solution at λ = −2, after two of the three cuts:
    // the relative-decrease test alone stops while the weights are still far from
    // w*(3) (gradient norm above what a cold solve at λ = 3 ends with); with that
    // norm as the target the solve goes on until it gets there, and its φ is then
    // the cold solve's.
    let (p, train) = small_regression();
    let cfg = bilevel::LowerConfig {
        max_epochs: 5000,
        ..Default::default()
    };
    let model = ModelSpec::Linear.build(p, 1, DType::F64, 1).unwrap();
    let cold = bilevel::solve_lower(model.as_ref(), &[3.0], &train, &cfg).unwrap();
    assert!(cold.converged && cold.grad_norm.is_finite(), "{cold:?}");
    let model = ModelSpec::Linear.build(p, 1, DType::F64, 1).unwrap();
    bilevel::solve_lower(model.as_ref(), &[-2.0], &train, &cfg).unwrap();
    let w0 = bilevel::model::snapshot(model.as_ref()).unwrap();
    let plain = bilevel::solve_lower_from_cut(model.as_ref(), &[3.0], &train, &cfg, 2).unwrap();
    assert!(
        plain.grad_norm > 3.0 * cold.grad_norm,
        "{plain:?} vs {cold:?}"
    );
    assert!(plain.phi > cold.phi + 1e-3, "{plain:?} vs {cold:?}");
    bilevel::model::restore(model.as_ref(), &w0).unwrap();
    let gated =
        bilevel::solve_lower_to(model.as_ref(), &[3.0], &train, &cfg, 2, cold.grad_norm).unwrap();
    assert!(gated.converged, "{gated:?}");
    assert!(gated.grad_norm <= cold.grad_norm, "{gated:?} vs {cold:?}");
    assert!(gated.epochs > plain.epochs, "{gated:?} vs {plain:?}");
    assert!(
        (gated.phi - cold.phi).abs() <= 1e-3 * cold.phi.abs(),
        "{gated:?} vs {cold:?}"
    );
}

/// λ found by GBHO (`scheme`, `global` GP-EI steps per outer iteration) on a
/// ridge-regression bilevel problem whose λ* is known by exact search.
fn ridge_optimum(scheme: GbhoScheme, mu0: f64, global: usize, warm_local: Option<usize>) -> usize {
    let (n, p) = (30, 10);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let w_true: Vec<f64> = (0..p).map(|_| 0.3 * normal(&mut rng)).collect();
    let (xt, yt) = regression(n, p, &w_true, 1.5, &mut rng);
    let (xv, yv) = regression(n, p, &w_true, 1.5, &mut rng);
    let (mxt, myt) = (
        DMatrix::from_row_slice(n, p, &xt),
        DVector::from_vec(yt.clone()),
    );
    let (mxv, myv) = (
        DMatrix::from_row_slice(n, p, &xv),
        DVector::from_vec(yv.clone()),
    );

    // λ* by exact search: a fine grid with closed-form ridge solutions.
    let (lo, hi) = (-6.0, 6.0);
    let grid: Vec<f64> = (0..=12_000)
        .map(|i| lo + (hi - lo) * i as f64 / 12_000.0)
        .collect();
    let vals: Vec<f64> = grid
        .iter()
        .map(|&l| mse(&mxv, &myv, &ridge(&mxt, &myt, l)))
        .collect();
    let (i_star, f_star) =
        vals.iter().enumerate().fold(
            (0, f64::INFINITY),
            |b, (i, &v)| if v < b.1 { (i, v) } else { b },
        );
    let lam_star = grid[i_star];
    assert!(
        lo + 1.0 < lam_star && lam_star < hi - 1.0,
        "λ* = {lam_star} must be interior"
    );

    let splits = Splits {
        train: to_data(&xt, &yt, p),
        valid: to_data(&xv, &yv, p),
        test: None,
    };
    let cfg = GbhoConfig {
        scheme,
        mu0,
        hp: HpKind::SharedL2,
        seed: 1,
        lo,
        hi,
        n_init: Some(4),
        global_per_outer: global,
        warm_local,
        outer_iters: 6,
        inner_max_iter: 150,
        lr_w: 0.01,
        lr_lambda: 0.05,
        dtype_f64: true,
        ..GbhoConfig::default()
    };
    let res = gbho(&ModelSpec::Linear, &splits, &cfg).unwrap();
    let lam = res.lambda[0];
    let f_at = mse(&mxv, &myv, &ridge(&mxt, &myt, lam));
    let best_design = res
        .design
        .iter()
        .map(|(l, _, _)| (l[0] - lam_star).abs())
        .fold(f64::INFINITY, f64::min);
    eprintln!(
        "λ* = {lam_star:.3} (F* = {f_star:.4}); gbho λ = {lam:.3} (F = {f_at:.4}); \
         nearest design point {best_design:.3} away; trajectory {:#?}",
        res.trajectory
    );
    assert!((lam - lam_star).abs() < 0.3, "λ = {lam} vs λ* = {lam_star}");
    assert!(f_at <= f_star * 1.002, "F(w*(λ)) = {f_at} vs F* = {f_star}");
    assert!(
        (lam - lam_star).abs() < best_design,
        "the iterations must improve on the initial design"
    );
    // The design starts with the box's ends and centre.
    let starts: Vec<f64> = res.design.iter().map(|(l, _, _)| l[0]).collect();
    assert_eq!(&starts[..3], &[lo, hi, 0.0]);
    // One global step per outer iteration (anchored scheme), each inside the box.
    let n_global = if scheme == GbhoScheme::Anchored {
        global * cfg.outer_iters
    } else {
        0
    };
    assert_eq!(res.global.len(), n_global);
    assert!(res
        .global
        .iter()
        .all(|g| g.lambda.len() == 1 && (lo..=hi).contains(&g.lambda[0])));
    // The AL bookkeeping: μ stays non-negative, R grows geometrically, the inner
    // stopping test fires before the iteration cap at least once.
    for (a, b) in res.trajectory.iter().zip(&res.trajectory[1..]) {
        assert!(b.mu >= 0.0);
        assert!((b.r - a.r * cfg.eta).abs() < 1e-9);
    }
    assert!(res
        .trajectory
        .iter()
        .any(|s| s.stop == "rel-change" || s.stop == "grad-norm"));
    // The returned λ's own iterate is feasible within the documented tolerance.
    assert!(res.feasible);
    res.epochs
}

#[test]
fn lambda_gradients_through_candle_match_finite_differences() {
    let model = Dense::new(&[5, 6, 3], true, DType::F64, 3).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let n = 20;
    let x: Vec<f64> = (0..n * 5).map(|_| normal(&mut rng)).collect();
    let y: Vec<u32> = (0..n).map(|i| (i % 3) as u32).collect();
    let data = Data {
        x: Tensor::from_slice(&x, (n, 5), &Device::Cpu).unwrap(),
        y: Tensor::from_slice(&y, n, &Device::Cpu).unwrap(),
        n,
    };
    let f = |lam: &[f64]| -> f64 {
        let t = Tensor::from_slice(lam, lam.len(), &Device::Cpu).unwrap();
        lower_objective(&model, &t, &data)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap()
    };
    for lam in [vec![-1.0, -3.0], vec![0.5]] {
        let v =
            Var::from_tensor(&Tensor::from_slice(&lam, lam.len(), &Device::Cpu).unwrap()).unwrap();
        let loss = lower_objective(&model, v.as_tensor(), &data).unwrap();
        let g: Vec<f64> = loss
            .backward()
            .unwrap()
            .get(v.as_tensor())
            .unwrap()
            .to_vec1()
            .unwrap();
        let ws = model.penalised();
        for k in 0..lam.len() {
            let h = 1e-5;
            let (mut a, mut b) = (lam.clone(), lam.clone());
            a[k] += h;
            b[k] -= h;
            let fd = (f(&a) - f(&b)) / (2.0 * h);
            assert!(
                (g[k] - fd).abs() < 1e-7 * (1.0 + fd.abs()),
                "λ={lam:?} k={k}: {} vs {fd}",
                g[k]
            );
            // And the closed form: ∂f/∂λ_k = e^{λ_k} Σ_{l ∈ k} ½‖W_l‖²/n.
            let sq: f64 = ws
                .iter()
                .enumerate()
                .filter(|(l, _)| lam.len() == 1 || *l == k)
                .map(|(_, w)| {
                    w.sqr()
                        .unwrap()
                        .sum_all()
                        .unwrap()
                        .to_scalar::<f64>()
                        .unwrap()
                })
                .sum();
            let exact = lam[k].exp() * 0.5 * sq / n as f64;
            assert!(
                (g[k] - exact).abs() < 1e-12 * (1.0 + exact),
                "{} vs {exact}",
                g[k]
            );
        }
    }
}

fn digits_splits(seed: u64) -> Splits {
    let raw = smartcore::dataset::digits::load_dataset();
    let n = raw.num_samples;
    let features: Vec<f32> = raw.data.iter().map(|v| v / 16.0).collect();
    let labels: Vec<u32> = raw.target.iter().map(|&v| v as u32).collect();
    let ds = Dataset::new(
        "digits",
        features,
        raw.num_features,
        Target::Classes {
            labels,
            n_classes: 10,
            names: (0..10).map(|i| i.to_string()).collect(),
        },
    )
    .unwrap();
    // A small training set (150) so that regularisation matters.
    let split = hyperscape_ml::split::train_valid_test(&ds, 0.1, 0.5, seed).unwrap();
    let small: Vec<usize> = split.train.iter().copied().take(150).collect();
    let _ = n;
    Splits {
        train: Data::from_dataset(&ds.select(&small), DType::F32).unwrap(),
        valid: Data::from_dataset(&ds.select(&split.valid), DType::F32).unwrap(),
        test: Some(Data::from_dataset(&ds.select(&split.test), DType::F32).unwrap()),
    }
}

#[test]
fn gbho_tunes_an_mlp_on_digits_reproducibly() {
    let splits = digits_splits(0);
    let cfg = GbhoConfig {
        hp: HpKind::PerLayerL2,
        seed: 4,
        n_init: Some(4),
        outer_iters: 2,
        inner_max_iter: 30,
        lower: bilevel::LowerConfig {
            max_epochs: 300,
            ..Default::default()
        },
        ..GbhoConfig::default()
    };
    let spec = ModelSpec::Mlp { hidden: vec![32] };
    let a = gbho(&spec, &splits, &cfg).unwrap();
    let test = a.test.unwrap();
    assert_eq!(a.lambda.len(), 2);
    assert!(a.lambda.iter().all(|l| (-10.0..=0.0).contains(l)));
    assert_eq!(a.trajectory.len(), 3);
    // Far better than chance (10 classes: accuracy 0.1, cross-entropy ln 10 = 2.30).
    assert!(test.accuracy.unwrap() > 0.85, "{test:?}");
    assert!(test.cross_entropy < 0.6, "{test:?}");
    assert!(a.epochs > 0);
    let b = gbho(&spec, &splits, &cfg).unwrap();
    assert_eq!(a.lambda, b.lambda);
    assert_eq!(a.validation.cross_entropy, b.validation.cross_entropy);
}

#[test]
fn model_without_penalised_weights_or_bad_box_is_an_error() {
    let splits = digits_splits(1);
    let cfg = GbhoConfig {
        lo: 0.0,
        hi: -1.0,
        ..GbhoConfig::default()
    };
    let err = gbho(&ModelSpec::Logreg, &splits, &cfg).unwrap_err();
    assert!(err.to_string().contains("lo < hi"), "{err}");
}

#[test]
fn a_solver_that_cannot_train_or_a_subset_that_cannot_be_split_is_an_error() {
    let splits = digits_splits(1);
    let zero_epochs = GbhoConfig {
        lower: bilevel::LowerConfig {
            max_epochs: 0,
            ..bilevel::LowerConfig::default()
        },
        ..GbhoConfig::default()
    };
    let err = gbho(&ModelSpec::Logreg, &splits, &zero_epochs).unwrap_err();
    assert!(err.to_string().contains("max_epochs is 0"), "{err}");
    let bad_lr = bilevel::LowerConfig {
        lr: f64::NAN,
        ..bilevel::LowerConfig::default()
    };
    let err = bad_lr.validate().unwrap_err();
    assert!(err.to_string().contains("learning rate NaN"), "{err}");
    // The solver itself refuses it too, for callers that skip `Problem`.
    let model = ModelSpec::Logreg
        .build(64, 10, DType::F32, 0)
        .expect("logreg builds");
    let err = bilevel::solve_lower(model.as_ref(), &[0.0], &splits.train, &bad_lr).unwrap_err();
    assert!(err.to_string().contains("learning rate NaN"), "{err}");
    assert!(bilevel::LowerConfig::default().validate().is_ok());

    // Subsets: without an official test set the rest of the pool is the test set, so
    // the whole pool cannot be the subset; with one it can.
    let raw = smartcore::dataset::digits::load_dataset();
    let ds = Dataset::new(
        "digits",
        raw.data.iter().map(|v| v / 16.0).collect(),
        raw.num_features,
        Target::Classes {
            labels: raw.target.iter().map(|&v| v as u32).collect(),
            n_classes: 10,
            names: (0..10).map(|i| i.to_string()).collect(),
        },
    )
    .unwrap();
    let n = ds.n_samples();
    let pool_only = hyperscape_ml::data::Loaded {
        train: ds.clone(),
        test: None,
    };
    for bad in [0, 9, n, n + 1] {
        let err = bilevel::paper_splits(&pool_only, bad, 0).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("subset of {bad} samples"))
                && msg.contains(&format!("between 10 and {}", n - 1)),
            "{msg}"
        );
    }
    let s = bilevel::paper_splits(&pool_only, n - 1, 0).unwrap();
    assert_eq!(s.test.as_ref().unwrap().n, 1);
    let with_test = hyperscape_ml::data::Loaded {
        train: ds.clone(),
        test: Some(ds),
    };
    assert!(bilevel::paper_splits(&with_test, n, 0).is_ok());
    let err = bilevel::paper_splits(&with_test, n + 1, 0).unwrap_err();
    assert!(
        err.to_string().contains(&format!("between 10 and {n}")),
        "{err}"
    );
}

#[test]
fn ift_hypergradient_matches_the_exact_ridge_hypergradient() {
    let (n, p) = (30, 10);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let w_true: Vec<f64> = (0..p).map(|_| 0.3 * normal(&mut rng)).collect();
    let (xt, yt) = regression(n, p, &w_true, 1.5, &mut rng);
    let (xv, yv) = regression(n, p, &w_true, 1.5, &mut rng);
    let (mxt, myt) = (
        DMatrix::from_row_slice(n, p, &xt),
        DVector::from_vec(yt.clone()),
    );
    let (mxv, myv) = (
        DMatrix::from_row_slice(n, p, &xv),
        DVector::from_vec(yv.clone()),
    );
    let splits = Splits {
        train: to_data(&xt, &yt, p),
        valid: to_data(&xv, &yv, p),
        test: None,
    };
    let model = ModelSpec::Linear.build(p, 1, DType::F64, 0).unwrap();
    for lam in [1.0, 3.0] {
        // The model at the exact lower-level optimum.
        let w = ridge(&mxt, &myt, lam);
        let wt = Tensor::from_iter(w.iter().copied(), &Device::Cpu)
            .unwrap()
            .reshape((p, 1))
            .unwrap();
        model.penalised()[0].set(&wt).unwrap();
        let (g, passes) =
            bilevel::hypergradient(model.as_ref(), &[lam], &splits, 400, 0.1, 1e-4).unwrap();
        assert_eq!(passes, 800);
        let h = 1e-4;
        let exact = (mse(&mxv, &myv, &ridge(&mxt, &myt, lam + h))
            - mse(&mxv, &myv, &ridge(&mxt, &myt, lam - h)))
            / (2.0 * h);
        assert!(
            (g[0] - exact).abs() < 0.02 * exact.abs() + 1e-6,
            "λ = {lam}: IFT {} vs exact {exact}",
            g[0]
        );
    }
}

#[test]
fn ift_moves_lambda_and_tunes_an_mlp_on_digits() {
    let splits = digits_splits(2);
    let cfg = bilevel::IftConfig {
        hp: HpKind::PerLayerL2,
        seed: 5,
        outer_iters: 4,
        inner_epochs: 10,
        neumann_terms: 5,
        lower: bilevel::LowerConfig {
            max_epochs: 300,
            ..Default::default()
        },
        ..bilevel::IftConfig::default()
    };
    let r = bilevel::ift(&ModelSpec::Mlp { hidden: vec![32] }, &splits, &cfg).unwrap();
    assert_eq!(r.trajectory.len(), 5);
    let last = &r.trajectory[4].lambda;
    assert!(
        last.iter().any(|l| (l + 5.0).abs() > 0.3),
        "λ must move from the start (-5, -5): {last:?}"
    );
    let test = r.test.unwrap();
    assert!(test.accuracy.unwrap() > 0.85, "{test:?}");
}

/// A search kept in a shared SQLite study: two workers (two storage handles, as two
/// processes would hold) split a 3×3 grid without training a point twice, each reports
/// the whole grid, exactly as the in-memory search does; a rerun trains nothing; a
/// study of another search is refused, and so is Hyperband.
#[test]
fn a_shared_grid_search_is_split_among_workers_and_resumed() {
    use bilevel::{search, search_in, SearchConfig, SearchMethod, SharedStudy};
    use hyperscape_core::TrialState;

    let splits = digits_splits(2);
    let spec = ModelSpec::Mlp { hidden: vec![16] };
    let cfg = SearchConfig {
        method: SearchMethod::Grid { per_dim: 3 },
        hp: HpKind::PerLayerL2,
        seed: 3,
        trials: 0,
        lo: -6.0,
        hi: 0.0,
        lower: bilevel::LowerConfig {
            max_epochs: 40,
            ..Default::default()
        },
    };
    let reference = search(&spec, &splits, &cfg).unwrap();
    assert_eq!(reference.design.len(), 9);

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:///{}", dir.path().join("bilevel.db").display());
    let shared = || SharedStudy {
        storage: hyperscape_core::open_storage(&url).unwrap(),
        name: "grid".into(),
    };
    let sorted = |mut d: Vec<(Vec<f64>, f64, f64)>| {
        d.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
        d
    };
    let results: Vec<_> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let (spec, splits, cfg, study) = (&spec, &splits, &cfg, shared());
                s.spawn(move || search_in(spec, splits, cfg, Some(&study)).unwrap())
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    for r in &results {
        assert_eq!(r.lambda, reference.lambda);
        assert_eq!(
            r.validation.cross_entropy,
            reference.validation.cross_entropy
        );
        assert_eq!(
            r.test.as_ref().unwrap().cross_entropy,
            reference.test.as_ref().unwrap().cross_entropy
        );
        assert_eq!(r.epochs, reference.epochs);
        assert_eq!(sorted(r.design.clone()), sorted(reference.design.clone()));
    }
    let study = hyperscape_core::Study::builder("grid")
        .storage(hyperscape_core::open_storage(&url).unwrap())
        .load_if_exists(true)
        .build()
        .unwrap();
    let trials = study.trials().unwrap();
    assert_eq!(trials.len(), 9, "no grid point trained twice");
    assert!(trials.iter().all(|t| t.state == TrialState::Complete));

    // A rerun finds the budget spent: it trains nothing and reports the same search.
    let again = search_in(&spec, &splits, &cfg, Some(&shared())).unwrap();
    assert_eq!(study.trials().unwrap().len(), 9);
    assert_eq!(again.lambda, reference.lambda);
    assert_eq!(again.epochs, reference.epochs);

    // Another search in the same study is refused, naming the study.
    let other = SearchConfig { seed: 4, ..cfg };
    let err = search_in(&spec, &splits, &other, Some(&shared()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("study `grid` holds trials of another search"),
        "{err}"
    );
    let hb = SearchConfig {
        method: SearchMethod::Hyperband {
            eta: 3,
            min_epochs: 5,
        },
        ..cfg
    };
    let err = search_in(&spec, &splits, &hb, Some(&shared()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("hyperband keeps its brackets in memory"),
        "{err}"
    );
}

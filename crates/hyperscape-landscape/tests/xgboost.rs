//! The real XGBoost landscape (`../shared/data/xgboost_landscape.csv` next to the
//! repository); skipped with a message when absent.

use std::path::PathBuf;

use hyperscape_landscape::{
    analyze, compare_landscapes, load_csv, LoadOptions, Settings, DEFAULT_GAMMAS,
};

fn data() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/xgboost_landscape.csv");
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipping: {} not found (shared data absent)", p.display());
        None
    }
}

#[test]
fn xgboost_landscape_profile() {
    let Some(path) = data() else { return };
    let opts = LoadOptions {
        fitness: "acc_test".into(),
        maximize: true,
        ..LoadOptions::default()
    };
    let t = load_csv(&path, &opts).unwrap();
    let l = &t.landscape;
    assert_eq!(l.len(), 14_960);
    let names: Vec<&str> = l.params().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "learning_rate",
            "max_bin",
            "max_depth",
            "n_estimators",
            "subsample"
        ]
    );
    let levels: Vec<usize> = l.params().iter().map(|p| p.levels.len()).collect();
    assert_eq!(levels, [11, 4, 17, 4, 5]);
    assert_eq!(l.grid_size(), 14_960);
    assert_eq!(t.info.n_dropped, 0);
    assert_eq!(
        t.info.auto_excluded,
        ["acc_train", "roc_auc_test", "roc_auc_train"]
    );
    let r = analyze(l, &Settings::default()).unwrap();
    // Full grid: edges per parameter = (levels - 1) · (n / levels).
    let edges: usize = levels.iter().map(|&k| (k - 1) * (14_960 / k)).sum();
    assert_eq!(r.n_edges, edges);
    assert!(r.n_improving_edges as usize <= edges);
    assert!(r.n_local_optima >= 1 && r.n_local_optima < 14_960 / 2);
    assert!(r.n_global_optima >= 1);
    let best = r.global_optima[0].fitness;
    assert!(l.fitness().iter().all(|&f| f <= best));
    assert!(r.fdc.spearman.unwrap().abs() <= 1.0);
    assert!((0.0..=1.0).contains(&r.neutrality.mean.unwrap()));
    assert!(r.autocorrelation.lags[0].pooled.unwrap() > 0.0);
    let sizes: usize = r.basins.largest.iter().map(|b| b.size).sum();
    assert!(sizes <= 14_960);
    assert_eq!(r.basins.n_basins, r.n_local_optima);
    let json = serde_json::to_value(&r).unwrap();
    for k in [
        "n_configs",
        "n_improving_edges",
        "n_local_optima",
        "global_optima",
        "fdc",
        "neutrality",
        "autocorrelation",
        "basins",
    ] {
        assert!(json.get(k).is_some(), "missing key {k}");
    }
}

#[test]
fn xgboost_train_vs_test_similarity() {
    let Some(path) = data() else { return };
    let load = |f: &str| {
        let o = LoadOptions {
            fitness: f.into(),
            maximize: true,
            params: Some(
                [
                    "learning_rate",
                    "max_bin",
                    "max_depth",
                    "n_estimators",
                    "subsample",
                ]
                .map(String::from)
                .to_vec(),
            ),
            ..LoadOptions::default()
        };
        load_csv(&path, &o).unwrap().landscape
    };
    let s = compare_landscapes(&load("acc_test"), &load("acc_train"), &DEFAULT_GAMMAS).unwrap();
    assert_eq!(s.n_shared, 14_960);
    // Train and test accuracy need not agree (overfitting): only check ranges.
    assert!(s.spearman.unwrap().abs() <= 1.0);
    assert!(s.kendall_tau_b.unwrap().abs() <= 1.0);
    assert!(s.gamma_sets.iter().all(|g| (0.0..=1.0).contains(&g.iou)));
    let s = compare_landscapes(
        &load("roc_auc_test"),
        &load("roc_auc_test"),
        &DEFAULT_GAMMAS,
    )
    .unwrap();
    assert_eq!(s.kendall_tau_b, Some(1.0));
    assert!(s.gamma_sets.iter().all(|g| g.iou == 1.0));
}

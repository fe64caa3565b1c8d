//! `landscape_map`: a tiny KNN map on iris (2 parameters × 3 levels, 2 train-fraction
//! fidelities): every (configuration, fidelity, seed) evaluated exactly once, resumed
//! runs evaluate only the rest, two workers on one SQLite study never duplicate, and bad
//! grid files and fidelity specs fail with messages naming the file and key.

#![cfg(all(feature = "classic", feature = "builtin-data"))]

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use hyperscape_core::storage::SqliteStorage;
use hyperscape_core::{Direction, OptimizeOptions, Storage, Study, TrialState};
use hyperscape_ml::landscape_map::{
    self as lm, export_csv, FidelityAxis, FidelityKind, Grid, MapSettings, Mapper,
};
use hyperscape_ml::model_by_name;

const GRID: &str = "k = [1, 5, 15]\nweights = [\"uniform\", \"distance\"]\n";

fn settings(seeds: u32) -> MapSettings {
    MapSettings {
        model: "knn".into(),
        dataset: "iris".into(),
        grid: Grid::parse(GRID, Path::new("knn.toml")).unwrap(),
        fidelity: FidelityAxis::parse("train_fraction=0.5,1").unwrap(),
        seeds,
        split_seed: 3,
        valid_fraction: 0.2,
        test_fraction: 0.2,
    }
}

fn mapper(seeds: u32) -> Mapper {
    Mapper::for_dataset(model_by_name("knn").unwrap(), settings(seeds)).unwrap()
}

fn study(m: &Mapper, name: &str, storage: Arc<dyn Storage>) -> Study {
    Study::builder(name)
        .storage(storage)
        .boxed_sampler(Box::new(m.sampler().unwrap()))
        .direction(Direction::Minimize)
        .load_if_exists(true)
        .build()
        .unwrap()
}

/// The (configuration, fidelity, seed) of every complete trial, checked unique.
fn units(s: &Study) -> Vec<String> {
    let recs = lm::records(s).unwrap();
    let keys: Vec<String> = recs
        .iter()
        .map(|r| format!("{:?}|{}|{}", r.params, r.fidelity, r.seed))
        .collect();
    let unique: BTreeSet<_> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len(), "a unit was evaluated twice");
    keys
}

#[test]
fn a_tiny_map_has_every_configuration_and_fidelity_once() {
    let m = mapper(1);
    assert_eq!(m.n_units(), 12);
    let s = study(&m, "map", Arc::new(hyperscape_core::InMemoryStorage::new()));
    let summary = m.run(&s, OptimizeOptions::default().n_jobs(2)).unwrap();
    assert_eq!(summary.complete, 12);
    assert!(summary.exhausted);
    assert_eq!(units(&s).len(), 12);
    for r in lm::records(&s).unwrap() {
        // Test metrics recorded, cross-entropy included (KNN gives probabilities).
        assert!(r.test.contains_key("cross_entropy") && r.test.contains_key("accuracy"));
        assert!(r.train["accuracy"] > 0.5 && r.valid["accuracy"] > 0.5);
    }

    let mut out = Vec::new();
    let ex = export_csv(m.settings(), &lm::records(&s).unwrap(), &mut out).unwrap();
    assert_eq!(ex.rows, 6);
    assert_eq!(ex.incomplete_cells, 0);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 7);
    let header: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(&header[..2], ["k", "weights"]);
    assert_eq!(header.len(), 2 + 2 * 6);
    assert!(header.contains(&"val_loss@train_fraction=0.5"));
    assert!(header.contains(&"test_acc@train_fraction=1"));
    let configs: BTreeSet<(&str, &str)> = lines[1..]
        .iter()
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            assert_eq!(c.len(), header.len());
            assert!(c.iter().all(|v| !v.is_empty()), "empty cell in {l}");
            (c[0], c[1])
        })
        .collect();
    assert_eq!(configs.len(), 6);
    assert!(configs.contains(&("15", "distance")));

    // k = 1 fits the training rows exactly (train accuracy 1 at full fidelity).
    let k1 = lines[1..]
        .iter()
        .find(|l| l.starts_with("1,uniform"))
        .unwrap();
    let col = header
        .iter()
        .position(|h| *h == "train_acc@train_fraction=1")
        .unwrap();
    assert_eq!(k1.split(',').nth(col).unwrap(), "1");
}

#[test]
fn seeds_add_spread_columns_and_a_rerun_evaluates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("map.db");
    let m = mapper(2);
    let storage: Arc<dyn Storage> = Arc::new(SqliteStorage::open(&db).unwrap());
    let s = study(&m, "map", storage);
    // A partial run: 5 units, then the rest, then nothing.
    let first = m.run(&s, OptimizeOptions::n_trials(5)).unwrap();
    assert_eq!(first.complete, 5);
    let mut out = Vec::new();
    let ex = export_csv(m.settings(), &lm::records(&s).unwrap(), &mut out).unwrap();
    assert!(ex.incomplete_cells > 0);

    let m2 = mapper(2);
    let s2 = study(&m2, "map", Arc::new(SqliteStorage::open(&db).unwrap()));
    let rest = m2.run(&s2, OptimizeOptions::default()).unwrap();
    assert_eq!(rest.complete, 24 - 5);
    assert_eq!(units(&s2).len(), 24);
    let again = m2.run(&s2, OptimizeOptions::default()).unwrap();
    assert_eq!(again.complete, 0);
    assert_eq!(s2.trials().unwrap().len(), 24);

    let mut out = Vec::new();
    let ex = export_csv(m2.settings(), &lm::records(&s2).unwrap(), &mut out).unwrap();
    assert_eq!((ex.rows, ex.incomplete_cells), (6, 0));
    let text = String::from_utf8(out).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    assert_eq!(header.len(), 2 + 2 * (6 + 6 + 1));
    let n_col = header
        .iter()
        .position(|h| *h == "n_seeds@train_fraction=1")
        .unwrap();
    for l in text.lines().skip(1) {
        assert_eq!(l.split(',').nth(n_col).unwrap(), "2");
    }
}

#[test]
fn two_workers_on_one_sqlite_study_never_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    // Create the study first so both workers resume it.
    drop(study(
        &mapper(2),
        "shared",
        Arc::new(SqliteStorage::open(&db).unwrap()),
    ));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let db = db.clone();
            std::thread::spawn(move || {
                let m = mapper(2);
                let s = study(&m, "shared", Arc::new(SqliteStorage::open(&db).unwrap()));
                m.run(&s, OptimizeOptions::default().n_jobs(2))
                    .unwrap()
                    .complete
            })
        })
        .collect();
    let done: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert_eq!(done, 24);
    let m = mapper(2);
    let s = study(&m, "shared", Arc::new(SqliteStorage::open(&db).unwrap()));
    let trials = s.trials().unwrap();
    assert_eq!(trials.len(), 24);
    assert!(trials.iter().all(|t| t.state == TrialState::Complete));
    assert_eq!(units(&s).len(), 24);
}

#[test]
fn a_study_of_another_map_is_refused() {
    let storage: Arc<dyn Storage> = Arc::new(hyperscape_core::InMemoryStorage::new());
    let m = mapper(1);
    let s = study(&m, "map", storage.clone());
    m.run(&s, OptimizeOptions::n_trials(1)).unwrap();
    let other = mapper(2);
    let s2 = study(&other, "map", storage);
    let e = other
        .run(&s2, OptimizeOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("seeds: 1 in the study, 2 now"), "{e}");
}

#[test]
fn bad_grid_files_name_the_file_and_key() {
    let p = Path::new("g.toml");
    let err = |text: &str| Grid::parse(text, p).unwrap_err().to_string();
    let e = err("k = []\n");
    assert!(
        e.starts_with("g.toml:1:") && e.contains("key `k`") && e.contains("empty"),
        "{e}"
    );
    let e = err("a = [1]\nk = [1, \"x\"]\n");
    assert!(
        e.starts_with("g.toml:2:") && e.contains("mixes level types"),
        "{e}"
    );
    let e = err("k = [1, 1]\n");
    assert!(e.contains("appears twice"), "{e}");
    let e = err("[k]\nx = 1\n");
    assert!(e.contains("key `k`") && e.contains("table"), "{e}");
    let e = err("k = [1, 2\n");
    assert!(e.starts_with("g.toml:"), "{e}");
    let e = err("kernel = \"rbf\"\n");
    assert!(e.contains("no hyperparameter with a list of levels"), "{e}");
    let e = err("_seed = [1, 2]\n");
    assert!(e.contains("reserved"), "{e}");

    // Ints and floats in one list are floats; scalars are fixed.
    let g = Grid::parse("c = [1, 0.5]\nkernel = \"rbf\"\nw = [true, false]\n", p).unwrap();
    assert_eq!(g.len(), 4);
    assert_eq!(g.fixed.len(), 1);
    assert!(g
        .configurations()
        .iter()
        .all(|c| c["kernel"].to_string() == "rbf" && c["c"].as_f64().is_some()));

    let e = Grid::from_file(Path::new("/nonexistent/grid.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/grid.toml"), "{e}");
}

#[test]
fn fidelity_specs_parse_and_reject() {
    let f = FidelityAxis::parse("epochs=9,1,3").unwrap();
    assert_eq!(f.kind, FidelityKind::Epochs);
    assert_eq!(f.levels, vec![1.0, 3.0, 9.0]);
    assert_eq!(f.label(3.0), "epochs=3");
    for bad in [
        "epochs",
        "steps=1,2",
        "epochs=0,1",
        "epochs=1.5",
        "train_fraction=0,1",
        "train_fraction=1.5",
        "epochs=2,2",
        "epochs=a",
    ] {
        assert!(FidelityAxis::parse(bad).is_err(), "{bad}");
    }
    // An epochs fidelity on a model without epochs is refused.
    let mut s = settings(1);
    s.fidelity = FidelityAxis::parse("epochs=1,2").unwrap();
    let e = Mapper::for_dataset(model_by_name("knn").unwrap(), s)
        .unwrap_err()
        .to_string();
    assert!(e.contains("has no epochs"), "{e}");
}

//! SQLite storage across processes, and its schema checks.
//!
//! The multi-process tests re-run this test binary as child processes (test
//! `mp_child`, told what to do through environment variables), all working on one
//! SQLite file, then check what the file holds.
#![cfg(feature = "sqlite")]

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyperscape_core::storage::SqliteStorage;
use hyperscape_core::{
    open_storage, Error, GridSampler, ParamValue, RandomSampler, Storage, Study, TrialState,
};

const CHILD_DB: &str = "HYPERSCAPE_MP_CHILD_DB";
const CHILD_MODE: &str = "HYPERSCAPE_MP_CHILD_MODE";
const CHILD_INDEX: &str = "HYPERSCAPE_MP_CHILD_INDEX";
const WORKERS: usize = 4;

fn grid() -> Vec<BTreeMap<String, ParamValue>> {
    let mut points = Vec::new();
    for a in 0..6 {
        for b in 0..10 {
            points.push(
                [
                    ("a".to_string(), ParamValue::Int(a)),
                    ("b".to_string(), ParamValue::Int(b)),
                ]
                .into(),
            );
        }
    }
    points
}

/// The worker side of the multi-process tests; does nothing when run on its own.
#[test]
fn mp_child() {
    let Ok(db) = std::env::var(CHILD_DB) else {
        return;
    };
    let index: u64 = std::env::var(CHILD_INDEX).unwrap().parse().unwrap();
    // Start together with the other workers, to collide as much as possible.
    let go = Path::new(&db).with_extension("go");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !go.exists() {
        assert!(Instant::now() < deadline, "parent never said go");
        std::thread::sleep(Duration::from_millis(1));
    }
    let storage: Arc<dyn Storage> = Arc::new(SqliteStorage::open(&db).unwrap());
    match std::env::var(CHILD_MODE).unwrap().as_str() {
        "random" => {
            let study = Study::builder("mp")
                .storage(storage)
                .sampler(RandomSampler::new(Some(index)))
                .load_if_exists(true)
                .build()
                .unwrap();
            let summary = study
                .optimize(
                    |t| -> hyperscape_core::Result<f64> {
                        let x = t.suggest_float("x", -1.0, 1.0)?;
                        t.report(0, x)?;
                        Ok(x * x)
                    },
                    50,
                )
                .unwrap();
            assert_eq!(summary.complete, 50);
        }
        "grid" => {
            let study = Study::builder("mp-grid")
                .storage(storage)
                .sampler(GridSampler::new(grid(), Some(index)).unwrap())
                .load_if_exists(true)
                .build()
                .unwrap();
            let summary = study
                .optimize(
                    |t| -> hyperscape_core::Result<f64> {
                        let a = t.suggest_int("a", 0, 5)?;
                        let b = t.suggest_int("b", 0, 9)?;
                        Ok((a * 10 + b) as f64)
                    },
                    1000,
                )
                .unwrap();
            assert!(summary.exhausted, "{summary:?}");
        }
        other => panic!("unknown mode {other}"),
    }
}

/// Runs `WORKERS` child processes in `mode` on `db` and waits for them all to succeed.
fn run_workers(db: &Path, mode: &str) {
    let exe = std::env::current_exe().unwrap();
    let mut children: Vec<Child> = (0..WORKERS)
        .map(|i| {
            Command::new(&exe)
                .args(["--exact", "mp_child", "--nocapture", "--test-threads=1"])
                .env(CHILD_DB, db)
                .env(CHILD_MODE, mode)
                .env(CHILD_INDEX, i.to_string())
                .spawn()
                .unwrap()
        })
        .collect();
    std::fs::write(db.with_extension("go"), b"go").unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    for child in &mut children {
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                for c in &mut children {
                    let _ = c.kill();
                }
                panic!("worker processes did not finish in time");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        assert!(status.success(), "a worker process failed: {status}");
    }
}

fn db_in(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

#[test]
fn four_processes_share_one_study() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir, "mp.db");
    run_workers(&db, "random");
    let storage = SqliteStorage::open(&db).unwrap();
    let study = storage.get_study("mp").unwrap();
    let trials = storage.all_trials(study.id).unwrap();
    assert_eq!(trials.len(), 200);
    let numbers: Vec<u64> = trials.iter().map(|t| t.number).collect();
    assert_eq!(numbers, (0..200).collect::<Vec<_>>());
    assert_eq!(
        trials.iter().map(|t| t.id).collect::<HashSet<_>>().len(),
        200
    );
    for t in &trials {
        assert_eq!(t.state, TrialState::Complete, "trial {}", t.number);
        let x = t.params["x"].as_f64().unwrap();
        assert_eq!(t.values, Some(vec![x * x]));
        assert_eq!(t.intermediate_values[&0], x);
    }
    // Every worker's incremental view ends where a full read does.
    let delta = storage.trials_since(study.id, 0).unwrap();
    assert!(storage
        .trials_since(study.id, delta.cursor)
        .unwrap()
        .trials
        .is_empty());
}

#[test]
fn four_processes_share_one_grid() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir, "grid.db");
    run_workers(&db, "grid");
    let storage = SqliteStorage::open(&db).unwrap();
    let study = storage.get_study("mp-grid").unwrap();
    let trials = storage.all_trials(study.id).unwrap();
    assert_eq!(trials.len(), 60, "each grid point evaluated once");
    let numbers: Vec<u64> = trials.iter().map(|t| t.number).collect();
    assert_eq!(numbers, (0..60).collect::<Vec<_>>());
    let points: BTreeSet<(i64, i64)> = trials
        .iter()
        .map(|t| {
            assert_eq!(t.state, TrialState::Complete);
            (
                t.params["a"].as_i64().unwrap(),
                t.params["b"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(points.len(), 60);
    assert!(points
        .iter()
        .all(|(a, b)| (0..6).contains(a) && (0..10).contains(b)));
    let keys: HashSet<&str> = trials
        .iter()
        .filter_map(|t| t.claim_key.as_deref())
        .collect();
    assert_eq!(keys.len(), 60);
}

#[test]
fn two_connections_in_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir, "two.db");
    let a: Arc<dyn Storage> = Arc::new(SqliteStorage::open(&db).unwrap());
    let b: Arc<dyn Storage> = Arc::new(SqliteStorage::open(&db).unwrap());
    let study = a
        .create_study("s", &[hyperscape_core::Direction::Minimize])
        .unwrap();
    assert_eq!(b.get_study("s").unwrap(), study);
    let made: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let s = if i % 2 == 0 { a.clone() } else { b.clone() };
                scope.spawn(move || {
                    (0..25)
                        .map(|_| s.create_trial(study.id, Default::default()).unwrap().number)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut made = made;
    made.sort_unstable();
    assert_eq!(made, (0..100).collect::<Vec<_>>());
    // A change made through one connection is seen through the other.
    let cursor = b.trials_since(study.id, 0).unwrap().cursor;
    let t = a.get_trial_by_number(study.id, 42).unwrap();
    a.report_intermediate(t.id, 1, 0.5).unwrap();
    let delta = b.trials_since(study.id, cursor).unwrap();
    assert_eq!(delta.trials.len(), 1);
    assert_eq!(delta.trials[0].intermediate_values[&1], 0.5);
}

#[test]
fn data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir, "reopen.db");
    let (id, cursor, trial) = {
        let s = SqliteStorage::open(&db).unwrap();
        let study = s
            .create_study("keep", &[hyperscape_core::Direction::Maximize])
            .unwrap();
        s.set_study_user_attr(study.id, "note", "hello".into())
            .unwrap();
        let t = s.create_trial(study.id, Default::default()).unwrap();
        s.set_trial_param(
            t.id,
            "x",
            &hyperscape_core::Distribution::float(0.0, 1.0),
            &ParamValue::Float(0.25),
        )
        .unwrap();
        let t = s
            .finish_trial(t.id, &hyperscape_core::TrialResult::Complete(vec![1.0]))
            .unwrap();
        (study.id, s.trials_since(study.id, 0).unwrap().cursor, t)
    };
    let url = format!("sqlite://{}", db.display());
    let s = open_storage(&url).unwrap();
    let study = s.get_study("keep").unwrap();
    assert_eq!(study.id, id);
    assert_eq!(study.user_attrs["note"], "hello");
    assert_eq!(s.get_trial(trial.id).unwrap(), trial);
    let delta = s.trials_since(id, cursor).unwrap();
    assert!(delta.trials.is_empty());
    assert_eq!(delta.cursor, cursor);
    assert_eq!(s.create_trial(id, Default::default()).unwrap().number, 1);
}

fn set_version(db: &Path, version: i64) {
    rusqlite::Connection::open(db)
        .unwrap()
        .execute("UPDATE schema_version SET version = ?1", [version])
        .unwrap();
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir, "new.db");
    drop(SqliteStorage::open(&db).unwrap());
    let current = SqliteStorage::SCHEMA_VERSION;
    set_version(&db, current + 1);
    let err = SqliteStorage::open(&db).unwrap_err();
    match &err {
        Error::SchemaTooNew { found, supported } => {
            assert_eq!((*found, *supported), (current + 1, current))
        }
        e => panic!("expected SchemaTooNew, got {e:?}"),
    }
    assert!(err
        .to_string()
        .contains("newer than this hyperscape supports"));
    assert!(matches!(
        SqliteStorage::upgrade(&db).unwrap_err(),
        Error::SchemaTooNew { .. }
    ));
    assert!(matches!(
        open_storage(&format!("sqlite://{}", db.display())).unwrap_err(),
        Error::SchemaTooNew { .. }
    ));
}

#[test]
fn older_schema_needs_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir, "old.db");
    drop(SqliteStorage::open(&db).unwrap());
    let current = SqliteStorage::SCHEMA_VERSION;
    assert_eq!(SqliteStorage::upgrade(&db).unwrap(), (current, current));
    set_version(&db, current - 1);
    let err = SqliteStorage::open(&db).unwrap_err();
    assert!(
        matches!(err, Error::SchemaTooOld { found, supported } if found == current - 1 && supported == current),
        "{err:?}"
    );
    assert!(err.to_string().contains("upgrade"));
}

#[test]
fn a_text_file_is_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir, "notes.db");
    let text = "these are my notes, not a database\n".repeat(200);
    std::fs::write(&db, &text).unwrap();
    for err in [
        SqliteStorage::open(&db).unwrap_err(),
        SqliteStorage::upgrade(&db).unwrap_err(),
        open_storage(db.to_str().unwrap()).unwrap_err(),
    ] {
        let Error::Storage(msg) = &err else {
            panic!("expected Error::Storage, got {err:?}");
        };
        assert!(msg.contains("notes.db"), "{msg}");
        assert!(msg.contains("not a SQLite database"), "{msg}");
    }
    assert_eq!(
        std::fs::read_to_string(&db).unwrap(),
        text,
        "file untouched"
    );
}

#[test]
fn an_unopenable_path_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("missing-dir").join("x.db");
    let err = SqliteStorage::open(&db).unwrap_err();
    let Error::Storage(msg) = &err else {
        panic!("expected Error::Storage, got {err:?}");
    };
    assert!(msg.contains("missing-dir"), "{msg}");
}

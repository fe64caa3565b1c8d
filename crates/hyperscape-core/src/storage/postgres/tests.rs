//! Tests that need the backend's internals: migrations and lost commit acknowledgements.
//! They run against the test server (`HYPERSCAPE_TEST_POSTGRES_URL`, see
//! scripts/start-postgres.sh), and are skipped without one (failed under `CI=true`).

use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

use super::schema::{Found, MIGRATIONS};
use super::*;

const V2: &str = "ALTER TABLE studies ADD COLUMN description TEXT;";

/// A fresh schema on the test server, dropped at the end.
struct Fresh {
    admin: String,
    name: String,
    url: String,
}

impl Fresh {
    fn new() -> Option<Self> {
        let Ok(admin) = std::env::var("HYPERSCAPE_TEST_POSTGRES_URL") else {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(!ci, "HYPERSCAPE_TEST_POSTGRES_URL is unset but CI=true");
            eprintln!("SKIPPED: HYPERSCAPE_TEST_POSTGRES_URL is unset");
            return None;
        };
        let name = format!("u_{}_{:016x}", std::process::id(), rand::random::<u64>());
        let sep = if admin.contains('?') { '&' } else { '?' };
        let url = format!("{admin}{sep}hyperscape_schema={name}");
        Some(Self { admin, name, url })
    }

    fn sql(&self, sql: &str) {
        let mut c = postgres::Client::connect(&self.admin, postgres::NoTls).unwrap();
        c.batch_execute(&format!("SET search_path = {}; {sql}", self.name))
            .unwrap();
    }

    fn version(&self) -> Found {
        let s = PostgresStorage::open_with(&self.url, &[]).err();
        match s {
            Some(Error::SchemaTooNew { found, .. }) => Found::Version(found),
            other => panic!("unexpected {other:?}"),
        }
    }
}

impl Drop for Fresh {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

#[test]
fn migrations_are_ordered_and_checked() {
    let Some(db) = Fresh::new() else { return };
    let v1 = MIGRATIONS[0];
    PostgresStorage::open_with(&db.url, &[v1]).unwrap();
    assert_eq!(db.version(), Found::Version(1));
    match PostgresStorage::open_with(&db.url, &[v1, V2]).unwrap_err() {
        Error::SchemaTooOld { found, supported } => assert_eq!((found, supported), (1, 2)),
        e => panic!("unexpected {e}"),
    }
    assert_eq!(
        PostgresStorage::upgrade_with(&db.url, &[v1, V2]).unwrap(),
        (1, 2)
    );
    assert_eq!(db.version(), Found::Version(2));
    db.sql("UPDATE studies SET description = 'x'");
    PostgresStorage::open_with(&db.url, &[v1, V2]).unwrap();
    assert_eq!(
        PostgresStorage::upgrade_with(&db.url, &[v1, V2]).unwrap(),
        (2, 2)
    );
    match PostgresStorage::open_with(&db.url, &[v1]).unwrap_err() {
        Error::SchemaTooNew { found, supported } => assert_eq!((found, supported), (2, 1)),
        e => panic!("unexpected {e}"),
    }
    assert!(matches!(
        PostgresStorage::upgrade_with(&db.url, &[v1]).unwrap_err(),
        Error::SchemaTooNew { .. }
    ));
}

#[test]
fn a_fresh_schema_gets_every_migration_and_a_foreign_one_is_refused() {
    let Some(db) = Fresh::new() else { return };
    PostgresStorage::open_with(&db.url, &[MIGRATIONS[0], V2]).unwrap();
    assert_eq!(db.version(), Found::Version(2));
    let Some(other) = Fresh::new() else { return };
    other.sql(&format!(
        "CREATE SCHEMA {0}; CREATE TABLE {0}.users (id INT)",
        other.name
    ));
    let err = PostgresStorage::open(&other.url).unwrap_err().to_string();
    assert!(err.contains("not a hyperscape storage"), "{err}");
}

/// Every write, told that its commit failed although it succeeded, is retried and still
/// happens exactly once, returning what the first attempt did.
#[test]
fn lost_commit_acknowledgements_are_exactly_once() {
    let Some(db) = Fresh::new() else { return };
    let s = PostgresStorage::open(&db.url).unwrap();
    let lose = || s.pool.lose_acks.store(1, SeqCst);

    lose();
    let study = s.create_study("lost", &[Direction::Minimize]).unwrap();
    assert_eq!(s.list_studies().unwrap().len(), 1);

    lose();
    let t0 = s.create_trial(study.id, NewTrial::default()).unwrap();
    assert_eq!(t0.number, 0);
    lose();
    let key = NewTrial {
        claim_key: Some("grid:0".into()),
        ..Default::default()
    };
    assert_eq!(s.create_trial(study.id, key).unwrap().number, 1);
    assert_eq!(s.all_trials(study.id).unwrap().len(), 2);

    let w = s
        .create_trial(
            study.id,
            NewTrial {
                waiting: true,
                ..Default::default()
            },
        )
        .unwrap();
    lose();
    let claimed = s.claim_waiting_trial(study.id, false).unwrap().unwrap();
    assert_eq!((claimed.id, claimed.state), (w.id, TrialState::Running));

    lose();
    s.set_trial_param(
        t0.id,
        "x",
        &Distribution::float(0.0, 1.0),
        &ParamValue::Float(0.5),
    )
    .unwrap();
    lose();
    s.report_intermediate(t0.id, 3, 0.25).unwrap();
    lose();
    s.set_trial_user_attr(t0.id, "k", "v".into()).unwrap();
    lose();
    let done = s
        .finish_trial(t0.id, &TrialResult::Complete(vec![1.5]))
        .unwrap();
    assert_eq!(done.state, TrialState::Complete);
    assert_eq!(done.values, Some(vec![1.5]));
    assert_eq!(done.params["x"], ParamValue::Float(0.5));
    // A real second finish is still refused.
    assert!(matches!(
        s.finish_trial(t0.id, &TrialResult::Pruned).unwrap_err(),
        Error::TrialFinished { .. }
    ));

    let hb = s
        .create_trial(
            study.id,
            NewTrial {
                heartbeat: true,
                ..Default::default()
            },
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(30));
    lose();
    let failed = s
        .fail_stale_trials(study.id, Duration::from_millis(10))
        .unwrap();
    assert_eq!(failed.iter().map(|t| t.id).collect::<Vec<_>>(), vec![hb.id]);

    let numbers: Vec<u64> = s
        .all_trials(study.id)
        .unwrap()
        .iter()
        .map(|t| t.number)
        .collect();
    assert_eq!(numbers, vec![0, 1, 2, 3]);
    lose();
    s.delete_study(study.id).unwrap();
    assert!(s.list_studies().unwrap().is_empty());
}

#[test]
fn debug_output_hides_the_password() {
    let Some(db) = Fresh::new() else { return };
    let s = PostgresStorage::open(&db.url).unwrap();
    let shown = format!("{s:?}");
    assert!(shown.contains("PostgresStorage"), "{shown}");
    assert!(shown.contains(&db.name), "{shown}");
    let target = url::parse(&db.url).unwrap();
    if let Some(pw) = target.config.get_password() {
        let pw = String::from_utf8_lossy(pw);
        assert!(!shown.contains(&*pw), "{shown}");
        assert!(!s.redacted_url().contains(&*pw));
    }
}

//! PostgreSQL storage across processes, through a server restart, and its errors.
//!
//! The multi-process tests re-run this test binary as child processes (test
//! `mp_child`, told what to do through environment variables), all working on one
//! schema of the test server (scripts/start-postgres.sh), then check what it holds.
//! Without a server the tests are skipped (failed under `CI=true`).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use hyperscape_core::storage::{redact_url, PostgresStorage};
use hyperscape_core::{
    open_storage, Error, GridSampler, ParamValue, RandomSampler, Storage, Study, TrialState,
};

#[path = "support/postgres.rs"]
mod pg;

const CHILD_URL: &str = "HYPERSCAPE_PG_CHILD_URL";
const CHILD_MODE: &str = "HYPERSCAPE_PG_CHILD_MODE";
const CHILD_INDEX: &str = "HYPERSCAPE_PG_CHILD_INDEX";
const CHILD_GO: &str = "HYPERSCAPE_PG_CHILD_GO";
/// Trials per process in the restart test.
const SLOW_TRIALS: usize = 10;

/// The restart test takes it for writing: no other test of this binary runs while the
/// server is down.
static SERVER: RwLock<()> = RwLock::new(());

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
    let Ok(url) = std::env::var(CHILD_URL) else {
        return;
    };
    let index: u64 = std::env::var(CHILD_INDEX).unwrap().parse().unwrap();
    // Start together with the other workers, to collide as much as possible (the
    // schema is created by whichever process comes first).
    let go = PathBuf::from(std::env::var(CHILD_GO).unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    while !go.exists() {
        assert!(Instant::now() < deadline, "parent never said go");
        std::thread::sleep(Duration::from_millis(1));
    }
    let storage: Arc<dyn Storage> = Arc::new(PostgresStorage::open(&url).unwrap());
    let random = |name: &str| {
        Study::builder(name)
            .storage(storage.clone())
            .sampler(RandomSampler::new(Some(index)))
            .load_if_exists(true)
            .build()
            .unwrap()
    };
    match std::env::var(CHILD_MODE).unwrap().as_str() {
        "random" => {
            let summary = random("mp")
                .optimize(
                    |t| -> hyperscape_core::Result<f64> {
                        let x = t.suggest_float("x", -1.0, 1.0)?;
                        t.report(0, x)?;
                        Ok(x * x)
                    },
                    25,
                )
                .unwrap();
            assert_eq!(summary.complete, 25);
        }
        "grid" => {
            let study = Study::builder("mp-grid")
                .storage(storage.clone())
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
        "slow" => {
            let summary = random("slow")
                .optimize(
                    |t| -> hyperscape_core::Result<f64> {
                        let x = t.suggest_float("x", -1.0, 1.0)?;
                        // A slow objective: the server restarts while trials run.
                        std::thread::sleep(Duration::from_millis(150));
                        t.report(0, x)?;
                        Ok(x * x)
                    },
                    SLOW_TRIALS,
                )
                .unwrap();
            assert_eq!(summary.complete, SLOW_TRIALS);
        }
        other => panic!("unknown mode {other}"),
    }
}

/// Child processes working on one schema.
struct Workers {
    children: Vec<Child>,
    _dir: tempfile::TempDir,
}

fn spawn_workers(url: &str, mode: &str, n: usize) -> Workers {
    let dir = tempfile::tempdir().unwrap();
    let go = dir.path().join("go");
    let exe = std::env::current_exe().unwrap();
    let children = (0..n)
        .map(|i| {
            Command::new(&exe)
                .args(["--exact", "mp_child", "--nocapture", "--test-threads=1"])
                .env(CHILD_URL, url)
                .env(CHILD_MODE, mode)
                .env(CHILD_INDEX, i.to_string())
                .env(CHILD_GO, &go)
                .spawn()
                .unwrap()
        })
        .collect();
    std::fs::write(&go, b"go").unwrap();
    Workers {
        children,
        _dir: dir,
    }
}

impl Workers {
    /// Waits for every worker to succeed.
    fn wait(mut self, within: Duration) {
        let deadline = Instant::now() + within;
        for i in 0..self.children.len() {
            let status = loop {
                if let Some(s) = self.children[i].try_wait().unwrap() {
                    break s;
                }
                if Instant::now() > deadline {
                    for c in &mut self.children {
                        let _ = c.kill();
                    }
                    panic!("worker processes did not finish in time");
                }
                std::thread::sleep(Duration::from_millis(10));
            };
            assert!(status.success(), "a worker process failed: {status}");
        }
    }
}

/// Checks that `name` holds `n` complete trials numbered 0..n, each x -> x².
fn check_random_study(storage: &PostgresStorage, name: &str, n: usize) {
    let study = storage.get_study(name).unwrap();
    let trials = storage.all_trials(study.id).unwrap();
    assert_eq!(trials.len(), n, "exact count");
    let numbers: Vec<u64> = trials.iter().map(|t| t.number).collect();
    assert_eq!(
        numbers,
        (0..n as u64).collect::<Vec<_>>(),
        "unique, gap-free"
    );
    assert_eq!(trials.iter().map(|t| t.id).collect::<HashSet<_>>().len(), n);
    for t in &trials {
        assert_eq!(t.state, TrialState::Complete, "trial {}", t.number);
        let x = t.params["x"].as_f64().unwrap();
        assert_eq!(t.values, Some(vec![x * x]));
        assert_eq!(t.intermediate_values[&0], x);
    }
    let delta = storage.trials_since(study.id, 0).unwrap();
    assert!(storage
        .trials_since(study.id, delta.cursor)
        .unwrap()
        .trials
        .is_empty());
}

#[test]
fn eight_processes_share_one_study() {
    let Some(url) = pg::test_url() else { return };
    let _server = SERVER.read().unwrap_or_else(|p| p.into_inner());
    let schema = pg::FreshSchema::new(&url);
    spawn_workers(&schema.url, "random", 8).wait(Duration::from_secs(120));
    let storage = PostgresStorage::open(&schema.url).unwrap();
    check_random_study(&storage, "mp", 200);
}

#[test]
fn four_processes_share_one_grid() {
    let Some(url) = pg::test_url() else { return };
    let _server = SERVER.read().unwrap_or_else(|p| p.into_inner());
    let schema = pg::FreshSchema::new(&url);
    spawn_workers(&schema.url, "grid", 4).wait(Duration::from_secs(120));
    let storage = PostgresStorage::open(&schema.url).unwrap();
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
    let keys: HashSet<&str> = trials
        .iter()
        .filter_map(|t| t.claim_key.as_deref())
        .collect();
    assert_eq!(keys.len(), 60);
}

fn pg_ctl(pg_ctl: &Path, args: &[&str]) {
    let status = Command::new(pg_ctl).args(args).status().unwrap();
    assert!(status.success(), "pg_ctl {args:?} failed: {status}");
}

/// The server stops (fast shutdown: sessions killed mid-transaction) and comes back
/// while 4 processes run slow trials; they ride it out, and the study ends with exactly
/// the requested trials, no duplicates, no gaps.
#[test]
fn workers_survive_a_server_restart() {
    let Some(url) = pg::test_url() else { return };
    let Ok(ctl) = std::env::var(pg::PG_CTL_ENV) else {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        assert!(!ci, "{} is unset but CI=true", pg::PG_CTL_ENV);
        eprintln!("SKIPPED: {} is unset", pg::PG_CTL_ENV);
        return;
    };
    let ctl = PathBuf::from(ctl);
    let _server = SERVER.write().unwrap_or_else(|p| p.into_inner());
    let schema = pg::FreshSchema::new(&url);
    let worker_url = pg::with_param(&schema.url, "hyperscape_retry_secs=60");
    let workers = spawn_workers(&worker_url, "slow", 4);
    // Stop once the study is under way: a few trials done, others running.
    let storage = PostgresStorage::open(&schema.url).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "workers made no progress");
        if let Ok(study) = storage.get_study("slow") {
            let trials = storage.all_trials(study.id).unwrap();
            if trials
                .iter()
                .filter(|t| t.state == TrialState::Complete)
                .count()
                >= 6
            {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    pg_ctl(&ctl, &["stop", "-m", "fast"]);
    // Down long enough for every worker to notice.
    std::thread::sleep(Duration::from_millis(1500));
    pg_ctl(&ctl, &["start"]);
    workers.wait(Duration::from_secs(180));
    let storage = PostgresStorage::open(&schema.url).unwrap();
    check_random_study(&storage, "slow", 4 * SLOW_TRIALS);
}

/// The test URL with its password replaced.
fn with_password(url: &str, password: &str) -> String {
    let (head, rest) = url.split_once("://").unwrap();
    let at = rest.rfind('@').unwrap();
    let user = rest[..at].split(':').next().unwrap();
    format!("{head}://{user}:{password}@{}", &rest[at + 1..])
}

fn assert_clear(err: &Error, needle: &str, secret: &str) {
    let (shown, debug) = (err.to_string(), format!("{err:?}"));
    assert!(shown.contains(needle), "{shown}");
    assert!(
        !shown.contains(secret) && !debug.contains(secret),
        "{shown}"
    );
    assert!(!shown.contains('\n'), "one line: {shown}");
}

#[test]
fn connection_errors_are_clear_and_hide_the_password() {
    let Some(url) = pg::test_url() else { return };
    let _server = SERVER.read().unwrap_or_else(|p| p.into_inner());
    let secret = "wr0ng%40p:ss";
    let wrong = pg::with_param(&with_password(&url, secret), "hyperscape_retry_secs=5");
    let started = Instant::now();
    let err = open_storage(&wrong).unwrap_err();
    assert_clear(&err, "authentication failed", "wr0ng");
    assert!(err.to_string().contains(&redact_url(&wrong)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5), "not retried");

    let (base, _) = url.rsplit_once('/').unwrap();
    let password = url.split_once("://").unwrap().1;
    let password = &password[..password.rfind('@').unwrap()];
    let password = password.split_once(':').map(|(_, p)| p).unwrap_or("");
    let missing = format!("{base}/no_such_database_here?hyperscape_retry_secs=5");
    let err = open_storage(&missing).unwrap_err();
    assert_clear(&err, "does not exist", &format!(":{password}@"));

    // A closed port: retried for the (short) window, then a clear error.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let (scheme_user, host_rest) = url.rsplit_once('@').unwrap();
    let db = host_rest.split_once('/').unwrap().1;
    let unreachable = format!("{scheme_user}@127.0.0.1:{closed}/{db}");
    let unreachable = pg::with_param(&unreachable, "hyperscape_retry_secs=1");
    let started = Instant::now();
    let err = open_storage(&unreachable).unwrap_err();
    assert_clear(&err, "still unavailable", &format!(":{password}@"));
    assert!(err.to_string().contains(":***@"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn newer_schema_is_refused() {
    let Some(url) = pg::test_url() else { return };
    let _server = SERVER.read().unwrap_or_else(|p| p.into_inner());
    let schema = pg::FreshSchema::new(&url);
    drop(PostgresStorage::open(&schema.url).unwrap());
    let current = PostgresStorage::SCHEMA_VERSION;
    schema.execute(&format!(
        "UPDATE schema_version SET version = {}",
        current + 1
    ));
    match PostgresStorage::open(&schema.url).unwrap_err() {
        Error::SchemaTooNew { found, supported } => {
            assert_eq!((found, supported), (current + 1, current))
        }
        e => panic!("expected SchemaTooNew, got {e:?}"),
    }
    assert!(matches!(
        PostgresStorage::upgrade(&schema.url).unwrap_err(),
        Error::SchemaTooNew { .. }
    ));
    assert!(matches!(
        open_storage(&schema.url).unwrap_err(),
        Error::SchemaTooNew { .. }
    ));
}

#[test]
fn older_schema_needs_upgrade() {
    let Some(url) = pg::test_url() else { return };
    let _server = SERVER.read().unwrap_or_else(|p| p.into_inner());
    let schema = pg::FreshSchema::new(&url);
    drop(PostgresStorage::open(&schema.url).unwrap());
    let current = PostgresStorage::SCHEMA_VERSION;
    assert_eq!(
        PostgresStorage::upgrade(&schema.url).unwrap(),
        (current, current)
    );
    schema.execute(&format!(
        "UPDATE schema_version SET version = {}",
        current - 1
    ));
    let err = PostgresStorage::open(&schema.url).unwrap_err();
    assert!(
        matches!(err, Error::SchemaTooOld { found, supported } if found == current - 1 && supported == current),
        "{err:?}"
    );
    assert!(err.to_string().contains("upgrade"));
}

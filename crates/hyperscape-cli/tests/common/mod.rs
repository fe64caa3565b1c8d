//! Helpers shared by the CLI tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

/// A scratch directory with a SQLite storage in it (or another storage URL).
pub struct Env {
    pub dir: TempDir,
    /// A storage other than the directory's SQLite file (a PostgreSQL test schema).
    pub storage_url: Option<String>,
}

impl Env {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
            storage_url: None,
        }
    }

    /// An environment on the PostgreSQL test server (`HYPERSCAPE_TEST_POSTGRES_URL`, set
    /// by scripts/test.sh), in a schema of its own. Unset: a failure under `CI=true`
    /// (a missing server must not pass as skipped), otherwise `None`.
    pub fn postgres() -> Option<Self> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        const URL_ENV: &str = "HYPERSCAPE_TEST_POSTGRES_URL";
        let url = match std::env::var(URL_ENV) {
            Ok(u) if !u.is_empty() => u,
            _ => {
                let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
                assert!(
                    !ci,
                    "{URL_ENV} is unset but CI=true: scripts/test.sh starts the server"
                );
                eprintln!(
                    "SKIPPED: {URL_ENV} is unset (run `eval \"$(scripts/start-postgres.sh)\"`)"
                );
                return None;
            }
        };
        let schema = format!(
            "cli_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let sep = if url.contains('?') { '&' } else { '?' };
        Some(Self {
            dir: tempfile::tempdir().expect("temp dir"),
            storage_url: Some(format!("{url}{sep}hyperscape_schema={schema}")),
        })
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    /// `sqlite:///<dir>/hs.db`.
    pub fn storage(&self) -> String {
        match &self.storage_url {
            Some(u) => u.clone(),
            None => format!("sqlite://{}", self.path("hs.db").display()),
        }
    }
    /// Writes a file in the directory and returns its path as a string.
    pub fn write(&self, name: &str, text: &str) -> String {
        let p = self.path(name);
        std::fs::write(&p, text).expect("write file");
        p.display().to_string()
    }
    /// `hyperscape` run in the directory, with no inherited storage setting.
    pub fn hs(&self) -> Command {
        let mut c = Command::cargo_bin("hyperscape").expect("binary");
        c.current_dir(self.dir.path())
            .env_remove("HYPERSCAPE_STORAGE")
            .timeout(Duration::from_secs(60));
        c
    }
    /// `hyperscape <subcommand> --storage <sqlite> <rest>`, asserting success, stdout as text.
    pub fn ok(&self, args: &[&str]) -> String {
        // Right after the subcommand, so it never lands after `run`'s `--`.
        let out = self
            .hs()
            .arg(args[0])
            .args(["--storage", &self.storage()])
            .args(&args[1..])
            .output()
            .expect("run");
        assert_success(&out, args);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
    /// `hyperscape trials --study NAME --format json` as a JSON array.
    pub fn trials(&self, study: &str) -> Vec<Value> {
        let text = self.ok(&["trials", "--study", study, "--format", "json"]);
        match serde_json::from_str(&text).expect("trials JSON") {
            Value::Array(a) => a,
            other => panic!("expected an array, got {other}"),
        }
    }
}

pub fn assert_success(out: &Output, what: &[&str]) {
    assert!(
        out.status.success(),
        "{what:?} failed with {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Trial numbers, sorted.
pub fn numbers(trials: &[Value]) -> Vec<u64> {
    let mut n: Vec<u64> = trials
        .iter()
        .map(|t| t["number"].as_u64().expect("number"))
        .collect();
    n.sort_unstable();
    n
}

pub fn with_state<'a>(trials: &'a [Value], state: &str) -> Vec<&'a Value> {
    trials.iter().filter(|t| t["state"] == state).collect()
}

/// Waits until `path` exists.
pub fn wait_for_file(path: &Path, limit: Duration) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < limit,
            "{} did not appear in {limit:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A space with one float `x` in [0, 1].
pub const SPACE_X: &str = "[params.x]\ntype = \"float\"\nlow = 0.0\nhigh = 1.0\n";

/// A python objective that touches `marker` and then sleeps up to 30 s, exiting early
/// if its parent dies (so a killed `hyperscape` leaves nothing behind).
pub fn slow_python(marker: &Path) -> Vec<String> {
    let code = format!(
        "import os, sys, time\n\
         p = os.getppid()\n\
         open({marker:?}, 'w').close()\n\
         t = time.time()\n\
         while time.time() - t < 30:\n    \
             if os.getppid() != p: sys.exit(1)\n    \
             time.sleep(0.05)\n\
         print(1)\n",
        marker = marker.display().to_string()
    );
    vec!["python3".into(), "-c".into(), code]
}

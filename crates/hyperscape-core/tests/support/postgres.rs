//! The PostgreSQL test server (scripts/start-postgres.sh) and fresh schemas on it.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

pub const URL_ENV: &str = "HYPERSCAPE_TEST_POSTGRES_URL";
pub const PG_CTL_ENV: &str = "HYPERSCAPE_TEST_POSTGRES_PG_CTL";

/// The test server's URL. Unset: a failure under `CI=true` (a missing server must not
/// pass as skipped), otherwise `None` after saying the test is skipped.
pub fn test_url() -> Option<String> {
    match std::env::var(URL_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(
                !ci,
                "{URL_ENV} is unset but CI=true: start a server with scripts/start-postgres.sh \
                 (scripts/test.sh does) and export what it prints"
            );
            eprintln!(
                "SKIPPED: {URL_ENV} is unset (run `eval \"$(scripts/start-postgres.sh)\"` to \
                 run the PostgreSQL tests)"
            );
            None
        }
    }
}

/// `url` with one more query parameter.
pub fn with_param(url: &str, param: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{param}")
}

/// A schema of its own for one test; dropped (with everything in it) on drop.
pub struct FreshSchema {
    admin_url: String,
    pub name: String,
    /// The server URL, pointing at this schema.
    pub url: String,
}

impl FreshSchema {
    pub fn new(admin_url: &str) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "t_{}_{}_{:08x}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        let url = with_param(admin_url, &format!("hyperscape_schema={name}"));
        Self {
            admin_url: admin_url.to_string(),
            name,
            url,
        }
    }

    /// Runs SQL in this schema through a plain client.
    pub fn execute(&self, sql: &str) {
        let mut client = admin_client(&self.admin_url);
        client
            .batch_execute(&format!("SET search_path = {}; {sql}", self.name))
            .expect("SQL on the test schema");
    }
}

impl Drop for FreshSchema {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin_url, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

pub fn admin_client(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).expect("connect to the test server")
}

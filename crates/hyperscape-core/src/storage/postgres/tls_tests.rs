//! TLS against the test server started with `HYPERSCAPE_TEST_POSTGRES_SSL=1`
//! (scripts/start-postgres.sh; scripts/test.sh does): `require` encrypts, `disable`
//! does not, `verify-full` refuses the self-signed certificate unless `sslrootcert`
//! names it. Skipped without the server (failed under `CI=true`).

use super::*;

/// The test server's URL and its certificate's path.
fn server() -> Option<(String, String)> {
    let url = std::env::var("HYPERSCAPE_TEST_POSTGRES_URL").ok();
    let cert = std::env::var("HYPERSCAPE_TEST_POSTGRES_SSL_CERT").ok();
    match (url, cert) {
        (Some(url), Some(cert)) => Some((url, cert)),
        _ => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(
                !ci,
                "HYPERSCAPE_TEST_POSTGRES_URL or HYPERSCAPE_TEST_POSTGRES_SSL_CERT is unset \
                 but CI=true (start the server with HYPERSCAPE_TEST_POSTGRES_SSL=1)"
            );
            eprintln!("SKIPPED: no TLS test server (HYPERSCAPE_TEST_POSTGRES_SSL_CERT unset)");
            None
        }
    }
}

fn with(url: &str, params: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{params}")
}

/// Whether the storage's connection is encrypted, as the server sees it.
fn encrypted(s: &PostgresStorage) -> bool {
    s.pool
        .run("read pg_stat_ssl", Mode::Read, |tx| {
            let row = tx.query_opt(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )?;
            Ok(row.map(|r| r.get::<_, bool>(0)))
        })
        .unwrap()
        .expect("no pg_stat_ssl row for this backend")
}

#[test]
fn require_encrypts_and_disable_does_not() {
    let Some((url, _)) = server() else { return };
    let s = PostgresStorage::open(&with(&url, "sslmode=require")).unwrap();
    assert!(encrypted(&s), "sslmode=require connected in plain text");
    let s = PostgresStorage::open(&with(&url, "sslmode=disable")).unwrap();
    assert!(!encrypted(&s), "sslmode=disable connected with TLS");
    // The default, `prefer`, takes TLS when the server offers it, as libpq.
    let s = PostgresStorage::open(&url).unwrap();
    assert!(encrypted(&s), "sslmode=prefer did not use the server's TLS");
}

#[test]
fn verify_full_checks_the_certificate() {
    let Some((url, cert)) = server() else { return };
    // The server's certificate is self-signed: the system's roots do not vouch for it.
    let err = PostgresStorage::open(&with(&url, "sslmode=verify-full"))
        .expect_err("verify-full accepted a self-signed certificate");
    let msg = err.to_string();
    assert!(matches!(err, Error::Storage(_)), "{msg}");
    assert!(msg.contains("certificate verify failed"), "{msg}");
    assert!(!msg.contains(&password_of(&url)), "{msg}");

    // Trusting that certificate: it names 127.0.0.1, so both checks pass.
    let trusted = with(&url, &format!("sslmode=verify-full&sslrootcert={cert}"));
    let s = PostgresStorage::open(&trusted).unwrap();
    assert!(encrypted(&s));
    // `require` with a root file checks the chain (as libpq): this one passes.
    let s =
        PostgresStorage::open(&with(&url, &format!("sslmode=require&sslrootcert={cert}"))).unwrap();
    assert!(encrypted(&s));
}

#[test]
fn verify_full_checks_the_host_name() {
    let Some((url, cert)) = server() else { return };
    // The same server under a name the certificate lacks: `verify-ca` (chain only)
    // connects, `verify-full` does not.
    let Some(other) = url
        .contains("@127.0.0.1:")
        .then(|| url.replace("@127.0.0.1:", "@[::ffff:127.0.0.1]:"))
    else {
        eprintln!("SKIPPED: the test server is not on 127.0.0.1");
        return;
    };
    let root = format!("sslrootcert={cert}");
    let s = PostgresStorage::open(&with(&other, &format!("sslmode=verify-ca&{root}"))).unwrap();
    assert!(encrypted(&s));
    let err = PostgresStorage::open(&with(&other, &format!("sslmode=verify-full&{root}")))
        .expect_err("verify-full accepted a certificate for another host");
    assert!(err.to_string().contains("certificate"), "{err}");
}

fn password_of(url: &str) -> String {
    let rest = url.split("://").nth(1).unwrap_or("");
    let userinfo = rest.split('@').next().unwrap_or("");
    userinfo.split(':').nth(1).unwrap_or("\u{0}").to_string()
}

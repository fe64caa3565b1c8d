//! TLS for PostgreSQL connections: `sslmode` and `sslrootcert`, as libpq reads them.
//!
//! With the feature `postgres-tls` (native-tls: the system's OpenSSL on Linux):
//! - `disable`: plain text;
//! - `allow`, `prefer` (the default): TLS when the server offers it, else plain text;
//!   the certificate is not checked (libpq's behaviour: these modes guard against
//!   passive snooping only);
//! - `require`: TLS or no connection, certificate not checked, unless `sslrootcert`
//!   names a file: then it is checked against it (as `verify-ca`, like libpq);
//! - `verify-ca`: TLS, the certificate chain checked against `sslrootcert` (a PEM
//!   file) or, without it or with `sslrootcert=system`, the system's roots;
//! - `verify-full`: `verify-ca`, and the certificate must name the host.
//!
//! Without the feature, `require` and `verify-*` are refused when the URL is read, and
//! `allow`/`prefer` connect in plain text.

use postgres::config::SslMode;

/// How a connection is made: plain, or through a TLS connector.
#[derive(Clone)]
pub(super) enum Connector {
    Plain,
    #[cfg(feature = "postgres-tls")]
    Tls(postgres_native_tls::MakeTlsConnector),
}

impl Connector {
    /// Opens one connection with `config`.
    pub fn connect(&self, config: &postgres::Config) -> Result<postgres::Client, postgres::Error> {
        match self {
            Connector::Plain => config.connect(postgres::NoTls),
            #[cfg(feature = "postgres-tls")]
            Connector::Tls(c) => config.connect(c.clone()),
        }
    }
}

/// The `sslmode` values, as in libpq.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    /// Reads an `sslmode` value; `None` for an unknown one.
    pub fn parse(v: &str) -> Option<Self> {
        Some(match v {
            "disable" => Mode::Disable,
            // `allow` starts in plain text and tries TLS second in libpq; both modes
            // accept either, so they are one here (TLS first).
            "allow" | "prefer" => Mode::Prefer,
            "require" => Mode::Require,
            "verify-ca" => Mode::VerifyCa,
            "verify-full" => Mode::VerifyFull,
            _ => return None,
        })
    }

    /// The wire-level mode of the client library.
    pub fn ssl_mode(self) -> SslMode {
        match self {
            Mode::Disable => SslMode::Disable,
            Mode::Prefer => SslMode::Prefer,
            Mode::Require | Mode::VerifyCa | Mode::VerifyFull => SslMode::Require,
        }
    }
}

/// The connector for `mode` and `root_cert` (the `sslrootcert` value, if any). The
/// error is the reason, for [`crate::Error::InvalidStorageUrl`].
pub(super) fn connector(mode: Mode, root_cert: Option<&str>) -> Result<Connector, String> {
    if mode == Mode::Disable {
        return Ok(Connector::Plain);
    }
    build(mode, root_cert)
}

#[cfg(not(feature = "postgres-tls"))]
fn build(mode: Mode, root_cert: Option<&str>) -> Result<Connector, String> {
    match (mode, root_cert) {
        (Mode::Disable | Mode::Prefer, _) => Ok(Connector::Plain),
        (Mode::Require, _) => Err(no_tls("sslmode=require")),
        (Mode::VerifyCa, _) => Err(no_tls("sslmode=verify-ca")),
        (Mode::VerifyFull, _) => Err(no_tls("sslmode=verify-full")),
    }
}

#[cfg(not(feature = "postgres-tls"))]
fn no_tls(what: &str) -> String {
    format!(
        "{what} needs TLS, which this build of hyperscape lacks (build with the feature \
         `postgres-tls`); use sslmode=prefer or disable (or a local TLS tunnel)"
    )
}

#[cfg(feature = "postgres-tls")]
fn build(mode: Mode, root_cert: Option<&str>) -> Result<Connector, String> {
    let mut b = native_tls::TlsConnector::builder();
    // `sslrootcert=system`: the system's roots, as when it is absent.
    let file = root_cert.filter(|p| *p != "system");
    let (check_chain, check_host) = match mode {
        Mode::Disable | Mode::Prefer => (false, false),
        Mode::Require => (file.is_some(), false),
        Mode::VerifyCa => (true, false),
        Mode::VerifyFull => (true, true),
    };
    if check_chain {
        if let Some(path) = file {
            let pem = std::fs::read(path)
                .map_err(|e| format!("cannot read sslrootcert `{path}`: {e}"))?;
            let certs = native_tls::Certificate::stack_from_pem(&pem)
                .map_err(|e| format!("sslrootcert `{path}` is not PEM certificates: {e}"))?;
            if certs.is_empty() {
                return Err(format!("sslrootcert `{path}` holds no certificate"));
            }
            // Only the named roots are trusted, as in libpq.
            b.disable_built_in_roots(true);
            for c in certs {
                b.add_root_certificate(c);
            }
        }
    }
    b.danger_accept_invalid_certs(!check_chain);
    b.danger_accept_invalid_hostnames(!check_host);
    let c = b.build().map_err(|e| format!("cannot set up TLS: {e}"))?;
    Ok(Connector::Tls(postgres_native_tls::MakeTlsConnector::new(
        c,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        assert_eq!(Mode::parse("allow"), Some(Mode::Prefer));
        assert_eq!(Mode::parse("verify-full"), Some(Mode::VerifyFull));
        assert_eq!(Mode::parse("Require"), None);
        assert_eq!(Mode::VerifyCa.ssl_mode(), SslMode::Require);
        assert_eq!(Mode::Prefer.ssl_mode(), SslMode::Prefer);
        assert!(matches!(
            connector(Mode::Disable, None),
            Ok(Connector::Plain)
        ));
    }

    #[cfg(not(feature = "postgres-tls"))]
    #[test]
    fn without_tls_the_secure_modes_are_refused() {
        for m in [Mode::Require, Mode::VerifyCa, Mode::VerifyFull] {
            let Err(e) = connector(m, None) else {
                panic!("{m:?} accepted")
            };
            assert!(e.contains("postgres-tls"), "{e}");
        }
        assert!(matches!(
            connector(Mode::Prefer, None),
            Ok(Connector::Plain)
        ));
    }

    #[cfg(feature = "postgres-tls")]
    #[test]
    fn root_cert_problems_are_clear() {
        let Err(e) = connector(Mode::VerifyFull, Some("/nonexistent/root.crt")) else {
            panic!("a missing sslrootcert was accepted")
        };
        assert!(
            e.contains("cannot read sslrootcert `/nonexistent/root.crt`"),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let junk = junk.to_str().unwrap();
        let Err(e) = connector(Mode::VerifyCa, Some(junk)) else {
            panic!("a junk sslrootcert was accepted")
        };
        assert!(e.contains("sslrootcert"), "{e}");
        // `require` with no file checks nothing, so needs nothing.
        assert!(matches!(
            connector(Mode::Require, None),
            Ok(Connector::Tls(_))
        ));
        assert!(matches!(
            connector(Mode::VerifyFull, Some("system")),
            Ok(Connector::Tls(_))
        ));
    }
}

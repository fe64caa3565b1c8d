//! Parsing of `postgresql://` URLs into a connection configuration.
//!
//! `postgresql://user[:password]@host[:port]/db[?param=value&...]` (or `postgres://`).
//! User, password and database are percent-decoded; the password may also come from
//! `PGPASSWORD`, the user from `PGUSER`. Query parameters: `sslmode`
//! (`disable`/`allow`/`prefer`/`require`/`verify-ca`/`verify-full`, see `tls`; the last
//! three need the feature `postgres-tls`), `sslrootcert` (a PEM file of trusted roots,
//! or `system`), `connect_timeout` (seconds), `application_name`, and hyperscape's
//! own, stripped before connecting: `hyperscape_retry_secs` (how long to retry while
//! the server is unreachable) and `hyperscape_schema` (the schema holding the tables).

use std::time::Duration;

use super::tls::{self, Connector};
use crate::error::Error;
use crate::storage::redact_url;

/// Default of how long transient failures (server down, restarting) are retried.
pub(super) const DEFAULT_RETRY: Duration = Duration::from_secs(120);
/// Environment variable overriding [`DEFAULT_RETRY`] (seconds).
pub(super) const RETRY_ENV: &str = "HYPERSCAPE_DB_RETRY_SECS";
/// Schema of the tables when the URL names none.
pub(super) const DEFAULT_SCHEMA: &str = "hyperscape";
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed URL: what to connect to, and hyperscape's own settings.
#[derive(Clone)]
pub(super) struct Target {
    pub config: postgres::Config,
    /// The URL as given, password hidden: for every message.
    pub shown: String,
    pub schema: String,
    pub retry: Duration,
    /// Plain text or TLS, from `sslmode` and `sslrootcert`.
    pub connector: Connector,
}

fn decode(s: &str, what: &str, url: &str) -> Result<String, Error> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            let Some(b) = hex else {
                return Err(bad(url, &format!("bad percent-encoding in the {what}")));
            };
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad(url, &format!("the {what} is not UTF-8")))
}

fn bad(url: &str, reason: &str) -> Error {
    Error::InvalidStorageUrl {
        url: redact_url(url),
        reason: reason.to_string(),
    }
}

/// A valid unquoted SQL identifier, to name the schema.
fn valid_schema(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s.len() <= 63
}

fn secs(v: &str, name: &str, url: &str) -> Result<Duration, Error> {
    v.parse::<u64>()
        .map(Duration::from_secs)
        .map_err(|_| bad(url, &format!("`{name}` must be a whole number of seconds")))
}

/// Parses `url`, reading `PGUSER`, `PGPASSWORD` and `HYPERSCAPE_DB_RETRY_SECS` through
/// `env`.
pub(super) fn parse_with(url: &str, env: impl Fn(&str) -> Option<String>) -> Result<Target, Error> {
    let rest = url
        .strip_prefix("postgresql://")
        .or_else(|| url.strip_prefix("postgres://"))
        .ok_or_else(|| bad(url, "expected postgresql://user@host/db"))?;
    let (main, query) = match rest.find('?') {
        Some(q) => (&rest[..q], &rest[q + 1..]),
        None => (rest, ""),
    };
    let (userinfo, hostpath) = match main.rfind('@') {
        Some(at) => (Some(&main[..at]), &main[at + 1..]),
        None => (None, main),
    };
    let (hostport, db) = match hostpath.find('/') {
        Some(slash) => (&hostpath[..slash], &hostpath[slash + 1..]),
        None => (hostpath, ""),
    };

    let mut config = postgres::Config::new();
    let (mut user, mut password) = (None, None);
    if let Some(info) = userinfo {
        let (u, p) = match info.find(':') {
            Some(colon) => (&info[..colon], Some(&info[colon + 1..])),
            None => (info, None),
        };
        if !u.is_empty() {
            user = Some(decode(u, "user name", url)?);
        }
        password = p.map(|p| decode(p, "password", url)).transpose()?;
    }
    let user = user
        .or_else(|| env("PGUSER"))
        .ok_or_else(|| bad(url, "no user name (postgresql://USER@host/db, or PGUSER)"))?;
    config.user(&user);
    if let Some(p) = password.or_else(|| env("PGPASSWORD")) {
        config.password(p);
    }

    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let end = v6
            .find(']')
            .ok_or_else(|| bad(url, "unterminated [IPv6] host"))?;
        let port = v6[end + 1..].strip_prefix(':');
        (&v6[..end], port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    config.host(if host.is_empty() { "localhost" } else { host });
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| bad(url, &format!("invalid port `{p}`")))?,
        None => 5432,
    };
    config.port(port);
    let db = decode(db, "database name", url)?;
    if db.is_empty() {
        return Err(bad(
            url,
            "no database name (postgresql://user@host/DATABASE)",
        ));
    }
    config.dbname(&db);
    config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
    // Notice a dead peer (a machine gone from the network) within about a minute.
    config.keepalives_idle(Duration::from_secs(30));
    config.application_name("hyperscape");

    let mut ssl = tls::Mode::Prefer;
    let mut root_cert = None;
    let mut schema = DEFAULT_SCHEMA.to_string();
    let mut retry = None;
    for kv in query.split('&').filter(|kv| !kv.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        let v = decode(v, &format!("parameter `{k}`"), url)?;
        match k {
            "sslmode" => {
                ssl = tls::Mode::parse(&v)
                    .ok_or_else(|| bad(url, &format!("unknown sslmode `{v}`")))?;
            }
            "sslrootcert" => root_cert = Some(v),
            "connect_timeout" => {
                config.connect_timeout(secs(&v, k, url)?.max(Duration::from_secs(1)));
            }
            "application_name" => {
                config.application_name(&v);
            }
            "hyperscape_retry_secs" => retry = Some(secs(&v, k, url)?),
            "hyperscape_schema" => {
                if !valid_schema(&v) {
                    return Err(bad(
                        url,
                        "`hyperscape_schema` must be a lowercase SQL identifier ([a-z_][a-z0-9_]*)",
                    ));
                }
                schema = v;
            }
            other => {
                return Err(bad(
                    url,
                    &format!(
                        "unknown parameter `{other}` (known: sslmode, sslrootcert, \
                         connect_timeout, application_name, hyperscape_retry_secs, hyperscape_schema)"
                    ),
                ))
            }
        }
    }
    let retry = match retry {
        Some(r) => r,
        None => match env(RETRY_ENV) {
            Some(v) => secs(v.trim(), RETRY_ENV, url)?,
            None => DEFAULT_RETRY,
        },
    };
    config.ssl_mode(ssl.ssl_mode());
    let connector = tls::connector(ssl, root_cert.as_deref()).map_err(|r| bad(url, &r))?;
    // Every unqualified table name is one of the schema's.
    config.options(&format!("-c search_path={schema}"));
    Ok(Target {
        config,
        shown: redact_url(url),
        schema,
        retry,
        connector,
    })
}

pub(super) fn parse(url: &str) -> Result<Target, Error> {
    parse_with(url, |k| std::env::var(k).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use postgres::config::{Host, SslMode};

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn full_url() {
        let t = parse_with(
            "postgresql://ada:p%40ss:w@db.example:6543/my%20db?sslmode=disable&hyperscape_retry_secs=7&hyperscape_schema=s1",
            no_env,
        )
        .unwrap();
        assert_eq!(t.config.get_user(), Some("ada"));
        assert_eq!(t.config.get_password(), Some(&b"p@ss:w"[..]));
        assert_eq!(t.config.get_hosts(), &[Host::Tcp("db.example".into())]);
        assert_eq!(t.config.get_ports(), &[6543]);
        assert_eq!(t.config.get_dbname(), Some("my db"));
        assert_eq!(t.config.get_ssl_mode(), SslMode::Disable);
        assert_eq!(t.retry, Duration::from_secs(7));
        assert_eq!(t.schema, "s1");
        assert!(!t.shown.contains("p%40ss"), "{}", t.shown);
    }

    #[test]
    fn raw_odd_password_and_env() {
        let env = |k: &str| match k {
            "PGPASSWORD" => Some("from-env".to_string()),
            "HYPERSCAPE_DB_RETRY_SECS" => Some("3".to_string()),
            _ => None,
        };
        let t = parse_with("postgres://u:a@b:c@h/db", env).unwrap();
        assert_eq!(t.config.get_password(), Some(&b"a@b:c"[..]));
        assert_eq!(t.config.get_ports(), &[5432]);
        assert_eq!(t.retry, Duration::from_secs(3));
        assert_eq!(t.schema, DEFAULT_SCHEMA);
        let t = parse_with("postgres://u@[::1]:5433/db", env).unwrap();
        assert_eq!(t.config.get_password(), Some(&b"from-env"[..]));
        assert_eq!(t.config.get_ports(), &[5433]);
        let t = parse_with("postgres://u@h/db?hyperscape_retry_secs=0", env).unwrap();
        assert_eq!(t.retry, Duration::ZERO);
        assert_eq!(
            parse_with("postgres://u@h/db", no_env).unwrap().retry,
            DEFAULT_RETRY
        );
    }

    #[test]
    fn bad_urls_are_clear_and_redacted() {
        for (url, needle) in [
            ("postgresql://u:pw@h", "no database name"),
            ("postgresql://h/db", "no user name"),
            ("postgresql://u:pw@h:99999/db", "invalid port"),
            #[cfg(not(feature = "postgres-tls"))]
            ("postgresql://u:pw@h/db?sslmode=require", "needs TLS"),
            #[cfg(feature = "postgres-tls")]
            (
                "postgresql://u:pw@h/db?sslmode=verify-ca&sslrootcert=/nonexistent.pem",
                "cannot read sslrootcert",
            ),
            ("postgresql://u:pw@h/db?sslmode=bogus", "unknown sslmode"),
            ("postgresql://u:pw@h/db?frobnicate=1", "unknown parameter"),
            (
                "postgresql://u:pw@h/db?hyperscape_schema=Bad-Name",
                "hyperscape_schema",
            ),
            (
                "postgresql://u:pw@h/db?hyperscape_retry_secs=x",
                "whole number",
            ),
            ("postgresql://u:p%zz@h/db", "percent-encoding"),
        ] {
            let Err(e) = parse_with(url, no_env) else {
                panic!("{url} parsed")
            };
            let msg = e.to_string();
            assert!(matches!(e, Error::InvalidStorageUrl { .. }), "{msg}");
            assert!(msg.contains(needle), "{url}: {msg}");
            assert!(!msg.contains(":pw@") && !msg.contains("p%zz"), "{msg}");
        }
    }
}

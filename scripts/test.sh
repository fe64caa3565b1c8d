#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test of every crate with all
# features, the PostgreSQL storage tests against a throwaway server
# (scripts/start-postgres.sh). This is the README's test command, and what .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."

# Everything the tests need from outside Rust is installed here, never by hand.
scripts/install-test-deps.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --all-features -- -D warnings
echo "== PostgreSQL test server"
# A throwaway server for the PostgreSQL storage tests, stopped (and deleted) on exit.
pg_env="$(mktemp)"
trap 'scripts/stop-postgres.sh || true; rm -f "$pg_env"' EXIT
# With TLS on (plain text still accepted), for the `sslmode` tests.
HYPERSCAPE_TEST_POSTGRES_SSL=1 scripts/start-postgres.sh "$pg_env" >/dev/null
# shellcheck disable=SC1090
source "$pg_env"
echo "== cargo test"
cargo test --workspace --all-features

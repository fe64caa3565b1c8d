#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test of every crate with all
# features. This is the README's test command, and what .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."

# Everything the tests need from outside Rust is installed here, never by hand.
scripts/install-test-deps.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --all-features -- -D warnings
echo "== cargo test"
cargo test --workspace --all-features

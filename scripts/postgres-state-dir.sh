#!/usr/bin/env bash
# The directory of this checkout's test PostgreSQL cluster (see start-postgres.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd -P)"
hash="$(printf '%s' "$root" | cksum | cut -d' ' -f1)"
echo "${TMPDIR:-/tmp}/hyperscape-test-pg-$(id -u)-$hash"

#!/usr/bin/env bash
# Stops the test PostgreSQL server of scripts/start-postgres.sh and deletes its
# directory. Does nothing when none is there.
set -euo pipefail
cd "$(dirname "$0")/.."
state="$(scripts/postgres-state-dir.sh)"
[ -d "$state" ] || exit 0
if [ -x "$state/pg_ctl" ] && "$state/pg_ctl" status >/dev/null 2>&1; then
  "$state/pg_ctl" stop -m fast >/dev/null
fi
rm -rf "$state"

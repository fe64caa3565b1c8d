#!/usr/bin/env bash
# Contention on one PostgreSQL study as worker processes grow: for each W, runs
# `hyperscape bench storage` (null objective, random sampler, N trials in all) against
# the throwaway server of scripts/start-postgres.sh, and reports trials/s, committed
# transactions per trial (pg_stat_database), and the share of the workers' backends
# found waiting on a lock (pg_stat_activity, sampled every 20 ms during the run).
#
# Usage: scripts/bench-scaling.sh [WORKERS] [TRIALS]   (defaults: 1,2,4,8,16,32,64 2000)
set -euo pipefail
cd "$(dirname "$0")/.."
WORKERS=${1:-1,2,4,8,16,32,64}
TRIALS=${2:-2000}
command -v psql >/dev/null 2>&1 || { echo "psql not found (Debian: postgresql-client)" >&2; exit 1; }
cargo build --release -q -p hyperscape-cli
hs=target/release/hyperscape

state="$(scripts/postgres-state-dir.sh)"
was_running=0
if [ -x "$state/pg_ctl" ] && "$state/pg_ctl" status >/dev/null 2>&1; then was_running=1; fi
tmp="$(mktemp -d)"
cleanup() {
  rm -rf "$tmp"
  if [ "$was_running" = 0 ]; then scripts/stop-postgres.sh || true; fi
}
trap cleanup EXIT
scripts/start-postgres.sh "$tmp/pg.env" >/dev/null
# shellcheck disable=SC1091
source "$tmp/pg.env"
url="$HYPERSCAPE_TEST_POSTGRES_URL?sslmode=disable"
q() { psql "$HYPERSCAPE_TEST_POSTGRES_URL" -X -tAq -c "$1"; }
commits() { q "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"; }

echo "| workers | trials/s | transactions / trial | backends waiting on a lock | lost | duplicated |"
echo "|---:|---:|---:|---:|---:|---:|"
IFS=, read -r -a ws <<<"$WORKERS"
for w in "${ws[@]}"; do
  # Let the statistics of the last run settle, then count commits around this one.
  sleep 1
  before=$(commits)
  "$hs" bench storage --storage "$url" --workers "$w" --trials "$TRIALS" --format json >"$tmp/out.json" &
  pid=$!
  : >"$tmp/waits"
  while kill -0 "$pid" 2>/dev/null; do
    q "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), count(*) FROM pg_stat_activity
       WHERE application_name = 'hyperscape' AND backend_type = 'client backend'" >>"$tmp/waits" || true
    sleep 0.02
  done
  wait "$pid" || true
  sleep 0.6
  after=$(commits)
  python3 - "$tmp/out.json" "$tmp/waits" "$before" "$after" "$w" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
waiting = total = 0
for line in open(sys.argv[2]):
    parts = line.strip().split("|")
    if len(parts) == 2 and int(parts[1]) > 0:
        waiting += int(parts[0]); total += int(parts[1])
# Our own sampling queries commit too: one per sample, subtracted.
samples = sum(1 for _ in open(sys.argv[2]))
tx = (int(sys.argv[4]) - int(sys.argv[3]) - samples - 1) / max(1, r["trials"])
lost = max(0, r["trials"] - r["complete"])
share = f"{100 * waiting / total:.0f}%" if total else "-"
print(f"| {sys.argv[5]} | {r['trials_per_second']:.0f} | {tx:.1f} | {share} | {lost} | {r['duplicated']} |")
PY
done
echo
echo "Command: scripts/bench-scaling.sh $WORKERS $TRIALS"

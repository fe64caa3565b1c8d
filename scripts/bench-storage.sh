#!/usr/bin/env bash
# Storage throughput under many worker processes: hyperscape vs Optuna 5, side by side,
# on one throwaway PostgreSQL server (scripts/start-postgres.sh) and on SQLite files.
# Both: W processes on one study, null objective, random sampler, N trials in all,
# trials/s from the release of all workers to the last trial.
#
# Usage: scripts/bench-storage.sh [WORKERS] [HS_TRIALS] [OPTUNA_TRIALS] [STORAGES]
#   defaults: 1,2,4,8  2000  500  postgres,sqlite
# Installs Optuna and psycopg2-binary into .venv-bench (PyPI) on first use. Leaves the
# PostgreSQL server running when it was already running, else stops it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
WORKERS=${1:-1,2,4,8}
HS_TRIALS=${2:-2000}
OPTUNA_TRIALS=${3:-500}
STORAGES=${4:-postgres,sqlite}
OPTUNA_VERSION=${OPTUNA_VERSION:-5.0.0}

if [ ! -x .venv-bench/bin/python ]; then
  python3 -m venv .venv-bench
fi
if ! .venv-bench/bin/python -c "import optuna, psycopg2; assert optuna.__version__ == '${OPTUNA_VERSION}'" 2>/dev/null; then
  .venv-bench/bin/pip install --quiet "optuna==${OPTUNA_VERSION}" psycopg2-binary
fi
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
# Plain text for both (the server may have TLS on, from the tests).
pg_url="$HYPERSCAPE_TEST_POSTGRES_URL?sslmode=disable"
# Optuna gets its own database on the same server: its tables (`studies`, `trials`)
# would otherwise meet hyperscape's schema, which is first on the role's search_path.
if [ "$(psql "$HYPERSCAPE_TEST_POSTGRES_URL" -X -tAc "SELECT 1 FROM pg_database WHERE datname = 'optuna_bench'")" != 1 ]; then
  psql "$HYPERSCAPE_TEST_POSTGRES_URL" -X -q -c "CREATE DATABASE optuna_bench"
fi
base="${HYPERSCAPE_TEST_POSTGRES_URL%/*}"
# SQLAlchemy's spelling (psycopg2 passes sslmode on to libpq).
optuna_pg_url="postgresql+psycopg2://${base#postgresql://}/optuna_bench?sslmode=disable"

results="$tmp/results.jsonl"
IFS=, read -r -a ws <<<"$WORKERS"
IFS=, read -r -a kinds <<<"$STORAGES"
for kind in "${kinds[@]}"; do
  for w in "${ws[@]}"; do
    case "$kind" in
      postgres) hs_url="$pg_url"; op_url="$optuna_pg_url" ;;
      sqlite) rm -f "$tmp"/hs.db* "$tmp"/op.db*; hs_url="$tmp/hs.db"; op_url="sqlite:///$tmp/op.db" ;;
      *) echo "unknown storage kind \`$kind\` (postgres, sqlite)" >&2; exit 2 ;;
    esac
    echo "== $kind, $w workers" >&2
    "$hs" bench storage --storage "$hs_url" --workers "$w" --trials "$HS_TRIALS" --format json \
      | python3 -c 'import json,sys; r=json.load(sys.stdin); r["tool"]="hyperscape"; print(json.dumps(r))' \
      | tee -a "$results" >&2 || true
    .venv-bench/bin/python bench/storage/optuna_storage.py --storage "$op_url" --workers "$w" \
      --trials "$OPTUNA_TRIALS" | tee -a "$results" >&2 || true
  done
done

python3 - "$results" <<'PY'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith("{"):
        r = json.loads(line)
        rows.setdefault((r["storage"], r["workers"]), {})[r["tool"]] = r
def lost(r):
    return max(0, r["trials"] - r["complete"])
def dup(r):
    return r.get("duplicated", 0) + max(0, r["recorded"] - r["trials"])
print("| storage | workers | hyperscape trials/s | Optuna trials/s | ratio | lost (hs / optuna) | duplicated (hs / optuna) |")
print("|---|---:|---:|---:|---:|---|---|")
for (kind, w), t in rows.items():
    h, o = t.get("hyperscape"), t.get("optuna")
    hs = f"{h['trials_per_second']:.0f}" if h else "failed"
    op = f"{o['trials_per_second']:.0f}" if o else "failed"
    ratio = f"{h['trials_per_second'] / o['trials_per_second']:.1f}x" if h and o and o["trials_per_second"] else "-"
    l = f"{lost(h) if h else '-'} / {lost(o) if o else '-'}"
    d = f"{dup(h) if h else '-'} / {dup(o) if o else '-'}"
    print(f"| {kind} | {w} | {hs} | {op} | {ratio} | {l} | {d} |")
PY
echo
echo "Command: scripts/bench-storage.sh $WORKERS $HS_TRIALS $OPTUNA_TRIALS $STORAGES"

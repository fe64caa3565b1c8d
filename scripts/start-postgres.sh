#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for the tests, and prints (and writes to the
# file given as first argument, if any) the environment the tests read:
#   export HYPERSCAPE_TEST_POSTGRES_URL=postgresql://hyperscape:PASSWORD@127.0.0.1:PORT/hyperscape
#   export HYPERSCAPE_TEST_POSTGRES_PGDATA=...   (the cluster's data directory)
#   export HYPERSCAPE_TEST_POSTGRES_PG_CTL=...   (pg_ctl for that cluster: `$it stop -m fast`, `$it start`)
#   export HYPERSCAPE_TEST_POSTGRES_SSL_CERT=... (only with TLS, below: the server's certificate)
#
# With HYPERSCAPE_TEST_POSTGRES_SSL=1 the server also accepts TLS (`ssl = on`, plain text
# still allowed), with a self-signed certificate for 127.0.0.1 and localhost made here
# by the openssl CLI; the TLS tests connect with `sslrootcert=` that certificate.
#
# Installs Debian's `postgresql` when initdb/pg_ctl are missing (as root). The cluster
# lives in a directory of the temp dir named after this checkout, so running the script
# again reuses (and if needed restarts) the same server. As root, the server runs as
# the `postgres` user (or `nobody`): PostgreSQL refuses to run as root.
# scripts/stop-postgres.sh stops it and deletes everything.
set -euo pipefail
cd "$(dirname "$0")/.."
out_file="${1:-}"

find_bindir() {
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"
    return 0
  fi
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

if ! bindir="$(find_bindir)"; then
  if [ "$(id -u)" = 0 ]; then
    echo "== installing postgresql (apt-get)" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    bindir="$(find_bindir)" || { echo "postgresql installed, but initdb/pg_ctl not found" >&2; exit 1; }
  else
    echo "initdb/pg_ctl not found: install PostgreSQL (Debian: apt-get install postgresql), or run as root" >&2
    exit 1
  fi
fi

state="$(scripts/postgres-state-dir.sh)"
data="$state/data"

# The user the server runs as, and how to run a command as that user.
as_user=()
owner="$(id -un)"
if [ "$(id -u)" = 0 ]; then
  if id postgres >/dev/null 2>&1; then owner=postgres; else owner=nobody; fi
  as_user=(runuser -u "$owner" --)
fi

mkdir -p "$state"
chmod 755 "$state"
if [ ! -f "$state/password" ]; then
  # Letters and digits only: it goes into a URL unescaped.
  tr -dc 'A-Za-z0-9' </dev/urandom | head -c 24 >"$state/password" || true
fi
password="$(cat "$state/password")"
chmod 600 "$state/password"
touch "$state/server.log"
mkdir -p "$state/sock"
[ "$(id -u)" = 0 ] && chown "$owner" "$state/server.log" "$state/sock"

# pg_ctl for this cluster, runnable by the tests whoever they run as.
cat >"$state/pg_ctl" <<WRAP
#!/usr/bin/env bash
# pg_ctl of the hyperscape test cluster; e.g. \`pg_ctl stop -m fast\`, \`pg_ctl start\`.
set -euo pipefail
cmd="\${1:-status}"; shift || true
extra=()
case "\$cmd" in start|restart) extra=(-w -t 60 -l "$state/server.log") ;; stop) extra=(-w -t 60) ;; esac
exec ${as_user[*]} "$bindir/pg_ctl" -D "$data" "\$cmd" "\${extra[@]}" "\$@"
WRAP
chmod 755 "$state/pg_ctl"

if [ ! -f "$data/PG_VERSION" ]; then
  rm -rf "$data"
  mkdir -p "$data"
  [ "$(id -u)" = 0 ] && chown "$owner" "$data"
  chmod 700 "$data"
  # Pick a free port.
  port=""
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
  done
  [ -n "$port" ] || { echo "no free port found" >&2; exit 1; }
  "${as_user[@]}" "$bindir/initdb" -D "$data" -U postgres --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 --no-instructions >"$state/initdb.log" 2>&1 \
    || { cat "$state/initdb.log" >&2; exit 1; }
  cat >>"$data/postgresql.conf" <<CONF
# hyperscape test cluster
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$state/sock'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
  echo "$port" >"$state/port"
fi
port="$(cat "$state/port")"

if ! "$state/pg_ctl" status >/dev/null 2>&1; then
  "$state/pg_ctl" start >/dev/null || { cat "$state/server.log" >&2; exit 1; }
fi

psql_admin=("${as_user[@]}" "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$state/sock" -p "$port" -U postgres -d postgres)
if [ "$("${psql_admin[@]}" -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'hyperscape'")" != 1 ]; then
  "${psql_admin[@]}" -c "CREATE ROLE hyperscape LOGIN CREATEDB PASSWORD '$password'"
fi
if [ "$("${psql_admin[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = 'hyperscape'")" != 1 ]; then
  "${psql_admin[@]}" -c "CREATE DATABASE hyperscape OWNER hyperscape"
fi

ssl_line=""
if [ "${HYPERSCAPE_TEST_POSTGRES_SSL:-0}" = 1 ]; then
  tls="$state/tls"
  if [ ! -f "$tls/server.crt" ]; then
    command -v openssl >/dev/null 2>&1 || { echo "openssl CLI not found (Debian: apt-get install openssl)" >&2; exit 1; }
    mkdir -p "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=127.0.0.1" \
      -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
      -keyout "$tls/server.key" -out "$tls/server.crt" >"$tls/openssl.log" 2>&1 \
      || { cat "$tls/openssl.log" >&2; exit 1; }
    chmod 600 "$tls/server.key"
    chmod 644 "$tls/server.crt"
    [ "$(id -u)" = 0 ] && chown "$owner" "$tls/server.key" "$tls/server.crt"
  fi
  if [ "$("${psql_admin[@]}" -tAc "SHOW ssl")" != on ]; then
    "${psql_admin[@]}" -c "ALTER SYSTEM SET ssl_cert_file = '$tls/server.crt'" \
      -c "ALTER SYSTEM SET ssl_key_file = '$tls/server.key'" -c "ALTER SYSTEM SET ssl = on" \
      -c "SELECT pg_reload_conf()" >/dev/null
    for _ in $(seq 1 50); do
      [ "$("${psql_admin[@]}" -tAc "SHOW ssl")" = on ] && break
      sleep 0.1
    done
    [ "$("${psql_admin[@]}" -tAc "SHOW ssl")" = on ] || { tail -5 "$state/server.log" >&2; echo "the server did not turn TLS on" >&2; exit 1; }
  fi
  ssl_line="
export HYPERSCAPE_TEST_POSTGRES_SSL_CERT=$tls/server.crt"
fi

env_lines="export HYPERSCAPE_TEST_POSTGRES_URL=postgresql://hyperscape:$password@127.0.0.1:$port/hyperscape
export HYPERSCAPE_TEST_POSTGRES_PGDATA=$data
export HYPERSCAPE_TEST_POSTGRES_PG_CTL=$state/pg_ctl$ssl_line"
echo "$env_lines"
if [ -n "$out_file" ]; then
  echo "$env_lines" >"$out_file"
fi

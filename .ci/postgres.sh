#!/usr/bin/env bash
# Make sure a PostgreSQL server runs on loopback for the tests, then print on stdout exactly one line:
#   export WACLOUD_TEST_PG_DSN=postgresql://...
# Idempotent: a second run finds the running server and prints the same line. Progress goes to stderr.
# Usage: eval "$(bash .ci/postgres.sh)"
# Knobs: WACLOUD_PG_PORT (default 54329), WACLOUD_PG_DATA (default /tmp/wacloud-pgdata),
#        WACLOUD_PG_DB (default wacloud_test).
set -euo pipefail

PORT="${WACLOUD_PG_PORT:-54329}"
DATA="${WACLOUD_PG_DATA:-/tmp/wacloud-pgdata}"
DB="${WACLOUD_PG_DB:-wacloud_test}"
SOCKDIR="${DATA}.sock"
LOG="${DATA}.log"

say() { echo "postgres.sh: $*" >&2; }

find_bindir() {
  local d
  # Highest installed major version first.
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"; return 0
  fi
  return 1
}

BIN="$(find_bindir || true)"
if [ -z "$BIN" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    say "PostgreSQL binaries not found and not root: install the 'postgresql' package first"; exit 1
  fi
  say "installing PostgreSQL from the Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  apt-get install -y --no-install-recommends postgresql >&2
  BIN="$(find_bindir)" || { say "PostgreSQL still not found after apt-get install"; exit 1; }
fi
say "using $BIN"

# initdb refuses to run as root: run the server as the 'postgres' user in that case.
if [ "$(id -u)" -eq 0 ]; then
  RUNAS=postgres
  if ! id "$RUNAS" >/dev/null 2>&1; then
    say "creating system user $RUNAS"
    useradd --system --home-dir /var/lib/postgresql --shell /bin/bash "$RUNAS" >&2
  fi
  as_pg() { runuser -u "$RUNAS" -- "$@"; }
else
  RUNAS="$(id -un)"
  as_pg() { "$@"; }
fi

mkdir -p "$SOCKDIR"
if [ "$(id -u)" -eq 0 ]; then chown "$RUNAS" "$SOCKDIR"; fi

if [ ! -s "$DATA/PG_VERSION" ]; then
  say "initialising a cluster in $DATA"
  rm -rf "$DATA"
  mkdir -p "$DATA"
  if [ "$(id -u)" -eq 0 ]; then chown "$RUNAS" "$DATA"; fi
  chmod 700 "$DATA"
  as_pg "$BIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --no-locale >&2
fi

if as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  say "server already running ($DATA)"
else
  say "starting the server on 127.0.0.1:$PORT"
  touch "$LOG"
  if [ "$(id -u)" -eq 0 ]; then chown "$RUNAS" "$LOG"; fi
  # fsync off: this is a throwaway test cluster, and it keeps the suite fast on slow disks.
  as_pg "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $SOCKDIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >&2 || { say "server failed to start; log follows"; tail -n 30 "$LOG" >&2; exit 1; }
fi

for _ in $(seq 1 60); do
  if "$BIN/pg_isready" -h 127.0.0.1 -p "$PORT" -q; then break; fi
  sleep 0.5
done
"$BIN/pg_isready" -h 127.0.0.1 -p "$PORT" >&2 || { say "server is not accepting connections"; exit 1; }

if ! "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
  say "creating database $DB"
  "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres "$DB" >&2
fi

echo "export WACLOUD_TEST_PG_DSN=postgresql://postgres@127.0.0.1:$PORT/$DB"

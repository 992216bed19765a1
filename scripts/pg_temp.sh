# A throw-away PostgreSQL server for tests and benchmarks. Source this file, then:
#
#   pg_temp_start            # sets PG_TEMP_URL=postgres://postgres@127.0.0.1:PORT/postgres
#   url="$(pg_temp_createdb NAME)"   # a new empty database; prints its URL
#   ...
#   pg_temp_stop             # stops the server (by PID) and deletes its folder
#
# It installs Debian's `postgresql` package when no PostgreSQL binaries are found, runs
# initdb in a temporary folder and starts the server on 127.0.0.1 on a free port, as the
# `postgres` user when run as root (PostgreSQL refuses to run as root). Trust authentication
# on loopback only; nothing else can reach it.
#
# PG_TEMP_DURABLE=1 keeps PostgreSQL's durable defaults (fsync, synchronous_commit), for
# benchmarks; without it the server trades durability for speed, which a test run can afford.
# Every failure is fatal: a run that needs PostgreSQL must not go on without it.

PG_TEMP_DIR=""
PG_TEMP_URL=""
PG_TEMP_BINDIR=""
PG_TEMP_PORT=""

pg_temp_bindir() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]] && { echo "$dir"; return 0; }
  done
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
    return 0
  fi
  return 1
}

pg_temp_install() {
  echo "==> PostgreSQL not found: installing Debian's postgresql package" >&2
  if [[ "$(id -u)" != 0 ]]; then
    echo "pg_temp: PostgreSQL is not installed and this is not root; run: apt-get install -y postgresql" >&2
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y postgresql >/dev/null || { apt-get update >/dev/null && apt-get install -y postgresql >/dev/null; }
}

# Runs a command as the user the server runs as.
pg_temp_as_owner() {
  if [[ "$(id -u)" == 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_temp_start() {
  local bindir port durability=()
  bindir="$(pg_temp_bindir)" || { pg_temp_install && bindir="$(pg_temp_bindir)"; } || {
    echo "pg_temp: no PostgreSQL binaries after installing postgresql" >&2
    return 1
  }
  PG_TEMP_DIR="$(mktemp -d "${TMPDIR:-/tmp}/roster-pg.XXXXXX")"
  chmod 755 "$PG_TEMP_DIR"
  [[ "$(id -u)" != 0 ]] || chown postgres: "$PG_TEMP_DIR"
  pg_temp_as_owner "$bindir/initdb" -D "$PG_TEMP_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
    >"$PG_TEMP_DIR/initdb.log" 2>&1 || {
    cat "$PG_TEMP_DIR/initdb.log" >&2
    echo "pg_temp: initdb failed" >&2
    return 1
  }
  if [[ "${PG_TEMP_DURABLE:-0}" != 1 ]]; then
    durability=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off)
  fi
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
  pg_temp_as_owner "$bindir/pg_ctl" -D "$PG_TEMP_DIR/data" -l "$PG_TEMP_DIR/server.log" -w -t 60 \
    -o "-p $port -k $PG_TEMP_DIR -c listen_addresses=127.0.0.1 -c max_connections=300 ${durability[*]}" \
    start >/dev/null || {
    cat "$PG_TEMP_DIR/server.log" >&2 || true
    echo "pg_temp: PostgreSQL did not start" >&2
    return 1
  }
  PG_TEMP_BINDIR="$bindir"
  PG_TEMP_PORT="$port"
  PG_TEMP_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "==> PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $PG_TEMP_DIR)" >&2
}

pg_temp_createdb() {
  "$PG_TEMP_BINDIR/createdb" -h 127.0.0.1 -p "$PG_TEMP_PORT" -U postgres "$1" >&2 || {
    echo "pg_temp: cannot create database $1" >&2
    return 1
  }
  echo "postgres://postgres@127.0.0.1:$PG_TEMP_PORT/$1"
}

pg_temp_stop() {
  [[ -n "$PG_TEMP_DIR" ]] || return 0
  local pid_file="$PG_TEMP_DIR/data/postmaster.pid" pid
  if [[ -f "$pid_file" ]]; then
    pid="$(head -1 "$pid_file")"
    # SIGINT: "fast" shutdown (roll back open transactions, disconnect clients).
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$PG_TEMP_DIR"
  PG_TEMP_DIR=""
  PG_TEMP_URL=""
}

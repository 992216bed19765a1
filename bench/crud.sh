#!/usr/bin/env bash
# CRUD benchmark: release binary size, cold start (on SQLite), then the throughput of each users
# operation on a data set of 100,000 users, each beside its ceiling measured in the same run:
#   - bare axum (examples/bare_axum.rs): a fixed JSON user, no authentication, no database: what
#     HTTP alone costs on this machine (one measurement, as before);
#   - the ceiling (examples/ceiling.rs): bare axum + rusqlite serving a copy of roster's SQLite
#     file (same schema, same users) with the same SQL and durability (WAL, synchronous=FULL),
#     without authentication or validation: what the hardware allows for each operation.
# The data set: examples/bench_data.rs writes $BENCH_USERS (default 100,000) passwordless users
# through roster's own store, into roster's SQLite database (after `roster serve` has started once
# on it to create the tenant and its `email` connection; a second start and stop checkpoints
# the WAL and gathers planner statistics, then the file is copied for the ceiling), and with
# --postgres the same users into PostgreSQL (then ANALYZE); the ceiling always serves the SQLite
# copy. Writing the data set takes 13-20 s for 100,000 users on the shared 2-core machine
# (roster's bulk import; BENCH_USERS=5000 for a quick check of the script). Each row is a
# pair measured back to back, the ceiling first, then roster (wrk -t2 -c CONNECTIONS -d DURATION,
# same machine):
#   GET    /api/v2/users/{id}             a user picked at random per request (wrk/read_random.lua)
#   GET    /api/v2/users-by-email?email=  a random user's email per request (wrk/email_random.lua)
#   POST   /api/v2/users                  a new passwordless (email) user per request: no bcrypt,
#                                         so the write path is what is measured (wrk/create.lua);
#                                         the ceiling runs one INSERT of the users row, roster also
#                                         writes the identity and metadata rows
#   PATCH  /api/v2/users/{id}             user_metadata on those users, one after another
#                                         (wrk/update.lua): roster merges (read-modify-write), the
#                                         ceiling sets it (one UPDATE)
#   DELETE /api/v2/users/{id}             those users, each once (wrk/delete.lua), for a quarter of
#                                         the duration, so as not to run out of them
#   GET while POST runs                   read_random.lua and create.lua (other ids) at the same
#                                         time, each with its own CONNECTIONS: GET's latency
#                                         under writes (its p99 is the figure), POST's rate below
# Every request must succeed: a non-2xx response or a socket error (wrk's connect, read, write
# errors and timeouts) stops the benchmark. Roster's figures are its
# req/s as a ratio to the ceiling's (roster/ceiling), which moves less than absolute numbers on a
# shared machine.
#
# usage: bench/crud.sh [--postgres | --database-url URL] [DURATION_SECONDS] [CONNECTIONS]
#   (defaults: SQLite only, 10 s, 32 connections)
#   CONNECTIONS may be a list, 32,64,256: the rows again for each (bare axum at the first)
#   BENCH_RATE=N: GET and users-by-email paced at about N req/s in all (each connection waits
#                       CONNECTIONS/N s between its requests), not as fast as they go: the
#                       latency of many connections at a given load rather than at saturation
#   BENCH_ROWS="get email mixed": only those rows (of get email post patch delete mixed; patch
#                       and delete need post)
#   --postgres          SQLite, then the same on a throw-away PostgreSQL started for the run on
#                       this machine (scripts/pg_temp.sh, durable: fsync and synchronous_commit on)
#   --database-url URL  roster on that (empty) database only, e.g. an external PostgreSQL (the
#                       ceiling still serves the SQLite copy)
# needs: wrk (apt-get install wrk), python3, curl
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

STORES=(sqlite)
EXTERNAL_URL=""
case "${1:-}" in
  --postgres) STORES=(sqlite postgres); shift ;;
  --database-url) EXTERNAL_URL="$2"; STORES=(external); shift 2 ;;
esac
DURATION="${1:-10}"
CONNECTION_COUNTS="${2:-32}"
CONNECTIONS="${CONNECTION_COUNTS%%,*}"
USERS="${BENCH_USERS:-100000}"
ROWS="${BENCH_ROWS:-get email post patch delete mixed}"
for r in $ROWS; do
  case "$r" in get | email | post | patch | delete | mixed) ;; *) echo "bench/crud.sh: no row $r" >&2; exit 2 ;; esac
done
[[ " $ROWS " != *" patch "* && " $ROWS " != *" delete "* || " $ROWS " == *" post "* ]] \
  || { echo "bench/crud.sh: patch and delete act on the users post creates" >&2; exit 2; }
command -v wrk >/dev/null || { echo "bench/crud.sh: needs wrk (apt-get install -y wrk)" >&2; exit 2; }

cargo build --release --locked --bin roster --example bare_axum --example ceiling --example bench_data >/dev/null 2>&1
BIN="${ROSTER_BIN:-target/release/roster}"   # ROSTER_BIN: another build to measure (an A/B of two commits)
BARE=target/release/examples/bare_axum
CEILING=target/release/examples/ceiling
DATA=target/release/examples/bench_data
TMP="$(mktemp -d)"
PIDS=()
source scripts/pg_temp.sh
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  pg_temp_stop
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export BENCH_WRK="$PWD/bench/wrk" BENCH_THREADS=2 BENCH_CONNECTIONS="$CONNECTIONS"

echo "machine: $(nproc) cores, $(uname -r); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "release binary: $(stat -c %s "$BIN") bytes ($(( $(stat -c %s "$BIN") / 1024 / 1024 )) MiB)"
python3 bench/cold_start.py "$BIN" 10

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

rate() { # URL [HEADER [SCRIPT [SECONDS]]] -> "req/s p50 p99"
  local args=(-t2 -c"$CONNECTIONS" -d"${4:-$DURATION}s" --latency)
  [[ -z "${2:-}" ]] || args+=(-H "$2")
  [[ -z "${3:-}" ]] || args+=(-s "bench/wrk/$3")
  local out rps p50 p99 non2xx
  out="$(wrk "${args[@]}" "$1")"
  rps="$(awk '/^Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(awk '$1=="50%" {print $2}' <<<"$out")"
  p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
  non2xx="$(awk '/Non-2xx/ {print $NF}' <<<"$out")"
  [[ -z "$non2xx" ]] || { echo "non-2xx responses during the run: $non2xx" >&2; echo "$out" >&2; exit 1; }
  # Connections refused or reset, requests unanswered within wrk's 2 s: failures as well.
  ! grep -q "Socket errors" <<<"$out" || { echo "failed requests during the run:" >&2; echo "$out" >&2; exit 1; }
  echo "$rps $p50 $p99"
}

wait_for() { # URL: until the server answers at all
  for _ in $(seq 1 300); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "bench/crud.sh: no server at $1" >&2
  exit 1
}

BARE_PORT="$(free_port)"
"$BARE" "127.0.0.1:$BARE_PORT" >/dev/null &
PIDS+=($!)
wait_for "http://127.0.0.1:$BARE_PORT/api/v2/users/x"
measured="$(rate "http://127.0.0.1:$BARE_PORT/api/v2/users/auth0%7Cbench")" || exit 1
read -r BARE_RPS BARE_P50 BARE_P99 <<<"$measured"
echo "wrk -t2 -c$CONNECTIONS -d${DURATION}s, same machine as the servers:"
printf '  %-34s %10.0f req/s  p50 %-8s p99 %s\n' "bare axum endpoint" "$BARE_RPS" "$BARE_P50" "$BARE_P99"

start_roster() { # URL -> roster_pid, base, auth
  local port
  port="$(free_port)"
  base="http://127.0.0.1:$port"
  "$BIN" serve --listen "127.0.0.1:$port" --database-url "$1" \
    --client-id bench --client-secret bench-secret >/dev/null 2>>"$TMP/roster.log" &
  roster_pid=$!
  PIDS+=("$roster_pid")
  for _ in $(seq 1 300); do curl -sf "$base/ready" >/dev/null && break; sleep 0.1; done
  token="$(curl -sf "$base/oauth/token" -H 'content-type: application/json' \
    -d "{\"grant_type\":\"client_credentials\",\"client_id\":\"bench\",\"client_secret\":\"bench-secret\",\"audience\":\"https://127.0.0.1:$port/api/v2/\"}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
  auth="Authorization: Bearer $token"
}

stop() { # PID: graceful (roster closes its store: PRAGMA optimize, WAL checkpoint)
  kill "$1"
  wait "$1" 2>/dev/null || true
}

load_data_set() { # URL NAME: tenant and connections (a first start of roster), then the users
  start_roster "$1"
  stop "$roster_pid"
  local started=$SECONDS
  "$DATA" --database-url "$1" --users "$USERS" --ids "$TMP/ids-$2" --emails "$TMP/emails-$2" >/dev/null
  echo "data set on $2: $USERS users in $(( SECONDS - started )) s"
}

analyze() { # URL: planner statistics, as autovacuum would gather some time after the load
  local psql="${PG_TEMP_BINDIR:+$PG_TEMP_BINDIR/psql}"
  psql="${psql:-$(command -v psql || true)}"
  if [[ -n "$psql" ]]; then "$psql" -q "$1" -c ANALYZE; else echo "  (no psql: not analyzed)"; fi
}

# Started here, not in a subshell, so that cleanup knows it and stops it.
[[ " ${STORES[*]} " != *" postgres "* ]] || PG_TEMP_DURABLE=1 pg_temp_start

# The ceiling serves a copy of roster's SQLite file, whichever store roster is measured on.
SQLITE_URL="sqlite://$TMP/roster.db"
load_data_set "$SQLITE_URL" sqlite
start_roster "$SQLITE_URL"
stop "$roster_pid"
[[ ! -s "$TMP/roster.db-wal" ]] || { echo "bench/crud.sh: roster left a WAL behind" >&2; exit 1; }
cp "$TMP/roster.db" "$TMP/data-set.db"
echo "SQLite database: $(( $(stat -c %s "$TMP/data-set.db") / 1024 / 1024 )) MiB"

row() { # LABEL CEILING_MEASURED ROSTER_MEASURED
  local c_rps c_p50 c_p99 r_rps r_p50 r_p99
  read -r c_rps c_p50 c_p99 _ <<<"$2"
  read -r r_rps r_p50 r_p99 _ <<<"$3"
  printf '| %-31s | %8.0f | %8s | %8s | %8.0f | %8s | %8s | %5.2f |\n' "$1" "$c_rps" "$c_p50" "$c_p99" \
    "$r_rps" "$r_p50" "$r_p99" "$(python3 -c "print($r_rps / $c_rps)")"
}

mixed() { # BASE HEADER CREATED: GET (random ids) while POST runs -> "get_rps p50 p99 post_rps"
  local get post_pid post_rps
  BENCH_ID_PREFIX=w BENCH_CREATED="$3" rate "$1/api/v2/users" "$2" create.lua >"$TMP/mixed-post" &
  post_pid=$!
  get="$(BENCH_RATE= BENCH_KEYS="$IDS" rate "$1/api/v2/users" "$2" read_random.lua)" || exit 1
  wait "$post_pid" || exit 1
  read -r post_rps _ <"$TMP/mixed-post"
  echo "$get $post_rps"
}

wanted() { [[ " $ROWS " == *" $1 "* ]]; }

for store in "${STORES[@]}"; do
  case "$store" in
    sqlite) url="$SQLITE_URL" ;;
    postgres) url="$(pg_temp_createdb roster_bench)"; load_data_set "$url" "$store"; analyze "$url" ;;
    external) url="$EXTERNAL_URL"; load_data_set "$url" "$store"; analyze "$url" ;;
  esac
  # The generator is deterministic: the ceiling and roster hold the same users.
  cmp -s "$TMP/ids-sqlite" "$TMP/ids-$store" || { echo "bench/crud.sh: data sets differ" >&2; exit 1; }
  IDS="$TMP/ids-$store"
  EMAILS="$TMP/emails-$store"
  cp "$TMP/data-set.db" "$TMP/ceiling-$store.db"
  ceiling_port="$(free_port)"
  ceiling="http://127.0.0.1:$ceiling_port"
  "$CEILING" "127.0.0.1:$ceiling_port" "$TMP/ceiling-$store.db" >/dev/null &
  ceiling_pid=$!
  PIDS+=("$ceiling_pid")
  wait_for "$ceiling/api/v2/users/x"
  start_roster "$url"
  c_created="$TMP/created-ceiling-$store"
  r_created="$TMP/created-roster-$store"

  for CONNECTIONS in ${CONNECTION_COUNTS//,/ }; do
    export BENCH_CONNECTIONS="$CONNECTIONS"
    echo
    echo "roster on $store, ceiling on SQLite ($USERS users each), wrk -t2 -c$CONNECTIONS${BENCH_RATE:+, reads paced at $BENCH_RATE req/s in all}; load average $(cut -d' ' -f1-3 /proc/loadavg):"
    echo "| operation                       | ceiling req/s | p50 | p99 | roster req/s | p50 | p99 | roster/ceiling |"
    echo "|---|---|---|---|---|---|---|---|"
    if wanted get; then
      c="$(BENCH_KEYS="$IDS" rate "$ceiling/api/v2/users" "" read_random.lua)" || exit 1
      r="$(BENCH_KEYS="$IDS" rate "$base/api/v2/users" "$auth" read_random.lua)" || exit 1
      row "GET /users/{id} (random)" "$c" "$r"
    fi
    if wanted email; then
      c="$(BENCH_KEYS="$EMAILS" rate "$ceiling/api/v2/users" "" email_random.lua)" || exit 1
      r="$(BENCH_KEYS="$EMAILS" rate "$base/api/v2/users" "$auth" email_random.lua)" || exit 1
      row "GET /users-by-email (random)" "$c" "$r"
    fi
    if wanted post; then
      c="$(BENCH_CREATED="$c_created" rate "$ceiling/api/v2/users" "" create.lua)" || exit 1
      r="$(BENCH_CREATED="$r_created" rate "$base/api/v2/users" "$auth" create.lua)" || exit 1
      row "POST /users (passwordless)" "$c" "$r"
      created="$(awk '{n += $2} END {print n}' "$r_created")"
    fi
    if wanted patch; then
      c="$(BENCH_CREATED="$c_created" rate "$ceiling/api/v2/users" "" update.lua)" || exit 1
      r="$(BENCH_CREATED="$r_created" rate "$base/api/v2/users" "$auth" update.lua)" || exit 1
      row "PATCH /users/{id} (metadata)" "$c" "$r"
    fi
    if wanted delete; then
      # A quarter as long as the POST run: deleting must not run out of users before the run ends,
      # or wrk (which divides by the whole duration) would understate the rate. delete.lua says if so.
      quarter=$(( (DURATION + 3) / 4 ))
      c="$(BENCH_CREATED="$c_created" rate "$ceiling/api/v2/users" "" delete.lua "$quarter")" || exit 1
      r="$(BENCH_CREATED="$r_created" rate "$base/api/v2/users" "$auth" delete.lua "$quarter")" || exit 1
      row "DELETE /users/{id}" "$c" "$r"
    fi
    # Counted before the mixed run, whose creates would otherwise be taken for deletes undone.
    users_line=""
    if wanted post && wanted delete; then
      left="$(curl -sf "$base/api/v2/users?per_page=1&include_totals=true" -H "$auth" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')"
      users_line="(roster's users: $created created by POST, $(( USERS + created - left )) deleted by DELETE, $left left)"
    fi
    if wanted mixed; then
      c="$(mixed "$ceiling" "" "$TMP/mixed-ceiling-$store")" || exit 1
      r="$(mixed "$base" "$auth" "$TMP/mixed-roster-$store")" || exit 1
      row "GET /users/{id} while POST runs" "$c" "$r"
      printf '(POST while GET runs: ceiling %.0f req/s, roster %.0f req/s)\n' "$(cut -d' ' -f4 <<<"$c")" \
        "$(cut -d' ' -f4 <<<"$r")"
    fi
    if [ -n "${users_line:-}" ]; then
      echo "$users_line"
    fi
  done
  stop "$roster_pid"
  stop "$ceiling_pid"
done

#!/usr/bin/env bash
# CRUD benchmark: release binary size, cold start (on SQLite), and throughput of each users operation
# beside a bare axum endpoint (examples/bare_axum.rs) measured in the same run:
#   GET    /api/v2/users/{id}  one user, read over and over
#   POST   /api/v2/users       a new passwordless (email) user per request: no bcrypt, so the
#                              store's write path is what is measured (bench/wrk/create.lua)
#   PATCH  /api/v2/users/{id}  a user_metadata merge on those users, one after another
#   DELETE /api/v2/users/{id}  those users, each once (for a quarter of the duration, so as not
#                              to run out of them)
#
# usage: bench/crud.sh [--postgres | --database-url URL] [DURATION_SECONDS] [CONNECTIONS]
#   (defaults: SQLite only, 10 s, 32 connections)
#   --postgres          SQLite, then the same on a throw-away PostgreSQL started for the run on
#                       this machine (scripts/pg_temp.sh, durable: fsync and synchronous_commit on)
#   --database-url URL  only that (empty) database, e.g. an external PostgreSQL
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
CONNECTIONS="${2:-32}"
command -v wrk >/dev/null || { echo "bench/crud.sh: needs wrk (apt-get install -y wrk)" >&2; exit 2; }

cargo build --release --locked --bin roster --example bare_axum >/dev/null 2>&1
BIN=target/release/roster
BARE=target/release/examples/bare_axum
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
export BENCH_WRK="$PWD/bench/wrk" BENCH_CREATED="$TMP/created" BENCH_THREADS=2 BENCH_CONNECTIONS="$CONNECTIONS"

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
  non2xx="$(awk '/Non-2xx/ {print $4}' <<<"$out")"
  [[ -z "$non2xx" ]] || { echo "non-2xx responses during the run: $non2xx" >&2; echo "$out" >&2; exit 1; }
  echo "$rps $p50 $p99"
}

BARE_PORT="$(free_port)"
"$BARE" "127.0.0.1:$BARE_PORT" >/dev/null &
PIDS+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$BARE_PORT/api/v2/users/x" >/dev/null && break; sleep 0.1; done
measured="$(rate "http://127.0.0.1:$BARE_PORT/api/v2/users/auth0%7Cbench")" || exit 1
read -r BARE_RPS BARE_P50 BARE_P99 <<<"$measured"
echo "wrk -t2 -c$CONNECTIONS -d${DURATION}s, same machine as the servers:"
printf '  %-34s %10.0f req/s  p50 %-8s p99 %s\n' "bare axum endpoint" "$BARE_RPS" "$BARE_P50" "$BARE_P99"

# Started here, not in database_url's subshell, so that cleanup knows it and stops it.
[[ " ${STORES[*]} " != *" postgres "* ]] || PG_TEMP_DURABLE=1 pg_temp_start

database_url() { # STORE
  case "$1" in
    sqlite) echo "sqlite://$TMP/roster.db" ;;
    postgres) pg_temp_createdb roster_bench ;;
    external) echo "$EXTERNAL_URL" ;;
  esac
}

for store in "${STORES[@]}"; do
  url="$(database_url "$store")"
  port="$(free_port)"
  base="http://127.0.0.1:$port"
  "$BIN" serve --listen "127.0.0.1:$port" --database-url "$url" \
    --client-id bench --client-secret bench-secret >/dev/null 2>"$TMP/roster-$store.log" &
  roster_pid=$!
  PIDS+=("$roster_pid")
  for _ in $(seq 1 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done
  token="$(curl -sf "$base/oauth/token" -H 'content-type: application/json' \
    -d "{\"grant_type\":\"client_credentials\",\"client_id\":\"bench\",\"client_secret\":\"bench-secret\",\"audience\":\"https://127.0.0.1:$port/api/v2/\"}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
  auth="Authorization: Bearer $token"
  user_id="$(curl -sf "$base/api/v2/users" -H "$auth" -H 'content-type: application/json' \
    -d '{"connection":"Username-Password-Authentication","email":"bench@example.com","password":"Passw0rd!"}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["user_id"].replace("|","%7C"))')"

  echo "roster on $store:"
  measured="$(rate "$base/api/v2/users/$user_id" "$auth")" || exit 1
  read -r rps p50 p99 <<<"$measured"
  printf '  %-34s %10.0f req/s  p50 %-8s p99 %-8s ratio to bare %.2f\n' "GET /users/{id}" "$rps" "$p50" "$p99" \
    "$(python3 -c "print($rps / $BARE_RPS)")"
  measured="$(rate "$base/api/v2/users" "$auth" create.lua)" || exit 1
  read -r rps p50 p99 <<<"$measured"
  printf '  %-34s %10.0f req/s  p50 %-8s p99 %s\n' "POST /users (passwordless)" "$rps" "$p50" "$p99"
  created="$(awk '{n += $2} END {print n}' "$BENCH_CREATED")"
  measured="$(rate "$base/api/v2/users" "$auth" update.lua)" || exit 1
  read -r rps p50 p99 <<<"$measured"
  printf '  %-34s %10.0f req/s  p50 %-8s p99 %s\n' "PATCH /users/{id} (user_metadata)" "$rps" "$p50" "$p99"
  # A quarter as long as the POST run: deleting must not run out of users before the run ends,
  # or wrk (which divides by the whole duration) would understate the rate. delete.lua says if so.
  measured="$(rate "$base/api/v2/users" "$auth" delete.lua $(( (DURATION + 3) / 4 )))" || exit 1
  read -r rps p50 p99 <<<"$measured"
  printf '  %-34s %10.0f req/s  p50 %-8s p99 %s\n' "DELETE /users/{id}" "$rps" "$p50" "$p99"
  left="$(curl -sf "$base/api/v2/users?per_page=1&include_totals=true" -H "$auth" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')"
  echo "  (users: $created created by POST, $(( created + 1 - left )) deleted by DELETE, $left left)"
  kill "$roster_pid"
  wait "$roster_pid" 2>/dev/null || true
done

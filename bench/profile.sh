#!/usr/bin/env bash
# Where a request's CPU goes: runs one wrk load against roster (the `profiling` build: release
# code with symbols) on a new SQLite database while `perf record` samples the server, then
# prints the top functions (self time) and the server's CPU time per request.
#
# usage: bench/profile.sh [create|update|read] [SECONDS] [CONNECTIONS]   (defaults: create 10 32)
#   ROSTER_BIN=PATH: measure another build instead (an A/B of two commits' server CPU per
#   request; perf's symbols need a build with them)
#   create  POST /api/v2/users, passwordless (bench/wrk/create.lua)
#   update  PATCH /api/v2/users/{id} on the users a create run made (bench/wrk/update.lua)
#   read    GET /api/v2/users/{id}, one user
#   email   GET /api/v2/users-by-email?email=, the same user
#   mixed   read and create at once, each with its own CONNECTIONS (crud.sh's "GET while POST
#           runs"); also prints the CPU by thread (tokio workers, the SQLite writer, the blocking
#           pool) and the GET's latency
# needs: wrk, perf (apt-get install -y wrk linux-perf), python3, curl
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

LOAD="${1:-create}"
DURATION="${2:-10}"
CONNECTIONS="${3:-32}"
if [[ -z "${ROSTER_BIN:-}" ]]; then cargo build --profile profiling --locked --bin roster >/dev/null 2>&1; fi
BIN="${ROSTER_BIN:-target/profiling/roster}"
TMP="$(mktemp -d)"
trap 'kill "$PID" 2>/dev/null || true; [[ -n "${KEEP:-}" ]] && cp "$TMP/perf.data" "$KEEP"; rm -rf "$TMP"' EXIT
export BENCH_WRK="$PWD/bench/wrk" BENCH_CREATED="$TMP/created" BENCH_THREADS=2 BENCH_CONNECTIONS="$CONNECTIONS"

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
"$BIN" serve --listen "127.0.0.1:$PORT" --database-url "sqlite://$TMP/roster.db" \
  --client-id bench --client-secret bench-secret >/dev/null 2>"$TMP/roster.log" &
PID=$!
for _ in $(seq 1 100); do curl -sf "$BASE/ready" >/dev/null && break; sleep 0.1; done
TOKEN="$(curl -sf "$BASE/oauth/token" -H 'content-type: application/json' \
  -d "{\"grant_type\":\"client_credentials\",\"client_id\":\"bench\",\"client_secret\":\"bench-secret\",\"audience\":\"https://127.0.0.1:$PORT/api/v2/\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
AUTH="Authorization: Bearer $TOKEN"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }

case "$LOAD" in
  create) URL="$BASE/api/v2/users"; SCRIPT=(-s bench/wrk/create.lua) ;;
  update)
    wrk -t2 -c"$CONNECTIONS" -d3s -s bench/wrk/create.lua -H "$AUTH" "$BASE/api/v2/users" >/dev/null
    URL="$BASE/api/v2/users"; SCRIPT=(-s bench/wrk/update.lua) ;;
  read | mixed | email)
    USER_ID="$(curl -sf "$BASE/api/v2/users" -H "$AUTH" -H 'content-type: application/json' \
      -d '{"connection":"email","email":"read@example.com"}' \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["user_id"].replace("|","%7C"))')"
    URL="$BASE/api/v2/users/$USER_ID"; SCRIPT=()
    [[ "$LOAD" == email ]] && URL="$BASE/api/v2/users-by-email?email=read%40example.com" ;;
  *) echo "unknown load $LOAD" >&2; exit 2 ;;
esac

before="$(cpu_ticks)"
perf record -F 999 -g -p "$PID" -o "$TMP/perf.data" -- sleep "$DURATION" >/dev/null 2>&1 &
PERF=$!
if [[ "$LOAD" == mixed ]]; then
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s bench/wrk/create.lua -H "$AUTH" "$BASE/api/v2/users" \
    >"$TMP/creates" &
  CREATES=$!
fi
OUT="$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "${SCRIPT[@]}" -H "$AUTH" "$URL")"
wait "$PERF" || true
after="$(cpu_ticks)"
requests="$(awk '/requests in/ {print $1}' <<<"$OUT")"
echo "$OUT" | grep -E "Requests/sec|Latency|50%|99%|Non-2xx" || true
if [[ "$LOAD" == mixed ]]; then
  wait "$CREATES" || true
  echo "the creates beside it:"
  grep -E "Requests/sec|50%|99%|Non-2xx" "$TMP/creates" || true
  requests=$(( requests + $(awk '/requests in/ {print $1}' "$TMP/creates") ))
  echo "samples by thread:"
  perf report -i "$TMP/perf.data" --no-children --sort comm --stdio -g none 2>/dev/null | grep -E "^ +[0-9]" | head -8
fi
python3 -c "print(f'server CPU: {($after - $before) / $(getconf CLK_TCK):.2f} s for $requests requests = {($after - $before) / $(getconf CLK_TCK) / $requests * 1e6:.0f} us per request')"
perf report -i "$TMP/perf.data" --no-children --sort symbol --stdio -g none 2>/dev/null | grep -E "^ +[0-9]" | sed -E "s/ +/ /g" | cut -c1-110 | head -40

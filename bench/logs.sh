#!/usr/bin/env bash
# Log listing and search at scale: fills `logs` with $LOG_EVENTS events (default 1,000,000)
# directly in SQL (a recursive CTE on SQLite, generate_series on PostgreSQL: the data set, not
# the write path, is what this measures), then measures the reads a client makes:
#   type        GET /api/v2/logs?q=type:fp&per_page=100          (10% of events are fp)
#   type+totals the same with include_totals=true                 (counts 100,000 matches)
#   type deep   page=9 of it (the last page of Auth0's 1000-result window)
#   user        GET /api/v2/users/{id}/logs                       (100 events per user, 10,000 users)
#   checkpoint  GET /api/v2/logs?from=<a log id halfway>&take=100 (the next 100 in log id order)
#   date range  GET /api/v2/logs?q=date:[D TO D]&per_page=100     (one day: ~40,000 events)
#   latest      GET /api/v2/logs?per_page=100                     (no query)
# each with wrk (-t2 -c4, DURATION seconds) against the release binary; every request must
# answer 200.
#
# The events: one every ~2.2 s over the last 25 days (the server runs with
# --log-retention-days 0 so none ages out), types s (50%), fp, fu, sapi, seccft, sertft (10%
# each), users auth0|user0 … auth0|user9999 in turn, Auth0's rendered shape with 56-digit ids
# in creation order.
#
# usage: bench/logs.sh [--postgres] [DURATION_SECONDS]   (default SQLite, 5 s)
#   LOG_EVENTS=20000 ROSTER_BIN=target/debug/roster bench/logs.sh 1   checks the script quickly
# needs: wrk, python3, curl, sqlite3 (and for --postgres, scripts/pg_temp.sh's PostgreSQL)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

STORE=sqlite
[[ "${1:-}" == "--postgres" ]] && { STORE=postgres; shift; }
DURATION="${1:-5}"
EVENTS="${LOG_EVENTS:-1000000}"
if [[ -n "${ROSTER_BIN:-}" ]]; then BIN="$ROSTER_BIN"; else
  cargo build --release --locked --bin roster >/dev/null 2>&1
  BIN=target/release/roster
fi
TMP="$(mktemp -d)"
PID=""
source scripts/pg_temp.sh
cleanup() {
  [[ -z "$PID" ]] || kill "$PID" 2>/dev/null || true
  [[ "$STORE" != postgres ]] || pg_temp_stop
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ "$STORE" == postgres ]]; then
  PG_TEMP_DURABLE=1 pg_temp_start >/dev/null
  URL="$(pg_temp_createdb logs_bench)"
else
  URL="sqlite://$TMP/roster.db"
fi
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
SECRET=bench-secret-0123456789abcdef0123456789
start() {
  "$BIN" serve --listen "127.0.0.1:$PORT" --database-url "$URL" --client-id bench --client-secret "$SECRET" \
    --log-retention-days 0 >"$TMP/stdout" 2>"$TMP/server.log" &
  PID=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null && return 0; sleep 0.1; done
  echo "the server did not start" >&2; cat "$TMP/server.log" >&2; exit 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }

start; stop   # the schema and the tenant

# One event's columns from its number $i (SQL shared by both engines but for the functions).
echo "filling $EVENTS events ($STORE)..."
T0=$(date +%s.%N)
if [[ "$STORE" == postgres ]]; then
  psql -q "$URL" <<SQL
INSERT INTO logs (log_id, date, type, user_id, client_id, connection, ip, user_name, document)
SELECT '900' || to_char(d, 'YYYYMMDDHH24MISSMS') || lpad(i::text, 36, '0'), d, t, u, 'app', c, '10.0.0.1', n,
  json_build_object('_id', '900' || to_char(d, 'YYYYMMDDHH24MISSMS') || lpad(i::text, 36, '0'),
    'log_id', '900' || to_char(d, 'YYYYMMDDHH24MISSMS') || lpad(i::text, 36, '0'),
    'date', to_char(d AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'type', t,
    'description', CASE t WHEN 'fp' THEN 'Wrong email or password.' ELSE '' END, 'connection', c,
    'connection_id', NULL, 'organization_id', NULL, 'organization_name', NULL, 'client_id', 'app',
    'client_name', 'Bench App', 'ip', '10.0.0.1', 'hostname', NULL, 'details', NULL, 'user_id', u,
    'user_name', n, 'user_agent', 'bench/1.0', 'audience', NULL, 'scope', NULL, 'strategy', NULL,
    'strategy_type', NULL, 'isMobile', false, 'location_info', NULL)
FROM (SELECT i, now() - interval '25 days' + i * (interval '25 days' / $EVENTS) AS d,
        (ARRAY['s','s','s','s','s','fp','fu','sapi','seccft','sertft'])[i % 10 + 1] AS t,
        'auth0|user' || (i % 10000) AS u, 'user' || (i % 10000) || '@example.com' AS n,
        'Username-Password-Authentication' AS c
      FROM generate_series(1, $EVENTS) AS i) AS e;
-- What autovacuum does to an append-only table in time (its insert threshold): without the
-- visibility map a count cannot be answered from the index alone.
VACUUM ANALYZE logs;
SQL
  SIZE="$(psql -Atq "$URL" -c "SELECT pg_size_pretty(pg_total_relation_size('logs'))")"
else
  sqlite3 "$TMP/roster.db" >/dev/null <<SQL
PRAGMA journal_mode=WAL;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $EVENTS),
e AS (SELECT i,
        strftime('%Y-%m-%dT%H:%M:%fZ', julianday('now') - 25 + i * 25.0 / $EVENTS) AS d,
        CASE i % 10 WHEN 5 THEN 'fp' WHEN 6 THEN 'fu' WHEN 7 THEN 'sapi' WHEN 8 THEN 'seccft'
                    WHEN 9 THEN 'sertft' ELSE 's' END AS t,
        'auth0|user' || (i % 10000) AS u, 'user' || (i % 10000) || '@example.com' AS n
      FROM n),
f AS (SELECT *, '900' || replace(replace(replace(replace(replace(d, '-', ''), 'T', ''), ':', ''), '.', ''), 'Z', '')
                || printf('%036d', i) AS id FROM e)
INSERT INTO logs (log_id, date, type, user_id, client_id, connection, ip, user_name, document)
SELECT id, d, t, u, 'app', 'Username-Password-Authentication', '10.0.0.1', n,
  json_object('_id', id, 'log_id', id, 'date', d, 'type', t,
    'description', CASE t WHEN 'fp' THEN 'Wrong email or password.' ELSE '' END,
    'connection', 'Username-Password-Authentication', 'connection_id', NULL, 'organization_id', NULL,
    'organization_name', NULL, 'client_id', 'app', 'client_name', 'Bench App', 'ip', '10.0.0.1',
    'hostname', NULL, 'details', NULL, 'user_id', u, 'user_name', n, 'user_agent', 'bench/1.0',
    'audience', NULL, 'scope', NULL, 'strategy', NULL, 'strategy_type', NULL, 'isMobile', json('false'),
    'location_info', NULL)
FROM f;
ANALYZE;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
  SIZE="$(du -h "$TMP/roster.db" | cut -f1)"
fi
printf 'filled in %.0f s; logs table (with indexes) %s\n' "$(python3 -c "print($(date +%s.%N) - $T0)")" "$SIZE"

start
TOKEN="$(curl -sf "http://127.0.0.1:$PORT/oauth/token" -H 'content-type: application/json' \
  -d "{\"grant_type\":\"client_credentials\",\"client_id\":\"bench\",\"client_secret\":\"$SECRET\",\"audience\":\"https://127.0.0.1:$PORT/api/v2/\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
BASE="http://127.0.0.1:$PORT/api/v2"
enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
MIDDLE="$(curl -sf -H "authorization: Bearer $TOKEN" "$BASE/logs?per_page=1&page=0&sort=date:1&q=$(enc "date:[$(date -u -d '12 days ago' +%F) TO *]")" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["log_id"])')"
DAY="$(date -u -d '10 days ago' +%F)"

echo "machine: $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg); $EVENTS events on $STORE"
echo "wrk -t2 -c4 -d${DURATION}s:"
measure() { # NAME PATH
  local status out rps p50 p99 non2xx
  status="$(curl -s -o "$TMP/body" -w '%{http_code}' -H "authorization: Bearer $TOKEN" "$BASE$2")"
  [[ "$status" == 200 ]] || { echo "$1: $status $(head -c 300 "$TMP/body")" >&2; exit 1; }
  out="$(wrk -t2 -c4 -d"${DURATION}s" --latency -H "authorization: Bearer $TOKEN" "$BASE$2")"
  rps="$(awk '/^Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(awk '$1=="50%" {print $2}' <<<"$out")"
  p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
  non2xx="$(awk '/Non-2xx/ {print $NF}' <<<"$out")"
  [[ -z "$non2xx" ]] || { echo "$1: $non2xx non-2xx answers" >&2; exit 1; }
  printf '| %-12s | %-62s | %8.0f req/s | p50 %-8s | p99 %-8s |\n' "$1" "$2" "$rps" "$p50" "$p99"
}
measure "type" "/logs?q=$(enc type:fp)&per_page=100"
measure "type+totals" "/logs?q=$(enc type:fp)&per_page=100&include_totals=true"
measure "type deep" "/logs?q=$(enc type:fp)&per_page=100&page=9"
measure "user" "/users/$(enc 'auth0|user4242')/logs"
measure "checkpoint" "/logs?from=$MIDDLE&take=100"
measure "date range" "/logs?q=$(enc "date:[$DAY TO $DAY]")&per_page=100"
measure "latest" "/logs?per_page=100"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

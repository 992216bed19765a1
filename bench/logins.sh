#!/usr/bin/env bash
# Login benchmark: password-realm logins per second (bcrypt cost 10 verification, the profile's
# login stamps and the log events written per login) beside what bcrypt alone allows on this
# machine in the same run (examples/bcrypt_rate.rs, on as many threads as cores), and the token
# endpoint's client-credentials throughput (no hashing: RS256 signing is the work).
#
# usage: bench/logins.sh [DURATION_SECONDS] [CONNECTIONS]     (defaults: 10 s, 8 connections)
# Needs: wrk, a release build (built here).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
CONNECTIONS="${2:-8}"
USERS="${BENCH_LOGIN_USERS:-100}"
PASSWORD="Bench-Passw0rd!"

cargo build --release --quiet --bin roster --example bcrypt_rate
dir="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
secret="$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
base="http://127.0.0.1:$port"
ROSTER_LOG=warn target/release/roster serve --listen "127.0.0.1:$port" --database-url "sqlite://$dir/roster.db" \
  --client-id bench-management --client-secret="$secret" >"$dir/out" 2>"$dir/err" &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do curl -sf "$base/ready" >/dev/null && break; sleep 0.1; done

audience="https://127.0.0.1:$port/api/v2/"
token="$(curl -sf "$base/oauth/token" -H 'content-type: application/json' \
  -d "{\"grant_type\":\"client_credentials\",\"client_id\":\"bench-management\",\"client_secret\":\"$secret\",\"audience\":\"$audience\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
api() { curl -sf -H "authorization: Bearer $token" -H 'content-type: application/json' "$@"; }
app="$(api "$base/api/v2/clients" -d '{"name":"bench","app_type":"regular_web","grant_types":["http://auth0.com/oauth/grant-type/password-realm"]}')"
app_id="$(echo "$app" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])')"
app_secret="$(echo "$app" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])')"
db="$(api "$base/api/v2/connections?name=Username-Password-Authentication" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')"
enabled="$(api "$base/api/v2/connections/$db" | python3 -c 'import json,sys; c=json.load(sys.stdin); print(json.dumps(c["enabled_clients"]+[sys.argv[1]]))' "$app_id")"
api -X PATCH "$base/api/v2/connections/$db" -d "{\"enabled_clients\":$enabled}" >/dev/null
for k in $(seq 0 $((USERS - 1))); do
  api "$base/api/v2/users" -d "{\"connection\":\"Username-Password-Authentication\",\"email\":\"login$k@bench.example\",\"password\":\"$PASSWORD\"}" >/dev/null
done
echo "== $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg); $USERS users; wrk -t2 -c$CONNECTIONS -d${DURATION}s"
target/release/examples/bcrypt_rate "$DURATION"
export BENCH_LOGIN_USERS="$USERS" BENCH_PASSWORD="$PASSWORD" BENCH_APP_ID="$app_id" BENCH_APP_SECRET="$app_secret"
echo "-- password-realm logins"
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s bench/wrk/login.lua "$base" | grep -E "Requests/sec|Latency|99%|Non-2xx"
echo "-- client credentials"
BENCH_GRANT=client_credentials BENCH_CLIENT_ID=bench-management BENCH_CLIENT_SECRET="$secret" BENCH_AUDIENCE="$audience" \
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s bench/wrk/login.lua "$base" | grep -E "Requests/sec|Latency|99%|Non-2xx"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

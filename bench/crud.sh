#!/usr/bin/env bash
# CRUD benchmark: release binary size, cold start, and GET /api/v2/users/{id} throughput
# beside a bare axum endpoint (examples/bare_axum.rs) measured in the same run.
#
# usage: bench/crud.sh [DURATION_SECONDS] [CONNECTIONS]      (defaults: 10, 32)
# needs: wrk (apt-get install wrk), python3, curl
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DURATION="${1:-10}"
CONNECTIONS="${2:-32}"
command -v wrk >/dev/null || { echo "bench/crud.sh: needs wrk (apt-get install -y wrk)" >&2; exit 2; }

cargo build --release --locked --bin roster --example bare_axum >/dev/null 2>&1
BIN=target/release/roster
BARE=target/release/examples/bare_axum
TMP="$(mktemp -d)"
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT

echo "machine: $(nproc) cores, $(uname -r); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "release binary: $(stat -c %s "$BIN") bytes ($(( $(stat -c %s "$BIN") / 1024 / 1024 )) MiB)"
python3 bench/cold_start.py "$BIN" 10

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ROSTER_PORT="$(free_port)"
BARE_PORT="$(free_port)"
"$BIN" serve --listen "127.0.0.1:$ROSTER_PORT" --database-url "sqlite://$TMP/roster.db" \
  --client-id bench --client-secret bench-secret >/dev/null 2>"$TMP/roster.log" &
PIDS+=($!)
"$BARE" "127.0.0.1:$BARE_PORT" >/dev/null &
PIDS+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$ROSTER_PORT/health" >/dev/null && break; sleep 0.1; done

TOKEN="$(curl -sf "http://127.0.0.1:$ROSTER_PORT/oauth/token" -H 'content-type: application/json' \
  -d "{\"grant_type\":\"client_credentials\",\"client_id\":\"bench\",\"client_secret\":\"bench-secret\",\"audience\":\"https://127.0.0.1:$ROSTER_PORT/api/v2/\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
USER_ID="$(curl -sf "http://127.0.0.1:$ROSTER_PORT/api/v2/users" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d '{"connection":"Username-Password-Authentication","email":"bench@example.com","password":"Passw0rd!"}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["user_id"].replace("|","%7C"))')"

rate() { # URL [HEADER]
  local out
  if [[ -n "${2:-}" ]]; then
    out="$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "$2" "$1")"
  else
    out="$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$1")"
  fi
  local rps p50 p99
  rps="$(awk '/^Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(awk '$1=="50%" {print $2}' <<<"$out")"
  p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
  local non2xx
  non2xx="$(awk '/Non-2xx/ {print $4}' <<<"$out")"
  [[ -z "$non2xx" ]] || { echo "non-2xx responses during the run: $non2xx" >&2; exit 1; }
  echo "$rps $p50 $p99"
}

read -r BARE_RPS BARE_P50 BARE_P99 <<<"$(rate "http://127.0.0.1:$BARE_PORT/api/v2/users/$USER_ID")"
read -r ROSTER_RPS ROSTER_P50 ROSTER_P99 <<<"$(rate "http://127.0.0.1:$ROSTER_PORT/api/v2/users/$USER_ID" "Authorization: Bearer $TOKEN")"
echo "wrk -t2 -c$CONNECTIONS -d${DURATION}s, same machine as the servers:"
printf '  bare axum endpoint      %10.0f req/s  p50 %-8s p99 %s\n' "$BARE_RPS" "$BARE_P50" "$BARE_P99"
printf '  roster GET /users/{id}  %10.0f req/s  p50 %-8s p99 %s\n' "$ROSTER_RPS" "$ROSTER_P50" "$ROSTER_P99"
python3 -c "print(f'  ratio roster / bare: {$ROSTER_RPS / $BARE_RPS:.2f}')"

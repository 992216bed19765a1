#!/usr/bin/env bash
# Soak: ten minutes of mixed Management API traffic at 80% of the measured peak against roster
# on a data set of 100,000 users, reporting each minute's requests, errors, p50/p99 latency and
# the server's resident memory (examples/soak.rs says what the mix is and how it is measured).
# A soak with any error exits non-zero.
#
# usage: bench/soak.sh [MINUTES] [SHARE]            (defaults: 10 0.8)
#   DATABASE_URL=postgres://…: soak PostgreSQL instead of a new SQLite file (the database
#   should be empty: the data set is written into it)
#   BENCH_USERS=N: the data set's size (default 100000)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

MINUTES="${1:-10}"
SHARE="${2:-0.8}"
USERS="${BENCH_USERS:-100000}"
cargo build --release --locked --bin roster --example bench_data --example soak >/dev/null 2>&1
BIN=target/release/roster
TMP="$(mktemp -d)"
URL="${DATABASE_URL:-sqlite://$TMP/roster.db}"
trap 'kill "${PID:-}" 2>/dev/null || true; rm -rf "$TMP"' EXIT

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
serve() {
  "$BIN" serve --listen "127.0.0.1:$PORT" --database-url "$URL" --client-id bench --client-secret bench-secret \
    >/dev/null 2>>"$TMP/roster.log" &
  PID=$!
  for _ in $(seq 1 300); do curl -sf "$BASE/ready" >/dev/null && return 0; sleep 0.1; done
  echo "bench/soak.sh: roster did not start (see below)" >&2; cat "$TMP/roster.log" >&2; exit 1
}

echo "machine: $(nproc) cores, $(uname -r); load average $(cut -d' ' -f1-3 /proc/loadavg)"
serve; kill "$PID"; wait "$PID" 2>/dev/null || true   # the tenant and its connections
target/release/examples/bench_data --database-url "$URL" --users "$USERS" --ids "$TMP/ids" --emails "$TMP/emails"
serve
target/release/examples/soak --url "$BASE" --client-id bench --client-secret bench-secret \
  --ids "$TMP/ids" --emails "$TMP/emails" --pid "$PID" --minutes "$MINUTES" --share "$SHARE"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

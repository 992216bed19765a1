#!/usr/bin/env bash
# SDK compatibility suite for Roster.
#
# usage: tests/sdk/run.sh [path-to-roster-binary [database-url]]
#        (defaults: target/debug/roster, a temporary SQLite database)
#
# Installs auth0-python 6.x into .sdk/venv and the node `auth0` SDK (major
# pinned in tests/sdk/node/package.json) into .sdk/node if they are missing,
# starts the server on a free 127.0.0.1 port with the given database (an empty
# one: e.g. a fresh PostgreSQL database, postgres://postgres@127.0.0.1:5432/sdk)
# or a temporary SQLite file, and a random client secret, waits for GET /ready, runs the python suite and
# then the node suite, and stops the server on exit. Exits non-zero if the
# server does not come up or any suite fails.
#
# Environment knobs: SDK_DIR (default <repo>/.sdk), HEALTH_TIMEOUT (default 30 s),
# SDK_SKIP (a regular expression: tests whose names match are skipped, each printed as skip),
# KEEP_TMP=1 to keep the temp dir (database + server log) after the run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tests/sdk"
SDK_DIR="${SDK_DIR:-$ROOT/.sdk}"
HEALTH_TIMEOUT="${HEALTH_TIMEOUT:-30}"

BIN="${1:-target/debug/roster}"
case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac
if [[ ! -x "$BIN" ]]; then
  echo "run.sh: roster binary not found or not executable: $BIN (build it with: cargo build)" >&2
  exit 2
fi
DATABASE_URL="${2:-}"

log() { printf '==> %s\n' "$*"; }

# ---------------------------------------------------------------------------
# SDK installation (idempotent)

install_python_sdk() {
  local venv="$SDK_DIR/venv"
  if [[ -x "$venv/bin/python" ]] &&
     "$venv/bin/python" -c 'import sys, auth0; sys.exit(0 if auth0.__version__.split(".")[0] == "6" else 1)' 2>/dev/null; then
    return 0
  fi
  log "installing auth0-python 6.x into $venv"
  mkdir -p "$SDK_DIR"
  [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/python/requirements.txt"
}

install_node_sdk() {
  local dir="$SDK_DIR/node"
  if [[ -d "$dir/node_modules/auth0" ]] && cmp -s "$HERE/node/package.json" "$dir/package.json"; then
    return 0
  fi
  log "installing node auth0 SDK into $dir"
  mkdir -p "$dir"
  cp "$HERE/node/package.json" "$dir/package.json"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error
}

install_python_sdk
install_node_sdk
PY_SDK_VERSION="$("$SDK_DIR/venv/bin/python" -c 'import auth0; print(auth0.__version__)')"
NODE_SDK_VERSION="$(node -p "require('$SDK_DIR/node/node_modules/auth0/package.json').version")"
log "auth0-python $PY_SDK_VERSION, node auth0 $NODE_SDK_VERSION (node $(node --version))"

# ---------------------------------------------------------------------------
# server

TMP="$(mktemp -d "${TMPDIR:-/tmp}/roster-sdk.XXXXXX")"
SERVER_PID=""
SERVER_LOG="$TMP/server.log"

cleanup() {
  local rc=$?
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ "${KEEP_TMP:-0}" == 1 ]]; then
    echo "run.sh: kept $TMP"
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
CLIENT_ID="sdk-test-client"
# A URL-safe secret may start with '-': it is passed as --client-secret=VALUE, never as a
# separate argument, which clap would read as a flag (one run in 64 failed that way).
CLIENT_SECRET="$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
ROSTER_URL="http://127.0.0.1:$PORT"

# The seeded client's secret, the tenant file's ##SDK_SEEDED_SECRET## keyword (test_seed.*).
SDK_SEEDED_SECRET="$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
export SDK_SEEDED_SECRET

DATABASE_URL="${DATABASE_URL:-sqlite://$TMP/roster.db}"
log "starting $BIN on 127.0.0.1:$PORT (database ${DATABASE_URL%%\?*}, tenant file tests/sdk/tenant.yaml)"
"$BIN" serve \
  --listen "127.0.0.1:$PORT" \
  --database-url "$DATABASE_URL" \
  --client-id "$CLIENT_ID" \
  --client-secret="$CLIENT_SECRET" \
  --seed "$HERE/tenant.yaml" \
  >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!

health_status() {
  if command -v curl >/dev/null 2>&1; then
    curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$ROSTER_URL/ready" || true
  else
    python3 - "$ROSTER_URL/ready" <<'PY' || true
import sys, urllib.request, urllib.error
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=2).status, end="")
except urllib.error.HTTPError as e:
    print(e.code, end="")
except Exception:
    print("000", end="")
PY
  fi
}

dump_server_log() {
  echo "----- server log ($SERVER_LOG) -----" >&2
  cat "$SERVER_LOG" >&2 || true
  echo "----- end of server log -----" >&2
}

deadline=$((SECONDS + HEALTH_TIMEOUT))
while :; do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    wait "$SERVER_PID" && code=0 || code=$?
    SERVER_PID=""
    echo "run.sh: FAIL: server exited (status $code) before answering GET /ready" >&2
    dump_server_log
    exit 1
  fi
  status="$(health_status)"
  [[ "$status" == 200 ]] && break
  if (( SECONDS >= deadline )); then
    echo "run.sh: FAIL: GET $ROSTER_URL/ready did not return 200 within ${HEALTH_TIMEOUT}s (last status: ${status:-none})" >&2
    dump_server_log
    exit 1
  fi
  sleep 0.2
done
log "server is up"

# ---------------------------------------------------------------------------
# suites

export ROSTER_URL PORT CLIENT_ID CLIENT_SECRET
export SDK_NODE_DIR="$SDK_DIR/node"
failed=()

# Every tests/sdk/python/test_*.py and tests/sdk/node/test_*.mjs is a suite (one per area); each
# imports its language's harness (python/harness.py, node/harness.mjs), which reads the variables above.
for suite in "$HERE"/python/test_*.py; do
  log "python suite $(basename "$suite") (auth0-python $PY_SDK_VERSION)"
  "$SDK_DIR/venv/bin/python" "$suite" || failed+=("python/$(basename "$suite")")
done

for suite in "$HERE"/node/test_*.mjs; do
  log "node suite $(basename "$suite") (auth0 $NODE_SDK_VERSION)"
  node "$suite" || failed+=("node/$(basename "$suite")")
done

if ! kill -0 "$SERVER_PID" 2>/dev/null; then
  echo "run.sh: FAIL: the server died during the run" >&2
  failed+=(server)
fi

if (( ${#failed[@]} )); then
  echo "run.sh: FAILED: ${failed[*]}" >&2
  echo "----- last 80 lines of the server log -----" >&2
  tail -n 80 "$SERVER_LOG" >&2 || true
  exit 1
fi
log "all SDK suites passed"

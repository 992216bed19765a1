#!/usr/bin/env bash
# Auth0 Deploy CLI round trip against Roster.
#
# usage: tests/deploy_cli/run.sh [path-to-roster-binary [database-url [second-database-url]]]
#        (defaults: target/debug/roster, temporary SQLite databases; on PostgreSQL give two
#        empty databases: the second is the fresh tenant the export is imported into)
#
# Installs auth0-deploy-cli (the version pinned in tests/deploy_cli/package.json) into
# .sdk/deploy-cli if missing, starts Roster over HTTPS (--tls-self-signed; the CLI insists on
# https) on a free 127.0.0.1 port with the client of tests/deploy_cli/roster.yaml, then:
#   1. a0deploy import tests/deploy_cli/tenant.yaml
#   2. a0deploy export --format yaml; compare.mjs subset: the export holds the fixture
#   3. a fresh database: a0deploy import of that export, export again; compare.mjs exact
# Any CLI failure, CLI error line, 5xx answer or difference fails the run, printing the logs.
# The CLI retries 5xx answers with backoffs of up to a minute (10 times by default): the run sets
# AUTH0_API_MAX_RETRIES=1 and gives each CLI command CLI_TIMEOUT seconds (default 240).
#
# Time: about 95 s on an idle 2-core machine, nearly all of it the CLI's own work (each import
# compiles its JSON schemas with ajv, ~25 s of CPU); Roster answers each request in milliseconds.
#
# Environment knobs: SDK_DIR (default <repo>/.sdk), HEALTH_TIMEOUT (default 30 s), CLI_TIMEOUT,
# KEEP_TMP=1 to keep the temp dir (databases, server and CLI logs, exports).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tests/deploy_cli"
SDK_DIR="${SDK_DIR:-$ROOT/.sdk}"
HEALTH_TIMEOUT="${HEALTH_TIMEOUT:-30}"
CLI_TIMEOUT="${CLI_TIMEOUT:-240}"
CLI_DIR="$SDK_DIR/deploy-cli"

BIN="${1:-target/debug/roster}"
case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac
if [[ ! -x "$BIN" ]]; then
  echo "run.sh: roster binary not found or not executable: $BIN (build it with: cargo build)" >&2
  exit 2
fi

log() { printf '==> %s\n' "$*"; }
STARTED=$SECONDS

if [[ ! -x "$CLI_DIR/node_modules/.bin/a0deploy" ]] || ! cmp -s "$HERE/package.json" "$CLI_DIR/package.json"; then
  log "installing auth0-deploy-cli into $CLI_DIR"
  mkdir -p "$CLI_DIR"
  cp "$HERE/package.json" "$CLI_DIR/package.json"
  npm install --prefix "$CLI_DIR" --no-audit --no-fund --loglevel=error
fi
A0DEPLOY="$CLI_DIR/node_modules/.bin/a0deploy"
CLI_VERSION="$(node -p "require('$CLI_DIR/node_modules/auth0-deploy-cli/package.json').version")"
log "auth0-deploy-cli $CLI_VERSION (node $(node --version))"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/roster-deploy-cli.XXXXXX")"
SERVER_PID=""
SERVER_LOG=""

stop_server() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}

cleanup() {
  local rc=$?
  stop_server
  if [[ "${KEEP_TMP:-0}" == 1 ]]; then echo "run.sh: kept $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "run.sh: FAIL: $*" >&2
  if [[ -n "$SERVER_LOG" ]]; then
    echo "----- last 60 lines of the server log ($SERVER_LOG) -----" >&2
    tail -n 60 "$SERVER_LOG" >&2 || true
  fi
  exit 1
}

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
DOMAIN="127.0.0.1:$PORT"
DEPLOY_CLI_SECRET="$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
export DEPLOY_CLI_SECRET
CERT="$TMP/tls/roster-tls-cert.pem"
mkdir -p "$TMP/tls"

# Starts Roster on DATABASE_URL (a new, empty database) with the Deploy CLI's client; the
# certificate stays in $TMP/tls, so both servers of the run present the same one.
start_server() {
  local url="$1" name="$2"
  SERVER_LOG="$TMP/server-$name.log"
  # The management client gets a secret nobody uses: the CLI signs in as roster.yaml's client.
  ROSTER_LOG="info,roster::query=debug" "$BIN" serve \
    --listen "$DOMAIN" \
    --database-url "$url" \
    --client-secret="$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')" \
    --seed "$HERE/roster.yaml" \
    --tls-self-signed --tls-dir "$TMP/tls" \
    >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  local deadline=$((SECONDS + HEALTH_TIMEOUT)) status
  while :; do
    kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited before answering GET /ready"
    status="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --cacert "$CERT" "https://$DOMAIN/ready" || true)"
    [[ "$status" == 200 ]] && break
    (( SECONDS < deadline )) || fail "GET https://$DOMAIN/ready did not answer 200 within ${HEALTH_TIMEOUT}s"
    sleep 0.2
  done
  log "roster on https://$DOMAIN (database ${url%%\?*})"
}

# The CLI's settings, as docs/DEPLOYMENT.md gives them, and a quick failure on a 5xx.
cat >"$TMP/config.json" <<JSON
{
  "AUTH0_DOMAIN": "$DOMAIN",
  "AUTH0_CLIENT_ID": "deploy-cli",
  "AUTH0_CLIENT_SECRET": "$DEPLOY_CLI_SECRET",
  "AUTH0_INCLUDED_ONLY": ["resourceServers", "clients", "clientGrants", "connections", "roles", "organizations"],
  "AUTH0_API_MAX_RETRIES": 1
}
JSON
export NODE_EXTRA_CA_CERTS="$CERT"

# a0deploy COMMAND NAME ARGS…: runs the CLI, its log in $TMP/NAME.log; fails on a non-zero
# exit, an error line, or a 5xx the server answered meanwhile.
deploy() {
  local command="$1" name="$2"
  shift 2
  local cli_log="$TMP/$name.log" from
  from=$(wc -l <"$SERVER_LOG")
  local started=$SECONDS
  if ! timeout "$CLI_TIMEOUT" "$A0DEPLOY" "$command" -c "$TMP/config.json" "$@" >"$cli_log" 2>&1; then
    cat "$cli_log" >&2
    fail "a0deploy $command ($name) failed or ran past ${CLI_TIMEOUT}s"
  fi
  if grep -q 'error' "$cli_log"; then
    cat "$cli_log" >&2
    fail "a0deploy $command ($name) logged an error"
  fi
  if tail -n "+$((from + 1))" "$SERVER_LOG" | grep -E 'roster::request.*status=5[0-9][0-9]'; then
    fail "the server answered 5xx during a0deploy $command ($name)"
  fi
  log "a0deploy $command ($name): $((SECONDS - started)) s"
}

compare() {
  DEPLOY_CLI_DIR="$CLI_DIR" node "$HERE/compare.mjs" "$@" || fail "the tenant did not survive the round trip"
}

DATABASE_URL="${2:-sqlite://$TMP/first.db}"
SECOND_DATABASE_URL="${3:-sqlite://$TMP/second.db}"

start_server "$DATABASE_URL" first
deploy import import-fixture -i "$HERE/tenant.yaml"
deploy export export-first --format yaml --output_folder "$TMP/first"
compare subset "$HERE/tenant.yaml" "$TMP/first/tenant.yaml"
stop_server

start_server "$SECOND_DATABASE_URL" second
deploy import import-export -i "$TMP/first/tenant.yaml"
deploy export export-second --format yaml --output_folder "$TMP/second"
compare exact "$TMP/first/tenant.yaml" "$TMP/second/tenant.yaml"
stop_server

log "Deploy CLI round trip passed in $((SECONDS - STARTED)) s"

#!/usr/bin/env bash
# SDK compatibility suite for Roster.
#
# usage: tests/sdk/run.sh [path-to-roster-binary [database-url]]
#        (defaults: target/debug/roster, a temporary SQLite database)
#
# Installs auth0-python 6.x (and pytest) into .sdk/venv and the node `auth0` SDK (major
# pinned in tests/sdk/node/package.json) into .sdk/node if they are missing, then starts two
# servers on free 127.0.0.1 ports:
#   - one tenant, as `roster serve` runs by default: the given database (an empty one: e.g. a
#     fresh PostgreSQL database, postgres://postgres@127.0.0.1:5432/sdk) or a temporary SQLite
#     file, a random client secret, tests/sdk/tenant.yaml applied at start;
#   - one with the admin API (--admin-key), in which two tenants are created from the same
#     tenant file (docs/TENANTS.md; hosted tenants are SQLite files), reached at /t/<name>.
# Runs the python suites, then the node suites, against each of the three tenants, the three
# runs at once; then the documented helpers' tests (the pytest fixture, the node test helper)
# against the admin server. Stops the servers on exit. Exits non-zero if a server does not
# come up or any suite fails.
#
# Environment knobs: SDK_DIR (default <repo>/.sdk), HEALTH_TIMEOUT (default 30 s),
# SDK_SKIP (a regular expression: tests whose names match are skipped, each printed as skip),
# KEEP_TMP=1 to keep the temp dir (databases, tenants, server and suite logs) after the run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tests/sdk"
SDK_DIR="${SDK_DIR:-$ROOT/.sdk}"
HEALTH_TIMEOUT="${HEALTH_TIMEOUT:-30}"

source "$ROOT/tests/lib/servers.sh"
use_binary "${1:-}"
DATABASE_URL="${2:-}"


# ---------------------------------------------------------------------------
# SDK installation (idempotent)

install_python_sdk() {
  local venv="$SDK_DIR/venv"
  if [[ -x "$venv/bin/python" ]] &&
     "$venv/bin/python" -c 'import sys, auth0, pytest; sys.exit(0 if auth0.__version__.split(".")[0] == "6" else 1)' 2>/dev/null; then
    return 0
  fi
  log "installing auth0-python 6.x and pytest into $venv"
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
# servers

TMP="$(mktemp -d "${TMPDIR:-/tmp}/roster-sdk.XXXXXX")"
SUITE_PIDS=()

cleanup() {
  local rc=$?
  local pid
  for pid in "${SUITE_PIDS[@]}" "${SERVER_PIDS[@]}"; do stop "$pid"; done
  if [[ "${KEEP_TMP:-0}" == 1 ]]; then
    echo "run.sh: kept $TMP"
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The seeded client's secret, the tenant file's ##SDK_SEEDED_SECRET## keyword (test_seed.*); the
# servers read it from their environment, for their own tenant and for the tenants they host.
SDK_SEEDED_SECRET="$(random_secret)"
export SDK_SEEDED_SECRET

# The server's own tenant (no admin API), as `roster serve` runs by default.
PORT="$(free_port)"
CLIENT_ID="sdk-test-client"
# A URL-safe secret may start with '-': it is passed as --client-secret=VALUE, never as a
# separate argument, which clap would read as a flag (one run in 64 failed that way).
CLIENT_SECRET="$(random_secret)"
ROSTER_URL="http://127.0.0.1:$PORT"
SERVER_LOG="$TMP/server.log"
DATABASE_URL="${DATABASE_URL:-sqlite://$TMP/roster.db}"
log "starting $BIN on 127.0.0.1:$PORT (database ${DATABASE_URL%%\?*}, tenant file tests/sdk/tenant.yaml)"
start_server "$ROSTER_URL" "$SERVER_LOG" \
  --listen "127.0.0.1:$PORT" \
  --database-url "$DATABASE_URL" \
  --client-id "$CLIENT_ID" \
  --client-secret="$CLIENT_SECRET" \
  --seed "$HERE/tenant.yaml"

# A server with the admin API, hosting tenants (always SQLite files, in its tenants directory).
ADMIN_PORT="$(free_port)"
ADMIN_URL="http://127.0.0.1:$ADMIN_PORT"
ADMIN_KEY="$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
ADMIN_LOG="$TMP/admin-server.log"
log "starting $BIN with --admin-key on 127.0.0.1:$ADMIN_PORT (tenants in $TMP/tenants)"
start_server "$ADMIN_URL" "$ADMIN_LOG" \
  --listen "127.0.0.1:$ADMIN_PORT" \
  --database-url "sqlite://$TMP/admin.db" \
  --admin-key "$ADMIN_KEY" \
  --tenants-dir "$TMP/tenants"

# create_tenant NAME: creates the tenant from tests/sdk/tenant.yaml; prints its client id and secret.
create_tenant() {
  python3 - "$ADMIN_URL" "$ADMIN_KEY" "$1" "$HERE/tenant.yaml" <<'PY'
import json, sys, urllib.request
url, key, name, tenant_file = sys.argv[1:]
body = {"name": name, "tenant_file": open(tenant_file).read()}
request = urllib.request.Request(f"{url}/roster/v1/tenants", data=json.dumps(body).encode(), method="POST",
                                 headers={"authorization": f"Bearer {key}", "content-type": "application/json"})
try:
    created = json.load(urllib.request.urlopen(request, timeout=30))
except urllib.error.HTTPError as e:
    sys.exit(f"run.sh: FAIL: creating tenant {name}: {e.code} {e.read().decode()}")
print(created["client_id"])
print(created["client_secret"])
PY
}

TENANTS=(sdk-a sdk-b)
declare -A TENANT_CLIENT_ID TENANT_CLIENT_SECRET
for tenant in "${TENANTS[@]}"; do
  mapfile -t credentials < <(create_tenant "$tenant")
  if (( ${#credentials[@]} != 2 )); then
    echo "run.sh: FAIL: could not create tenant $tenant" >&2
    dump_log "$ADMIN_LOG"
    exit 1
  fi
  TENANT_CLIENT_ID[$tenant]="${credentials[0]}"
  TENANT_CLIENT_SECRET[$tenant]="${credentials[1]}"
  log "tenant $tenant: $ADMIN_URL/t/$tenant"
done

# ---------------------------------------------------------------------------
# suites

export SDK_NODE_DIR="$SDK_DIR/node"

# run_suites FAILED_FILE URL CLIENT_ID CLIENT_SECRET: every tests/sdk/python/test_*.py and
# tests/sdk/node/test_*.mjs (one suite per area; each imports its language's harness,
# python/harness.py or node/harness.mjs, which reads ROSTER_URL, CLIENT_ID and CLIENT_SECRET)
# against the tenant at URL; the suites that fail are appended to FAILED_FILE.
run_suites() {
  local failed_file=$1 suite
  export ROSTER_URL=$2 CLIENT_ID=$3 CLIENT_SECRET=$4
  for suite in "$HERE"/python/test_*.py; do
    log "python suite $(basename "$suite") (auth0-python $PY_SDK_VERSION) against $ROSTER_URL"
    "$SDK_DIR/venv/bin/python" "$suite" || echo "python/$(basename "$suite") ($ROSTER_URL)" >>"$failed_file"
  done
  for suite in "$HERE"/node/test_*.mjs; do
    log "node suite $(basename "$suite") (auth0 $NODE_SDK_VERSION) against $ROSTER_URL"
    node "$suite" || echo "node/$(basename "$suite") ($ROSTER_URL)" >>"$failed_file"
  done
}

FAILED="$TMP/failed"
: >"$FAILED"
started=$SECONDS

# The hosted tenants' runs go on meanwhile, each in the background into a log of its own, shown
# once the server's own tenant's run (shown as it goes) is over.
for tenant in "${TENANTS[@]}"; do
  run_suites "$FAILED" "$ADMIN_URL/t/$tenant" "${TENANT_CLIENT_ID[$tenant]}" "${TENANT_CLIENT_SECRET[$tenant]}" \
    >"$TMP/suites-$tenant.log" 2>&1 &
  SUITE_PIDS+=("$!")
done
run_suites "$FAILED" "http://127.0.0.1:$PORT" "$CLIENT_ID" "$CLIENT_SECRET"
for i in "${!TENANTS[@]}"; do
  wait "${SUITE_PIDS[$i]}" || true
  log "----- the suites against tenant ${TENANTS[$i]} ($ADMIN_URL/t/${TENANTS[$i]}) -----"
  cat "$TMP/suites-${TENANTS[$i]}.log"
done
SUITE_PIDS=()
log "suites against 3 tenants took $((SECONDS - started)) s"

# The documented helpers (docs/TENANTS.md), against the admin server: the pytest fixture and the
# node test helper, each creating and deleting tenants of its own.
log "pytest with the roster_tenant fixture (docs/examples/roster_pytest.py)"
ROSTER_URL="$ADMIN_URL" ROSTER_ADMIN_KEY="$ADMIN_KEY" PYTHONPATH="$ROOT/docs/examples" \
  "$SDK_DIR/venv/bin/python" -m pytest -q -p no:cacheprovider -p roster_pytest "$HERE/python/fixture_test.py" ||
  echo "pytest fixture_test.py" >>"$FAILED"
log "node --test with createTenant (docs/examples/roster-tenant.mjs)"
# A copy beside a node_modules that holds the installed SDK, so that its `import ... from "auth0"`
# finds it, as in a project that depends on `auth0`.
mkdir -p "$TMP/node-helper"
cp "$ROOT/docs/examples/roster-tenant.mjs" "$TMP/node-helper/"
ln -s "$SDK_DIR/node/node_modules" "$TMP/node-helper/node_modules"
ROSTER_URL="$ADMIN_URL" ROSTER_ADMIN_KEY="$ADMIN_KEY" ROSTER_TENANT_HELPER="$TMP/node-helper/roster-tenant.mjs" \
  node --test "$HERE/node/helper.test.mjs" ||
  echo "node --test helper.test.mjs" >>"$FAILED"

mapfile -t failed <"$FAILED"
for pid in "${SERVER_PIDS[@]}"; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "run.sh: FAIL: a server died during the run" >&2
    failed+=(server)
  fi
done

if (( ${#failed[@]} )); then
  echo "run.sh: FAILED: ${failed[*]}" >&2
  for server_log in "$SERVER_LOG" "$ADMIN_LOG"; do
    echo "----- last 80 lines of $(basename "$server_log") -----" >&2
    tail -n 80 "$server_log" >&2 || true
  done
  exit 1
fi
log "all SDK suites passed"

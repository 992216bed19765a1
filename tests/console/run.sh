#!/usr/bin/env bash
# Real-browser suite for the web console (docs/CONSOLE.md).
#
# usage: tests/console/run.sh [path-to-roster-binary [database-url]]
#        (defaults: target/debug/roster, a temporary SQLite database)
#
# Installs Debian's `chromium` package when /usr/bin/chromium is missing, and Playwright for
# python with pytest (majors pinned in tests/console/requirements.txt) into .sdk/console-venv when
# they are missing; Playwright's own browsers are never downloaded: the suite launches
# /usr/bin/chromium. Then starts `roster serve` on a free 127.0.0.1 port with the given database
# (or a temporary SQLite file), --admin-key (so the console shows its admin sign-in, and the
# suite can host a tenant), a random management client secret and tests/console/tenant.yaml
# applied at start; waits for GET /ready; runs pytest on tests/console/ against it; stops the
# server on exit. Exits non-zero if the server does not come up or any test fails (then prints
# the end of the server's log).
#
# Environment knobs: SDK_DIR (default <repo>/.sdk), HEALTH_TIMEOUT (default 30 s),
# CONSOLE_SCREENSHOTS=1 to write docs/console-*.png (1280x800) as the suite goes,
# PYTEST_ADDOPTS (e.g. "-k roles -x"), KEEP_TMP=1 to keep the temp dir (database, server log).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tests/console"
SDK_DIR="${SDK_DIR:-$ROOT/.sdk}"
HEALTH_TIMEOUT="${HEALTH_TIMEOUT:-30}"
CHROMIUM=/usr/bin/chromium

source "$ROOT/tests/lib/servers.sh"
use_binary "${1:-}"
DATABASE_URL="${2:-}"


# ---------------------------------------------------------------------------
# installation (idempotent)

install_chromium() {
  [[ -x "$CHROMIUM" ]] && return 0
  log "$CHROMIUM not found: installing Debian's chromium package"
  if [[ "$(id -u)" != 0 ]]; then
    echo "run.sh: chromium is not installed and this is not root; run: apt-get install -y chromium" >&2
    exit 2
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y chromium >/dev/null || { apt-get update >/dev/null && apt-get install -y chromium >/dev/null; }
  [[ -x "$CHROMIUM" ]] || { echo "run.sh: no $CHROMIUM after installing chromium" >&2; exit 2; }
}

install_python() {
  local venv="$SDK_DIR/console-venv"
  if [[ -x "$venv/bin/python" ]] && cmp -s "$HERE/requirements.txt" "$venv/console-requirements.txt" &&
     "$venv/bin/python" -c 'import playwright.sync_api, pytest, requests' 2>/dev/null; then
    return 0
  fi
  log "installing Playwright for python and pytest into $venv (no browser download)"
  mkdir -p "$SDK_DIR"
  [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 "$venv/bin/pip" install --quiet --disable-pip-version-check \
    -r "$HERE/requirements.txt"
  cp "$HERE/requirements.txt" "$venv/console-requirements.txt"
}

install_chromium
install_python
PYTHON="$SDK_DIR/console-venv/bin/python"
log "$("$CHROMIUM" --version 2>/dev/null | head -n 1), playwright $("$PYTHON" -c 'import importlib.metadata as m; print(m.version("playwright"))')"

# ---------------------------------------------------------------------------
# the server

TMP="$(mktemp -d "${TMPDIR:-/tmp}/roster-console.XXXXXX")"
SERVER_LOG="$TMP/server.log"

cleanup() {
  local rc=$?
  local pid
  for pid in "${SERVER_PIDS[@]}"; do stop "$pid"; done
  if [[ "${KEEP_TMP:-0}" == 1 ]]; then
    echo "run.sh: kept $TMP"
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The tenant file's ##KEYWORD##s (docs/SEED.md), read by the server from its environment, and by
# the suite, which signs in with them.
CONSOLE_FULL_SECRET="$(random_secret)"
CONSOLE_READER_SECRET="$(random_secret)"
CONSOLE_WEB_SECRET="$(random_secret)"
CONSOLE_USER_PASSWORD="Console-Passw0rd-$(python3 -c 'import secrets; print(secrets.token_hex(6))')"
export CONSOLE_FULL_SECRET CONSOLE_READER_SECRET CONSOLE_WEB_SECRET CONSOLE_USER_PASSWORD

PORT="$(free_port)"
CONSOLE_URL="http://127.0.0.1:$PORT"
MANAGEMENT_CLIENT_ID="console-suite-management"
# A URL-safe secret may start with '-': passed as --client-secret=VALUE (see tests/sdk/run.sh).
MANAGEMENT_CLIENT_SECRET="$(random_secret)"
ADMIN_KEY="$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
DATABASE_URL="${DATABASE_URL:-sqlite://$TMP/roster.db}"

log "starting $BIN on 127.0.0.1:$PORT (database ${DATABASE_URL%%\?*}, tenant file tests/console/tenant.yaml, --admin-key)"
start_server "$CONSOLE_URL" "$SERVER_LOG" \
  --listen "127.0.0.1:$PORT" \
  --database-url "$DATABASE_URL" \
  --client-id "$MANAGEMENT_CLIENT_ID" \
  --client-secret="$MANAGEMENT_CLIENT_SECRET" \
  --admin-key "$ADMIN_KEY" \
  --tenants-dir "$TMP/tenants" \
  --seed "$HERE/tenant.yaml"

# ---------------------------------------------------------------------------
# the suite

export CONSOLE_URL CONSOLE_ADMIN_KEY="$ADMIN_KEY" CHROMIUM
export MANAGEMENT_CLIENT_ID MANAGEMENT_CLIENT_SECRET
export CONSOLE_SCREENSHOT_DIR="$ROOT/docs"
rc=0
(cd "$HERE" && "$PYTHON" -m pytest -p no:cacheprovider -ra "$HERE") || rc=$?

if ! kill -0 "${SERVER_PIDS[0]}" 2>/dev/null; then
  echo "run.sh: FAIL: the server died during the run" >&2
  rc=1
fi
if (( rc != 0 )); then
  echo "run.sh: FAILED: the console suite (pytest exit $rc)" >&2
  dump_log "$SERVER_LOG" 80
  exit 1
fi
log "the console suite passed"

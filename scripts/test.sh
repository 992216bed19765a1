#!/usr/bin/env bash
# Runs every test on a fresh machine, installing what the tests need, on both stores:
#   unit tests, black-box HTTP tests against the real binary and the replay of Auth0's recorded
#   traffic (all via cargo test), then the SDK compatibility suite (auth0-python 6.x from PyPI
#   and node `auth0` from npm, installed into .sdk/) and the Auth0 Deploy CLI round trip
#   (auth0-deploy-cli from npm, over HTTPS), each on SQLite and again on PostgreSQL; then the web
#   console's real-browser suite (tests/console: Playwright for python from PyPI driving Debian's
#   chromium, both installed when missing), on SQLite only.
# PostgreSQL is a throw-away server (scripts/pg_temp.sh: installed from Debian's packages when
# missing, started on a free loopback port, stopped on exit). If it cannot start, the run fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/pg_temp.sh
trap pg_temp_stop EXIT
trap 'exit 130' INT TERM

step() { printf '\n==> %s\n' "$*"; }

step "throw-away PostgreSQL"
pg_temp_start

step "cargo build"
cargo build --locked

step "cargo test on SQLite (unit, black-box HTTP, recordings replay)"
cargo test --locked

step "cargo test on PostgreSQL (the same tests; each black-box test and property run gets a fresh database)"
ROSTER_TEST_POSTGRES_URL="$PG_TEMP_URL" cargo test --locked

step "SDK compatibility suite on SQLite (auth0-python, node auth0)"
bash tests/sdk/run.sh target/debug/roster

step "SDK compatibility suite on PostgreSQL"
bash tests/sdk/run.sh target/debug/roster "$(pg_temp_createdb roster_sdk)"

step "Auth0 Deploy CLI round trip on SQLite (import, export, import into a fresh tenant, export)"
bash tests/deploy_cli/run.sh target/debug/roster

step "Auth0 Deploy CLI round trip on PostgreSQL"
bash tests/deploy_cli/run.sh target/debug/roster "$(pg_temp_createdb roster_deploy_cli)" "$(pg_temp_createdb roster_deploy_cli_2)"

# The console's pages make the same store calls as the API, which the suites above run on both
# stores; its browser suite runs on SQLite only.
step "web console in a real browser on SQLite (tests/console: Playwright, Debian's chromium)"
bash tests/console/run.sh target/debug/roster

step "all tests passed on SQLite and PostgreSQL"

#!/usr/bin/env bash
# Runs every test on a fresh machine, installing what the tests need:
#   unit tests, black-box HTTP tests against the real binary, the replay of Auth0's recorded
#   traffic (all via cargo test), then the SDK compatibility suite (auth0-python 6.x from PyPI
#   and node `auth0` from npm, installed into .sdk/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo build"
cargo build --locked

step "cargo test (unit, black-box HTTP, recordings replay)"
cargo test --locked

step "SDK compatibility suite (auth0-python, node auth0)"
tests/sdk/run.sh target/debug/roster

step "all tests passed"

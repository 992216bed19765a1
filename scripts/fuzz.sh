#!/usr/bin/env bash
# Fuzzes the search query parser for a while (default 30 s): no input may make it panic.
#   scripts/fuzz.sh [SECONDS]
# Installs cargo-fuzz if missing. Runs on stable Rust without sanitizers (`-s none`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS_TO_RUN="${1:-30}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
mkdir -p fuzz/corpus/search_query
# Seed the corpus with the queries the documentation and tests use.
for q in 'email:"jane@example.com"' 'name:jo*' 'name:*ohn*' 'logins_count:[100 TO *]' \
         'app_metadata.plan:"gold" AND NOT blocked:true' '(a OR b) -c +d' '_exists_:user_metadata.city' \
         'created_at:{2019-01-01 TO 2019-12-31]' 'name:John\ Doe' 'user_id:auth0|507f1f77bcf86cd799439020'; do
  printf '%s' "$q" > "fuzz/corpus/search_query/$(printf '%s' "$q" | md5sum | cut -c1-16)"
done
cargo fuzz run -s none search_query fuzz/corpus/search_query -- -max_total_time="$SECONDS_TO_RUN" -max_len=512

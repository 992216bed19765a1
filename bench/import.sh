#!/usr/bin/env bash
# A users import's wall time and memory, SQLite, new database: `roster import` of a file from
# bench/import_file.py, or the same file through the jobs API (`roster serve`, a token, the
# multipart upload with curl, GET /api/v2/jobs/{id} every 0.5 s until it is done).
#
# Prints the load average before and after, the wall time (for jobs: upload, then the job from
# its acceptance to `completed`), `time -v`'s maximum RSS and, sampled every 0.5 s from
# /proc/PID/status, the peaks of RssAnon (the process's own memory: heap, SQLite's page cache)
# and RssFile (pages of the mapped database file, which the kernel may drop at will); the
# samples themselves (seconds, MB) are in DIR/peaks.series with KEEP=DIR.
#
# usage: bench/import.sh cli|jobs USERS   (the file is /tmp/roster-import-USERS.json, made once)
#   ROSTER_BIN=PATH: measure another build (default: target/release/roster, built if missing)
#   KEEP=DIR: keep the database (and the server's log) in DIR
# needs: python3, curl, /usr/bin/time
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

MODE="${1:?cli or jobs}"
USERS="${2:?number of users}"
BIN="${ROSTER_BIN:-target/release/roster}"
[[ -x "$BIN" ]] || cargo build --release --locked --bin roster >/dev/null 2>&1
FILE="/tmp/roster-import-$USERS.json"
[[ -s "$FILE" ]] || python3 bench/import_file.py "$USERS" >"$FILE"
TMP="${KEEP:-$(mktemp -d)}"
mkdir -p "$TMP"
rm -f "$TMP"/imp.db*
PID=""
cleanup() { [[ -z "$PID" ]] || kill "$PID" 2>/dev/null || true; [[ -n "${KEEP:-}" ]] || rm -rf "$TMP"; }
trap cleanup EXIT

# Samples /proc/$1/status until the process ends; writes the peaks (MB) to $2.
sample() {
  python3 - "$1" "$2" <<'EOF'
import sys, time
pid, out = sys.argv[1], sys.argv[2]
peak = {"VmHWM": 0, "VmRSS": 0, "RssAnon": 0, "RssFile": 0}
start, series = time.time(), open(out + ".series", "w")
while True:
    now = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in peak:
                    now[key] = int(value.split()[0]) // 1024
    except (FileNotFoundError, ProcessLookupError):
        break
    peak = {k: max(v, now.get(k, 0)) for k, v in peak.items()}
    with open(out, "w") as f:
        f.write(" ".join(f"{k} {v} MB" for k, v in peak.items()) + "\n")
    series.write(f"{time.time() - start:.1f} " + " ".join(f"{k} {now.get(k, 0)}" for k in peak) + "\n")
    series.flush()
    time.sleep(float(__import__("os").environ.get("SAMPLE_EVERY", "0.5")))
EOF
}

echo "$(date '+%F %T') $MODE $USERS users ($(du -m "$FILE" | cut -f1) MB), $BIN; load: $(cut -d' ' -f1-3 /proc/loadavg)"
case "$MODE" in
  cli)
    start=$(date +%s.%N)
    /usr/bin/time -v "$BIN" import "$FILE" --database-url "sqlite://$TMP/imp.db" >"$TMP/out" 2>"$TMP/err" &
    PID=$!
    sleep 0.2
    sample "$(pgrep -P "$PID" || echo "$PID")" "$TMP/peaks" &
    SAMPLER=$!
    wait "$PID"; PID=""
    end=$(date +%s.%N)
    wait "$SAMPLER" || true
    cat "$TMP/out"
    python3 -c "print(f'wall {$end - $start:.1f} s')"
    ;;
  jobs)
    PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    BASE="http://127.0.0.1:$PORT"
    /usr/bin/time -v "$BIN" serve --listen "127.0.0.1:$PORT" --database-url "sqlite://$TMP/imp.db" \
      --client-id bench --client-secret bench-secret >/dev/null 2>"$TMP/err" &
    PID=$!
    for _ in $(seq 1 100); do curl -sf "$BASE/ready" >/dev/null && break; sleep 0.1; done
    sample "$(pgrep -P "$PID")" "$TMP/peaks" &
    SAMPLER=$!
    TOKEN="$(curl -sf "$BASE/oauth/token" -H 'content-type: application/json' \
      -d "{\"grant_type\":\"client_credentials\",\"client_id\":\"bench\",\"client_secret\":\"bench-secret\",\"audience\":\"https://127.0.0.1:$PORT/api/v2/\"}" \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
    AUTH="Authorization: Bearer $TOKEN"
    CONNECTION="$(curl -sf "$BASE/api/v2/connections?name=Username-Password-Authentication" -H "$AUTH" \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')"
    start=$(date +%s.%N)
    JOB="$(curl -sf "$BASE/api/v2/jobs/users-imports" -H "$AUTH" -F "connection_id=$CONNECTION" -F "users=@$FILE" \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
    uploaded=$(date +%s.%N)
    while :; do
      STATE="$(curl -sf "$BASE/api/v2/jobs/$JOB" -H "$AUTH")"
      grep -qE '"status":"(completed|failed)"' <<<"$STATE" && break
      sleep 0.5
    done
    end=$(date +%s.%N)
    echo "$STATE"
    python3 -c "print(f'upload {$uploaded - $start:.1f} s, job {$end - $uploaded:.1f} s, wall {$end - $start:.1f} s')"
    # SIGTERM to roster itself (not to `time`, which would not pass it on); it closes the
    # database, checkpointing the WAL, before it exits.
    closing=$(date +%s.%N)
    kill -TERM "$(pgrep -P "$PID")"; wait "$PID" || true; PID=""
    python3 -c "print(f'shutdown (WAL checkpoint) {$(date +%s.%N) - $closing:.1f} s')"
    wait "$SAMPLER" || true
    ;;
  *) echo "unknown mode $MODE" >&2; exit 2 ;;
esac
grep -E "Maximum resident|Elapsed|File system outputs" "$TMP/err" | sed 's/^\s*//'
echo "sampled peaks: $(cat "$TMP/peaks")"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

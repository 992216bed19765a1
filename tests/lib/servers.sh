# Shared by the suites' run.sh scripts (tests/sdk, tests/console): the roster binary, free
# ports, secrets, and `roster serve` in the background until it answers GET /ready. Source it
# after setting ROOT (the repository) and HEALTH_TIMEOUT (seconds), then call `use_binary "$1"`;
# servers started are kept in SERVER_PIDS, which the caller's cleanup stops with `stop`.

SERVER_PIDS=()

log() { printf '==> %s\n' "$*"; }

# use_binary [PATH]: sets BIN to the roster binary (default target/debug/roster, relative to
# ROOT), or exits if it is not there.
use_binary() {
  BIN="${1:-target/debug/roster}"
  case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac
  if [[ ! -x "$BIN" ]]; then
    echo "run.sh: roster binary not found or not executable: $BIN (build it with: cargo build)" >&2
    exit 2
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

random_secret() {
  python3 -c 'import secrets; print(secrets.token_urlsafe(32))'
}

# ready_status URL: the HTTP status of URL/ready, 000 when nothing answers.
ready_status() {
  if command -v curl >/dev/null 2>&1; then
    curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1/ready" || true
  else
    python3 - "$1/ready" <<'PY' || true
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

# dump_log LOG [LINES]: the end of a server's log (all of it by default), on stderr.
dump_log() {
  echo "----- server log ($1) -----" >&2
  if [[ -n "${2:-}" ]]; then tail -n "$2" "$1" >&2 || true; else cat "$1" >&2 || true; fi
  echo "----- end of server log -----" >&2
}

# stop PID: TERM, up to 5 s, then KILL.
stop() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# start_server URL LOG ARGS...: `roster serve ARGS...` in the background, its output in LOG; waits
# until URL/ready answers 200 (exits if it does not within HEALTH_TIMEOUT).
start_server() {
  local url=$1 server_log=$2
  shift 2
  "$BIN" serve "$@" >"$server_log" 2>&1 &
  local pid=$!
  SERVER_PIDS+=("$pid")
  local deadline=$((SECONDS + HEALTH_TIMEOUT)) status code
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" && code=0 || code=$?
      echo "run.sh: FAIL: server exited (status $code) before answering GET /ready" >&2
      dump_log "$server_log"
      exit 1
    fi
    status="$(ready_status "$url")"
    [[ "$status" == 200 ]] && break
    if (( SECONDS >= deadline )); then
      echo "run.sh: FAIL: GET $url/ready did not return 200 within ${HEALTH_TIMEOUT}s (last status: ${status:-none})" >&2
      dump_log "$server_log"
      exit 1
    fi
    sleep 0.2
  done
  log "server at $url is up"
}

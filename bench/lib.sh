# Shared set-up of the benchmark scripts: source it, don't run it.
#
#   . bench/lib.sh
#   bench_build --example scale_fill   # builds heartbeats (+ extras); sets $target, $bin
#   bench_workdir                      # $work: a temp dir, removed (and the server stopped) on exit
#   bench_env                          # HB_LISTEN on a free port, HB_DATA_DIR, DATABASE_URL, admin, RUST_LOG=warn
#   bench_serve [log]                  # start `heartbeats serve` in $work ($server), wait for /healthz
#   bench_create_services N FILE FIELD # N services via the API; FIELD (id, ping_uuid) of each to FILE
#
# Source it from the repository's root (the scripts `cd` there first). HB_BENCH_PROFILE=debug
# uses the debug build (when no release build is at hand); CARGO_TARGET_DIR is honoured.
# HB_BENCH_BIN=/path/to/heartbeats runs that binary and builds nothing (to compare two
# builds in turns: copy one aside, change the code, build, run both alternately).

bench_profile="${HB_BENCH_PROFILE:-release}"
target="$(realpath "${CARGO_TARGET_DIR:-target}")"
bin="$target/$bench_profile/heartbeats"
work=""
server=""

# Build the server binary and any extra targets named in "$@" (e.g. --example scale_fill).
bench_build() {
  if [ -n "${HB_BENCH_BIN:-}" ]; then
    bin="$(realpath "$HB_BENCH_BIN")"
    return 0
  fi
  if [ "$bench_profile" = release ]; then
    cargo build --release --quiet --bin heartbeats "$@"
  else
    cargo build --quiet --bin heartbeats "$@"
  fi
}

bench_cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  [ -n "$work" ] && rm -rf "$work"
  return 0
}

bench_workdir() {
  work=$(mktemp -d)
  trap bench_cleanup EXIT
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The server's environment: a free port, the SQLite file in $work, the bench admin.
bench_env() {
  export HB_LISTEN="127.0.0.1:$(free_port)" HB_DATA_DIR="$work" DATABASE_URL="sqlite://$work/heartbeats.db"
  export HB_ADMIN_USER=bench HB_ADMIN_PASSWORD=bench-password RUST_LOG=warn
}

# Start `heartbeats serve` in $work, its output to [log] (default: this terminal), and wait
# (up to 60 s) for its first /healthz 200; if it exits first, show its log and fail.
# $server_started_ns is when it was started, for start-up timings.
bench_serve() {
  local log="${1:-}"
  server_started_ns=$(date +%s%N)
  if [ -n "$log" ]; then
    (cd "$work" && exec "$bin" serve) >"$log" 2>&1 &
  else
    (cd "$work" && exec "$bin" serve) &
  fi
  server=$!
  local deadline=$((server_started_ns + 60000000000))
  until curl -fs -o /dev/null "http://$HB_LISTEN/healthz"; do
    if ! kill -0 "$server" 2>/dev/null; then
      echo "the server exited before answering /healthz" >&2
      [ -n "$log" ] && cat "$log" >&2
      exit 1
    fi
    if [ "$(date +%s%N)" -gt "$deadline" ]; then
      echo "no /healthz 200 within 60 s" >&2
      exit 1
    fi
    sleep 0.005
  done
}

# N interval services named bench-0000…, tagged bench, created through the API as the
# bench admin; FIELD of each reply (id, ping_uuid) goes to FILE, one a line.
bench_create_services() {
  python3 - "$HB_LISTEN" "$1" "$2" "$3" <<'PY'
import base64, json, sys, http.client
host, n, out, field = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
auth = "Basic " + base64.b64encode(b"bench:bench-password").decode()
conn = http.client.HTTPConnection(host)
values = []
for i in range(n):
    body = json.dumps({"name": f"bench-{i:04}", "kind": "interval", "period": 3600, "grace": 300,
                       "tags": ["bench"], "notify": ["ops@example.com"]})
    conn.request("POST", "/api/v1/services", body, {"Authorization": auth, "Content-Type": "application/json"})
    r = conn.getresponse(); data = r.read()
    assert r.status == 201, data
    values.append(json.loads(data)[field])
open(out, "w").write("\n".join(values) + "\n")
PY
}

# Fill $work/heartbeats.db with N services through the store's bulk import
# (examples/scale_fill.rs, built by `bench_build --example scale_fill`), or copy
# $HB_SCALE_DB when that file exists; a fresh fill is kept there when HB_SCALE_DB is set.
# [after-fill] is a command run once after a fresh fill, before the copy is kept.
bench_fill() {
  local n="$1" after="${2:-}"
  if [ -n "${HB_SCALE_DB:-}" ] && [ -f "$HB_SCALE_DB" ]; then
    echo "== reusing $HB_SCALE_DB"
    cp "$HB_SCALE_DB" "$work/heartbeats.db"
  else
    echo "== filling $n services"
    "$target/$bench_profile/examples/scale_fill" "$DATABASE_URL" "$n"
    [ -n "$after" ] && "$after"
    [ -n "${HB_SCALE_DB:-}" ] && cp "$work/heartbeats.db" "$HB_SCALE_DB"
  fi
  return 0
}

#!/usr/bin/env bash
# Password guessing under load (issue 8): release build, SQLite. While wrk sends correct,
# remembered Basic-auth pings (8 connections), 500 wrong passwords arrive at once, half as
# HTTP Basic pings and half as sign-in forms: first each from its own address (through a
# local proxy's X-Forwarded-For: the throttle lets every one through, so all reach the
# argon2 pool), then all from one address. Prints the answers, the server's RSS before,
# at its peak (sampled and VmHWM) and 2 s after, and the remembered pings' latency.
#   bench/guessing.sh [requests] [wrk seconds]      HB_BIN=path/to/heartbeats to compare
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-500}"
secs="${2:-40}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
bin="${HB_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --release --quiet --bin heartbeats
  bin="$(realpath "${CARGO_TARGET_DIR:-target}")/release/heartbeats"
fi

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export HB_LISTEN="127.0.0.1:$port" HB_DATA_DIR="$work" DATABASE_URL="sqlite://$work/heartbeats.db"
export HB_ADMIN_USER=bench HB_ADMIN_PASSWORD=bench-password RUST_LOG=warn
(cd "$work" && exec "$bin" serve >"$work/server.log" 2>&1) &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fs "http://$HB_LISTEN/healthz" >/dev/null && break; sleep 0.1; done

id=$(curl -fs -u bench:bench-password -H 'Content-Type: application/json' \
  -d '{"name":"guessed","kind":"interval","period":3600,"grace":300}' \
  "http://$HB_LISTEN/api/v1/services" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
echo "$id" >"$work/ids"
curl -fs -u bench:bench-password -X POST "http://$HB_LISTEN/api/pings?service=$id" >/dev/null
rss() { awk -v f="$1:" '$1 == f { printf "%.0f", $2 / 1024 }' "/proc/$server/status"; }
echo "server RSS after start and one correct ping: $(rss VmRSS) MB"

auth=$(printf 'bench:bench-password' | base64)
HB_BENCH_IDS="$work/ids" HB_BENCH_AUTH="$auth" \
  wrk -t1 -c8 -d"${secs}s" --latency -s bench/ping.lua "http://$HB_LISTEN" >"$work/wrk.out" &
wrk=$!
sleep 2
echo "== $n wrong passwords at once, each from its own address"
python3 bench/guessing.py "$HB_LISTEN" "$id" "$server" "$n" spread
echo "== $n wrong passwords at once, from one address"
python3 bench/guessing.py "$HB_LISTEN" "$id" "$server" "$n" one
wait $wrk
echo "== remembered Basic pings meanwhile (wrk, 8 connections, ${secs}s)"
grep RESULT "$work/wrk.out"
sleep 3
echo "server RSS at the end: $(rss VmRSS) MB (peak VmHWM $(rss VmHWM) MB)"
echo "failed attempts logged: $(grep -c 'wrong user name or password' "$work/server.log" || true)," \
  "refused: $(grep -c 'too many failures' "$work/server.log" || true)"

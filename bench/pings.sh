#!/usr/bin/env bash
# Ping throughput: release build, SQLite (synchronous=FULL: every reply follows a disk sync),
# 1,000 services, 64 connections of Basic-auth pings from wrk, and a /healthz baseline.
#   bench/pings.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-15}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet --bin heartbeats
bin="$(realpath "${CARGO_TARGET_DIR:-target}")/release/heartbeats"

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export HB_LISTEN="127.0.0.1:$port" HB_DATA_DIR="$work" DATABASE_URL="sqlite://$work/heartbeats.db"
export HB_ADMIN_USER=bench HB_ADMIN_PASSWORD=bench-password RUST_LOG=warn
(cd "$work" && exec "$bin" serve) &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fs "http://$HB_LISTEN/healthz" >/dev/null && break; sleep 0.1; done

echo "creating 1000 services…"
python3 - "$HB_LISTEN" "$work/ids" <<'PY'
import base64, json, sys, http.client
host, out = sys.argv[1], sys.argv[2]
auth = "Basic " + base64.b64encode(b"bench:bench-password").decode()
conn = http.client.HTTPConnection(host)
ids = []
for i in range(1000):
    body = json.dumps({"name": f"bench-{i:04}", "kind": "interval", "period": 3600, "grace": 300,
                       "tags": ["bench"], "notify": ["ops@example.com"]})
    conn.request("POST", "/api/v1/services", body, {"Authorization": auth, "Content-Type": "application/json"})
    r = conn.getresponse(); data = r.read()
    assert r.status == 201, data
    ids.append(json.loads(data)["id"])
open(out, "w").write("\n".join(ids) + "\n")
PY

auth=$(printf 'bench:bench-password' | base64)
echo "warm-up…"
HB_BENCH_IDS="$work/ids" HB_BENCH_AUTH="$auth" wrk -t2 -c64 -d3s -s bench/ping.lua "http://$HB_LISTEN" >/dev/null
before=$(sqlite3 "$work/heartbeats.db" 'select count(*) from pings' 2>/dev/null || echo "?")
echo "== GET /healthz baseline (64 connections, ${secs}s)"
wrk -t2 -c64 -d"${secs}s" --latency -s bench/healthz.lua "http://$HB_LISTEN/healthz" | grep RESULT
echo "== POST /api/pings, Basic auth, 1000 services (64 connections, ${secs}s)"
HB_BENCH_IDS="$work/ids" HB_BENCH_AUTH="$auth" wrk -t2 -c64 -d"${secs}s" --latency -s bench/ping.lua "http://$HB_LISTEN" | tee "$work/wrk.out" | grep RESULT
after=$(sqlite3 "$work/heartbeats.db" 'select count(*) from pings' 2>/dev/null || echo "?")
echo "pings stored during the measured run: $((after - before)) (wrk counted $(grep -o 'requests=[0-9]*' "$work/wrk.out" | cut -d= -f2))"

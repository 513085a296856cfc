#!/usr/bin/env bash
# Host report ingestion: release build, SQLite (synchronous=FULL), 1,000 hosts, 64
# connections of Basic-auth POST /api/v1/hosts/reports with batches of 100 snapshots, and a
# /healthz baseline in the same run.
#   bench/reports.sh [seconds] [hosts]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-15}"
hosts="${2:-1000}"
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

echo "creating $hosts hosts…"
python3 - "$HB_LISTEN" "$hosts" <<'PY'
import base64, json, sys, http.client
host, n = sys.argv[1], int(sys.argv[2])
auth = "Basic " + base64.b64encode(b"bench:bench-password").decode()
conn = http.client.HTTPConnection(host)
for i in range(n):
    body = json.dumps({"name": f"bench-{i:04}", "interval": 5, "tags": ["bench", f"room:{i % 10}"],
                       "notify": ["ops@example.com"], "checks": {"units": ["nginx.service"]}})
    conn.request("POST", "/api/v1/hosts", body, {"Authorization": auth, "Content-Type": "application/json"})
    r = conn.getresponse(); data = r.read()
    assert r.status == 201, data
PY

auth=$(printf 'bench:bench-password' | base64)
export HB_BENCH_AUTH="$auth" HB_BENCH_HOSTS="$hosts" HB_BENCH_BATCH=100
echo "warm-up…"
wrk -t2 -c64 -d3s -s bench/report.lua "http://$HB_LISTEN" >/dev/null
echo "== GET /healthz baseline (64 connections, ${secs}s)"
wrk -t2 -c64 -d"${secs}s" --latency -s bench/healthz.lua "http://$HB_LISTEN/healthz" | grep RESULT
echo "== POST /api/v1/hosts/reports, 100 snapshots a request, $hosts hosts (64 connections, ${secs}s)"
wrk -t2 -c64 -d"${secs}s" --latency -s bench/report.lua "http://$HB_LISTEN" | tee "$work/wrk.out" | grep RESULT
rps=$(grep -o 'rps=[0-9]*' "$work/wrk.out" | cut -d= -f2)
echo "snapshots/s: $((rps * 100))"

#!/usr/bin/env bash
# healthchecks-style ping throughput: release build, SQLite durable (HB_SQLITE_SYNCHRONOUS
# left at its default, full: every reply follows a disk sync), 1,000 services, 64 wrk
# connections of unauthenticated `POST /ping/<uuid>` spread over the 1,000 UUIDs, and the
# `/healthz` rate measured in the same run (same server, same machine state).
#   bench/uuid_pings.sh [seconds] [rounds]
# Target (issue 13): pings ≥ 75 % of the /healthz rate, p99 < 10 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-15}"
rounds="${2:-1}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet --bin heartbeats
bin="$(realpath "${CARGO_TARGET_DIR:-target}")/release/heartbeats"

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export HB_LISTEN="127.0.0.1:$port" HB_DATA_DIR="$work" DATABASE_URL="sqlite://$work/heartbeats.db"
export HB_ADMIN_USER=bench HB_ADMIN_PASSWORD=bench-password RUST_LOG=warn
# Durable by default; HB_BENCH_SYNCHRONOUS=normal measures without the per-commit fsync (diagnosis only).
unset HB_SQLITE_SYNCHRONOUS
[ -n "${HB_BENCH_SYNCHRONOUS:-}" ] && export HB_SQLITE_SYNCHRONOUS="$HB_BENCH_SYNCHRONOUS"
(cd "$work" && exec "$bin" serve) &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fs "http://$HB_LISTEN/healthz" >/dev/null && break; sleep 0.1; done

echo "creating 1000 services…"
python3 - "$HB_LISTEN" "$work/uuids" <<'PY'
import base64, json, sys, http.client
host, out = sys.argv[1], sys.argv[2]
auth = "Basic " + base64.b64encode(b"bench:bench-password").decode()
conn = http.client.HTTPConnection(host)
uuids = []
for i in range(1000):
    body = json.dumps({"name": f"bench-{i:04}", "kind": "interval", "period": 3600, "grace": 300,
                       "tags": ["bench"], "notify": ["ops@example.com"]})
    conn.request("POST", "/api/v1/services", body, {"Authorization": auth, "Content-Type": "application/json"})
    r = conn.getresponse(); data = r.read()
    assert r.status == 201, data
    uuids.append(json.loads(data)["ping_uuid"])
open(out, "w").write("\n".join(uuids) + "\n")
PY

export HB_BENCH_UUIDS="$work/uuids"
echo "warm-up…"
wrk -t2 -c64 -d3s -s bench/uuid_ping.lua "http://$HB_LISTEN" >/dev/null
for round in $(seq 1 "$rounds"); do
  echo "== round $round; load: $(cut -d' ' -f1-3 /proc/loadavg)"
  h=$(wrk -t2 -c64 -d"${secs}s" --latency -s bench/healthz.lua "http://$HB_LISTEN/healthz" | grep RESULT)
  echo "GET /healthz (64 connections, ${secs}s):            $h"
  before=$(sqlite3 "$work/heartbeats.db" 'select count(*) from pings' 2>/dev/null || echo 0)
  p=$(wrk -t2 -c64 -d"${secs}s" --latency -s bench/uuid_ping.lua "http://$HB_LISTEN" | grep RESULT)
  after=$(sqlite3 "$work/heartbeats.db" 'select count(*) from pings' 2>/dev/null || echo 0)
  echo "POST /ping/<uuid>, 1000 services (64 conn, ${secs}s): $p"
  hr=$(sed -n 's/.*rps=\([0-9]*\).*/\1/p' <<<"$h")
  pr=$(sed -n 's/.*rps=\([0-9]*\).*/\1/p' <<<"$p")
  echo "ratio pings/healthz: $(python3 -c "print(f'{$pr/$hr:.0%}')")  (pings stored: $((after - before)))"
done

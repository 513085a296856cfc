#!/usr/bin/env bash
# Hosts: report ingestion, chart queries and the cost of a fleet, on SQLite (release build).
#   bench/hosts.sh [seconds] [hosts]
# 1. Ingestion: batches of 100 snapshots (16 cores, 2 disks, 2 GPUs each) from 64 wrk
#    connections for [seconds] (15), with GET /healthz measured by a second wrk in the
#    same run.
# 2. Charts: 30 days of hourly and 7 days of 1-minute roll-ups for one host (written
#    straight into the tables), then GET /api/v1/hosts/{id}/timeseries for both ranges.
# 3. A fleet: 1,000 hosts reporting every 5 s (one snapshot per request, as hb-agent push
#    does) for 60 s; the server's CPU time from /proc.
# 4. The overview: GET /api/v1/hosts?limit=1000 and the /hosts page with 1,000 hosts.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-15}"
hosts="${2:-5000}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v sqlite3 >/dev/null || { apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null; }
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
base="http://$HB_LISTEN"
auth=$(printf 'bench:bench-password' | base64)

echo "creating $hosts hosts…"
python3 - "$HB_LISTEN" "$hosts" <<'PY'
import base64, json, sys, http.client
host, n = sys.argv[1], int(sys.argv[2])
auth = "Basic " + base64.b64encode(b"bench:bench-password").decode()
conn = http.client.HTTPConnection(host)
for i in range(n):
    body = json.dumps({"name": f"bench-{i:05}", "address": f"10.0.{i // 250}.{i % 250 + 1}",
                       "interval": 5, "tags": ["bench", f"room:{700 + i % 30}"] + (["gpu"] if i % 3 == 0 else []),
                       "notify": ["ops@example.com"]})
    conn.request("POST", "/api/v1/hosts", body, {"Authorization": auth, "Content-Type": "application/json"})
    r = conn.getresponse(); data = r.read()
    assert r.status == 201, (r.status, data)
PY

export HB_BENCH_HOSTS="$hosts" HB_BENCH_BATCH=100 HB_BENCH_AUTH="$auth"
echo "warm-up…"
wrk -t2 -c64 -d3s -s bench/report_batch.lua "$base" >/dev/null
echo "== ingestion: POST /api/v1/hosts/reports, 100 snapshots a request, 64 connections, ${secs}s; /healthz alongside (4 connections)"
wrk -t1 -c4 -d"${secs}s" --latency -s bench/healthz.lua "$base/healthz" > "$work/healthz.out" &
hz=$!
wrk -t2 -c64 -d"${secs}s" --latency -s bench/report_batch.lua "$base" | tee "$work/wrk.out" | grep RESULT
wait $hz
rps=$(grep -o 'rps=[0-9]*' "$work/wrk.out" | cut -d= -f2)
echo "snapshots/s: $((rps * 100))"
echo "healthz during ingestion: $(grep RESULT "$work/healthz.out")"

echo "== charts: 30 d hourly and 7 d of 1-minute roll-ups for bench-00000"
id=$(curl -fs -u bench:bench-password "$base/api/v1/hosts?q=bench-00000&limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["hosts"][0]["id"])' 2>/dev/null \
  || curl -fs -u bench:bench-password "$base/api/v1/hosts?q=bench-00000&limit=1" | python3 -c 'import json,sys; d=json.load(sys.stdin); print((d if isinstance(d,list) else d["hosts"])[0]["id"])')
now=$(date +%s)
python3 - "$work/heartbeats.db" "$id" "$now" <<'PY'
import sqlite3, sys, math
db, hid, now = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = sqlite3.connect(db, timeout=30)
rows_h, rows_m = [], []
for metric, part in [("cpu_pct", ""), ("mem_pct", ""), ("disk_used_pct", "/"), ("gpu_util_pct", "0"), ("gpu_util_pct", "1")]:
    for h in range(30 * 24):
        b = (now // 3600 - h) * 3600 * 1000
        v = 50 + 40 * math.sin(h / 7)
        rows_h.append((hid, metric, part, b, 720, v * 720, v + 5, v - 5, v, b))
    for m in range(7 * 24 * 60):
        b = (now // 60 - m) * 60 * 1000
        v = 50 + 40 * math.sin(m / 50)
        rows_m.append((hid, metric, part, b, 12, v * 12, v + 2, v - 2, v, b))
sql = "INSERT OR REPLACE INTO {} (host_id, metric, part, bucket, n, vsum, vmax, vmin, vlast, vlast_at) VALUES (?,?,?,?,?,?,?,?,?,?)"
c.executemany(sql.format("host_hours"), rows_h)
c.executemany(sql.format("host_minutes"), rows_m)
c.commit()
print(f"{len(rows_h)} hourly and {len(rows_m)} 1-minute rows")
PY
timing() { # name url
  python3 - "$1" "$2" <<'PY'
import base64, sys, time, http.client, urllib.parse
name, url = sys.argv[1], urllib.parse.urlsplit(sys.argv[2])
auth = "Basic " + base64.b64encode(b"bench:bench-password").decode()
conn = http.client.HTTPConnection(url.netloc)
path = url.path + ("?" + url.query if url.query else "")
times, size = [], 0
for i in range(60):
    t = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": auth})
    r = conn.getresponse(); body = r.read()
    assert r.status == 200, (r.status, body[:300])
    if i >= 10: times.append((time.perf_counter() - t) * 1000)
    size = len(body)
times.sort()
print(f"{name}: p50 {times[len(times)//2]:.1f} ms, p95 {times[int(len(times)*0.95)-1]:.1f} ms, {size//1024} KB")
PY
}
timing "30 d hourly cpu_pct (720 points)" "$base/api/v1/hosts/$id/timeseries?metric=cpu_pct&from=$((now - 30*86400))&to=$now"
timing "30 d hourly gpu_util_pct, max over 2 GPUs" "$base/api/v1/hosts/$id/timeseries?metric=gpu_util_pct&agg=max&from=$((now - 30*86400))&to=$now"
timing "7 d 1-minute cpu_pct (10,080 points)" "$base/api/v1/hosts/$id/timeseries?metric=cpu_pct&step=60&from=$((now - 7*86400))&to=$now"
timing "24 h 1-minute disk_used_pct mount=/" "$base/api/v1/hosts/$id/timeseries?metric=disk_used_pct&mount=/&from=$((now - 86400))&to=$now"

echo "== a fleet: 1,000 hosts each reporting every 5 s, one snapshot a request, 60 s"
ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
before=$(ticks)
python3 - "$HB_LISTEN" <<'PY'
import base64, json, sys, time, http.client, threading
host = sys.argv[1]
auth = "Basic " + base64.b64encode(b"bench:bench-password").decode()
def body(i, k):
    cpu = (i * 7 + k) % 90
    return json.dumps({"name": f"bench-{i:05}", "interval": 5, "cpu_pct": cpu, "load1": 1.5, "load5": 1.2, "load15": 1.0, "cores": 16,
        "mem_used_bytes": 30 << 30, "mem_total_bytes": 64 << 30,
        "disks": [{"mount": "/", "used_bytes": 200 << 30, "total_bytes": 500 << 30}],
        "gpus": [{"index": 0, "util_pct": cpu, "mem_used_mb": 4096, "mem_total_mb": 81920, "temp_c": 55}]})
errors = [0]
def sender(lo, hi):
    conn = http.client.HTTPConnection(host)
    start = time.time()
    k = 0
    while time.time() - start < 60:
        t0 = time.time()
        for i in range(lo, hi):
            conn.request("POST", "/api/v1/hosts/reports", body(i, k), {"Authorization": auth, "Content-Type": "application/json"})
            r = conn.getresponse(); r.read()
            if r.status != 200: errors[0] += 1
        k += 1
        time.sleep(max(0, 5 - (time.time() - t0)))
threads = [threading.Thread(target=sender, args=(j * 100, j * 100 + 100)) for j in range(10)]
for t in threads: t.start()
for t in threads: t.join()
print(f"sent for 60 s; errors: {errors[0]}")
PY
after=$(ticks)
hz=$(getconf CLK_TCK)
python3 -c "print(f'server CPU: {($after - $before) / $hz:.2f} s in 60 s = {($after - $before) / $hz / 60 * 100:.1f}% of one core')"

echo "== the overview with 1,000 hosts"
timing "GET /api/v1/hosts?limit=1000" "$base/api/v1/hosts?limit=1000"
if curl -fs -o /dev/null "$base/hosts" 2>/dev/null || [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/hosts")" != 404 ]; then
  jar="$work/cookies"
  curl -fs -c "$jar" -o "$work/login.html" "$base/login"
  csrf=$(grep -o 'name="csrf" value="[^"]*"' "$work/login.html" | head -1 | sed 's/.*value="//; s/"$//')
  curl -fs -b "$jar" -c "$jar" -o /dev/null --data-urlencode "csrf=$csrf" --data-urlencode "username=bench" --data-urlencode "password=bench-password" "$base/login" || true
  python3 - "$base/hosts?q=bench" "$jar" <<'PY'
import sys, time, http.client, urllib.parse, http.cookiejar
url = urllib.parse.urlsplit(sys.argv[1])
jar = http.cookiejar.MozillaCookieJar(sys.argv[2]); jar.load(ignore_discard=True, ignore_expires=True)
cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
conn = http.client.HTTPConnection(url.netloc)
times = []
for i in range(40):
    t = time.perf_counter()
    conn.request("GET", url.path + "?" + url.query, headers={"Cookie": cookie})
    r = conn.getresponse(); body = r.read()
    assert r.status == 200, r.status
    if i >= 5: times.append((time.perf_counter() - t) * 1000)
times.sort()
print(f"GET /hosts (first page of the overview): p50 {times[len(times)//2]:.1f} ms, p95 {times[int(len(times)*0.95)-1]:.1f} ms, {len(body)//1024} KB")
PY
fi

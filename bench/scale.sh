#!/usr/bin/env bash
# A million services on SQLite: fill a database through the store's bulk import
# (examples/scale_fill.rs), start the real `heartbeats` binary on it and measure start-up
# (exec to the first /healthz 200), idle CPU over 30 s, RSS (idle and peak), the list
# page (first page, tag searches, a status filter, name searches, the 5 s refresh) and the
# API's pages, signed in like a browser, and one ping's latency.
#
#   bench/scale.sh [services] [requests per case]
#
# Filling a million takes about 3 minutes. HB_SCALE_DB=<file> keeps a copy of the filled
# database there and reuses it on the next run (its deadlines are hours long, so a copy
# made within the last half hour still starts quietly).
#
# Targets on a 2-core machine: list page and tag search p95 < 100 ms and < 200 KB;
# start-up < 1 s; idle CPU near zero; RSS < 50 MB idle.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000000}"
reqs="${2:-60}"
. bench/lib.sh
bench_build --example scale_fill
bench_workdir
bench_env
# The admin exists before the measured start, as on any start but the first.
after_fill() {
  echo bench-password | RUST_LOG=warn "$bin" user add bench --password-stdin >/dev/null
  sqlite3 "$work/heartbeats.db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
}
bench_fill "$n" after_fill
echo "database: $(du -h "$work/heartbeats.db" | cut -f1), $(sqlite3 "$work/heartbeats.db" "SELECT COUNT(*) FROM services") services"
sqlite3 "$work/heartbeats.db" "SELECT id FROM services ORDER BY random() LIMIT 200" > "$work/ids"
sync

echo "== start-up"
bench_serve "$work/server.log"
up=$(date +%s%N)
printf 'start-up to first /healthz 200: %d ms\n' $(( (up - server_started_ns) / 1000000 ))

cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
mem() { awk -v k="$1:" '$1 == k {printf "%.1f MB", $2 / 1024}' "/proc/$server/status"; }
sleep 2
echo "== idle, 30 s"
t0=$(cpu_ticks)
sleep 30
t1=$(cpu_ticks)
hz=$(getconf CLK_TCK)
awk -v d=$((t1 - t0)) -v hz="$hz" 'BEGIN {printf "idle CPU: %.2f%% of one core (%d ticks in 30 s)\n", 100 * d / hz / 30, d}'
echo "RSS idle (VmRSS): $(mem VmRSS)"

echo "== requests ($reqs per case; \"after a ping\": a ping lands first, so the page is rendered anew)"
python3 bench/scale_measure.py "http://$HB_LISTEN" bench bench-password "$work/ids" "$reqs" "/proc/$server"
echo "RSS after the requests (VmRSS): $(mem VmRSS); peak (VmHWM): $(mem VmHWM)"

#!/usr/bin/env bash
# A Prometheus scrape of many services: fill a SQLite database through the store's bulk
# import (examples/scale_fill.rs), start the real `heartbeats` binary with
# HB_METRICS_LISTEN, and time `GET /metrics` (wall time, body size, the server's CPU and
# peak RSS), then check the body with `promtool check metrics`.
#
#   bench/metrics.sh [services] [scrapes]
#
# HB_SCALE_DB=<file> reuses (or keeps) a filled database, as bench/scale.sh does;
# HB_BENCH_PROFILE=debug uses the debug build (when no release build is at hand).
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-100000}"
scrapes="${2:-5}"
. bench/lib.sh
bench_build --example scale_fill
bench_workdir
bench_env
bench_fill "$n"
echo "database: $(sqlite3 "$work/heartbeats.db" "SELECT COUNT(*) FROM services") services"
export HB_METRICS_LISTEN="127.0.0.1:$(free_port)"
bench_serve "$work/server.log"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
hz=$(getconf CLK_TCK)
echo "== $scrapes scrapes of http://$HB_METRICS_LISTEN/metrics"
for i in $(seq 1 "$scrapes"); do
  t0=$(cpu_ticks)
  curl -fsS -o "$work/body" -w "scrape $i: %{time_total} s, first byte %{time_starttransfer} s, %{size_download} bytes\n" \
    "http://$HB_METRICS_LISTEN/metrics"
  t1=$(cpu_ticks)
  awk -v d=$((t1 - t0)) -v hz="$hz" 'BEGIN {printf "  server CPU %.2f s\n", d / hz}'
done
echo "lines: $(wc -l < "$work/body"); hb_services: $(grep '^hb_services{' "$work/body" | tr '\n' ' ')"
echo "RSS now / peak: $(awk '$1=="VmRSS:"{printf "%.0f MB", $2/1024}' /proc/$server/status) / $(awk '$1=="VmHWM:"{printf "%.0f MB", $2/1024}' /proc/$server/status)"
if command -v promtool >/dev/null; then
  echo "== promtool check metrics"
  if out=$(promtool check metrics < "$work/body" 2>&1) && [ -z "$out" ]; then
    echo "no problems"
  else
    echo "$out" | head -20
  fi
fi

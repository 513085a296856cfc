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
. bench/lib.sh
bench_build
bench_workdir
bench_env
# Durable by default; HB_BENCH_SYNCHRONOUS=normal measures without the per-commit fsync (diagnosis only).
unset HB_SQLITE_SYNCHRONOUS
[ -n "${HB_BENCH_SYNCHRONOUS:-}" ] && export HB_SQLITE_SYNCHRONOUS="$HB_BENCH_SYNCHRONOUS"
bench_serve

echo "creating 1000 services…"
bench_create_services 1000 "$work/uuids" ping_uuid

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

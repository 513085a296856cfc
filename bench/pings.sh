#!/usr/bin/env bash
# Ping throughput: release build, SQLite (synchronous=FULL: every reply follows a disk sync),
# 1,000 services, 64 connections of Basic-auth pings from wrk, and a /healthz baseline.
#   bench/pings.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-15}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
. bench/lib.sh
bench_build
bench_workdir
bench_env
bench_serve

echo "creating 1000 services…"
bench_create_services 1000 "$work/ids" id

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

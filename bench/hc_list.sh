#!/usr/bin/env bash
# The healthchecks API's check list at scale: fill a SQLite database through the store's
# bulk import (examples/scale_fill.rs), give every service some pings, start the real
# `heartbeats` binary and time `GET /api/v3/checks/` (every check, streamed a page at a
# time), a tag of about 6 % and one slug, with an API key as healthchecks' clients send
# it: wall time, first byte, body size, the server's CPU, and its RSS before and at peak.
# One more pass checks the whole body: its ends and one `ping_url` per service.
#
#   bench/hc_list.sh [services] [pings per service] [requests per case]
#
# HB_SCALE_DB=<file> reuses (or keeps) a filled database, as bench/scale.sh does;
# HB_BENCH_PROFILE=debug uses the debug build (when no release build is at hand).
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000000}"
per="${2:-1}"
reqs="${3:-3}"
target="$(realpath "${CARGO_TARGET_DIR:-target}")"
profile="${HB_BENCH_PROFILE:-release}"
if [ "$profile" = release ]; then
  cargo build --release --quiet --bin heartbeats --example scale_fill
else
  cargo build --quiet --bin heartbeats --example scale_fill
fi
bin="$target/$profile/heartbeats"

work=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
export DATABASE_URL="sqlite://$work/heartbeats.db" HB_DATA_DIR="$work" RUST_LOG=warn
if [ -n "${HB_SCALE_DB:-}" ] && [ -f "$HB_SCALE_DB" ]; then
  echo "== reusing $HB_SCALE_DB"
  cp "$HB_SCALE_DB" "$work/heartbeats.db"
else
  echo "== filling $n services"
  "$target/$profile/examples/scale_fill" "$DATABASE_URL" "$n"
  echo bench-password | "$bin" user add bench --password-stdin >/dev/null
  if [ "$per" -gt 0 ]; then
    echo "== $per ping(s) per service"
    t0=$(date +%s)
    sqlite3 "$work/heartbeats.db" "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < $per) \
      INSERT INTO pings (service_id, at, kind, data) SELECT s.id, 1000 + k.i, 'success', '' FROM services s, k;
      UPDATE pings SET prev_id = c.prev FROM (SELECT id, LAG(id) OVER (PARTITION BY service_id ORDER BY id) AS prev FROM pings) c
        WHERE c.id = pings.id AND c.prev IS NOT NULL;
      UPDATE services SET last_ping_id = a.last, ping_count = a.n
        FROM (SELECT service_id, MAX(id) AS last, COUNT(*) AS n FROM pings GROUP BY service_id) a WHERE a.service_id = services.id"
    echo "  in $(( $(date +%s) - t0 )) s"
  fi
  sqlite3 "$work/heartbeats.db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
  [ -n "${HB_SCALE_DB:-}" ] && cp "$work/heartbeats.db" "$HB_SCALE_DB"
fi
total=$(sqlite3 "$work/heartbeats.db" "SELECT COUNT(*) FROM services")
echo "database: $(du -h "$work/heartbeats.db" | cut -f1), $total services, $(sqlite3 "$work/heartbeats.db" "SELECT COUNT(*) FROM pings") pings"
key=$("$bin" apikey create --user bench --name bench 2>/dev/null)
slug=$(sqlite3 "$work/heartbeats.db" "SELECT slug FROM services ORDER BY random() LIMIT 1")

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export HB_LISTEN="127.0.0.1:$port"
(cd "$work" && exec "$bin" serve) >"$work/server.log" 2>&1 &
server=$!
until curl -fs -o /dev/null "http://$HB_LISTEN/healthz"; do
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.05
done
sleep 2

cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
mem() { awk -v k="$1:" '$1 == k {printf "%.1f MB", $2 / 1024}' "/proc/$server/status"; }
hz=$(getconf CLK_TCK)
echo "RSS before (VmRSS): $(mem VmRSS)"
base="http://$HB_LISTEN/api/v3/checks/"
for case in "all:" "tag=gpu:?tag=gpu" "slug:?slug=$slug"; do
  name="${case%%:*}"
  query="${case#*:}"
  echo "== $name ($reqs requests)"
  for i in $(seq 1 "$reqs"); do
    t0=$(cpu_ticks)
    curl -fsS -o /dev/null -H "X-Api-Key: $key" \
      -w "  %{time_total} s, first byte %{time_starttransfer} s, %{size_download} bytes" \
      "$base$query"
    t1=$(cpu_ticks)
    awk -v d=$((t1 - t0)) -v hz="$hz" 'BEGIN {printf ", server CPU %.2f s\n", d / hz}'
  done
  echo "  RSS now $(mem VmRSS), peak (VmHWM) $(mem VmHWM)"
done

echo "== the whole list checked"
curl -fsS -H "X-Api-Key: $key" -o "$work/body" "$base"
head -c 11 "$work/body"; echo " … $(tail -c 2 "$work/body")"
found=$(tr ',' '\n' <"$work/body" | grep -c '^"ping_url"')
rm -f "$work/body"
echo "checks in the body: $found of $total"
[ "$found" = "$total" ] || { echo "MISMATCH"; exit 1; }

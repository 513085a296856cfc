#!/usr/bin/env bash
# hb-agent push: the agent's footprint while it reports this machine every 5 s over its
# WebSocket to a release server on SQLite (release builds of both).
#   bench/agent_push.sh [seconds]
# Prints the agent's peak RSS (VmHWM), its RSS at the end, and its CPU share of one core
# over the run: its own, and with the collection's children (sh, ps, df) that it waited for.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
cargo build --release --quiet --bin heartbeats -p heartbeats
cargo build --release --quiet --bin hb-agent -p hb-agent
target="$(realpath "${CARGO_TARGET_DIR:-target}")/release"

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export HB_LISTEN="127.0.0.1:$port" HB_DATA_DIR="$work" DATABASE_URL="sqlite://$work/heartbeats.db"
export HB_ADMIN_USER=bench HB_ADMIN_PASSWORD=bench-password RUST_LOG=warn
(cd "$work" && exec "$target/heartbeats" serve) &
server=$!
agent=""
trap 'kill $server $agent 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fs "http://$HB_LISTEN/healthz" >/dev/null && break; sleep 0.1; done
base="http://$HB_LISTEN"

(cd "$work" && "$target/heartbeats" apikey create --user bench --name push --scope ping 2>/dev/null) > "$work/key"
curl -fs -u bench:bench-password -H 'content-type: application/json' \
  -d '{"name": "bench-push", "interval": 5}' "$base/api/v1/hosts" > "$work/host.json"
id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$work/host.json")

RUST_LOG=info "$target/hb-agent" push --server "$base" --key-file "$work/key" \
  --name bench-push --interval 5 2> "$work/agent.log" &
agent=$!
tick=$(getconf CLK_TCK)
# utime stime cutime cstime: fields 14-17 of /proc/PID/stat (the name has no spaces here).
cpu() { awk -v t="$tick" '{printf "%d %d\n", $14 + $15, $14 + $15 + $16 + $17}' "/proc/$agent/stat"; }
sleep 2
read -r own0 all0 < <(cpu)
start=$(date +%s.%N)
sleep "$secs"
read -r own1 all1 < <(cpu)
end=$(date +%s.%N)
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$agent/status")
rss=$(awk '/VmRSS/ {print $2}' "/proc/$agent/status")
status=$(curl -fs -u bench:bench-password "$base/api/v1/hosts/$id" | python3 -c 'import json,sys; h=json.load(sys.stdin); print(h["status"], h["last_report_at"])')
python3 - "$own0" "$own1" "$all0" "$all1" "$start" "$end" "$tick" "$hwm" "$rss" <<'PY'
import sys
own0, own1, all0, all1 = map(int, sys.argv[1:5])
start, end, tick = float(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7])
hwm, rss = int(sys.argv[8]), int(sys.argv[9])
wall = end - start
print(f"run: {wall:.1f} s at a 5 s interval")
print(f"agent peak RSS (VmHWM): {hwm / 1024:.1f} MiB; RSS at the end: {rss / 1024:.1f} MiB")
print(f"agent CPU: {100 * (own1 - own0) / tick / wall:.2f} % of one core "
      f"({(own1 - own0) / tick:.2f} s); with its collection children: "
      f"{100 * (all1 - all0) / tick / wall:.2f} % ({(all1 - all0) / tick:.2f} s)")
PY
echo "host: $status"
echo "agent log (last lines):"; tail -n 3 "$work/agent.log"

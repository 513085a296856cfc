#!/usr/bin/env bash
# Benchmark: `hb-agent watch` over N hosts (default 50) every INTERVAL seconds (default 5)
# for DURATION seconds (default 120), all of them the same throwaway OpenSSH sshd on
# 127.0.0.1, with the release binary; run twice, with one persistent master connection
# per host (the default) and with --no-multiplex (a new connection and key exchange per
# cycle), so the gain is a ratio measured in one run.
#
#   agent/bench/watch.sh
#   HOSTS=100 INTERVAL=10 DURATION=60 agent/bench/watch.sh
#   KEX=curve25519-sha256 agent/bench/watch.sh     # ssh.options: [KexAlgorithms=...]
#
# Per mode it prints:
#   - CPU: user+sys of the agent and every ssh process it ran (GNU time, children
#     included), as a share of one core over the run;
#   - cycle: how long one host's collection took (1 s of it is the CPU sampling), p50,
#     p95 and max over the run, from the agent's own summary line at exit;
#   - RSS: the agent's peak (VmHWM), its ssh children not included.
# The host list and the reports endpoint are a small Python stand-in for the server
# (its CPU, and sshd's, are not counted). Targets: CPU < 10 % of a core, every cycle
# < 2 s, RSS < 30 MB.
#
# Needs root (sshd's privilege separation), openssh-server, python3 and GNU time.
# Honours CARGO_TARGET_DIR.
set -euo pipefail

HOSTS=${HOSTS:-50}
INTERVAL=${INTERVAL:-5}
DURATION=${DURATION:-120}
KEX=${KEX:-}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

need() { command -v "$1" >/dev/null 2>&1 || [ -x "$1" ]; }
if ! need /usr/sbin/sshd || ! need ssh || ! need /usr/bin/time; then
	apt-get update -qq && apt-get install -y -qq openssh-server openssh-client time >/dev/null
fi
need python3 || { echo "needs python3"; exit 1; }

(cd "$ROOT" && CARGO_TARGET_DIR=$TARGET cargo build --release -q -p hb-agent)
BIN=$TARGET/release/hb-agent

WORK=$(mktemp -d)
SSHD_PID=""
API_PID=""
cleanup() {
	# Each step may fail (already gone) without stopping the rest: set -e is on.
	if [ -n "$API_PID" ]; then kill "$API_PID" 2>/dev/null || true; wait "$API_PID" 2>/dev/null || true; fi
	if [ -n "$SSHD_PID" ]; then kill "$SSHD_PID" 2>/dev/null || true; wait "$SSHD_PID" 2>/dev/null || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT

ssh-keygen -q -t ed25519 -N "" -C hb-bench -f "$WORK/host_key"
ssh-keygen -q -t ed25519 -N "" -C hb-bench -f "$WORK/user_key"
cp "$WORK/user_key.pub" "$WORK/authorized_keys"
mkdir -p /run/sshd

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

for _ in 1 2 3 4 5; do
	PORT=$((20000 + RANDOM % 40000))
	listening "$PORT" && continue
	cat >"$WORK/sshd_config" <<CONF
Port $PORT
ListenAddress 127.0.0.1
HostKey $WORK/host_key
PidFile $WORK/sshd.pid
AuthorizedKeysFile $WORK/authorized_keys
StrictModes no
PermitRootLogin prohibit-password
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
MaxStartups 500
MaxSessions 500
LogLevel ERROR
# See fleet.sh: keeps Debian's bash from sourcing a dev machine's ~/.bashrc per session.
SetEnv SHLVL=1
CONF
	/usr/sbin/sshd -D -e -f "$WORK/sshd_config" 2>"$WORK/sshd.log" &
	SSHD_PID=$!
	for _ in $(seq 100); do listening "$PORT" && break 2; sleep 0.05; done
	kill "$SSHD_PID" 2>/dev/null || true
	SSHD_PID=""
done
[ -n "$SSHD_PID" ] || { echo "sshd did not start:"; cat "$WORK/sshd.log"; exit 1; }
echo "[127.0.0.1]:$PORT $(cat "$WORK/host_key.pub")" >"$WORK/known_hosts"

# The server's two endpoints as `watch` uses them: the host list, and reports counted.
cat >"$WORK/api.py" <<'PY'
import json, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
hosts, interval, counter = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
listing = json.dumps({"hosts": [
    {"id": f"h{i:03}", "name": f"host-{i:03}", "address": "127.0.0.1", "interval": interval,
     "ssh": {}, "processes": [], "units": [], "discover_units": False}
    for i in range(1, hosts + 1)]}).encode()
lock, stats = threading.Lock(), {"reports": 0, "errors": 0, "requests": 0}
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def reply(self, body):
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_GET(self): self.reply(listing)
    def do_POST(self):
        batch = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["reports"]
        with lock:
            stats["requests"] += 1; stats["reports"] += len(batch)
            stats["errors"] += sum(1 for r in batch if r.get("error"))
            open(counter, "w").write(json.dumps(stats))
        self.reply(json.dumps({"ok": True, "accepted": len(batch), "hosts": []}).encode())
srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
PY
python3 "$WORK/api.py" "$HOSTS" "$INTERVAL" "$WORK/counts.json" >"$WORK/api.port" &
API_PID=$!
for _ in $(seq 100); do [ -s "$WORK/api.port" ] && break; sleep 0.05; done
API_PORT=$(cat "$WORK/api.port")

cat >"$WORK/watch.yaml" <<CONF
server: {url: "http://127.0.0.1:$API_PORT", api_key: bench}
ssh:
  user: $(id -un)
  port: $PORT
  private_key: $WORK/user_key
  known_hosts: $WORK/known_hosts
  parallelism: $HOSTS
  command_timeout: 30s
  options: [${KEX:+KexAlgorithms=$KEX}]
collect:
  sample_interval: 1
CONF

field() { sed -n "s/.*[ ;]$1=\([0-9]*\).*/\1/p" "$2" | tail -1; }

# One mode: runs the agent for DURATION s, stops it with SIGTERM, prints one table row.
bench() {
	local mode=$1 flag=$2
	local seen_before
	seen_before=$(sed -n 's/.*"reports": \([0-9]*\).*/\1/p' "$WORK/counts.json" 2>/dev/null || true)
	RUST_LOG=info /usr/bin/time -v -o "$WORK/time-$mode.txt" \
		"$BIN" watch --config "$WORK/watch.yaml" --stats-every 30 $flag 2>"$WORK/agent-$mode.log" &
	local time_pid=$!
	local agent_pid=""
	for _ in $(seq 100); do
		agent_pid=$(pgrep -P "$time_pid" -x hb-agent || true)
		[ -n "$agent_pid" ] && break
		sleep 0.05
	done
	# CPU so far of the agent, the ssh clients it reaped and the masters still running.
	cpu_now() {
		local hz total
		hz=$(getconf CLK_TCK)
		total=$(awk -v hz="$hz" '{ printf "%.2f", ($14 + $15 + $16 + $17) / hz }' "/proc/$agent_pid/stat")
		for child in $(pgrep -P "$agent_pid" || true); do
			total=$(awk -v t="$total" -v hz="$hz" '{ printf "%.2f", t + ($14 + $15) / hz }' "/proc/$child/stat" 2>/dev/null || echo "$total")
		done
		echo "$total"
	}
	# The second half shows the steady state: every master open, one command per cycle.
	local half=$((DURATION / 2))
	sleep "$half"
	local cpu_half
	cpu_half=$(cpu_now)
	sleep "$((DURATION - half))"
	local cpu_end
	cpu_end=$(cpu_now)
	STEADY=$(awk -v a="$cpu_half" -v b="$cpu_end" -v d="$((DURATION - half))" 'BEGIN { printf "%.2f s = %.1f %% of a core", b - a, 100 * (b - a) / d }')
	local hwm_kb
	hwm_kb=$(awk '/VmHWM/ {print $2}' "/proc/$agent_pid/status")
	# Where the CPU went, just before the stop: the agent itself, the ssh clients it ran
	# and reaped (one per cycle with --no-multiplex), and the masters and sessions still running.
	local hz self reaped masters_cpu
	hz=$(getconf CLK_TCK)
	read -r self reaped < <(awk -v hz="$hz" '{ printf "%.2f %.2f\n", ($14 + $15) / hz, ($16 + $17) / hz }' "/proc/$agent_pid/stat")
	masters_cpu=0
	for child in $(pgrep -P "$agent_pid" || true); do
		masters_cpu=$(awk -v m="$masters_cpu" -v hz="$hz" '{ printf "%.2f", m + ($14 + $15) / hz }' "/proc/$child/stat" 2>/dev/null || echo "$masters_cpu")
	done
	SPLIT="agent ${self} s, ssh clients ${reaped} s, masters and sessions ${masters_cpu} s (before the stop)"
	kill -TERM "$agent_pid"
	wait "$time_pid" || true
	local cpu
	cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.2f", u+s}' "$WORK/time-$mode.txt")
	local log=$WORK/agent-$mode.log
	local summary
	summary=$(grep "whole run" "$log" | tail -1)
	echo "$summary" >"$WORK/summary-$mode.txt"
	local p50 p95 max collections failures overruns masters
	p50=$(field cycle_ms_p50 "$WORK/summary-$mode.txt")
	p95=$(field cycle_ms_p95 "$WORK/summary-$mode.txt")
	max=$(field cycle_ms_max "$WORK/summary-$mode.txt")
	collections=$(field collections "$WORK/summary-$mode.txt")
	failures=$(field failures "$WORK/summary-$mode.txt")
	overruns=$(field overruns "$WORK/summary-$mode.txt")
	masters=$(field masters_opened "$WORK/summary-$mode.txt")
	local share
	share=$(awk -v c="$cpu" -v d="$DURATION" 'BEGIN { printf "%.1f", 100 * c / d }')
	printf "%-13s %6s s %6s %%  %5s / %5s / %5s ms  %6s MB  %6s  %4s  %4s  %3s  %s\n" \
		"$mode" "$cpu" "$share" "$p50" "$p95" "$max" "$(awk -v k="$hwm_kb" 'BEGIN { printf "%.1f", k / 1024 }')" \
		"$collections" "$failures" "$overruns" "$masters" \
		"$(($(sed -n 's/.*"reports": \([0-9]*\).*/\1/p' "$WORK/counts.json") - ${seen_before:-0}))"
	echo "              CPU split: $SPLIT"
	echo "              second half alone (steady state): $STEADY"
	local v=${mode//-/_}
	eval "CPU_$v=$cpu; MAX_$v=$max; RSS_$v=$hwm_kb; FAIL_$v=$failures"
}

echo "hosts: $HOSTS every $INTERVAL s for $DURATION s; sampling 1 s; kex ${KEX:-OpenSSH default}; $(nproc) cores, $(uname -sr), $(ssh -V 2>&1)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-13s %8s %8s  %-25s  %9s  %6s  %4s  %4s  %3s  %s\n" mode "CPU" "/core" "cycle p50 / p95 / max" "RSS" "cycles" "fail" "late" "mst" "reports received"
bench multiplex ""
bench no-multiplex "--no-multiplex"
echo "CPU ratio (no-multiplex / multiplex): $(awk -v a="$CPU_multiplex" -v b="$CPU_no_multiplex" 'BEGIN { printf "%.1f", b / a }')x"

ok=1
awk -v c="$CPU_multiplex" -v d="$DURATION" 'BEGIN { exit !(c / d < 0.10) }' || ok=0
[ "${MAX_multiplex:-99999}" -lt 2000 ] || ok=0
[ "${RSS_multiplex:-99999999}" -lt 30720 ] || ok=0
[ "${FAIL_multiplex:-1}" -eq 0 ] || ok=0
if [ $ok = 1 ]; then echo "result (multiplex vs targets): PASS"; else echo "result (multiplex vs targets): FAIL"; exit 1; fi

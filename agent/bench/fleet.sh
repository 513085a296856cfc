#!/usr/bin/env bash
# Benchmark: one hb-agent pass over N hosts (default 50), all of them SSH sessions to
# a throwaway OpenSSH sshd on 127.0.0.1, with the release binary. Reports wall time
# (target: sampling interval + 2 s) and the agent's peak RSS (target: < 30 MB).
#
#   agent/bench/fleet.sh            # 50 hosts, parallelism 50, 1 s sampling
#   HOSTS=100 agent/bench/fleet.sh
#   KEX=curve25519-sha256 agent/bench/fleet.sh   # ssh.options: [KexAlgorithms=...]
#
# Needs root (sshd's privilege separation), openssh-server, and GNU time; installs
# the last two with apt-get when missing. Honours CARGO_TARGET_DIR.
set -euo pipefail

HOSTS=${HOSTS:-50}
SAMPLE=${SAMPLE:-1}
KEX=${KEX:-}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

need() { command -v "$1" >/dev/null 2>&1 || [ -x "$1" ]; }
if ! need /usr/sbin/sshd || ! need ssh || ! need /usr/bin/time; then
	apt-get update -qq && apt-get install -y -qq openssh-server openssh-client time >/dev/null
fi

(cd "$ROOT" && CARGO_TARGET_DIR=$TARGET cargo build --release -q -p hb-agent)
BIN=$TARGET/release/hb-agent

WORK=$(mktemp -d)
SSHD_PID=""
cleanup() {
	[ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null && wait "$SSHD_PID" 2>/dev/null
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
# Debian's bash sources ~/.bashrc for commands run by sshd unless SHLVL says it is
# nested. A dev machine's root .bashrc (pyenv init: ~0.1 s of CPU per session) is not
# what a fleet host runs, and here every "host" shares this machine's 2 cores.
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
{
	cat <<CONF
server: {url: "http://127.0.0.1:9", service: bench}
ssh:
  user: $(id -un)
  port: $PORT
  private_key: $WORK/user_key
  known_hosts: $WORK/known_hosts
  parallelism: $HOSTS
  command_timeout: 30s
  options: [${KEX:+KexAlgorithms=$KEX}]
collect:
  sample_interval: $SAMPLE
defaults:
  thresholds: {cpu: off, memory: 100, disk: 100}
hosts:
CONF
	for i in $(seq -w 1 "$HOSTS"); do
		echo "  - {address: 127.0.0.1, name: host-$i}"
	done
} >"$WORK/config.yaml"

LOAD_BEFORE=$(cut -d" " -f1-3 /proc/loadavg)
/usr/bin/time -v "$BIN" check --json --config "$WORK/config.yaml" >"$WORK/report.json" 2>"$WORK/time.txt" || true

wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/time.txt")
wall_s=$(echo "$wall" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f", s }')
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")
collected=$(grep -c '"error": null' "$WORK/report.json" || true)
failed=$(grep -o '"error": "[^"]*"' "$WORK/report.json" | sort | uniq -c || true)

echo "hosts:            $HOSTS (parallelism $HOSTS, sampling ${SAMPLE} s, kex ${KEX:-OpenSSH default})"
echo "load before:      $LOAD_BEFORE"
echo "collected:        $collected / $HOSTS"
[ -n "$failed" ] && echo "failures:         $failed"
echo "wall time:        ${wall_s} s   (target <= $(awk -v s="$SAMPLE" "BEGIN { print s + 2 }") s)"
echo "peak RSS (agent): $((rss_kb / 1024)) MB (${rss_kb} kB; target < 30 MB)"
echo "CPU, agent + ssh clients: $(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.2f s user+sys", u+s}' "$WORK/time.txt")"
echo "machine:          $(nproc) cores, $(uname -sr)"

ok=1
[ "$collected" -eq "$HOSTS" ] || ok=0
awk -v w="$wall_s" -v t="$SAMPLE" 'BEGIN { exit !(w <= t + 2) }' || ok=0
[ "$rss_kb" -lt 30720 ] || ok=0
if [ $ok = 1 ]; then echo "result:           PASS"; else echo "result:           FAIL"; exit 1; fi

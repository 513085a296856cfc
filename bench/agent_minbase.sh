#!/usr/bin/env bash
# The release hb-agent on a minimal Debian 12 (`debootstrap --variant=minbase`): `check` with
# a `local: true` config and `push` to a server on this machine, inside a chroot. Not part
# of CI: it downloads the base system from deb.debian.org (about 90 MB) and needs root.
#   bench/agent_minbase.sh [chroot dir]     (kept between runs; default /var/tmp/hb-minbase)
set -euo pipefail
cd "$(dirname "$0")/.."
root="${1:-/var/tmp/hb-minbase}"
command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
if [ ! -x "$root/bin/sh" ]; then
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >/dev/null
fi
cargo build --release --quiet --bin hb-agent -p hb-agent
cargo build --release --quiet --bin heartbeats -p heartbeats
target="$(realpath "${CARGO_TARGET_DIR:-target}")/release"
install -m 755 "$target/hb-agent" "$root/usr/local/bin/hb-agent"
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
work=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; umount "$root/proc" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

echo "== what minbase has"
for tool in sh head cat grep sleep df ps timeout getconf nproc ssh; do
  printf '%-8s %s\n' "$tool" "$(chroot "$root" sh -c "command -v $tool || echo MISSING")"
done

echo "== hb-agent check (local: true)"
cat > "$root/etc/hb-agent.yaml" <<'YAML'
server:
  url: http://127.0.0.1:9
  service: none
hosts:
  - name: minbase
    local: true
YAML
set +e
chroot "$root" /usr/local/bin/hb-agent check --config /etc/hb-agent.yaml
echo "exit status: $?"
set -e

echo "== hb-agent push to a server on this machine"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export HB_LISTEN="127.0.0.1:$port" HB_DATA_DIR="$work" DATABASE_URL="sqlite://$work/heartbeats.db"
export HB_ADMIN_USER=bench HB_ADMIN_PASSWORD=bench-password RUST_LOG=warn
(cd "$work" && exec "$target/heartbeats" serve) &
server=$!
for _ in $(seq 1 100); do curl -fs "http://$HB_LISTEN/healthz" >/dev/null && break; sleep 0.1; done
key=$(cd "$work" && "$target/heartbeats" apikey create --user bench --scope ping 2>/dev/null)
curl -fs -u bench:bench-password -H 'content-type: application/json' \
  -d '{"name": "minbase", "interval": 5}' "http://$HB_LISTEN/api/v1/hosts" >/dev/null
printf '%s\n' "$key" > "$root/etc/hb-agent.key"
timeout 12 chroot "$root" /usr/local/bin/hb-agent push --server "http://$HB_LISTEN" \
  --key-file /etc/hb-agent.key --name minbase --interval 5 || true
curl -fs -u bench:bench-password "http://$HB_LISTEN/api/v1/hosts?limit=10" | python3 -c '
import json, sys
for h in json.load(sys.stdin):
    print("server sees", h["name"], h["status"], "problems:", h["problems"], "last report:", h["last_report_at"])'

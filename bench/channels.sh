#!/usr/bin/env bash
# 1,000 services fall due at once, each alerting one webhook channel and one mail address:
# the time from the scheduler run until a loopback webhook receiver and a loopback SMTP
# server (aiosmtpd) accepted every message, with burst grouping off (a request and a mail
# per alert) and on (one message per destination for the burst).
#
#   bench/channels.sh [services]
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import aiosmtpd' 2>/dev/null || python3 -m pip install --quiet aiosmtpd
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
n=${1:-1000}
cargo build --release --quiet --example alert_burst
for grouping in off on; do
  smtp_port=$(free_port)
  hook_port=$(free_port)
  work=$(mktemp -d)
  PYTHONPATH=bench python3 -m aiosmtpd -n -l "127.0.0.1:$smtp_port" -c smtp_counter.Store "$work/md" &
  smtp=$!
  python3 bench/webhook_counter.py "$hook_port" "$work/hook" &
  hook=$!
  for port in "$smtp_port" "$hook_port"; do
    for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
  done
  cargo run --release --quiet --example alert_burst -- "$smtp_port" "$n" \
    "http://127.0.0.1:$hook_port/hook" "$grouping"
  sleep 0.2
  kill "$smtp" "$hook" 2>/dev/null || true
  wait "$smtp" "$hook" 2>/dev/null || true
  echo "grouping $grouping: mails accepted $(ls "$work/md" 2>/dev/null | wc -l), webhook requests (count bytes) $(cat "$work/hook" 2>/dev/null || echo '0 0')"
  rm -rf "$work"
done

#!/usr/bin/env bash
# 1,000 services fall due at once; every alert must be accepted by a loopback SMTP server
# (aiosmtpd) within 2 s. Prints the time from the scheduler run to the last acceptance.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import aiosmtpd' 2>/dev/null || python3 -m pip install --quiet aiosmtpd
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
maildir=$(mktemp -d)
PYTHONPATH=bench python3 -m aiosmtpd -n -l "127.0.0.1:$port" -c smtp_counter.Store "$maildir/md" &
smtp=$!
trap 'kill $smtp 2>/dev/null; rm -rf "$maildir"' EXIT
for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
cargo run --release --quiet --example alert_burst -- "$port" "${1:-1000}"
echo "messages the SMTP server accepted: $(ls "$maildir/md" | wc -l)"

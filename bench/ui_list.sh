#!/usr/bin/env bash
# Services list render time: release build, SQLite, 5,000 services (80% pinged, mixed
# interval/daily/cron schedules, 1-4 tags each), measured in process and over HTTP
# (signed-in GET /, cold and cached, a two-tag search, and the 5 s refresh when nothing
# changed).
#   bench/ui_list.sh [services] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --example ui_list_bench
"$(realpath "${CARGO_TARGET_DIR:-target}")/release/examples/ui_list_bench" "${1:-5000}" "${2:-30}"

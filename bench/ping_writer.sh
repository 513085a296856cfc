#!/usr/bin/env bash
# The ping writer alone (examples/ping_writer.rs): `store::pings::write_batch` on a fresh
# SQLite file with 1,000 services, batches of success pings by ping UUID, no HTTP. For
# judging a change to the writer in seconds; bench/uuid_pings.sh measures the whole server.
#   bench/ping_writer.sh [batch size] [batches] [full|normal]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --example ping_writer
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$(realpath "${CARGO_TARGET_DIR:-target}")/release/examples/ping_writer" \
  "sqlite://$work/heartbeats.db" "${1:-64}" "${2:-500}" "${3:-full}"

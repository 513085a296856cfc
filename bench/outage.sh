#!/usr/bin/env bash
# How fast requests are answered while the database is away, and how fast service comes
# back: release build on PostgreSQL and MariaDB, reached through bench/tcp_proxy.py, which
# is killed to stop "the database" (the real servers are shared and stay up) and started
# again to bring it back. Each figure is curl's time_total.
#   bench/outage.sh [postgres|mysql ...]     (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
backends=("$@")
[ ${#backends[@]} -gt 0 ] || backends=(postgres mysql)
cargo build --release --quiet --bin heartbeats
bin="$(realpath "${CARGO_TARGET_DIR:-target}")/release/heartbeats"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
auth=(-u bench:bench-password)

# curl's status and time for one request: "503 2.003"
timed() { curl -s -o /dev/null -w '%{http_code} %{time_total}' "$@"; }

measure() {
  local backend=$1 db="hb_bench_outage_$$" upstream url
  case $backend in
    postgres) upstream=127.0.0.1:5432
              psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db"
              drop_db() { psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"; }
              url_for() { echo "postgres://postgres@127.0.0.1:$1/$db"; } ;;
    mysql)    upstream=127.0.0.1:3306
              mysql -h 127.0.0.1 -u root -e "CREATE DATABASE $db"
              drop_db() { mysql -h 127.0.0.1 -u root -e "DROP DATABASE IF EXISTS $db"; }
              url_for() { echo "mysql://root@127.0.0.1:$1/$db"; } ;;
    *) echo "unknown backend $backend" >&2; exit 2 ;;
  esac
  local work proxy_port port
  work=$(mktemp -d); proxy_port=$(free_port); port=$(free_port)
  python3 bench/tcp_proxy.py "$proxy_port" "$upstream" & proxy=$!
  sleep 0.3
  (cd "$work" && HB_LISTEN="127.0.0.1:$port" HB_DATA_DIR="$work" DATABASE_URL="$(url_for "$proxy_port")" \
     HB_ADMIN_USER=bench HB_ADMIN_PASSWORD=bench-password RUST_LOG=warn exec "$bin" serve >"$work/server.log" 2>&1) & server=$!
  cleanup() { kill $server $proxy 2>/dev/null || true; wait $server 2>/dev/null || true; drop_db; rm -rf "$work"; }
  trap cleanup EXIT
  local base="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.1; done
  local id
  id=$(curl -fs "${auth[@]}" -H 'content-type: application/json' "$base/api/v1/services" \
        -d '{"name":"outage","kind":"interval","period":3600,"grace":60}' |
       python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  curl -fs "${auth[@]}" -X POST "$base/api/pings?service=$id&data=" >/dev/null

  echo "== $backend: database up"
  echo "ping:    $(timed "${auth[@]}" -X POST "$base/api/pings?service=$id&data=")"
  kill $proxy; wait $proxy 2>/dev/null || true
  echo "== $backend: database stopped (status seconds; 5 of each, one after another)"
  for what in ping api healthz; do
    local line=""
    for _ in 1 2 3 4 5; do
      case $what in
        ping)    r=$(timed "${auth[@]}" -X POST "$base/api/pings?service=$id&data=") ;;
        api)     r=$(timed "${auth[@]}" "$base/api/v1/services/$id") ;;
        healthz) r=$(timed "$base/healthz") ;;
      esac
      line+="  $r"
    done
    printf '%-8s%s\n' "$what:" "$line"
  done
  echo -n "20 pings at once: "
  { for _ in $(seq 1 20); do
      curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "${auth[@]}" -X POST "$base/api/pings?service=$id&data=x" &
    done; wait; } |
    awk '{c[$1]++; if ($2 > max) max = $2} END {for (s in c) printf "%s x%d, ", s, c[s]; printf "slowest %.3f s\n", max}'
  python3 bench/tcp_proxy.py "$proxy_port" "$upstream" & proxy=$!
  sleep 0.3
  echo "== $backend: database back"
  echo "first ping: $(timed "${auth[@]}" -X POST "$base/api/pings?service=$id&data=")"
  echo "healthz:    $(timed "$base/healthz")"
  cleanup; trap - EXIT
}

for b in "${backends[@]}"; do measure "$b"; done

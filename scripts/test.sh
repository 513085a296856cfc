#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what is missing, then runs every test
# against real SQLite, PostgreSQL, MariaDB, SMTP (aiosmtpd) and OpenSSH servers.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
command -v ssh >/dev/null 2>&1 || need_apt+=(openssh-client)
command -v ssh-keygen >/dev/null 2>&1 || need_apt+=(openssh-client)
# `promtool check metrics` judges /metrics (tests/api/metrics.rs).
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
  echo "== installing aiosmtpd (the test SMTP server)"
  python3 -m pip install --quiet --disable-pip-version-check aiosmtpd
fi
if ! python3 -c 'import healthchecks_io' 2>/dev/null; then
  echo "== installing healthchecks-io (the healthchecks API client tests/hc_client drives)"
  python3 -m pip install --quiet --disable-pip-version-check 'healthchecks-io==0.4.4'
fi

# The databases the tests create their own databases in. Start them when they are down.
if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  echo "== starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
fi
if ! (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null; then
  echo "== starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  for _ in $(seq 1 30); do (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null && break; sleep 1; done
fi

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "== installing cargo-nextest"
  cargo install --locked cargo-nextest
fi

echo "== docker-compose config"
compose=docker-compose
if ! command -v docker-compose >/dev/null 2>&1; then
  venv="${XDG_CACHE_HOME:-$HOME/.cache}/heartbeats-docker-compose"
  if [ ! -x "$venv/bin/docker-compose" ]; then
    python3 -m venv "$venv"
    # docker-compose 1.29's PyYAML pin does not build on current Python; 6.x works.
    "$venv/bin/pip" install --quiet --disable-pip-version-check pyyaml==6.0.2 'docker>=5,<7' 'jsonschema<4' \
      'python-dotenv<1' requests texttable 'websocket-client<1' docopt distro dockerpty
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps docker-compose==1.29.2
  fi
  # Not put on PATH: its python3 would shadow the one the tests run aiosmtpd with.
  compose="$venv/bin/docker-compose"
fi
"$compose" config --quiet

echo "== cargo fmt / clippy"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== tests"
cargo nextest run --workspace --no-fail-fast "$@"

# The web UI in a real browser: Debian's Chromium driven by playwright-core (which
# downloads no browser of its own), against the debug server binary on a free port.
echo "== browser tests (headless Chromium)"
need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# CJK glyphs for the Chinese pages and their screenshots.
fc-list 2>/dev/null | grep -qi 'Noto Sans CJK' || need_apt+=(fonts-noto-cjk)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
cargo build --quiet --workspace --bins
# playwright-core and axe-core at the versions package-lock.json pins (npm ls fails when one
# is missing or another version).
if ! (cd tests/e2e && npm ls --silent >/dev/null 2>&1); then
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi
(cd tests/e2e && node --test --test-concurrency=1 ui.test.js operator.test.js a11y.test.js hosts.test.js maintenance.test.js channels.test.js runs.test.js)

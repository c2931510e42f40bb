#!/usr/bin/env bash
# Installs (Debian packages, as root) and starts the real services the integration tests use, on
# loopback only, and stops them afterwards. Each test fixture still creates its own database,
# keyspace or mailbox, so tests never share data.
#
# The services are listed in MESSAGING_TEST_SERVICES; a feature that needs a new one adds it here.
# Storage runs on embedded SQLite and on PostgreSQL (a private cluster, postgresql); the SignalR backplane on Redis
# (a private instance, redis-server). Scheduling (issue 13) needs an SMTP server (python3-aiosmtpd), an IMAP
# server (dovecot-imapd) and ical.js under node (an independent iCalendar parser). The worker web app's browser tests
# (issue 16) drive Debian's headless Chromium (chromium-headless-shell, at /usr/lib/chromium/chromium-headless-shell)
# through Playwright: never Playwright's own browser download.

MESSAGING_TEST_SERVICES=(python3-aiosmtpd dovecot-imapd postgresql redis-server chromium-headless-shell)
MESSAGING_DEPS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MESSAGING_DEPS_RUN="$MESSAGING_DEPS_ROOT/.test-run/services"

deps_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing: ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

deps_free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

deps_wait_port() {
  local port="$1" name="$2"
  for _ in $(seq 1 100); do
    if /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1).close()" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "deps: $name did not start on 127.0.0.1:$port" >&2
  return 1
}

# SMTP: aiosmtpd on a free loopback port, AUTH required, mail stored under .test-run (smtp-test-server.py).
deps_start_smtp() {
  local dir="${MESSAGING_DEPS_RUN:?}/smtp"
  rm -rf "$dir" && mkdir -p "$dir"
  MESSAGING_TEST_SMTP_PORT="$(deps_free_port)"
  export MESSAGING_TEST_SMTP_PORT MESSAGING_TEST_SMTP_DIR="$dir"
  export MESSAGING_TEST_SMTP_USER=scheduler MESSAGING_TEST_SMTP_PASSWORD="smtp-$RANDOM$RANDOM"
  /usr/bin/python3 "$MESSAGING_DEPS_ROOT/ops/scripts/smtp-test-server.py" --port "$MESSAGING_TEST_SMTP_PORT" \
    --dir "$dir" --user "$MESSAGING_TEST_SMTP_USER" --password "$MESSAGING_TEST_SMTP_PASSWORD" >"$dir/server.log" 2>&1 &
  echo $! >"$dir/server.pid"
  deps_wait_port "$MESSAGING_TEST_SMTP_PORT" smtp
}

# IMAP: a private dovecot instance (own config, base_dir and maildir under .test-run), one test mailbox user.
deps_start_imap() {
  local dir="${MESSAGING_DEPS_RUN:?}/imap"
  rm -rf "$dir" && mkdir -p "$dir/base" "$dir/state" "$dir/home"
  MESSAGING_TEST_IMAP_PORT="$(deps_free_port)"
  export MESSAGING_TEST_IMAP_PORT MESSAGING_TEST_IMAP_USER=scheduler MESSAGING_TEST_IMAP_PASSWORD="imap-$RANDOM$RANDOM"
  # Mail processes run as the dovecot user (dovecot refuses uid 0): when it cannot reach .test-run (a clone under
  # /root), the maildir goes to a private temporary folder instead, removed by deps_stop.
  local home="$dir/home"
  if ! runuser -u dovecot -- test -x "$dir" 2>/dev/null; then
    home="$(mktemp -d /tmp/messaging-test-imap.XXXXXX)"
    echo "$home" >"$dir/home.path"
  fi
  echo "$MESSAGING_TEST_IMAP_USER:{PLAIN}$MESSAGING_TEST_IMAP_PASSWORD" >"$dir/users"
  chmod 0644 "$dir/users"
  {
    echo "first_valid_uid = $(id -u dovecot)"
    echo "base_dir = $dir/base"
    echo "state_dir = $dir/state"
    echo "log_path = $dir/dovecot.log"
    echo "protocols = imap"
    echo "listen = 127.0.0.1"
    echo "ssl = no"
    echo "disable_plaintext_auth = no"
    echo "auth_mechanisms = plain login"
    echo "passdb {"
    echo "  driver = passwd-file"
    echo "  args = scheme=PLAIN username_format=%u $dir/users"
    echo "}"
    echo "userdb {"
    echo "  driver = static"
    echo "  args = uid=dovecot gid=dovecot home=$home/%u"
    echo "}"
    echo "mail_location = maildir:~/Maildir"
    echo "service imap-login {"
    echo "  chroot ="
    echo "  inet_listener imap {"
    echo "    address = 127.0.0.1"
    echo "    port = $MESSAGING_TEST_IMAP_PORT"
    echo "  }"
    echo "  inet_listener imaps {"
    echo "    port = 0"
    echo "  }"
    echo "}"
    echo "service auth {"
    echo "  user = root"
    echo "}"
    echo "service anvil {"
    echo "  chroot ="
    echo "}"
  } >"$dir/dovecot.conf"
  chown -R dovecot:dovecot "$home"
  dovecot -c "$dir/dovecot.conf"
  deps_wait_port "$MESSAGING_TEST_IMAP_PORT" imap
}

# PostgreSQL: a private cluster (initdb as the postgres user, which refuses to run as root) on a free loopback port,
# password authentication for a superuser whose password is made here, no Unix socket outside its own folder. Tests
# create one database per server they start (MessagingApp) and drop it afterwards. Durability is off (--no-sync,
# fsync=off): this cluster holds test data only and is thrown away by deps_stop.
deps_start_postgres() {
  local dir="${MESSAGING_DEPS_RUN:?}/postgres"
  rm -rf "$dir" && mkdir -p "$dir"
  local bin
  bin="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d | sort -V | tail -n 1)"
  if [ -z "$bin" ]; then
    echo "deps: no PostgreSQL server binaries under /usr/lib/postgresql" >&2
    return 1
  fi
  # The cluster's files belong to postgres: when it cannot reach .test-run (a clone under /root), they go to a private
  # temporary folder instead, removed by deps_stop.
  local data="$dir/data"
  if runuser -u postgres -- test -x "$dir" 2>/dev/null; then
    mkdir -p "$data"
  else
    data="$(mktemp -d /tmp/messaging-test-postgres.XXXXXX)"
  fi
  echo "$data" >"$dir/data.path"
  chown postgres:postgres "$data" && chmod 0700 "$data"
  local password="pg-$RANDOM$RANDOM$RANDOM$RANDOM"
  local pwfile
  pwfile="$(mktemp /tmp/messaging-test-postgres-pw.XXXXXX)"
  echo "$password" >"$pwfile"
  chown postgres "$pwfile"
  runuser -u postgres -- "$bin/initdb" -D "$data" -U postgres --pwfile="$pwfile" --auth=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 || { rm -f "$pwfile"; cat "$dir/initdb.log" >&2; return 1; }
  rm -f "$pwfile"
  MESSAGING_TEST_POSTGRES_PORT="$(deps_free_port)"
  runuser -u postgres -- "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$MESSAGING_TEST_POSTGRES_PORT -c unix_socket_directories=$data -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >"$dir/pg_ctl.log" 2>&1 || { cat "$dir/pg_ctl.log" "$data/server.log" >&2; return 1; }
  echo "$bin" >"$dir/bin.path"
  export MESSAGING_TEST_POSTGRES_PORT
  export MESSAGING_TEST_POSTGRES="Host=127.0.0.1;Port=$MESSAGING_TEST_POSTGRES_PORT;Username=postgres;Password=$password;Database=postgres"
}

# Redis: a private instance on a free loopback port, nothing persisted (no RDB snapshot, no append-only file). Tests
# use their own key prefix (channel prefix) each.
deps_start_redis() {
  local dir="${MESSAGING_DEPS_RUN:?}/redis"
  rm -rf "$dir" && mkdir -p "$dir"
  MESSAGING_TEST_REDIS_PORT="$(deps_free_port)"
  redis-server --bind 127.0.0.1 --port "$MESSAGING_TEST_REDIS_PORT" --protected-mode yes --save '' --appendonly no \
    --dir "$dir" --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null
  deps_wait_port "$MESSAGING_TEST_REDIS_PORT" redis
  export MESSAGING_TEST_REDIS_PORT MESSAGING_TEST_REDIS="127.0.0.1:$MESSAGING_TEST_REDIS_PORT"
}

# ical.js, the independent iCalendar parser the scheduling tests run over every invitation they build.
# node and npm come from Debian only when absent (a machine may carry another build of node, with npm inside).
deps_install_icaljs() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    deps_install nodejs npm
  fi
  (cd "$MESSAGING_DEPS_ROOT/tests/Messaging.Scheduling.Tests/IcalJs" && npm ci --no-audit --no-fund --silent)
}

deps_start() {
  if [ "${#MESSAGING_TEST_SERVICES[@]}" -gt 0 ]; then
    deps_install "${MESSAGING_TEST_SERVICES[@]}"
  fi
  mkdir -p "$MESSAGING_DEPS_RUN"
  deps_install_icaljs
  deps_start_smtp
  deps_start_imap
  deps_start_postgres
  deps_start_redis
  # Fixtures needing these services fail (never skip) when this is set and one of their variables is missing.
  export MESSAGING_TEST_SERVICES_STARTED=1
}

deps_stop() {
  if [ -f "$MESSAGING_DEPS_RUN/postgres/data.path" ]; then
    local data bin
    data="$(cat "$MESSAGING_DEPS_RUN/postgres/data.path")"
    bin="$(cat "$MESSAGING_DEPS_RUN/postgres/bin.path" 2>/dev/null || true)"
    if [ -n "$bin" ] && [ -f "$data/postmaster.pid" ]; then
      runuser -u postgres -- "$bin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    case "$data" in /tmp/messaging-test-postgres.*) rm -rf "$data" ;; esac
    rm -f "$MESSAGING_DEPS_RUN/postgres/data.path"
  fi
  if [ -f "$MESSAGING_DEPS_RUN/redis/redis.pid" ]; then
    kill "$(cat "$MESSAGING_DEPS_RUN/redis/redis.pid")" 2>/dev/null || true
    rm -f "$MESSAGING_DEPS_RUN/redis/redis.pid"
  fi
  local pidfile="$MESSAGING_DEPS_RUN/smtp/server.pid"
  if [ -f "$pidfile" ]; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  fi
  if [ -f "$MESSAGING_DEPS_RUN/imap/base/master.pid" ]; then
    doveadm -c "$MESSAGING_DEPS_RUN/imap/dovecot.conf" stop 2>/dev/null \
      || kill "$(cat "$MESSAGING_DEPS_RUN/imap/base/master.pid")" 2>/dev/null || true
  fi
  if [ -f "$MESSAGING_DEPS_RUN/imap/home.path" ]; then
    local home
    home="$(cat "$MESSAGING_DEPS_RUN/imap/home.path")"
    case "$home" in /tmp/messaging-test-imap.*) rm -rf "$home" ;; esac
    rm -f "$MESSAGING_DEPS_RUN/imap/home.path"
  fi
}

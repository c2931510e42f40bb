#!/usr/bin/env bash
# Source this before the load tool's PostgreSQL and two-instance runs, and the PostgreSQL storage floor:
#
#   source tests/Messaging.LoadTest/storage/services.sh && services_start   # … runs …   services_stop
#
# It starts the private PostgreSQL cluster and Redis of ops/scripts/deps.sh on loopback (and exports the same
# MESSAGING_TEST_POSTGRES / MESSAGING_TEST_REDIS the tests use), then restarts the cluster *durable*: deps.sh runs it
# with fsync, synchronous_commit and full_page_writes off (test data only), which would compare an unsynced PostgreSQL
# with SQLite's synchronous=FULL. Here every commit is flushed, as in production. It also exports the postmaster's and
# Redis's PIDs (MESSAGING_LOAD_POSTGRES_PID, MESSAGING_LOAD_REDIS_PID) so the load tool can report their CPU.

# shellcheck source=../../../ops/scripts/deps.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/ops/scripts/deps.sh"

services_start() {
  deps_install postgresql redis-server
  mkdir -p "$MESSAGING_DEPS_RUN"
  deps_start_postgres || return 1
  deps_start_redis || return 1
  local data bin
  data="$(cat "$MESSAGING_DEPS_RUN/postgres/data.path")"
  bin="$(cat "$MESSAGING_DEPS_RUN/postgres/bin.path")"
  runuser -u postgres -- "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 -m fast \
    -o "-c listen_addresses=127.0.0.1 -c port=$MESSAGING_TEST_POSTGRES_PORT -c unix_socket_directories=$data -c fsync=on -c synchronous_commit=on -c full_page_writes=on -c max_connections=300" \
    restart >"$MESSAGING_DEPS_RUN/postgres/pg_ctl.log" 2>&1 || { cat "$MESSAGING_DEPS_RUN/postgres/pg_ctl.log" >&2; return 1; }
  MESSAGING_LOAD_POSTGRES_PID="$(head -n 1 "$data/postmaster.pid")"
  MESSAGING_LOAD_REDIS_PID="$(cat "$MESSAGING_DEPS_RUN/redis/redis.pid")"
  export MESSAGING_LOAD_POSTGRES_PID MESSAGING_LOAD_REDIS_PID
  # What psql and pgbench need to reach the cluster (the storage floor script).
  PGHOST=127.0.0.1 PGPORT="$MESSAGING_TEST_POSTGRES_PORT" PGUSER=postgres
  PGPASSWORD="$(sed -n 's/.*Password=\([^;]*\).*/\1/p' <<<"$MESSAGING_TEST_POSTGRES")"
  export PGHOST PGPORT PGUSER PGPASSWORD
  runuser -u postgres -- "$bin/postgres" --version
  psql -d postgres -Atc "SHOW fsync; SHOW synchronous_commit;" | tr '\n' ' ' && echo
}

services_stop() {
  deps_stop
}

# For the scripts that run the load tool against these services (one-sitting.sh, load_curve.sh, pool_sizes.sh): moves
# to the repository's root, sets `load` to the built tool's command, starts the services and stops them on exit.
services_for_load_runs() {
  cd "$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)" || return 1
  load="dotnet tests/Messaging.LoadTest/bin/Release/net10.0/messaging-load.dll"
  services_start >/dev/null || return 1
  trap services_stop EXIT
}

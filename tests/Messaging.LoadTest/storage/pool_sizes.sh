#!/usr/bin/env bash
# The server's PostgreSQL pool bound against the relay's load: one load-tool run per connection-string suffix, in the
# order given, on the durable cluster of services.sh. An empty suffix runs the server's own default (twice the cores, at
# least 4); "Maximum Pool Size=100" is Npgsql's default, the server's before it set one.
#
#   dotnet build tests/Messaging.LoadTest -c Release
#   bash tests/Messaging.LoadTest/storage/pool_sizes.sh "Maximum Pool Size=100" "" "Maximum Pool Size=100" ""
#   INSTANCES=2 bash tests/Messaging.LoadTest/storage/pool_sizes.sh …     # (c): two instances + Redis
#   SCENARIO=peak bash tests/Messaging.LoadTest/storage/pool_sizes.sh …   # peak throughput at 200 devices
#
# Each run prints its table row, then how many deliveries took over 15 ms and the server's connections 45 s in.
set -euo pipefail
# shellcheck source=services.sh
source "$(dirname "${BASH_SOURCE[0]}")/services.sh"
services_for_load_runs
base="$MESSAGING_TEST_POSTGRES"
instances="${INSTANCES:-1}"
logs="$(mktemp -d)"
for suffix in "$@"; do
  export MESSAGING_TEST_POSTGRES="$base${suffix:+;$suffix}"
  sync
  sleep 5
  echo "## [${suffix:-server default}] ${SCENARIO:-realistic}, $instances instance(s) — $(date -u +%H:%M:%S) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  ( sleep 45
    psql -d postgres -Atc "SELECT 'server connections: ' || count(*) FROM pg_stat_activity WHERE application_name = 'messaging';" ) &
  if [ "${SCENARIO:-realistic}" = realistic ]; then
    $load realistic --storage postgres --instances "$instances" --tool-no-gc 1000 >"$logs/out" 2>"$logs/err" || echo "(run failed)"
  else
    $load --storage postgres --instances "$instances" --seconds 15 --warmup 5 >"$logs/out" 2>"$logs/err" || echo "(run failed)"
  fi
  wait
  grep '^|' "$logs/out" | grep -v '^|---' || true
  grep -o '^[0-9]* deliveries over 15 ms, in [0-9]* distinct seconds' "$logs/err" || true
done
rm -rf "$logs"

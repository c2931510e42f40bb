#!/usr/bin/env bash
# The realistic scenario at several loads and set-ups in one sitting: one run of the load tool per argument, in the
# order given, with PostgreSQL (durable) and Redis started once (storage/services.sh).
#
#   dotnet build -c Release src/Messaging.Server && dotnet build tests/Messaging.LoadTest -c Release
#   bash tests/Messaging.LoadTest/load_curve.sh "--echo" "--storage postgres" "--storage postgres --rate 100" …
#
# Each argument is the realistic scenario's options (docs/performance.md): --echo, --storage, --instances, --rate.
# Each run prints its table row, then how many deliveries took over 15 ms.
set -euo pipefail
# shellcheck source=storage/services.sh
source "$(dirname "${BASH_SOURCE[0]}")/storage/services.sh"
services_for_load_runs
logs="$(mktemp -d)"
for options in "$@"; do
  sync
  echo "## realistic $options — $(date -u +%H:%M:%S) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  # shellcheck disable=SC2086 # the options are words on purpose
  $load realistic $options --tool-no-gc 1000 >"$logs/out" 2>"$logs/err" || echo "(run failed)"
  grep '^| realistic' "$logs/out" || true
  grep -o '^[0-9]* deliveries over 15 ms, in [0-9]* distinct seconds' "$logs/err" || true
done
rm -rf "$logs"

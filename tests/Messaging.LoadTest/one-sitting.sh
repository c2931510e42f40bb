#!/usr/bin/env bash
# The relay's performance tables of docs/performance.md (issue 15), all in one sitting, one run after the other, on a
# machine with nothing else running: the bare echo hub at the realistic load (this machine's floor), realistic load and
# peak on (a) SQLite, (b) PostgreSQL, (c) two instances on PostgreSQL + Redis; then the storage floor replays, right
# after the peak runs whose server figures they are compared with. Each step's table row goes to stdout, with the time
# and the load average before it.
#
#   dotnet build tests/Messaging.LoadTest -c Release && bash tests/Messaging.LoadTest/one-sitting.sh | tee sitting.md
set -euo pipefail
# shellcheck source=storage/services.sh
source "$(dirname "${BASH_SOURCE[0]}")/storage/services.sh"
services_for_load_runs

heading() {
  # Dirty pages left by earlier work (a test suite's unsynced PostgreSQL) are flushed first, not during the run, where
  # their writeback delays the durable cluster's fsyncs.
  sync
  echo
  echo "## $* — $(date -u +%H:%M:%S) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

# A load tool run: its table only.
step() {
  heading "$@"
  "$@" 2>/dev/null | grep '^|' || echo "(step failed)"
}

# A storage replay: all it prints.
replay() {
  heading "$@"
  "$@" 2>&1 || echo "(step failed)"
}

# The realistic runs keep the load tool's own collector out of the window (--tool-no-gc): its 2,000 devices share one
# process, whose collections would pause them all at once and show as the server's latency (see docs/performance.md).
# The floor first: the same devices and rate on the bare SignalR echo hub (no storage, checks, E2E or acknowledgements).
step $load realistic --echo --tool-no-gc 1000
step $load realistic --storage sqlite --instances 1 --tool-no-gc 1000
step $load realistic --storage postgres --instances 1 --tool-no-gc 1000
step $load realistic --storage postgres --instances 2 --tool-no-gc 1000
step $load --storage sqlite --instances 1 --seconds 15 --warmup 5
replay python3 tests/Messaging.LoadTest/storage/sqlite_send_cost.py --units-per-commit 200 base no-savepoint
# The writer thread's CPU, commits and writes per message (perf stat), as the server starts and on its optimised tier,
# and the replay at about the writer's own batch size.
replay bash tests/Messaging.LoadTest/storage/writer_cost.sh
STEADY=1 replay bash tests/Messaging.LoadTest/storage/writer_cost.sh
replay python3 tests/Messaging.LoadTest/storage/sqlite_send_cost.py --units-per-commit 30 base no-savepoint
step $load --storage postgres --instances 1 --seconds 15 --warmup 5
replay python3 tests/Messaging.LoadTest/storage/postgres_send_cost.py --seconds 10 read-committed:1 read-committed:8
step $load --storage postgres --instances 2 --seconds 15 --warmup 5
echo
echo "ended $(date -u +%H:%M:%S) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)"

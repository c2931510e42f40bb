#!/usr/bin/env bash
# What the server allocates per message under the realistic load: a realistic run (arguments go to the load tool, e.g.
# --storage postgres), and 30 s inside its window the server is traced with dotnet-trace's gc-verbose profile (allocation
# samples with their stacks), then the load tool sums the samples by type and by stack. Needs a Release build of the
# load tool, and for PostgreSQL the services of storage/services.sh started in this shell. Installs dotnet-trace under
# .test-run/tools when it is missing. Counting allocations does not depend on the machine's load; the run's latency
# figures do (and the trace's own overhead lifts them).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
tools="$root/.test-run/tools"
[ -x "$tools/dotnet-trace" ] || dotnet tool install --tool-path "$tools" dotnet-trace --version 10.0.750501 >/dev/null
load="dotnet tests/Messaging.LoadTest/bin/Release/net10.0/messaging-load.dll"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
$load realistic "$@" > "$work/run.out" 2> "$work/run.err" &
run=$!
until grep -q "measuring" "$work/run.err" 2>/dev/null; do
  kill -0 "$run" 2>/dev/null || { cat "$work/run.err" >&2; exit 1; }
  sleep 1
done
sleep 5
server="$(pgrep -f "Messaging.Server.dll" | head -1)"
"$tools/dotnet-trace" collect -p "$server" --profile gc-verbose --duration 00:00:00:30 -o "$work/server.nettrace" > /dev/null
wait "$run"
grep "^| realistic" "$work/run.out"
rate="$(grep -o -- '--rate [0-9]*' <<< "$*" | cut -d' ' -f2 || true)"
$load allocations "$work/server.nettrace" --messages "$((30 * ${rate:-200}))"

#!/usr/bin/env bash
# The SQLite writer thread's CPU per message at the peak, for comparison with sqlite_send_cost.py: runs the load tool's
# peak relay (SQLite, one instance, 15 s after 5 s of warm-up) and, from 0.5 s into the measured window, counts with
# `perf stat` on the server's db-writer thread for 14 s: its CPU (task-clock), its commits (fsync) and its WAL and
# journal writes (pwrite64). Prints the load tool's row and the writer's figures per message.
#
#   bash tests/Messaging.LoadTest/storage/writer_cost.sh [ROOT] [OUTDIR]
#
# ROOT is a tree with the built load tool and server (default: this repository; a copy of an older build compares two
# versions). STEADY=1 in the environment starts the server with DOTNET_TieredPGO=0 and DOTNET_TC_CallCountingDelayMs=0:
# on a loaded machine the JIT's background tier-up is starved and a 20 s run is measured largely in unoptimised code,
# which a server running for days never is. Needs perf (root).
set -euo pipefail
ROOT="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
OUT="${2:-$(mktemp -d /tmp/writer-cost.XXXXXX)}"
mkdir -p "$OUT"
cd "$ROOT"
if [ -n "${STEADY:-}" ]; then export DOTNET_TieredPGO=0 DOTNET_TC_CallCountingDelayMs=0; fi
echo "start $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
dotnet tests/Messaging.LoadTest/bin/Release/net10.0/messaging-load.dll --storage sqlite --instances 1 --seconds 15 --warmup 5 --only relay \
  > "$OUT/load.txt" 2> "$OUT/load.err" &
tool=$!
until grep -q measuring "$OUT/load.err" 2>/dev/null; do
  kill -0 "$tool" 2>/dev/null || { cat "$OUT/load.err"; exit 1; }
  sleep 0.5
done
sleep 5.5
writer=""
for child in $(pgrep -P "$tool"); do
  found=$(grep -lx db-writer /proc/"$child"/task/*/comm 2>/dev/null | head -1 | cut -d/ -f5 || true)
  if [ -n "$found" ]; then writer=$found; fi
done
perf stat -e 'syscalls:sys_enter_fsync,syscalls:sys_enter_pwrite64,task-clock' -t "$writer" -o "$OUT/stat.txt" -- sleep 14
wait "$tool"
echo "end $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
tail -1 "$OUT/load.txt"
python3 - "$OUT" <<'PY'
import re, sys
out = sys.argv[1]
row = open(f"{out}/load.txt").read().strip().splitlines()[-1]
stat = open(f"{out}/stat.txt").read()
def count(event):
    return float(re.search(r"([\d.,]+)\s+" + event, stat).group(1).replace(",", ""))
messages = float(row.split("|")[2]) * float(re.search(r"([\d.]+) seconds time elapsed", stat).group(1))
commits = count("syscalls:sys_enter_fsync")
print(f"writer: {count('msec task-clock') * 1000 / messages:.0f} us of CPU per message, {messages / commits:.1f} messages per commit,"
      f" {count('syscalls:sys_enter_pwrite64') / messages:.1f} pwrite64 per message ({messages:.0f} messages, {commits:.0f} commits)")
PY

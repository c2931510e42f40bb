#!/usr/bin/env bash
# Runs every test of the solution on a fresh Debian machine with the .NET SDK.
# It installs and starts what the tests need (see ops/scripts/deps.sh), runs `dotnet test` on
# Messaging.sln, stops the dependencies again, and ends with the plain line `N passed, N failed`.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
results="$root/.test-run/results"
rm -rf "$results"
mkdir -p "$results"

# shellcheck source=deps.sh
source "$root/ops/scripts/deps.sh"
deps_start
trap deps_stop EXIT

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

status=0
dotnet test Messaging.sln -c Release \
  --logger "trx" --logger "console;verbosity=minimal" \
  --results-directory "$results" "$@" || status=$?

passed=0
failed=0
shopt -s nullglob
trx_files=("$results"/*.trx)
for trx in "${trx_files[@]}"; do
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
done

if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # The build or a test host failed before any test could report: count it as a failure.
  failed=1
fi
if [ "${#trx_files[@]}" -eq 0 ] || [ $((passed + failed)) -eq 0 ]; then
  echo "no test results were produced" >&2
  status=1
  failed=$((failed > 0 ? failed : 1))
fi

echo "${passed} passed, ${failed} failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]

#!/usr/bin/env bash
# Runs every test of the solution on a fresh Debian machine with the .NET SDK.
# It installs and starts what the tests need (see ops/scripts/deps.sh), builds Messaging.sln once, runs every test
# project of the solution (those marked IsTestProject) with `dotnet test`, stops the dependencies again, and ends with
# the plain line `N passed, N failed`. Extra arguments go to each `dotnet test` (e.g. --filter).
#
# The test projects run in two lanes at once: the server tests (the longest), the scheduling tests and the crypto tests
# in one — the first two use the one SMTP sink and IMAP mailbox, so they never run together — and the others one after
# another in the second (the browser tests first). Projects of different lanes share only PostgreSQL, where each server
# gets a database of its own.
# Each project writes its own trx under .test-run/results and its console output, line by line with its name in front.
# MESSAGING_TEST_LANES=1 runs them all one after another instead.
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

# The solution's test projects, the longest first within each lane.
projects=()
while IFS= read -r project; do
  grep -q '<IsTestProject>true</IsTestProject>' "$project" 2>/dev/null && projects+=("$project")
done < <(dotnet sln Messaging.sln list | sed 's#\\#/#g' | grep -E '\.csproj$')
first_lane=()
second_lane=()
for name in Messaging.Server.Tests Messaging.App.Tests Messaging.Client.Tests Messaging.Crypto.Tests Messaging.Scheduling.Tests; do
  for project in "${projects[@]}"; do
    if [ "$(basename "$project" .csproj)" = "$name" ]; then
      case "$name" in
        Messaging.Server.Tests | Messaging.Scheduling.Tests | Messaging.Crypto.Tests) first_lane+=("$project") ;;
        *) second_lane+=("$project") ;;
      esac
    fi
  done
done
for project in "${projects[@]}"; do
  case " ${first_lane[*]} ${second_lane[*]} " in *" $project "*) ;; *) second_lane+=("$project") ;; esac
done

# Runs the given test projects one after another; fails when one of them does.
run_lane() {
  local lane_status=0 project name
  for project in "$@"; do
    name="$(basename "$project" .csproj)"
    dotnet test "$project" -c Release --no-build \
      --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=minimal" \
      --results-directory "$results" "${test_args[@]}" 2>&1 | sed -u "s/^/[$name] /"
    [ "${PIPESTATUS[0]}" -eq 0 ] || lane_status=1
  done
  return "$lane_status"
}

test_args=("$@")
status=0
dotnet build Messaging.sln -c Release || status=$?
# The test processes and the servers, apps and commands they start are short-lived .NET processes (a server host per
# test, a server process per client test): measured with perf, half of their CPU went to the JIT re-compiling methods
# as they warmed up. For the tests only (the build above and production keep the runtime's defaults): no profile-guided
# re-compilation pass, and a method is re-compiled optimised after 1000 calls instead of 30. The code that runs is the
# same; it is compiled fewer times. (The test processes keep the thread pool's spinning, unlike the server's runtimeconfig:
# without it, DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0, the tests took 14.1 minutes instead of 13.4.)
export DOTNET_TieredPGO=0 DOTNET_TC_CallCountThreshold=1000
if [ "$status" -eq 0 ]; then
  if [ "${MESSAGING_TEST_LANES:-2}" = 1 ]; then
    run_lane "${first_lane[@]}" "${second_lane[@]}" || status=1
  else
    run_lane "${first_lane[@]}" &
    first_pid=$!
    run_lane "${second_lane[@]}" || status=1
    wait "$first_pid" || status=1
  fi
fi

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

#!/usr/bin/env bash
# Installs (Debian packages, as root) and starts the real services the integration tests use, on
# loopback only, and stops them afterwards. Each test fixture still creates its own database,
# keyspace or mailbox, so tests never share data.
#
# The services are listed in MESSAGING_TEST_SERVICES; a feature that needs a new one adds it here.
# Today the suite needs none beyond the .NET SDK: storage is embedded SQLite.

MESSAGING_TEST_SERVICES=()

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

deps_start() {
  if [ "${#MESSAGING_TEST_SERVICES[@]}" -gt 0 ]; then
    deps_install "${MESSAGING_TEST_SERVICES[@]}"
  fi
}

deps_stop() {
  :
}

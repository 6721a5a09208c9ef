#!/usr/bin/env bash
# Install Debian's redis-sentinel when no redis-sentinel binary is on the machine. The
# failover tests (tests/test_sentinel*.py) and bench/failover.py start a primary, a replica
# and three sentinels of their own on loopback ports; without the package they are skipped.
set -euo pipefail
command -v redis-sentinel >/dev/null 2>&1 && command -v redis-server >/dev/null 2>&1 && exit 0
echo "installing redis-sentinel (Debian package: Redis failover, docs/operations.md)"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends redis-sentinel redis-server >/dev/null
# The packages start a system Redis and Sentinel where an init system runs; the tests need none.
if command -v systemctl >/dev/null 2>&1; then
  for unit in redis-sentinel redis-server; do
    if systemctl is-active --quiet "$unit" 2>/dev/null; then
      $SUDO systemctl stop "$unit" || true
      $SUDO systemctl disable "$unit" >/dev/null 2>&1 || true
    fi
  done
fi

#!/usr/bin/env bash
# Install Debian's nginx when no nginx binary is on the machine. The multi-process tests
# (tests/test_multiprocess.py) start an nginx of their own on loopback ports, as the test
# user, with the project's deploy/nginx/zhongnao.conf; without the binary they are skipped.
set -euo pipefail
command -v nginx >/dev/null 2>&1 && exit 0
[ -x /usr/sbin/nginx ] && exit 0
echo "installing nginx (Debian package: the proxy in front of several zhongnao workers)"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# nginx-light would do; `nginx` is the package named in docs/operations.md.
$SUDO apt-get install -y -qq --no-install-recommends nginx >/dev/null
# The package starts a system nginx on port 80 where an init system runs; the tests need none.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
  $SUDO systemctl stop nginx || true
  $SUDO systemctl disable nginx >/dev/null 2>&1 || true
fi

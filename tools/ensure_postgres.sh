#!/usr/bin/env bash
# Install Debian's postgresql when no server binaries are in /usr/lib/postgresql/*/bin.
# The fault tests start a PostgreSQL of their own (initdb on a free port, tests/conftest.py
# private_pg) to stop and kill it under traffic; without the binaries they are skipped.
set -euo pipefail
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && exit 0
echo "installing postgresql (Debian package: server binaries for the fault tests)"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq postgresql >/dev/null

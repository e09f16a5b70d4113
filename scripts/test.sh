#!/usr/bin/env bash
# The one test command (`npm test`): installs what the tests need, builds, type-checks and runs
# every test (unit, integration and end-to-end). Arguments are passed to jest.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }

# git and terraform are required; PostgreSQL is installed from Debian's packages when missing.
need git || { echo "test: git is required" >&2; exit 1; }
need "${ATOLL_TERRAFORM_BIN:-terraform}" || { echo "test: terraform is required on PATH (https://developer.hashicorp.com/terraform/install)" >&2; exit 1; }
if ! need initdb && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && need apt-get; then
    echo "test: installing PostgreSQL (Debian package) for the end-to-end tests…"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null || {
      apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null; }
  else
    echo "test: PostgreSQL server binaries (initdb, pg_ctl) are required; install the 'postgresql' package" >&2
    exit 1
  fi
fi

# Chromium (Debian's package) for the web UI's browser tests, installed like PostgreSQL.
if ! need chromium && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && need apt-get; then
    echo "test: installing Chromium (Debian package) for the browser tests…"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null || {
      apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
  else
    echo "test: Chromium is required for the browser tests; install the 'chromium' package" >&2
    exit 1
  fi
fi

# Dependencies: a clean checkout gets exactly what package-lock.json says.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

npm run --silent build
npm run --silent typecheck
exec node --experimental-vm-modules --no-warnings=ExperimentalWarning node_modules/jest/bin/jest.js "$@"

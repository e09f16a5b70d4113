#!/usr/bin/env bash
# The one test command (`npm test`): installs what the tests need, builds, type-checks and runs
# every test (unit, integration and end-to-end). Arguments are passed to jest.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }

# git and terraform are required; the Debian packages below are installed when missing.
need git || { echo "test: git is required" >&2; exit 1; }
need "${ATOLL_TERRAFORM_BIN:-terraform}" || { echo "test: terraform is required on PATH (https://developer.hashicorp.com/terraform/install)" >&2; exit 1; }
# A Debian package the tests need, installed when missing (as root, with apt-get), else a clear error.
install_package() {
  local package=$1 why=$2
  if [ "$(id -u)" = 0 ] && need apt-get; then
    echo "test: installing $package (Debian package) for $why…"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$package" >/dev/null || {
      apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$package" >/dev/null; }
  else
    echo "test: $why need the '$package' package; install it" >&2
    exit 1
  fi
}
# PostgreSQL (initdb, pg_ctl) for the end-to-end tests; Chromium for the web UI's browser tests.
if ! need initdb && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then install_package postgresql "the end-to-end tests"; fi
if ! need chromium && [ ! -x /usr/bin/chromium ]; then install_package chromium "the browser tests"; fi

# Dependencies: a clean checkout gets exactly what package-lock.json says.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

npm run --silent build
npm run --silent typecheck
exec node --experimental-vm-modules --no-warnings=ExperimentalWarning node_modules/jest/bin/jest.js "$@"

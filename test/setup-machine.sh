#!/bin/sh
# Installs what the sandbox and the tests need and this machine lacks: npm dependencies, Pebble (the
# ACME test server, Debian package) and moto server (AWS emulator, Python); with the argument `tests`, also
# Chromium (Debian package: the status page's browser test drives it with playwright-core, which never
# downloads a browser of its own; the sandbox does without it). Says what it does; does nothing when all is
# there. Run by `npm run sandbox` and `npm test` (`tests`).
set -eu
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "setup: need root to run: $*" >&2; exit 1
  fi
}

if [ ! -f node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

if ! command -v pebble >/dev/null 2>&1; then
  echo "setup: installing Pebble (apt-get install pebble)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pebble
fi

if [ "${1:-}" = tests ] && ! command -v chromium >/dev/null 2>&1; then
  echo "setup: installing Chromium (apt-get install chromium) for the status page's browser test"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi

if ! command -v moto_server >/dev/null 2>&1; then
  echo "setup: installing moto server (pip install 'moto[server]')"
  if command -v pipx >/dev/null 2>&1; then pipx install 'moto[server]'
  elif python3 -m pip --version >/dev/null 2>&1; then python3 -m pip install --user 'moto[server]' || python3 -m pip install --user --break-system-packages 'moto[server]'
  else
    echo "setup: moto_server is missing and neither pipx nor pip is available; install python3-pip (or pipx) and run: pip install 'moto[server]'" >&2
    exit 1
  fi
  command -v moto_server >/dev/null 2>&1 || { echo "setup: moto_server installed but not on PATH; add ~/.local/bin to PATH" >&2; exit 1; }
fi

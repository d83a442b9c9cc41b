#!/bin/sh
# Installs what only `npm run bench` needs and this machine lacks: certbot with its Route 53 plugin (the
# Debian packages the bench compares certkeeper with) and GNU time (certbot's peak memory). Says what it
# does; does nothing when all is there. Not on `npm test`'s path.
set -eu

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "bench setup: need root to run: $*" >&2; exit 1
  fi
}

missing=""
command -v certbot >/dev/null 2>&1 || missing="$missing certbot"
[ -d /usr/lib/python3/dist-packages/certbot_dns_route53 ] || missing="$missing python3-certbot-dns-route53"
[ -x /usr/bin/time ] || missing="$missing time"

if [ -n "$missing" ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "bench setup: missing$missing, and no apt-get here: install them (certbot 2.x with its dns-route53 plugin, GNU time), or run the bench with --only certkeeper,floor,daemon,startup,status" >&2
    exit 1
  fi
  echo "bench setup: installing$missing (apt-get install)"
  as_root apt-get update -qq
  # shellcheck disable=SC2086
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
fi

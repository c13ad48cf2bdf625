#!/bin/sh
# Install, from Debian's archive, whatever reds needs that is missing.
# Used by `make deps` (and so by `make demo`, `make test`, `make bench`).
set -eu

need=""
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
for pkg in build-essential pkg-config libhiredis-dev check libssl-dev \
           redis-server redis-tools openssl valgrind; do
    have_pkg "$pkg" || need="$need $pkg"
done
# The generator needs a Python 3 with Jinja2 and PyYAML: any python3 on the
# PATH that has them will do, otherwise Debian's.
if ! { command -v python3 >/dev/null && python3 -c 'import jinja2, yaml' 2>/dev/null; } &&
   ! /usr/bin/python3 -c 'import jinja2, yaml' 2>/dev/null; then
    need="$need python3 python3-jinja2 python3-yaml"
fi
[ -z "$need" ] && exit 0

echo "deps: installing$need"
sudo=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "deps: run as root or install:$need" >&2; exit 1; }
    sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $need >/dev/null

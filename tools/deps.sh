#!/bin/sh
# Install, from Debian's archive, whatever reds needs that is missing.
# Used by `make deps` (and so by `make demo`, `make test`, `make bench`).
set -eu

need=""
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
# cmake and pkg-config: make test-install builds an application against the
# installed library with each (build-essential brings cc, c++, nm, readelf).
# make fuzz: clang, its libFuzzer and sanitizer runtimes (libclang-rt-dev,
# only recommended by clang) and llvm-symbolizer (llvm) for readable crash
# reports; make valgrind: valgrind; the async suites and benchmarks: the
# event loops libevent, libuv and libev.
for pkg in build-essential pkg-config cmake libhiredis-dev check libssl-dev \
           redis-server redis-tools openssl valgrind clang libclang-rt-dev llvm \
           libevent-dev libuv1-dev libev-dev; do
    have_pkg "$pkg" || need="$need $pkg"
done
# The generator needs a Python 3 with Jinja2 and PyYAML: any python3 on the
# PATH that has them will do, otherwise Debian's.
if ! { command -v python3 >/dev/null && python3 -c 'import jinja2, yaml' 2>/dev/null; } &&
   ! /usr/bin/python3 -c 'import jinja2, yaml' 2>/dev/null; then
    need="$need python3 python3-jinja2 python3-yaml"
fi
# Valkey 8.0, the second server the tests run against, is in
# bookworm-backports only.
need_backports=""
for pkg in valkey-server valkey-tools; do
    have_pkg "$pkg" || need_backports="$need_backports $pkg"
done
[ -z "$need$need_backports" ] && exit 0

echo "deps: installing$need$need_backports"
sudo=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || {
        echo "deps: run as root or install:$need$need_backports" >&2; exit 1; }
    sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
# The packages' scripts must not start their services: the tests start
# servers of their own, and redis-server's and valkey-server's would both
# want port 6379 (without systemd, the second failing to start fails the
# install). A policy-rc.d that says no (see invoke-rc.d(8)) does that for
# the install's duration, unless the machine has one already.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# reds tools/deps.sh: no service starts during its install.\nexit 101\n' |
        $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod 755 /usr/sbin/policy-rc.d
    trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
    trap 'exit 130' INT TERM
fi
if [ -n "$need_backports" ] &&
   ! grep -qsE '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
       /etc/apt/sources.list.d/*.sources; then
    echo "deps: adding bookworm-backports to apt's sources"
    echo 'deb http://deb.debian.org/debian bookworm-backports main' |
        $sudo tee /etc/apt/sources.list.d/bookworm-backports.list >/dev/null
fi
$sudo apt-get update -qq
if [ -n "$need" ]; then
    # shellcheck disable=SC2086
    $sudo apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
if [ -n "$need_backports" ]; then
    # shellcheck disable=SC2086
    $sudo apt-get install -y -qq --no-install-recommends -t bookworm-backports \
        $need_backports >/dev/null
fi

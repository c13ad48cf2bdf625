#!/bin/sh
# tests/outside/run.sh MAKE BUILDDIR VERSION (make test-install, run under
# with-redis): install reds into a temporary prefix, then build the
# application of this directory, copied outside the tree, the ways an
# adopter would, and run each build against the throwaway server:
#
#   pkg-config   cc $(pkg-config --cflags --libs reds), rpath to the prefix
#   cmake        find_package(reds): reds::reds, the shared library
#   cmake-static the same with REDS_USE_STATIC_LIBS=ON (libreds.a)
#   plain        cc -I$PREFIX/include ... -L$PREFIX/lib -lreds, LD_LIBRARY_PATH
#
# each as C11 and as C++17. Also: a DESTDIR install stages the same tree,
# and make uninstall removes every file it installed.
# $make, $warn and pkg-config's output are lists of words: unquoted.
# shellcheck disable=SC2086
set -eu
make=$1 builddir=$2 version=$3
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/reds-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
log=$tmp/log
: "${CC:=cc}" "${CXX:=c++}"
warn="-Wall -Wextra -Werror -pedantic"

# Runs a command with its output in the log, shown when it fails.
run() {
    echo "+ $*" >>"$log"
    "$@" >>"$log" 2>&1 || {
        echo "test-install: failed: $*" >&2
        tail -n 30 "$log" >&2
        exit 1
    }
}
die() {
    echo "test-install: $*" >&2
    exit 1
}
tree() { (cd "$1" && find . -type f -o -type l | sort); }

cd "$root"
run $make --no-print-directory BUILDDIR="$builddir" install PREFIX="$prefix"
so=libreds.so.${version%%.*}
if [ "$(readlink "$prefix/lib/libreds.so")" != "$so" ] ||
    [ "$(readlink "$prefix/lib/$so")" != "libreds.so.$version" ] ||
    [ ! -f "$prefix/lib/libreds.so.$version" ] || [ ! -f "$prefix/lib/libreds.a" ]; then
    die "libreds.so -> $so -> libreds.so.$version and libreds.a not installed as expected"
fi
for h in runtime/include/reds/*.h generated/include/reds/*.h; do
    cmp -s "$h" "$prefix/include/reds/${h##*/}" || die "$h not installed"
done

# DESTDIR stages the same tree, written for PREFIX; uninstall empties it.
stage=$tmp/stage
run $make --no-print-directory BUILDDIR="$builddir" install DESTDIR="$stage" PREFIX=/opt/reds
[ "$(tree "$prefix")" = "$(tree "$stage/opt/reds")" ] || die "DESTDIR staged another tree"
grep -qx 'prefix=/opt/reds' "$stage/opt/reds/lib/pkgconfig/reds.pc" ||
    die "reds.pc staged with DESTDIR does not say prefix=/opt/reds"
run $make --no-print-directory BUILDDIR="$builddir" uninstall DESTDIR="$stage" PREFIX=/opt/reds
[ -z "$(tree "$stage")" ] || die "make uninstall left: $(tree "$stage")"

# The application, away from the tree: nothing but the prefix to build on.
app=$tmp/app
mkdir "$app"
cp tests/outside/main.c tests/outside/main.cpp tests/outside/CMakeLists.txt "$app/"
cd "$app"

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
pc_cflags=$(pkg-config --cflags reds)
pc_libs=$(pkg-config --libs reds)
[ "$(pkg-config --modversion reds)" = "$version" ] || die "pkg-config --modversion reds is not $version"
run $CC -std=c11 $warn $pc_cflags main.c $pc_libs -Wl,-rpath,"$prefix/lib" -o pkgconfig-c
run $CXX -std=c++17 $warn $pc_cflags main.cpp $pc_libs -Wl,-rpath,"$prefix/lib" -o pkgconfig-cxx
run $CC -std=c11 $warn -I"$prefix/include" main.c -L"$prefix/lib" -lreds -o plain-c
run $CXX -std=c++17 $warn -I"$prefix/include" main.cpp -L"$prefix/lib" -lreds -o plain-cxx
for kind in shared static; do
    dir=cmake-$kind
    static=$([ $kind = static ] && echo ON || echo OFF)
    run cmake -S . -B "$dir" -DCMAKE_PREFIX_PATH="$prefix" -DREDS_USE_STATIC_LIBS="$static" \
        -DCMAKE_BUILD_TYPE=Release
    run cmake --build "$dir"
done

n=0
check() { # check NAME LANG LINKAGE [ENV...] : run ./NAME and compare its output
    name=$1 lang=$2 linkage=$3
    shift 3
    needed=$(readelf -d "$name" | sed -n 's/.*(NEEDED).*\[\(libreds[^]]*\)\]$/\1/p')
    case $linkage in
    shared) [ "$needed" = "$so" ] || die "$name needs '$needed', not $so" ;;
    static) [ -z "$needed" ] || die "$name, linked with libreds.a, needs $needed" ;;
    esac
    label=$(echo "$name" | tr / -)
    env "$@" "./$name" "$label" >"$tmp/out" 2>&1 || {
        cat "$tmp/out" >&2
        die "$name failed"
    }
    printf '%s\n' "$label: $lang, reds $version, compiled against $version" \
        "SET NX -> stored, GET -> $label" "INCR x3 -> 3" \
        "HSET on a string -> ResponseError" >"$tmp/want"
    diff -u "$tmp/want" "$tmp/out" >&2 || die "$name printed something else"
    printf '  %-26s %-4s %-6s ok\n' "$name" "$lang" "$linkage"
    n=$((n + 1))
}
echo "test-install: reds $version installed into a temporary prefix; the outside app:"
check pkgconfig-c C shared
check pkgconfig-cxx C++ shared
check cmake-shared/outside_c C shared
check cmake-shared/outside_cxx C++ shared
check cmake-static/outside_c C static
check cmake-static/outside_cxx C++ static
check plain-c C shared LD_LIBRARY_PATH="$prefix/lib"
check plain-cxx C++ shared LD_LIBRARY_PATH="$prefix/lib"
echo "test-install: $n builds (pkg-config, CMake shared and static, plain cc -lreds; C11 and C++17) ran"

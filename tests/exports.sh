#!/bin/sh
# tests/exports.sh SHLIB ARCHIVE SONAME (make check-exports): the shared
# library exports the public API and nothing else. Every dynamic symbol it
# defines is a public reds_* name (none of the internal reds__*), every
# public symbol of the archive is among them (a public function whose
# definition missed its header's REDS_API_BEGIN would be hidden), and its
# SONAME is SONAME.
set -eu
shlib=$1 archive=$2 soname=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

nm -D --defined-only "$shlib" | awk '{print $NF}' | sort -u >"$tmp/exported"
nm -g --defined-only "$archive" | awk 'NF == 3 && $2 != "U" {print $3}' |
    grep -v '^reds__' | sort -u >"$tmp/public"

if grep '^reds__' "$tmp/exported" >"$tmp/bad"; then
    echo "exports: internal symbols exported by $shlib:" >&2
    sed 's/^/    /' "$tmp/bad" >&2
    fail=1
fi
if grep -v '^reds_' "$tmp/exported" >"$tmp/bad"; then
    echo "exports: symbols outside the reds_ namespace exported by $shlib:" >&2
    sed 's/^/    /' "$tmp/bad" >&2
    fail=1
fi
if comm -23 "$tmp/public" "$tmp/exported" | grep . >"$tmp/bad"; then
    echo "exports: public symbols of $archive hidden in $shlib (declared outside" >&2
    echo "REDS_API_BEGIN/END, or defined where the header is not included):" >&2
    sed 's/^/    /' "$tmp/bad" >&2
    fail=1
fi
# What apps reach by name: the functions, and the reply-kind converters of
# <reds/reply_kinds.h> (objects, which tools/check_reply finds with dlsym).
for sym in reds_client_new reds_get reds_version reds_kind_bool; do
    grep -qx "$sym" "$tmp/exported" || {
        echo "exports: $sym is not exported by $shlib" >&2
        fail=1
    }
done

got=$(readelf -d "$shlib" | sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p')
if [ "$got" != "$soname" ]; then
    echo "exports: SONAME of $shlib is '$got', expected '$soname'" >&2
    fail=1
fi

[ $fail = 0 ] || exit 1
echo "exports: $(wc -l <"$tmp/exported") symbols, all public (reds_*, no reds__*); SONAME $got"

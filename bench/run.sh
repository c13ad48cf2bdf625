#!/bin/sh
# bench/run.sh BENCH: reds against raw hiredis and redis-benchmark, then the
# table. Run by `make bench` under with-redis (REDS_HOST, REDS_PORT and
# REDS_SOCKET name a throwaway server). BENCH_SCALE=0.2 makes a quick run;
# BENCH_AUTOPIPELINE_CONNECTIONS=n gives the threads case's auto-pipelined
# client n shared connections (default: the library's, 2).
# Exits non-zero only when something broke, never because of a figure.
set -eu

bench=${1:?usage: bench/run.sh path/to/bench}
: "${REDS_HOST:?run under with-redis}" "${REDS_PORT:?}" "${REDS_SOCKET:?}"
scale=${BENCH_SCALE:-1}
out=$(dirname "$bench")
results=$out/results.txt
: >"$results"

# Whole numbers scaled by BENCH_SCALE (at least 1).
n() { awk -v n="$1" -v s="$scale" 'BEGIN { v = int(n * s); print (v > 0 ? v : 1) }'; }

echo "== reds vs hiredis (timed: reds and hiredis alternating in short blocks)"
"$bench" time "$scale" >>"$results"

echo "== threads sharing one client (auto-pipelining on, off; hiredis; redis-benchmark -c N)"
"$bench" threads "$scale" >>"$results"
echo "== client-side caching (a hit against a round trip; a read-mostly mix)"
"$bench" cache "$scale" >>"$results"

# redis-benchmark -q: "SET: 12345.67 requests per second, p50=...".
redis_benchmark() { # PREFIX ARGS...
    prefix=$1
    shift
    redis-benchmark "$@" -c 1 -t set,get -q | tr '\r' '\n' |
        awk -v p="$prefix" '/requests per second/ { sub(":", "", $1); print p "_" tolower($1), $2 }' \
            >"$out/rb.txt"
    cat "$out/rb.txt" >>"$results"
    sed 's/^/  /' "$out/rb.txt"
}
echo "== redis-benchmark (reference)"
redis_benchmark rb_p1 -h "$REDS_HOST" -p "$REDS_PORT" -n "$(n 10000)" -P 1
redis_benchmark rb_unix_p1 -s "$REDS_SOCKET" -n "$(n 10000)" -P 1
redis_benchmark rb_p100 -h "$REDS_HOST" -p "$REDS_PORT" -n "$(n 500000)" -P 100

# Instructions: callgrind counts only the measured loop (the program toggles
# collection around it), so connecting and warming up are not included.
echo "== callgrind (user-space instructions in the measured loop)"
if command -v valgrind >/dev/null; then
    for c in "seq_reds $(n 5000)" "seq_hiredis $(n 5000)" \
        "lrange_reds $(n 20)" "lrange_hiredis $(n 20)" \
        "pipe_reds $(n 500)" "pipe_hiredis $(n 500)" \
        "async_reds_d1 $(n 10000)" "async_hiredis_d1 $(n 10000)" \
        "async_reds_d10 $(n 50000)" "async_hiredis_d10 $(n 50000)" \
        "async_reds_d100 $(n 50000)" "async_hiredis_d100 $(n 50000)"; do
        set -- $c
        cg=$out/callgrind.$1.out
        valgrind -q --tool=callgrind --collect-atstart=no --callgrind-out-file="$cg" \
            "$bench" callgrind "$1" "$2" >>"$results"
        ir=$(awk '/^(summary|totals):/ { print $2; exit }' "$cg")
        echo "$1_ir $ir" >>"$results"
        echo "  $1: $ir instructions ($cg)"
    done
else
    echo "  valgrind is not installed: no instruction counts"
fi

"$bench" report "$results"

#!/bin/sh
# bench/run.sh: the driver of `make bench`. Runs every bench/*.sh and every
# $FER_BUILD/bench/bench_* binary, each under a header line, with
# FER_BUILD (the build tree), FER_BIN (its tools), FER_ROOT and FER_SHARED
# (../shared, the data) set. A binary bench_X that a script bench/X.sh
# drives (bench_net, by net.sh) is left to that script; ab.sh, which
# compares two builds, is run by hand. Goes on after a
# failing benchmark; exits 1 if any failed.
B=${FER_BUILD:-build}
export FER_BUILD="$B"
export FER_BIN="$PWD/$B/bin"
export FER_ROOT="$PWD"
: "${FER_SHARED:=$PWD/../shared}"
export FER_SHARED
failed=0
run() {
    echo "== $*"
    "$@" || { echo "== $* FAILED (status $?)"; failed=$((failed + 1)); }
}
for s in bench/*.sh; do
    # ab.sh takes two builds; lib.sh holds the others' helpers
    case $s in bench/run.sh | bench/ab.sh | bench/lib.sh) continue ;; esac
    run sh "$s"
done
for b in "$B"/bench/bench_*; do
    [ -x "$b" ] || continue
    n=${b##*/bench_}
    [ -f "bench/$n.sh" ] && continue
    # OpenBLAS (the reference in bench_gemm) runs slower with these set
    run env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$b"
done
echo "== $failed benchmark(s) failed"
[ "$failed" -eq 0 ]

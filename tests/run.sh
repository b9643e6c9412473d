#!/bin/sh
# Runs every unit-test binary and every shell test; counts "ok", "FAIL" and
# "skip" lines; a program that exits non-zero without a FAIL line counts as
# one failure. Last line: "N passed, N failed, N skipped".
# FER_BUILD is the build tree (build/ or build-asan/).
B=${FER_BUILD:-build}
export FER_BIN="$PWD/$B/bin"
export FER_ROOT="$PWD"
: "${FER_SHARED:=$PWD/../shared}"
export FER_SHARED
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
pass=0 fail=0 skip=0
run_one() {
    name=$1; shift
    # a hung test must not hang CI: each program gets FER_TEST_TIMEOUT s
    timeout "${FER_TEST_TIMEOUT:-1200}" "$@" >"$log" 2>&1
    st=$?
    [ "$st" -eq 124 ] && echo "FAIL $name: timed out after ${FER_TEST_TIMEOUT:-1200} s" >>"$log"
    sed 's/^/  /' "$log" | grep -E '^  (ok|FAIL|skip) ' | sed "s|^  |$name: |"
    p=$(grep -c '^ok ' "$log"); f=$(grep -c '^FAIL ' "$log"); s=$(grep -c '^skip ' "$log")
    if [ "$st" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "$name: FAIL exited with status $st; its last lines:"
        tail -n 15 "$log" | sed 's/^/    /'
        f=1
    elif [ "$f" -ne 0 ]; then
        grep -v -E '^(ok|FAIL|skip) ' "$log" | tail -n 15 | sed 's/^/    /'
    fi
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
}
for t in "$B"/tests/test_*; do
    [ -x "$t" ] || continue
    run_one "$(basename "$t")" "$t"
done
for t in tests/*.sh; do
    case $t in tests/run.sh|tests/lib.sh) continue ;; esac
    run_one "$(basename "$t")" sh "$t"
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

#!/bin/sh
# run.sh: runs each fuzzer for SECONDS on its corpus, FUZZ_B/corpus/<parser>/
# (which keeps what the run adds). One line per fuzzer: its executions and
# "ok", or "FAIL" with the sanitizer's report; a failed one leaves its
# input as FUZZ_B/crash-<parser>-* (or leak-, timeout-, oom-) and its whole
# log as FUZZ_B/fuzz_<parser>.log. Exit 1 when one failed.
# Usage: FUZZ_B=build-fuzz sh tests/fuzz/run.sh SECONDS [LIBFUZZER-ARGS] -- FUZZER...
secs=${1:?usage: run.sh SECONDS [ARGS] -- FUZZER...}
shift
args=
while [ $# -gt 0 ] && [ "$1" != -- ]; do
    args="$args $1"
    shift
done
shift
B=${FUZZ_B:-build-fuzz}
failed=0
for f in "$@"; do
    name=${f##*/}
    p=${name#fuzz_}
    mkdir -p "$B/corpus/$p"
    log=$B/$name.log
    # shellcheck disable=SC2086  # args are words
    "$f" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$B/crash-$p-" \
        $args "$B/corpus/$p" >"$log" 2>&1
    st=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    if [ "$st" -eq 0 ]; then
        echo "ok $name: ${runs:-?} runs in $secs s"
    else
        failed=1
        echo "FAIL $name: status $st after ${runs:-?} runs; $log:"
        grep -E -A 25 '^==[0-9]+==ERROR|runtime error|^SUMMARY|ALARM|fer: .*assertion' "$log" |
            head -n 40 | sed 's/^/    /'
        ls "$B/crash-$p-"* 2>/dev/null | sed 's/^/    input: /'
    fi
done
exit $failed

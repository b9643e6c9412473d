#!/bin/sh
# bench/ab.sh A B: is build B slower than build A? Runs A's and B's
# bench_net (A/bench/bench_net, B/bench/bench_net, e.g. a build of the
# commit before a change and one after) alternately, ROUNDS rounds, on the
# same nets, modes and batches, and prints the medians and their ratio
# B/A in images per second (above 1: B is faster). The reference is the
# other build in the same script, so a noisy machine shows in the spread
# between rounds (min-max), printed too.
#
# Environment: BENCH_SECONDS (3), BENCH_ROUNDS (3), BENCH_THREADS (2),
# BENCH_PRECISION (fp32, or bf16: bench_net's products),
# BENCH_CASES ("cnn train 64, cnn infer 1, cnn infer 64, ff train 64,
# resnet18 train 32, resnet18 infer 64").
A=${1:?usage: bench/ab.sh BUILD_A BUILD_B}
B=${2:?usage: bench/ab.sh BUILD_A BUILD_B}
SECS=${BENCH_SECONDS:-3}
ROUNDS=${BENCH_ROUNDS:-3}
THREADS=${BENCH_THREADS:-2}
PREC=${BENCH_PRECISION:-fp32}
CASES=${BENCH_CASES:-cnn train 64, cnn infer 1, cnn infer 64, ff train 64, resnet18 train 32, resnet18 infer 64}
for b in "$A" "$B"; do
    [ -x "$b/bench/bench_net" ] || { echo "ab: no $b/bench/bench_net (make B=$b bench)" >&2; exit 1; }
done
img_s() { "$1/bench/bench_net" $2 $3 $4 "$SECS" "$THREADS" "$PREC" | sed -n 's/.*img_s=\([0-9.]*\).*/\1/p'; }
# median min max of the numbers on stdin
stats() { sort -g | awk '{v[NR] = $1} END {printf "%.1f %.1f %.1f", v[int((NR + 1) / 2)], v[1], v[NR]}'; }
printf '%-10s %-6s %5s  %20s  %20s  %6s\n' net mode batch "A img/s (min-max)" "B img/s (min-max)" "B/A"
echo "$CASES" | tr ',' '\n' | while read -r net mode batch; do
    [ -n "$net" ] || continue
    ra= rb=
    for r in $(seq "$ROUNDS"); do
        ra="$ra $(img_s "$A" "$net" "$mode" "$batch")"
        rb="$rb $(img_s "$B" "$net" "$mode" "$batch")"
    done
    sa=$(echo $ra | tr ' ' '\n' | stats) sb=$(echo $rb | tr ' ' '\n' | stats)
    set -- $sa $sb
    printf '%-10s %-6s %5s  %8s (%s-%s)  %8s (%s-%s)  %6.3f\n' "$net" "$mode" "$batch" \
        "$1" "$2" "$3" "$4" "$5" "$6" "$(echo "$4 $1" | awk '{print $1 / $2}')"
done

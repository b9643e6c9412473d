#!/bin/sh
# bench/fuse.sh: what the CPU's fusions save (issue 13). Training: the
# conv epilogue takes the ReLU and batch norm's sums while the output is in
# cache, and batch norm then normalises from those sums (with the ReLU
# after it, in resnet18, or the residual join it feeds and that join's
# ReLU), and its backward takes that ReLU's, instead of separate passes
# over each map. Inference: the conv epilogue applies the ReLU, batch norm
# and ReLU that follow it, or batch norm and a residual join's add and
# ReLU. Each row runs the net with the fusions off (BENCH_FUSE=0) and
# on, in alternating processes (off, on, off, on, ...), BENCH_ROUNDS
# rounds, and gives the medians in images/s, their ratio on/off, and the
# peak memory of each.
#
# Environment: BENCH_SECONDS (4), BENCH_ROUNDS (3), BENCH_THREADS (2),
# BENCH_NETS ("cnn resnet18"), BENCH_PRECISIONS ("fp32 bf16"),
# BENCH_QUICK=1 (training at 64 and inference at 64 only; else training
# at 32, 64, 128 and inference at 1, 64).
ROOT=${FER_ROOT:-.}
BN=$ROOT/${FER_BUILD:-build}/bench/bench_net
SECS=${BENCH_SECONDS:-4}
ROUNDS=${BENCH_ROUNDS:-3}
THREADS=${BENCH_THREADS:-2}
NETS=${BENCH_NETS:-cnn resnet18}
PRECS=${BENCH_PRECISIONS:-fp32 bf16}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    TRAIN_B="64" INFER_B="64"
else
    TRAIN_B="32 64 128" INFER_B="1 64"
fi
if [ ! -x "$BN" ]; then echo "fuse: no $BN (make bench first)"; exit 1; fi

. "$ROOT/bench/lib.sh"

echo "fuse: $(date -u '+%Y-%m-%d %H:%M UTC'), $THREADS threads, $ROUNDS rounds of >= ${SECS} s," \
    "load:$(uptime | sed 's/.*load average[s]*://')"
printf '%-8s %-5s %5s %-4s %10s %10s %7s %8s %8s  %s\n' net mode batch prec "off img/s" \
    "on img/s" "on/off" "off MB" "on MB" "rounds (off | on)"
failed=0 ratios=''
for prec in $PRECS; do
    for net in $NETS; do
      for mode in train infer; do
        if [ $mode = train ]; then batches=$TRAIN_B; else batches=$INFER_B; fi
        for b in $batches; do
            off='' on='' offm='' onm=''
            r=0
            while [ $r -lt "$ROUNDS" ]; do
                if out=$(BENCH_FUSE=0 "$BN" "$net" $mode "$b" "$SECS" "$THREADS" "$prec"); then
                    off="$off $(field img_s "$out")" offm="$offm $(field peak_mb "$out")"
                else
                    failed=$((failed + 1))
                fi
                if out=$("$BN" "$net" $mode "$b" "$SECS" "$THREADS" "$prec"); then
                    on="$on $(field img_s "$out")" onm="$onm $(field peak_mb "$out")"
                else
                    failed=$((failed + 1))
                fi
                r=$((r + 1))
            done
            mo=$(median $off) mn=$(median $on)
            ratio=$(awk -v a="$mn" -v b="$mo" 'BEGIN {
                if (a == "-" || b == "-" || b <= 0) print "-"; else printf "%.3f", a / b }')
            [ "$ratio" = - ] || ratios="$ratios $mode:$ratio"
            printf '%-8s %-5s %5s %-4s %10s %10s %7s %8s %8s  %s |%s\n' "$net" $mode "$b" "$prec" \
                "$mo" "$mn" "$ratio" "$(most $offm)" "$(most $onm)" "${off# }" "$on"
        done
      done
    done
done
printf '%s\n' $ratios | awk -F: 'NF == 2 { s[$1] += log($2); n[$1]++ }
    END { printf "fuse: geometric mean on/off:"; for (k in s) printf " %s %.3f (%d rows)", k,
          exp(s[k] / n[k]), n[k]; printf "\n" }'
[ "$failed" -eq 0 ]

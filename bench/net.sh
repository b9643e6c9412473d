#!/bin/sh
# bench/net.sh: images per second and peak memory of the three networks,
# fer (bench_net) against PyTorch (bench/torch_net.py) on the same
# architectures, random inputs and thread count. For each net, mode and
# batch the two run alternately in separate processes (fer, torch, fer,
# torch, ...), ROUNDS rounds; the table gives the medians, their ratio
# fer/torch, and the peak resident memory of each (the most over the rounds;
# "torch +MB" is torch's peak less its resident set after `import torch`).
#
#   train: one SGD step (momentum 0.9) per batch of 32, 64, 128
#   infer: one inference forward per batch of 1, 64, 256
#
# at each precision of BENCH_PRECISIONS ("fp32 bf16"): fp32 against torch's
# fp32, bf16 (fer --precision bf16) against torch under bf16 autocast.
# Then the single image: cnn infer 1, fer's best precision at THREADS
# against torch's best of fp32 and bf16 on 1 and on 2 threads.
#
# Environment: BENCH_QUICK=1 (fewer batches: train 32, infer 1 and 64),
# BENCH_SECONDS (timed seconds per measurement, 4; at least 2 steps run),
# BENCH_ROUNDS (2), BENCH_THREADS (2), BENCH_NETS ("cnn ff resnet18"),
# FER_PYTHON (/usr/bin/python3, with torch). Torch runs without
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (they slow it) and with
# OMP_WAIT_POLICY=PASSIVE unless OMP_WAIT_POLICY is set: with the default
# spinning wait, torch's 2 OpenMP threads run 5-20x slower whenever another
# process holds a core (see bench/README.md).
ROOT=${FER_ROOT:-.}
BN=$ROOT/${FER_BUILD:-build}/bench/bench_net
TN=$ROOT/bench/torch_net.py
PY=${FER_PYTHON:-/usr/bin/python3}
SECS=${BENCH_SECONDS:-4}
ROUNDS=${BENCH_ROUNDS:-2}
THREADS=${BENCH_THREADS:-2}
NETS=${BENCH_NETS:-cnn ff resnet18}
PRECS=${BENCH_PRECISIONS:-fp32 bf16}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    TRAIN_B="32" INFER_B="1 64"
else
    TRAIN_B="32 64 128" INFER_B="1 64 256"
fi
if [ ! -x "$BN" ]; then echo "net: no $BN (make bench first)"; exit 1; fi

# torch: the reference's environment, in a subshell
torch_run() {
    (
        unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
        OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
        export OMP_WAIT_POLICY
        exec "$PY" "$TN" "$@"
    )
}
have_torch=1
if ! (unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE; "$PY" -c 'import torch' >/dev/null 2>&1); then
    have_torch=0
    echo "net: no torch in $PY: torch columns skipped (-)"
fi

. "$ROOT/bench/lib.sh"

# the core-to-core round trip (bench_corelat.c): on a VM it tells which
# state the host keeps the cores in; printed before and after the table
corelat() {
    [ -x "${BN%/*}/bench_corelat" ] && [ "$THREADS" -gt 1 ] &&
        echo "net: core round trip $1: $(field roundtrip_ns "$("${BN%/*}/bench_corelat")") ns"
}
echo "net: $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -m), $THREADS threads," \
    "$ROUNDS rounds of >= ${SECS} s, load:$(uptime | sed 's/.*load average[s]*://')"
corelat before
printf '%-8s %-5s %5s %-4s %10s %10s %9s %8s %8s %8s  %s\n' net mode batch prec \
    "fer img/s" "torch" "fer/torch" "fer MB" "torch MB" "torch +MB" "rounds (fer | torch img/s)"
failed=0 ratios=''
for prec in $PRECS; do
for net in $NETS; do
    for mode in train infer; do
        if [ $mode = train ]; then batches=$TRAIN_B; else batches=$INFER_B; fi
        for b in $batches; do
            f='' t='' fm='' tm='' tp=''
            r=0
            while [ $r -lt "$ROUNDS" ]; do
                if out=$("$BN" "$net" $mode "$b" "$SECS" "$THREADS" "$prec"); then
                    f="$f $(field img_s "$out")" fm="$fm $(field peak_mb "$out")"
                else
                    echo "net: bench_net $net $mode $b failed"; failed=$((failed + 1))
                fi
                if [ $have_torch = 1 ]; then
                    if out=$(torch_run "$net" $mode "$b" "$SECS" "$THREADS" "$prec"); then
                        pk=$(field peak_mb "$out")
                        t="$t $(field img_s "$out")" tm="$tm $pk"
                        tp="$tp $(awk -v p="$pk" -v b="$(field base_mb "$out")" \
                                  'BEGIN { printf "%.1f", p - b }')"
                    else
                        echo "net: torch_net.py $net $mode $b failed"; failed=$((failed + 1))
                    fi
                fi
                r=$((r + 1))
            done
            mf=$(median $f) mt=$(median $t)
            ratio=$(awk -v f="$mf" -v t="$mt" 'BEGIN {
                if (f == "-" || t == "-" || t <= 0) print "-"; else printf "%.2f", f / t }')
            [ "$ratio" = - ] || ratios="$ratios $prec-$mode:$ratio"
            printf '%-8s %-5s %5s %-4s %10s %10s %9s %8s %8s %8s  %s |%s\n' "$net" $mode "$b" \
                "$prec" "$mf" "$mt" "$ratio" "$(most $fm)" "$(most $tm)" "$(most $tp)" "${f# }" \
                "${t:- -}"
        done
    done
done
done
# geometric means of the ratios, per precision and mode, and over all rows
printf '%s\n' $ratios | awk -F: 'NF == 2 { s[$1] += log($2); n[$1]++; S += log($2); N++ }
    END { if (!N) exit; printf "net: geometric mean fer/torch:"
          for (k in s) printf " %s %.2f,", k, exp(s[k] / n[k]); printf " all %.2f\n", exp(S / N) }'

# The single image (a webcam, a video): fer at THREADS threads in each
# precision against every torch setting; the best median of each side, and
# the slowest round of fer's best (issue 13 asks for a steady lead).
if [ $have_torch = 1 ] && printf '%s\n' $NETS | grep -qx cnn; then
    fr='' tr=''
    r=0
    while [ $r -lt "$ROUNDS" ]; do
        for p in $PRECS; do
            out=$("$BN" cnn infer 1 "$SECS" "$THREADS" "$p") && fr="$fr $p:$(field img_s "$out")"
        done
        for p in fp32 bf16; do
            for th in 1 2; do
                out=$(torch_run cnn infer 1 "$SECS" "$th" "$p") &&
                    tr="$tr $p/$th:$(field img_s "$out")"
            done
        done
        r=$((r + 1))
    done
    # best KEY:VALUE...: the key with the highest median, that median and
    # that key's slowest round
    best() {
        printf '%s\n' "$@" | awk -F: 'NF == 2 { n[$1]++; v[$1, n[$1]] = $2 }
            END { for (k in n) { c = n[k]
                      for (i = 2; i <= c; i++) for (j = i; j > 1 && v[k, j - 1] > v[k, j]; j--) {
                          t = v[k, j]; v[k, j] = v[k, j - 1]; v[k, j - 1] = t }
                      m = c % 2 ? v[k, (c + 1) / 2] : (v[k, c / 2] + v[k, c / 2 + 1]) / 2
                      if (m > bm) { bm = m; bk = k; lo = v[k, 1] } }
                  if (bk != "") printf "%s %.2f %.2f\n", bk, bm, lo }'
    }
    set -- $(best $fr) $(best $tr)
    if [ $# -eq 6 ]; then
        # steadiness: fer's slowest round against torch's best median too
        echo "net: single image (cnn infer 1): fer best $1 ($THREADS threads) $2 img/s," \
            "torch best $4 (precision/threads) $5 img/s; fer/torch" \
            "$(awk -v f="$2" -v t="$5" 'BEGIN { printf "%.2f", f / t }');" \
            "fer's slowest round $3 img/s, /torch" \
            "$(awk -v f="$3" -v t="$5" 'BEGIN { printf "%.2f", f / t }')"
        echo "net: single image rounds: fer$fr | torch$tr"
    else
        echo "net: single image: no result"; failed=$((failed + 1))
    fi
fi
corelat after
[ "$failed" -eq 0 ]

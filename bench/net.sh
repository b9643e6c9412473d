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

# field KEY LINE: the value of KEY=... in a result line
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
# median and most of a list of numbers; "-" for none
median() { printf '%s\n' "$@" | sort -g | awk 'NF { v[++n] = $1 } END {
    if (n == 0) print "-"; else if (n % 2) print v[(n + 1) / 2];
    else printf "%.2f\n", (v[n / 2] + v[n / 2 + 1]) / 2 }'; }
most() { printf '%s\n' "$@" | sort -g | awk 'NF { m = $1 } END { print (m == "" ? "-" : m) }'; }

# the core-to-core round trip (bench_corelat.c): on a VM it tells which
# state the host keeps the cores in; printed before and after the table
corelat() {
    [ -x "${BN%/*}/bench_corelat" ] && [ "$THREADS" -gt 1 ] &&
        echo "net: core round trip $1: $(field roundtrip_ns "$("${BN%/*}/bench_corelat")") ns"
}
echo "net: $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -m), $THREADS threads," \
    "$ROUNDS rounds of >= ${SECS} s, load:$(uptime | sed 's/.*load average[s]*://')"
corelat before
printf '%-8s %-5s %5s %10s %10s %9s %8s %8s %8s  %s\n' net mode batch "fer img/s" \
    "torch" "fer/torch" "fer MB" "torch MB" "torch +MB" "rounds (fer | torch img/s)"
failed=0 ratios=''
for net in $NETS; do
    for mode in train infer; do
        if [ $mode = train ]; then batches=$TRAIN_B; else batches=$INFER_B; fi
        for b in $batches; do
            f='' t='' fm='' tm='' tp=''
            r=0
            while [ $r -lt "$ROUNDS" ]; do
                if out=$("$BN" "$net" $mode "$b" "$SECS" "$THREADS"); then
                    f="$f $(field img_s "$out")" fm="$fm $(field peak_mb "$out")"
                else
                    echo "net: bench_net $net $mode $b failed"; failed=$((failed + 1))
                fi
                if [ $have_torch = 1 ]; then
                    if out=$(torch_run "$net" $mode "$b" "$SECS" "$THREADS"); then
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
            [ "$ratio" = - ] || ratios="$ratios $mode:$ratio"
            printf '%-8s %-5s %5s %10s %10s %9s %8s %8s %8s  %s |%s\n' "$net" $mode "$b" "$mf" \
                "$mt" "$ratio" "$(most $fm)" "$(most $tm)" "$(most $tp)" "${f# }" "${t:- -}"
        done
    done
done
# geometric means of the ratios, per mode and over all rows
printf '%s\n' $ratios | awk -F: 'NF == 2 { s[$1] += log($2); n[$1]++; S += log($2); N++ }
    END { if (N) printf "net: geometric mean fer/torch: train %s, infer %s, all %.2f\n",
              n["train"] ? sprintf("%.2f", exp(s["train"] / n["train"])) : "-",
              n["infer"] ? sprintf("%.2f", exp(s["infer"] / n["infer"])) : "-", exp(S / N) }'
corelat after
[ "$failed" -eq 0 ]

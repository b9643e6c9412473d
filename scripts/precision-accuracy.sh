#!/bin/sh
# precision-accuracy.sh: does bf16 training hold accuracy? The half-width
# cnn trained twice with make model's first-stage recipe (same seed, same
# 20% of Training held out for validation), once with --precision fp32 and
# once with bf16, the two runs side by side on one thread each so that
# both see the same machine. Writes into OUT (build/precision):
#   fp32.csv, bf16.csv    the per-epoch logs (fer-train --log)
#   curves.png            both runs' curves on one picture (fer-plot)
#   summary.txt           best and last validation accuracy of each, their
#                         differences, the wall time of each run, and on how
#                         many validation faces the two models part
#   val.fer, *.pred.csv   the held-out faces and each model's predictions
# Each run checkpoints; rerunning the script resumes what was cut short
# and skips what is done. PublicTest is not read. PRECISION_SEED (1) seeds
# both runs (the initial weights, the order, the augmentation and the
# validation hold-out); PRECISION_EPOCHS (10). With FER_FUSE=0 both run
# with the fusions off: set beside a run with them on (another OUT), the
# spread of two trainings that differ only in the last bits of batch norm's
# sums, for each precision.
#
#   sh scripts/precision-accuracy.sh [FER2013.csv.gz [OUT]]
set -e
FER2013=${1:-../shared/data/fer2013-trainval.csv.gz}
OUT=${2:-build/precision}
BIN=${FER_BUILD:-build}/bin
EPOCHS=${PRECISION_EPOCHS:-10}
SEED=${PRECISION_SEED:-1}
RECIPE="-m cnn --width 0.5 --batch 128 --optim adamw --weight-decay 5e-4 --schedule cosine
        --mirror --val-split 0.2 --seed $SEED --epochs $EPOCHS --lr 2e-3 --threads 1 -q"
mkdir -p "$OUT"
[ -s "$OUT/train.fer" ] || "$BIN/fer-convert" --usage Training "$FER2013" -o "$OUT/train.fer"

run() {   # run PRECISION: one training, resumed from its checkpoint if cut
    p=$1
    [ -s "$OUT/$p.fer" ] && return 0
    start=$(date +%s)
    if [ -s "$OUT/$p.ckpt" ]; then
        # shellcheck disable=SC2086  # RECIPE is words
        "$BIN/fer-train" $RECIPE --precision "$p" -i "$OUT/train.fer" -o "$OUT/$p.fer" \
            --log "$OUT/$p.csv" --checkpoint "$OUT/$p.ckpt" --resume "$OUT/$p.ckpt"
    else
        # shellcheck disable=SC2086
        "$BIN/fer-train" $RECIPE --precision "$p" -i "$OUT/train.fer" -o "$OUT/$p.fer" \
            --log "$OUT/$p.csv" --checkpoint "$OUT/$p.ckpt"
    fi
    echo "$(($(date +%s) - start))" >"$OUT/$p.seconds"
}
run fp32 &
a=$!
run bf16 &
b=$!
wait $a
wait $b

[ -s "$OUT/val.fer" ] || "$BIN/fer-convert" --usage Training --val-split 0.2 --part val \
    --seed "$SEED" "$FER2013" -o "$OUT/val.fer" 2>/dev/null
for p in fp32 bf16; do
    "$BIN/fer-eval" -m "$OUT/$p.fer" --precision "$p" --threads 1 -q --predictions "$OUT/$p.pred.csv" \
        "$OUT/val.fer" >/dev/null
done
"$BIN/fer-plot" "$OUT/fp32.csv" "$OUT/bf16.csv" -o "$OUT/curves.png" \
    --title "half-width cnn, $EPOCHS epochs, seed $SEED: fp32 and bf16 products"
# best and last val_acc of a log (the last row of an epoch counts)
acc() {
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "val_acc") c = i; next }
        $1 != "epoch" { v[$1] = $c; if ($1 > n) n = $1 }
        END { for (e = 1; e <= n; e++) if (v[e] > b) b = v[e]; printf "%.4f %.4f\n", b, v[n] }' "$1"
}
{
    set -- $(acc "$OUT/fp32.csv") $(acc "$OUT/bf16.csv")
    echo "precision  best_val  last_val  seconds"
    echo "fp32       $1    $2    $(cat "$OUT/fp32.seconds" 2>/dev/null || echo -)"
    echo "bf16       $3    $4    $(cat "$OUT/bf16.seconds" 2>/dev/null || echo -)"
    awk -v a="$1" -v b="$3" -v c="$2" -v d="$4" 'BEGIN {
        printf "bf16 - fp32: best %+.2f points, last %+.2f points\n", 100 * (b - a), 100 * (d - c) }'
    # The two models written (each its run's best epoch on validation) on
    # the held-out faces (fer-convert --part val with the same seed is
    # fer-train's hold-out): where they part, and how far their accuracies
    # would lie apart by chance if each such face fell to either side as a
    # coin does (sqrt(share / faces)).
    paste -d, "$OUT/fp32.pred.csv" "$OUT/bf16.pred.csv" | awk -F, 'NR == 1 { k = NF / 2; next }
        { n++; if (($3 == $2) != ($(k + 3) == $(k + 2))) d++; if ($3 != $(k + 3)) p++ }
        END { printf "the models predict another class for %.2f%% of the %d validation faces, " \
            "are right on one and wrong on the other for %.2f%% (by chance alone: +-%.2f points)\n",
            100 * p / n, n, 100 * d / n, 100 * sqrt(d / n / n) }'
} | tee "$OUT/summary.txt"

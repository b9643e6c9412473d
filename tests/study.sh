#!/bin/sh
# study.sh: `make study STUDY=quick` on the tiny FER2013 sample: every step
# of the study runs (split, x4 augmentation, ff, cnn, cnn on x4, the
# annealing search and its best point, resnet18), each model is scored on
# PublicTest, the pictures are drawn, and the table has a row per model
# with numbers that agree with the reports; a second make does nothing.
. "$FER_ROOT/tests/lib.sh"
DATA=$(tiny_data)
B=${FER_BUILD:-build}
W=$TMP/study
cd "$TMP" || exit 1
mk() { make -s -C "$FER_ROOT" study B="$B" STUDY=quick FER2013="$DATA" STUDY_WORK="$W" \
    STUDY_RESNET="--epochs 1 --batch 16 --optim adam --lr 1e-3" "$@"; }
t make_study 0 '^\| cnn, x4 \+ fer-anneal' -- mk
for m in ff cnn cnn-aug cnn-anneal resnet18; do
    check "model_$m" test -s "$W/$m.fer" -a -s "$W/$m.json" -a -s "$W/$m-curves.png" \
        -a -s "$W/$m-confusion.png"
done
check anneal_plot test -s "$W/anneal.png"
# 4 trials (the quick budget) and a header
check anneal_trials test "$(wc -l <"$W/anneal.csv")" -eq 5
# x4: every training face, its mirror and two turns; validation untouched
n_train=$(fer-convert -i "$W/train.fer" | awk '/^images/ { print $2 }')
n_x4=$(fer-convert -i "$W/train-x4.fer" | awk '/^images/ { print $2 }')
check x4_count test -n "$n_train" -a "$n_x4" = "$((4 * n_train))"
check val_count test "$(fer-convert -i "$W/val.fer" | awk '/^images/ { print $2 }')" = 14
# the table's accuracy for each model is its report's, as a percentage
for m in ff cnn cnn-aug cnn-anneal resnet18; do
    acc=$(sed -n 's/^{"accuracy": \([0-9.]*\),.*/\1/p' "$W/$m.json")
    pct=$(awk -v a="$acc" 'BEGIN { printf "%.1f%%", 100 * a }')
    case $m in
    ff) label='ff \(5 dense layers\)' ;;
    cnn) label='cnn, no augmentation' ;;
    cnn-aug) label='cnn, fer-augment --study \(x4\)' ;;
    cnn-anneal) label='cnn, x4 \+ fer-anneal' ;;
    resnet18) label='resnet18, from scratch' ;;
    esac
    check "table_$m" grep -Eq "^\| $label.* \| $pct \| [01]\.[0-9]{3} \| [0-9]" "$W/study.md"
done
# the best point's options were used for the annealed cnn
best=$(sh "$FER_ROOT/scripts/study-best.sh" "$W/anneal.csv")
check best_point_used sh -c "grep -aq -- '$best' '$W/cnn-anneal.fer'"
# an interrupted search (two trials logged, the rest lost) is resumed by
# the next make, and ends with the trials an uninterrupted one had
cp "$W/anneal.csv" whole.csv
head -n 3 "$W/anneal.csv" >"$W/anneal.csv.tmp"
rm -f "$W/anneal.csv" "$W"/anneal/trial-003.* "$W"/anneal/trial-004.* "$W"/cnn-anneal* "$W/study.md"
t make_study_resumed 0 '^\| cnn, x4 \+ fer-anneal' -- mk
check anneal_resumed_same test "$(cut -d, -f1-11,13-14 "$W/anneal.csv")" = \
    "$(cut -d, -f1-11,13-14 whole.csv)" -a "$(wc -l <whole.csv)" -eq 5
# nothing is redone once made: make -q finds the table up to date
check up_to_date make -q -C "$FER_ROOT" B="$B" STUDY=quick FER2013="$DATA" STUDY_WORK="$W" \
    STUDY_RESNET="--epochs 1 --batch 16 --optim adam --lr 1e-3" "$W/study.md"

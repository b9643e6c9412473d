#!/bin/sh
# study-table.sh DIR [BUDGET]: the study's results table in Markdown, from
# the PublicTest reports (fer-eval --format json) and model files that
# `make study` leaves in DIR: accuracy, macro F1 and training time of each
# model beside the study's own figure.
set -e
d=$1
budget=${2:-?}
# json KEY FILE: the first number after "KEY": in a fer-eval report
json() { sed -n "s/.*\"$1\": *{*\"*\([0-9.]*\).*/\1/p" "$2" | head -n 1; }
# f1 FILE: the macro average's F1
f1() { sed -n 's/.*"macro avg": {[^}]*"f1-score": \([0-9.]*\).*/\1/p' "$1" | head -n 1; }
# meta FILE KEY: a value from a model file's training record
meta() { grep -a "^$2=" "$1" | head -n 1 | sed "s/^$2=//"; }
# seconds MODEL: training time; for the annealed cnn the search's trials too
seconds() {
    s=$(meta "$d/$1.fer" train.seconds)
    if [ "$1" = cnn-anneal ] && [ -r "$d/anneal.csv" ]; then
        s=$(awk -F, -v s="$s" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "seconds") c = i; next }
            c { s += $c } END { print s }' "$d/anneal.csv")
    fi
    awk -v s="$s" 'BEGIN { if (s >= 3600) printf "%dh%02dm", s / 3600, s % 3600 / 60
        else if (s >= 60) printf "%dm%02ds", s / 60, s % 60; else printf "%.0fs", s }'
}
row() {   # MODEL "what" "study's figure"
    [ -r "$d/$1.json" ] || return 0
    printf '| %s | %.1f%% | %.3f | %s | %s |\n' "$2" \
        "$(awk -v a="$(json accuracy "$d/$1.json")" 'BEGIN { print 100 * a }')" \
        "$(f1 "$d/$1.json")" "$(seconds "$1")" "$3"
}
from=$(cat "$d/resnet18.from" 2>/dev/null || echo scratch)
n=$(json n "$d/cnn.json")
echo "fer's study ($budget budget): PublicTest accuracy of $n faces, macro F1, training time"
echo
echo "| model | accuracy | macro F1 | training | the study |"
echo "|---|---|---|---|---|"
row ff "ff (5 dense layers)" "47-48%"
row cnn "cnn, no augmentation" "63.8%"
row cnn-aug "cnn, fer-augment --study (x4)" "-"
row cnn-anneal "cnn, x4 + fer-anneal's best point" "68.6%"
if [ "$from" = ImageNet ]; then
    row resnet18 "resnet18, from ImageNet weights" "64.4%"
else
    row resnet18 "resnet18, from scratch (no ImageNet weights given)" "64.4% (from ImageNet)"
fi

#!/bin/sh
# bench/detect_accuracy.sh: recall and precision of fer-detect's detectors
# on every shared photo with ground truth (bench/detect_score.py says how
# they are counted): Haar with and without --eyes, and the SSD MobileNetV1
# whole photo at face-api's score 0.5 and at 0.9, and with tiles (the
# default) at 0.9 and 0.5; BlazeFace whole photo and with tiles (the
# default), both at its default score 0.75. Prints the Markdown table of
# bench/README.md.
# DETECT_TILES="200 256 400" adds a row for each of those tile sides (at
# the default score), as the choice of the default was measured.
# Takes about 3 minutes on 2 cores (the tiled runs); BENCH_QUICK=1 leaves
# the tiled runs out. Skips with one line without ../shared or the weights.
FACES=${FER_SHARED:-../shared}/faces
FD=${FER_BIN:-build/bin}/fer-detect
PY=${FER_PYTHON:-python3}
HERE=$(dirname "$0")
if [ ! -d "$FACES/images" ]; then echo "detect_accuracy: skip: no $FACES"; exit 0; fi
if [ ! -x "$FD" ]; then echo "detect_accuracy: no $FD (make first)"; exit 1; fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
set -- "$FACES"/images/*
"$FD" --boxes "$@" > "$T/haar" || exit 1
"$FD" --boxes --eyes "$@" > "$T/eyes" || exit 1
rows="haar=$T/haar haar_--eyes=$T/eyes"
if "$FD" --detector ssd --boxes "$1" > /dev/null 2> "$T/err"; then
    "$FD" --detector ssd --tiles off --boxes "$@" > "$T/s05" || exit 1
    "$FD" --detector ssd --tiles off --min-score 0.9 --boxes "$@" > "$T/s09" || exit 1
    rows="$rows ssd_--tiles_off_(score_0.5,_face-api's)=$T/s05 ssd_--tiles_off_--min-score_0.9=$T/s09"
    if [ "${BENCH_QUICK:-0}" != 1 ]; then
        "$FD" --detector ssd --boxes "$@" > "$T/t09" || exit 1
        "$FD" --detector ssd --min-score 0.5 --boxes "$@" > "$T/t05" || exit 1
        rows="$rows ssd_(default:_tiles_auto,_score_0.9)=$T/t09 ssd_tiles_auto_--min-score_0.5=$T/t05"
        for side in ${DETECT_TILES:-}; do
            "$FD" --detector ssd --tiles "$side" --boxes "$@" > "$T/tiles$side" || exit 1
            rows="$rows ssd_--tiles_$side=$T/tiles$side"
        done
    fi
else
    echo "detect_accuracy: no SSD rows: $(cat "$T/err")"
fi
if "$FD" --detector blazeface --boxes "$1" > /dev/null 2> "$T/err"; then
    "$FD" --detector blazeface --tiles off --boxes "$@" > "$T/b_whole" || exit 1
    rows="$rows blazeface_--tiles_off_(score_0.75)=$T/b_whole"
    if [ -z "${BENCH_QUICK:-}" ]; then
        "$FD" --detector blazeface --boxes "$@" > "$T/b_tiles" || exit 1
        rows="$rows blazeface_(default:_tiles_auto_160,_score_0.75)=$T/b_tiles"
    fi
else
    echo "detect_accuracy: no BlazeFace rows: $(cat "$T/err")"
fi
# names carry _ for spaces through the shell
"$PY" "$HERE/detect_score.py" "$FACES" $rows | sed 's/_/ /g'

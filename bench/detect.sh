#!/bin/sh
# bench/detect.sh: fer-detect --boxes against OpenCV's detectMultiScale
# (Debian's python3-opencv, bench/detect_opencv.py) on the shared face
# photos, both doing decode + gray + detection with scale 1.1, 5 neighbours,
# min size 30, at 1 and at 2 threads. The two alternate, 3 rounds each; the
# medians per image and the ratio OpenCV/fer (goal > 1: fer faster) are
# printed. fer's time is the whole process (it also loads the cascade);
# OpenCV's leaves out the interpreter's start and the cascade's loading.
FACES=${FER_SHARED:-../shared}/faces/images
FD=${FER_BIN:-build/bin}/fer-detect
PY=${FER_PYTHON:-/usr/bin/python3}
HERE=$(dirname "$0")
ROUNDS=3
CASC=
for d in /usr/share/opencv4/haarcascades /usr/share/opencv/haarcascades; do
    [ -f "$d/haarcascade_frontalface_default.xml" ] && CASC=$d/haarcascade_frontalface_default.xml && break
done
if [ ! -d "$FACES" ]; then echo "detect: skip: no $FACES"; exit 0; fi
if [ -z "$CASC" ]; then echo "detect: skip: no OpenCV haarcascades"; exit 0; fi
if ! "$PY" -c 'import cv2' 2>/dev/null; then echo "detect: skip: no cv2 in $PY"; exit 0; fi
if [ ! -x "$FD" ]; then echo "detect: no $FD (make first)"; exit 1; fi
case $(date +%N) in *N*|'') echo "detect: skip: date +%N unsupported"; exit 0 ;; esac

set -- "$FACES"/*
n=$#
ns() { date +%s%N; }
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }

for th in 1 2; do
    f='' o='' nf='' no=''
    i=0
    while [ $i -lt $ROUNDS ]; do
        t0=$(ns)
        nf=$(FER_THREADS=$th "$FD" --boxes --threads "$th" "$@" | wc -l) || { echo "detect: fer-detect failed"; exit 1; }
        t1=$(ns)
        f="$f $(((t1 - t0) / 1000000))"
        r=$("$PY" "$HERE/detect_opencv.py" "$th" "$CASC" "$@" 2>/dev/null) || { echo "detect: OpenCV failed"; exit 1; }
        o="$o ${r%% *}" no=${r##* }
        i=$((i + 1))
    done
    mf=$(median $f) mo=$(median $o)
    echo "detect: $th thread(s), $n photos: fer-detect $mf ms ($nf faces; rounds:$f)"
    echo "detect: $th thread(s), $n photos: OpenCV     $mo ms ($no faces; rounds:$o)"
    awk -v f="$mf" -v o="$mo" -v n="$n" -v th="$th" 'BEGIN {
        printf "detect: %d thread(s): %.1f ms/image fer, %.1f ms/image OpenCV, ratio OpenCV/fer %.2f (goal > 1: %s)\n",
               th, f / n, o / n, o / f, (o > f) ? "met" : "NOT met" }'
done

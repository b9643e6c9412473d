#!/bin/sh
# bench/detect_speed.sh: megapixels per second of whole fer-detect runs over
# every shared photo (decoding, detection, output; the weights' or
# cascade's loading included, once per run): Haar, the SSD MobileNetV1 on
# whole photos (--tiles off) and with tiles (the default), and OpenCV's Haar
# (bench/detect_opencv.py, decoding and detection only), at 2 threads, the
# median of 3 rounds each; then the ratio of each to fer's Haar. The net
# alone at its 512x512 input is bench_ssd's line. Skips the SSD rows without
# the weights, OpenCV's without python3-opencv.
FACES=${FER_SHARED:-../shared}/faces/images
FD=${FER_BIN:-build/bin}/fer-detect
PY=${FER_PYTHON:-/usr/bin/python3}
HERE=$(dirname "$0")
ROUNDS=${BENCH_ROUNDS:-3}
if [ ! -d "$FACES" ]; then echo "detect_speed: skip: no $FACES"; exit 0; fi
if [ ! -x "$FD" ]; then echo "detect_speed: no $FD (make first)"; exit 1; fi
case $(date +%N) in *N*|'') echo "detect_speed: skip: date +%N unsupported"; exit 0 ;; esac
set -- "$FACES"/*
n=$#
mp=$("$PY" -c '
import struct, sys
t = 0
for line in open(sys.argv[1]):
    p = line.strip().split(",")
    if p[0] != "file": t += int(p[1]) * int(p[2])
print(t / 1e6)' "$FACES/../timing.csv" 2>/dev/null)
[ -n "$mp" ] || { echo "detect_speed: skip: no timing.csv sizes"; exit 0; }
ns() { date +%s%N; }
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
run() {   # NAME CMD...: the median ms of ROUNDS runs of CMD over the photos
    name=$1; shift; ts=
    i=0
    while [ $i -lt "$ROUNDS" ]; do
        t0=$(ns); "$@" > /dev/null 2>&1 || { echo "detect_speed: $name failed"; return 1; }
        t1=$(ns); ts="$ts $(((t1 - t0) / 1000000))"; i=$((i + 1))
    done
    m=$(median $ts)
    eval "ms_$name=$m"
    awk -v n="$name" -v m="$m" -v mp="$mp" -v k="$n" -v r="$ts" 'BEGIN {
        printf "detect_speed: %-10s %6d ms for %d photos (%.1f MP): %6.1f ms/photo, %6.2f MP/s (rounds:%s)\n",
               n, m, k, mp, m / k, mp / (m / 1000), r }'
}
run haar "$FD" --threads 2 --boxes "$@" || exit 1
CASC=
for d in /usr/share/opencv4/haarcascades /usr/share/opencv/haarcascades; do
    [ -f "$d/haarcascade_frontalface_default.xml" ] && CASC=$d/haarcascade_frontalface_default.xml && break
done
if [ -n "$CASC" ] && "$PY" -c 'import cv2' 2>/dev/null; then
    ts=; i=0
    while [ $i -lt "$ROUNDS" ]; do
        r=$("$PY" "$HERE/detect_opencv.py" 2 "$CASC" "$@") || break
        ts="$ts ${r%% *}"; i=$((i + 1))
    done
    m=$(median $ts); ms_opencv=${m%.*}
    awk -v m="$m" -v mp="$mp" -v k="$n" -v r="$ts" 'BEGIN {
        printf "detect_speed: %-10s %6d ms for %d photos (%.1f MP): %6.1f ms/photo, %6.2f MP/s (rounds:%s)\n",
               "opencv", m, k, mp, m / k, mp / (m / 1000), r }'
else
    echo "detect_speed: no OpenCV row (no cascade or cv2)"
fi
if "$FD" --detector ssd --boxes "$1" > /dev/null 2>&1; then
    run ssd_whole "$FD" --threads 2 --detector ssd --tiles off --boxes "$@" || exit 1
    run ssd_tiled "$FD" --threads 2 --detector ssd --boxes "$@" || exit 1
    for k in opencv ssd_whole ssd_tiled; do
        eval "v=\${ms_$k:-}"
        [ -n "$v" ] && awk -v k="$k" -v v="$v" -v h="$ms_haar" 'BEGIN {
            printf "detect_speed: %s MP/s / fer haar MP/s = %.2f\n", k, h / v }'
    done
else
    echo "detect_speed: skip the SSD rows: no weights (make models)"
fi

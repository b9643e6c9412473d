#!/bin/sh
# bench/detect_speed.sh: megapixels per second of whole fer-detect runs over
# every shared photo (decoding, detection, output; loading the weights or
# the cascade once per run included): Haar, the SSD MobileNetV1 and
# BlazeFace on whole photos (--tiles off) and with tiles (their defaults),
# and OpenCV's Haar
# (imread, gray, detectMultiScale as bench/detect_opencv.py, in one
# python3 process; the interpreter's start and the cascade's loading left
# out), each on 1 thread, the median of ROUNDS (3) rounds. Each figure is
# given by CPU time (user + system, which other jobs on a shared machine
# stretch little) and by wall time; the ratios to fer's Haar use CPU time.
# The nets alone at their native input (512x512, 256x256), on 1 and 2
# threads, are bench_ssd's and bench_blaze's lines (BENCH_NETS=1 runs them
# here too). Skips a net's rows without its weights (make models),
# OpenCV's without python3-opencv.
FACES=${FER_SHARED:-../shared}/faces/images
FD=${FER_BIN:-build/bin}/fer-detect
PY=${FER_PYTHON:-/usr/bin/python3}
ROUNDS=${BENCH_ROUNDS:-3}
if [ ! -d "$FACES" ]; then echo "detect_speed: skip: no $FACES"; exit 0; fi
if [ ! -x "$FD" ]; then echo "detect_speed: no $FD (make first)"; exit 1; fi
if [ ! -x /usr/bin/time ]; then echo "detect_speed: skip: no /usr/bin/time (Debian: time)"; exit 0; fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
set -- "$FACES"/*
n=$#
mp=$(awk -F, 'NR > 1 { t += $2 * $3 } END { print t / 1e6 }' "$FACES/../timing.csv" 2>/dev/null)
[ -n "$mp" ] || { echo "detect_speed: skip: no timing.csv sizes"; exit 0; }
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
report() {  # NAME CPU_MS WALL_MS ROUNDS_TEXT
    awk -v n="$1" -v c="$2" -v w="$3" -v mp="$mp" -v k="$n" -v r="$4" 'BEGIN {
        printf "detect_speed: %-9s %d photos (%.1f MP), 1 thread: CPU %7.1f ms/photo, %6.2f MP/s; wall %7.1f ms/photo, %6.2f MP/s (CPU ms per round:%s)\n",
               n, k, mp, c / k, mp / (c / 1000), w / k, mp / (w / 1000), r }'
}
run() {   # NAME CMD...: CPU and wall ms of ROUNDS runs of CMD
    name=$1; shift; cs= ws=; i=0
    while [ $i -lt "$ROUNDS" ]; do
        FER_THREADS=1 /usr/bin/time -f '%e %U %S' -o "$T/t" "$@" > /dev/null 2> "$T/err" ||
            { echo "detect_speed: $name failed: $(tail -1 "$T/err")"; return 1; }
        read -r e u s < "$T/t"
        cs="$cs $(awk -v u="$u" -v s="$s" 'BEGIN { printf "%d", (u + s) * 1000 }')"
        ws="$ws $(awk -v e="$e" 'BEGIN { printf "%d", e * 1000 }')"
        i=$((i + 1))
    done
    c=$(median $cs); w=$(median $ws)
    eval "cpu_$name=$c"
    report "$name" "$c" "$w" "$cs"
}
run haar "$FD" --threads 1 --boxes "$@" || exit 1
CASC=
for d in /usr/share/opencv4/haarcascades /usr/share/opencv/haarcascades; do
    [ -f "$d/haarcascade_frontalface_default.xml" ] && CASC=$d/haarcascade_frontalface_default.xml && break
done
if [ -n "$CASC" ] && "$PY" -c 'import cv2' 2>/dev/null; then
    cs= ws=; i=0
    while [ $i -lt "$ROUNDS" ]; do
        r=$("$PY" -c '
import sys, time, cv2
cv2.setNumThreads(1)
face = cv2.CascadeClassifier(sys.argv[1])
c0, w0 = time.process_time(), time.perf_counter()
for f in sys.argv[2:]:
    g = cv2.cvtColor(cv2.imread(f, cv2.IMREAD_COLOR), cv2.COLOR_BGR2GRAY)
    face.detectMultiScale(g, scaleFactor=1.1, minNeighbors=5, minSize=(30, 30))
print("%d %d" % ((time.process_time() - c0) * 1000, (time.perf_counter() - w0) * 1000))
' "$CASC" "$@" 2>/dev/null) || break
        cs="$cs ${r% *}"; ws="$ws ${r#* }"; i=$((i + 1))
    done
    c=$(median $cs); w=$(median $ws); cpu_opencv=$c
    report opencv "$c" "$w" "$cs"
else
    echo "detect_speed: no OpenCV row (no cascade or cv2)"
fi
if "$FD" --detector ssd --boxes "$1" > /dev/null 2>&1; then
    run ssd_whole "$FD" --threads 1 --detector ssd --tiles off --boxes "$@" || exit 1
    run ssd_tiled "$FD" --threads 1 --detector ssd --boxes "$@" || exit 1
else
    echo "detect_speed: skip the SSD rows: no weights (make models)"
fi
if "$FD" --detector blazeface --boxes "$1" > /dev/null 2>&1; then
    run blaze_whole "$FD" --threads 1 --detector blazeface --tiles off --boxes "$@" || exit 1
    run blaze_tiled "$FD" --threads 1 --detector blazeface --boxes "$@" || exit 1
else
    echo "detect_speed: skip the BlazeFace rows: no weights (make models)"
fi
if [ -n "${BENCH_NETS:-}" ]; then
    for b in bench_ssd bench_blaze; do
        x=${FER_BIN:-build/bin}/../bench/$b
        if [ -x "$x" ]; then "$x" 1 | sed 's/^/detect_speed: /'; else echo "detect_speed: no $x"; fi
    done
fi
for k in opencv ssd_whole ssd_tiled blaze_whole blaze_tiled; do
    eval "v=\${cpu_$k:-}"
    [ -n "$v" ] && awk -v k="$k" -v v="$v" -v h="$cpu_haar" 'BEGIN {
        printf "detect_speed: %s MP/s over fer haar MP/s (CPU time): %.3f\n", k, h / v }'
done
exit 0

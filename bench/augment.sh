#!/bin/sh
# bench/augment.sh: fer-augment against torchvision (Debian's
# python3-torchvision, bench/augment_torch.py) doing the same to the same
# images of the FER2013 Training split, in images written per second:
#
#   study   --study, the study's x4 (each image, its mirror image, turns by
#           -10 and +10 degrees): the whole split (28,709 images); torch on
#           the whole batch at once
#   random  --copies 1 with every random transform (flip, turn, shift,
#           zoom, crop, brightness, contrast, erasing): 4096 images;
#           torchvision's Compose once per image
#
# fer's time is the whole process (reading the data set, writing 4 times
# its size to /dev/null); torch's is the augmentation alone, without the
# interpreter's start or the reading. The two alternate, ROUNDS rounds; the
# medians and the ratio fer/torchvision (above 1: fer faster) are printed.
# Environment: BENCH_QUICK=1 (8192 and 1024 images, one round),
# BENCH_THREADS (2), FER_PYTHON (/usr/bin/python3).
TV=${FER_SHARED:-../shared}/data/fer2013-trainval.csv.gz
FA=${FER_BIN:-build/bin}/fer-augment
FC=${FER_BIN:-build/bin}/fer-convert
PY=${FER_PYTHON:-/usr/bin/python3}
HERE=$(dirname "$0")
THREADS=${BENCH_THREADS:-2}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    ROUNDS=1 NSTUDY=8192 NRANDOM=1024
else
    ROUNDS=3 NSTUDY=all NRANDOM=4096
fi
RANDOM_OPTS="--copies 1 --flip --rotate-range -15:15 --shift 3 --scale 0.9:1.1 --crop 4
             --brightness 0.2 --contrast 0.2 --erase 0.5"
if [ ! -r "$TV" ]; then echo "augment: skip: no $TV"; exit 0; fi
if [ ! -x "$FA" ] || [ ! -x "$FC" ]; then echo "augment: no $FA or $FC (make first)"; exit 1; fi
case $(date +%N) in *N*|'') echo "augment: skip: date +%N unsupported"; exit 0 ;; esac
have_torch=1
if ! "$PY" -c 'import torchvision' >/dev/null 2>&1; then
    have_torch=0
    echo "augment: no torchvision in $PY (python3-torchvision): fer's figures only"
fi

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
limit() { [ "$1" = all ] || echo "-n $1"; }
# shellcheck disable=SC2046
"$FC" -u Training $(limit $NSTUDY) "$TV" -o "$T/study.fer" || { echo "augment: fer-convert failed"; exit 1; }
"$FC" -n "$NRANDOM" "$T/study.fer" -o "$T/random.fer" || exit 1
count() { "$FC" -i "$1" | sed -n 's/^images *//p'; }

ns() { date +%s%N; }
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
torch() {
    (
        unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
        OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
        export OMP_WAIT_POLICY
        exec "$PY" "$HERE/augment_torch.py" "$@"
    )
}

# bench MODE DATA PER OPTIONS...: PER images written per image read
bench() {
    mode=$1 data=$2 per=$3; shift 3
    n=$(count "$data") out=$((n * per))
    f='' o=''
    i=0
    while [ $i -lt $ROUNDS ]; do
        t0=$(ns)
        "$FA" "$@" --threads "$THREADS" "$data" -o /dev/null || { echo "augment: fer-augment failed"; exit 1; }
        t1=$(ns)
        f="$f $(((t1 - t0) / 1000000))"
        if [ $have_torch = 1 ]; then
            r=$(torch "$mode" "$data" "$THREADS") || { echo "augment: torchvision failed"; exit 1; }
            o="$o $(printf '%s\n' "$r" | tr ' ' '\n' | sed -n 's/^seconds=//p' |
                    awk '{ printf "%d", $1 * 1000 }')"
        fi
        i=$((i + 1))
    done
    mf=$(median $f)
    awk -v m="$mode" -v n="$n" -v out="$out" -v t="$mf" -v r="$f" -v th="$THREADS" 'BEGIN {
        printf "augment: %s, %d -> %d images, %d threads: fer-augment %d ms, %.0f img/s (rounds:%s)\n",
               m, n, out, th, t, out / (t / 1000), r }'
    [ $have_torch = 1 ] || return 0
    mo=$(median $o)
    awk -v m="$mode" -v n="$n" -v out="$out" -v t="$mo" -v r="$o" -v th="$THREADS" 'BEGIN {
        printf "augment: %s, %d -> %d images, %d threads: torchvision %d ms, %.0f img/s (rounds:%s)\n",
               m, n, out, th, t, out / (t / 1000), r }'
    awk -v m="$mode" -v f="$mf" -v o="$mo" 'BEGIN {
        printf "augment: %s: ratio fer/torchvision %.2f (above 1: fer faster)\n", m, o / f }'
}
bench study "$T/study.fer" 4 --study
# shellcheck disable=SC2086
bench random "$T/random.fer" 2 $RANDOM_OPTS

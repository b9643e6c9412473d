#!/bin/sh
# bench/convert.sh: fer-convert on the FER2013 train+val CSV (.csv.gz)
# against `zcat FILE > /dev/null`, the cost of decompression alone. The
# two run alternately, 3 rounds; the median of each is printed with the
# ratio fer/zcat, whose goal is <= 1.5.
TV=${FER_SHARED:-../shared}/data/fer2013-trainval.csv.gz
FC=${FER_BIN:-build/bin}/fer-convert
ROUNDS=3
if [ ! -r "$TV" ]; then echo "convert: skip: no $TV"; exit 0; fi
if [ ! -x "$FC" ]; then echo "convert: no $FC (make first)"; exit 1; fi
case $(date +%N) in *N*|'') echo "convert: skip: date +%N unsupported"; exit 0 ;; esac

ns() { date +%s%N; }
# time_ms CMD...: milliseconds the command took; fails with it.
time_ms() {
    t0=$(ns); "$@" || return 1; t1=$(ns)
    echo $(((t1 - t0) / 1000000))
}
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }

z='' f=''
i=0
while [ $i -lt $ROUNDS ]; do
    tz=$(time_ms sh -c 'zcat "$1" >/dev/null' sh "$TV") || { echo "convert: zcat failed"; exit 1; }
    tf=$(time_ms "$FC" "$TV" -o /dev/null) || { echo "convert: fer-convert failed"; exit 1; }
    z="$z $tz" f="$f $tf"
    i=$((i + 1))
done
mz=$(median $z) mf=$(median $f)
echo "convert: zcat alone         ${mz} ms  (rounds:$z)"
echo "convert: fer-convert CSV.gz ${mf} ms  (rounds:$f)"
awk -v f="$mf" -v z="$mz" 'BEGIN { r = f / z
    printf "convert: ratio fer/zcat %.2f (goal <= 1.5: %s)\n", r, r <= 1.5 ? "met" : "NOT met" }'

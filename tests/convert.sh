#!/bin/sh
# convert.sh: fer-convert over real files and pipes, table-driven (lib.sh):
# each row gives the arguments, the exit status and a regex the output must
# match. A generated CSV covers what needs no data; the shared FER2013
# copy, when present, gives the exact counts of data/README.md.
. "$FER_ROOT/tests/lib.sh"
PY=${FER_PYTHON:-/usr/bin/python3}
TINY=$FER_SHARED/data/fer2013-tiny.csv
TV=$FER_SHARED/data/fer2013-trainval.csv.gz
cd "$TMP" || exit 1

# gen.csv: 20 random rows, labels i % 7, 14 Training then 6 PublicTest.
awk 'BEGIN { srand(7); print "emotion,pixels,Usage"
    for (i = 0; i < 20; i++) { printf "%d,", i % 7
        for (j = 0; j < 2304; j++) printf "%s%d", (j ? " " : ""), int(rand() * 256)
        print "," (i < 14 ? "Training" : "PublicTest") } }' >gen.csv
# bad.csv: the same with a short row on line 22
{ cat gen.csv; echo "3,1 2 3,Training"; } >bad.csv

sum_of() { fer-convert --info "$1" 2>/dev/null | awk '/^checksum/ { print $2 }'; }
# The checksum (CRC-32 of pixels, then labels as i32) computed from the CSV
# text by Python, as an independent reference.
ref_sum() {
    "$PY" -c 'import sys, zlib, struct
rows = [l.split(",") for l in open(sys.argv[1]).read().splitlines()[1:] if l]
c = 0
for r in rows: c = zlib.crc32(bytes(int(x) for x in r[1].split()), c)
for r in rows: c = zlib.crc32(struct.pack("<i", int(r[0])), c)
print("%08x" % c)' "$1"
}
# width and height of a PNG, from its IHDR
png_size() { od -A n -t u1 -j 16 -N 8 "$1" | awk '{ print $3 * 256 + $4 "x" $7 * 256 + $8 }'; }
noout() { ! ls "$@" >/dev/null 2>&1; }    # none of these paths (globs) exist

# --- usage errors (exit 2) ---
t usage-unknown-option 2 "^fer-convert: .* -- 'x'\$" -- fer-convert -x gen.csv
t usage-bad-usage-name 2 "^fer-convert: --usage: 'Foo': use Training, PublicTest or PrivateTest\$" -- fer-convert -u Foo gen.csv
t usage-sheet-zero 2 'sheet' -- fer-convert --sheet 0 gen.csv -o s.png
t usage-limit-text 2 'not an integer' -- fer-convert --limit 5x gen.csv -o x.fer
t usage-two-inputs 2 '^usage:' -- fer-convert gen.csv bad.csv -o x.fer
t usage-info-with-o 2 'drop -o' -- fer-convert --info -o x.fer gen.csv
t missing-input 1 '^fer-convert: nope.csv: No such file or directory$' -- fer-convert nope.csv -o x.fer
t empty-stdin 1 '^fer-convert: <stdin>: empty input$' -- sh -c 'fer-convert -o x.fer </dev/null'
cp gen.csv own.csv
t convert-in-place 2 '^fer-convert: -o own\.csv is the input own\.csv$' -- fer-convert own.csv -o own.csv
check convert-input-kept cmp own.csv gen.csv
# no CSV text: stops at once, even with --skip-bad (/dev/zero never ended)
t convert-dev-zero 1 '^fer-convert: /dev/zero:1: a NUL byte: binary data, not CSV text$' -- \
    timeout 60 fer-convert --skip-bad /dev/zero -o x.fer
{ head -n 3 gen.csv; awk 'BEGIN { for (i = 0; i < 40000; i++) printf "1 "; print "" }'
  tail -n 2 gen.csv; } >long.csv
t convert-long-line 1 '^fer-convert: long.csv:4: line longer than 65536 bytes$' -- \
    fer-convert --skip-bad long.csv -o x.fer
check convert-no-text-no-output noout x.fer
# a data set cut at a record boundary (here its last 49 bytes, the end
# record "images=20") is refused, not read as a smaller set
fer-convert gen.csv -o whole.fer 2>/dev/null
head -c "$(($(wc -c <whole.fer) - 49))" whole.fer >cut-end.fer
t convert-cut-at-end 1 '^fer-convert: cut-end\.fer: cut short: no end record after 20 images' -- \
    fer-convert --info cut-end.fer
t convert-whole-info 0 '' -- fer-convert --info whole.fer
cat whole.fer whole.fer >twice.fer
t convert-cat-sets 0 '' -- fer-convert twice.fer -o x2.fer
mkdir empty.d empty-classes.d empty-classes.d/happy
t empty-folder 1 '^fer-convert: empty\.d: an empty folder$' -- fer-convert empty.d -o x.fer
t empty-class-folder 0 '' -- fer-convert empty-classes.d -o x.fer

# --- CSV in, info out ---
t csv-to-fer 0 '' -- fer-convert gen.csv -o gen.fer
t info-images 0 '^images +20$' -- fer-convert --info gen.fer
t info-shape 0 '^shape +20 1 48 48 ' -- fer-convert --info gen.fer
t info-training 0 '^Training +14 +2 +2 +2 +2 +2 +2 +2$' -- fer-convert --info gen.fer
t info-publictest 0 '^PublicTest +6 +1 +1 +1 +1 +1 +1 +0$' -- fer-convert --info gen.fer
t info-of-csv 0 '^kind +FER2013 CSV$' -- fer-convert -i gen.csv
if [ -x "$PY" ]; then
    check checksum-vs-python test "$(sum_of gen.fer)" = "$(ref_sum gen.csv)"
else
    skip checksum-vs-python "no $PY"
fi

# --- bad rows: one-line message with the line, no output left ---
t bad-row 1 '^fer-convert: bad.csv:22: 3 pixels, expected 2304$' -- fer-convert bad.csv -o bad.fer
check bad-row-no-output noout bad.fer bad.fer.tmp.*
t skip-bad 0 '^fer-convert: skipped 1 bad row of 21 \(first: bad.csv:22: 3 pixels' -- fer-convert --skip-bad bad.csv -o skip.fer
check skip-bad-same-data test "$(sum_of skip.fer)" = "$(sum_of gen.fer)"

# --- broken fer files ---
head -c 30000 gen.fer >trunc.fer
t truncated-fer 1 '^fer-convert: trunc.fer: record 0 at byte 0: truncated payload' -- fer-convert -i trunc.fer
{ printf '\211FEX'; tail -c +5 gen.fer; } >magic.fer
t wrong-magic 1 '^fer-convert: magic.fer: record 0 at byte 0: bad magic' -- fer-convert -i magic.fer
t truncated-fer-pipe 1 'truncated payload' -- sh -c 'fer-convert <trunc.fer -o t2.fer'
check truncated-no-output noout t2.fer t2.fer.tmp.*

# --- pipes, gzip, stdout, --usage ---
gzip -c gen.csv >gen.csv.gz
cp gen.csv.gz gen-named-txt.csv
t gz-file 0 "^checksum +$(sum_of gen.fer)\$" -- fer-convert -i gen.csv.gz
t gz-by-magic 0 "^checksum +$(sum_of gen.fer)\$" -- fer-convert -i gen-named-txt.csv
t gz-stdin-pipe 0 "^checksum +$(sum_of gen.fer)\$" -- sh -c 'gzip -c gen.csv | fer-convert - -o - | fer-convert --info'
t crlf-stdin 0 "^checksum +$(sum_of gen.fer)\$" -- sh -c "sed 's/\$/\r/' gen.csv | fer-convert | fer-convert -i -"
t usage-filter-csv 0 '^images +6$' -- sh -c 'fer-convert -u PublicTest gen.csv | fer-convert -i'
t usage-filter-fer 0 '^Training +14 ' -- sh -c 'fer-convert -u Training gen.fer -o - | fer-convert -i'
t usage-filter-two 0 '^images +20$' -- sh -c 'fer-convert -u Training -u PublicTest gen.fer | fer-convert -i'
t usage-filter-none 0 '^images +0$' -- sh -c 'fer-convert --usage PrivateTest <gen.csv.gz | fer-convert -i'
t limit 0 '^images +7$' -- sh -c 'fer-convert --limit 7 gen.fer | fer-convert -i'

# --- PNG folder out and back in ---
t png-folder 0 '' -- fer-convert gen.fer -o pngs/
t png-folder-names 0 '^00000_angry\.png$' -- sh -c 'ls pngs | head -n 1'
t png-folder-count 0 '^20$' -- sh -c 'ls pngs | wc -l | tr -d " "'
t png-folder-last 0 '^00019_surprise\.png$' -- sh -c 'ls pngs | tail -n 1'
check png-roundtrip-checksum test "$(sum_of pngs)" = "$(sum_of gen.fer)"
t png-folder-not-empty 1 '^fer-convert: pngs: folder exists and is not empty$' -- fer-convert gen.fer -o pngs/
t png-one-image 0 '^images +1$' -- fer-convert -i pngs/00003_happy.png
t png-stdin-image 0 '^images +1$' -- sh -c 'fer-convert -i <pngs/00003_happy.png'

# --- class folders: train/ and test/ of class folders ---
mkdir -p cls/train/angry cls/train/happy cls/test/happy
cp pngs/00000_angry.png pngs/00007_angry.png cls/train/angry/
cp pngs/00003_happy.png cls/train/happy/
cp pngs/00017_happy.png cls/test/happy/
t class-folders-training 0 '^Training +3 +2 +0 +0 +1 ' -- fer-convert -i cls
t class-folders-publictest 0 '^PublicTest +1 +0 +0 +0 +1 ' -- fer-convert -i cls
t class-folders-usage 0 '^images +1$' -- sh -c 'fer-convert -u PublicTest cls | fer-convert -i'
t class-only-folder 0 '^none +3 +2 +0 +0 +1 ' -- fer-convert -i cls/train
mkdir cls/train/happyy
t class-folder-unknown 1 '^fer-convert: cls/train/happyy: not a folder named for a FER2013 class' -- fer-convert cls -o c.fer
rmdir cls/train/happyy
echo 'not an image' >cls/train/happy/broken.png
t class-folder-bad-image 1 '^fer-convert: cls/train/happy/broken.png: not a PNG, JPEG or PNM image$' -- fer-convert cls -o c.fer
check class-folder-no-output noout c.fer c.fer.tmp.*
t class-folder-bad-image-png-out 1 'broken.png' -- fer-convert cls -o cpng/
check class-folder-no-png-output noout cpng cpng.tmp.*
rm cls/train/happy/broken.png

# --- contact sheets ---
t sheet 0 '' -- fer-convert gen.fer --sheet 6 -o sheet.png
t sheet-size 0 '^288x192$' -- png_size sheet.png
t sheet-limit 0 '^240x48$' -- sh -c 'fer-convert --limit 5 --sheet 5 gen.fer -o - >s5.png && od -A n -t u1 -j 16 -N 8 s5.png | awk "{ print \$3 * 256 + \$4 \"x\" \$7 * 256 + \$8 }"'
t sheet-shrunk-to-face 0 '^shape +1 1 48 48 ' -- fer-convert -i sheet.png

# --- the shared FER2013 copy ---
if [ -r "$TINY" ]; then
    t tiny-training 0 '^Training +70 +10 +10 +10 +10 +10 +10 +10$' -- fer-convert -i "$TINY"
    t tiny-publictest 0 '^PublicTest +14 +2 +2 +2 +2 +2 +2 +2$' -- fer-convert -i "$TINY"
    t tiny-all 0 '^all +84 +12 +12 +12 +12 +12 +12 +12$' -- fer-convert -i "$TINY"
    fer-convert "$TINY" -o tiny.fer && fer-convert tiny.fer -o tinypng/ && fer-convert tinypng -o tiny2.fer
    check tiny-roundtrip-csv-fer-png-fer test -n "$(sum_of tiny.fer)" -a "$(sum_of tiny2.fer)" = "$(sum_of tiny.fer)"
    if [ -x "$PY" ]; then
        check tiny-checksum-vs-python test "$(sum_of tiny.fer)" = "$(ref_sum "$TINY")"
    else
        skip tiny-checksum-vs-python "no $PY"
    fi
else
    skip tiny "no $TINY"
fi
if [ -r "$TV" ]; then
    fer-convert "$TV" -o tv.fer 2>tv.err
    t trainval-training 0 '^Training +28709 +3995 +436 +4097 +7215 +4830 +3171 +4965$' -- fer-convert -i tv.fer
    t trainval-publictest 0 '^PublicTest +3589 +467 +56 +496 +895 +653 +415 +607$' -- fer-convert -i tv.fer
    t trainval-no-private 0 '^images +0$' -- sh -c 'fer-convert -u PrivateTest tv.fer | fer-convert -i'
else
    skip trainval "no $TV"
fi

# --- --val-split/--part: a stratified hold-out, the parts disjoint and whole
t split-usage-alone 2 'go together' -- fer-convert --val-split 0.3 gen.csv -o p.fer
t split-usage-part 2 "^fer-convert: --part: 'test': use train or val\$" -- fer-convert --val-split 0.3 --part test gen.csv -o p.fer
t split-usage-zero 2 'above 0' -- fer-convert --val-split 0 --part val gen.csv -o p.fer
t split-usage-big 2 'val-split' -- fer-convert --val-split 0.95 --part val gen.csv -o p.fer
t split-train 0 '' -- fer-convert -u Training --val-split 0.5 --part train --seed 3 gen.csv -o ptr.fer
t split-val 0 '' -- fer-convert -u Training --val-split 0.5 --part val --seed 3 gen.csv -o pva.fer
# 14 Training faces, two of each class: one of each held out
t split-val-counts 0 '^Training +7 +1 +1 +1 +1 +1 +1 +1$' -- fer-convert -i pva.fer
t split-train-counts 0 '^Training +7 +1 +1 +1 +1 +1 +1 +1$' -- fer-convert -i ptr.fer
# the two parts hold every Training face exactly once: compare PNG folders by content
fer-convert -u Training gen.csv -o all/ 2>/dev/null
fer-convert ptr.fer -o ptr/ 2>/dev/null; fer-convert pva.fer -o pva/ 2>/dev/null
check split-parts-whole test "$(cat ptr/* pva/* 2>/dev/null | wc -c)" = "$(cat all/* | wc -c)" -a \
    "$( (cd ptr && md5sum -- *; cd ../pva && md5sum -- *) | cut -c1-32 | sort | md5sum)" = \
    "$(cd all && md5sum -- * | cut -c1-32 | sort | md5sum)"
fer-convert -u Training --val-split 0.5 --part val --seed 4 gen.csv -o pva4.fer 2>/dev/null
check split-seed-matters test "$(sum_of pva4.fer)" != "$(sum_of pva.fer)"

#!/bin/sh
# ssd.sh: fer-detect --detector ssd as a tool: usage errors, bad weights
# (missing, cut short, another model, text; one line naming the file, exit
# 1, no output file left), the "make models" hint when none are found, and
# with the weights (make models; those rows skip without them) the output
# formats on a shared group photo (ground truth where it has some), --eyes
# as a filter, --min-score, --tiles and the pipeline into fer-classify.
. "$FER_ROOT/tests/lib.sh"
W=$FER_ROOT/${FER_MODELS:-models}/ssd_mobilenetv1.fer
MODEL=$FER_ROOT/data/cnn.fer
cd "$TMP" || exit 1
# a photo: a shared group photo, else a flat gray PPM (no faces in it)
P=$FER_SHARED/faces/images/wider_val_11_Meeting_11_176.jpg
if [ ! -f "$P" ]; then
    P=$TMP/flat.ppm
    { printf 'P6\n64 48\n255\n'; head -c 9216 /dev/zero | tr '\0' '\200'; } > "$P"
fi

t ssd-bad-detector 2 "^fer-detect: --detector: 'yolo': use haar, ssd or blazeface\$" -- fer-detect --detector yolo "$P"
t ssd-bad-tiles 2 '^fer-detect: --tiles' -- fer-detect --detector ssd --tiles 3 "$P"
t ssd-bad-tiles-word 2 '^fer-detect: --tiles' -- fer-detect --detector ssd --tiles many "$P"
t ssd-bad-score 2 '^fer-detect: --min-score' -- fer-detect --detector ssd --min-score 1.5 "$P"
t ssd-haar-score 2 'are for --detector ssd' -- fer-detect --min-score 0.5 "$P"
t ssd-haar-weights 2 'are for --detector ssd' -- fer-detect --weights "$W" "$P"
t ssd-cascade 2 '-c, --scale-factor, --min-neighbors, --min-size and --max-size are for --detector haar' -- fer-detect --detector ssd -c x.xml "$P"
t ssd-min-size 2 'are for --detector haar' -- fer-detect --detector ssd --min-size 20 "$P"

# bad weights: one line naming the file, status 1, nothing written
t ssd-missing 1 "^fer-detect: $TMP/none\\.fer: No such file or directory\$" -- \
    fer-detect --detector ssd --weights "$TMP/none.fer" -o out.fer "$P"
check ssd-missing-no-output test ! -e out.fer
echo 'not weights' > text.fer
t ssd-text 1 "^fer-detect: text\\.fer: " -- fer-detect --detector ssd --weights text.fer -o out.fer "$P"
check ssd-text-no-output test ! -e out.fer
t ssd-other-model 1 "^fer-detect: .*cnn\\.fer: a model of arch 'cnn', not the ssd_mobilenetv1" -- \
    fer-detect --detector ssd --weights "$MODEL" "$P"
# one line only
n=$(fer-detect --detector ssd --weights "$MODEL" "$P" 2>&1 | wc -l)
check ssd-one-line test "$n" -eq 1
# no weights anywhere: a copy of the tool away from the repository
mkdir -p alone/bin && cp "$FER_BIN/fer-detect" alone/bin/
t ssd-not-found 1 '^fer-detect: --detector ssd: ssd_mobilenetv1\.fer: not found .*\(make models fetches it\)$' -- \
    sh -c "cd alone && FER_MODELS=$TMP/nowhere ./bin/fer-detect --detector ssd '$P'"

if [ ! -f "$W" ]; then
    skip ssd-weights "no $W (make models)"
    exit 0
fi
# cut short and a tensor of the wrong shape
head -c 1000000 "$W" > cut.fer
t ssd-cut 1 '^fer-detect: cut\.fer: ' -- fer-detect --detector ssd --weights cut.fer -o out.fer "$P"
check ssd-cut-no-output test ! -e out.fer

t ssd-boxes 0 '' -- fer-detect --detector ssd --boxes -o boxes.txt "$P"
# seven fields, the score in (0.9, 1] by default with tiles
check ssd-boxes-fields awk 'NF != 7 || $7 <= 0.9 || $7 > 1 { bad = 1 } END { exit bad }' boxes.txt
fer-detect --detector ssd --tiles off --boxes "$P" > whole.txt
check ssd-whole-score awk 'NF != 7 || $7 <= 0.5 { bad = 1 } END { exit bad }' whole.txt
fer-detect --detector ssd --tiles off --min-score 0.95 --boxes "$P" > strict.txt
check ssd-min-score awk '$7 <= 0.95 { bad = 1 } END { exit bad }' strict.txt
check ssd-min-score-fewer test "$(wc -l < strict.txt)" -le "$(wc -l < whole.txt)"
fer-detect --detector ssd --tiles 160 --boxes "$P" > t160.txt
check ssd-tiles-n awk 'NF != 7 { bad = 1 } END { exit bad }' t160.txt
# --eyes keeps a subset of the boxes
fer-detect --detector ssd --eyes --boxes "$P" > eyes.txt
check ssd-eyes-subset sh -c 'cut -d" " -f3-6 eyes.txt | while read b; do cut -d" " -f3-6 boxes.txt | grep -qx "$b" || exit 1; done'
# the face stream into fer-classify: one prediction per box
t ssd-stream 0 '' -- fer-detect --detector ssd -o faces.fer "$P"
n=$(wc -l < boxes.txt)
if [ -f "$MODEL" ]; then
    fer-classify -m "$MODEL" faces.fer > classes.txt
    check ssd-classify test "$(wc -l < classes.txt)" -eq "$n"
fi
t ssd-draw 0 '' -- fer-detect --detector ssd --draw drawn.png --boxes "$P"
check ssd-draw-file test -s drawn.png
case $P in
*Meeting_11_176.jpg)
    # the photo of the issue: Haar finds 2 of its 17 faces; the net with
    # tiles at least 12, each box on a ground-truth face at IoU >= 0.3
    check ssd-group-count test "$n" -ge 12
    awk -F, '$1 == "wider_val_11_Meeting_11_176.jpg" && $4 == "gt" { print $5, $6, $7, $8 }' \
        "$FER_SHARED/faces/reference.csv" > gt.txt
    check ssd-group-on-faces awk '
        function iou(x, y, w, h, X, Y, W, H,   ix, iy, i) {
            ix = (x + w < X + W ? x + w : X + W) - (x > X ? x : X)
            iy = (y + h < Y + H ? y + h : Y + H) - (y > Y ? y : Y)
            if (ix <= 0 || iy <= 0) return 0
            i = ix * iy; return i / (w * h + W * H - i) }
        NR == FNR { g[++ng] = $0; next }
        { best = 0; for (k = 1; k <= ng; k++) { split(g[k], a, " ")
              v = iou($3, $4, $5, $6, a[1], a[2], a[3], a[4]); if (v > best) best = v }
          if (best < 0.3) off++ }
        END { exit off > 1 }' gt.txt boxes.txt
    ;;
esac

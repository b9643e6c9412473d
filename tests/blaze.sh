#!/bin/sh
# blaze.sh: fer-detect --detector blazeface as a tool: usage errors, bad
# weights (missing, cut short, another model, a tensor of the wrong shape,
# text; one line naming the file, exit 1, no output file left), the "make
# models" hint when none are found, and with the weights (make models;
# those rows skip without them) the output formats on a shared group
# photo, the default score, --min-score, --tiles and the face stream.
. "$FER_ROOT/tests/lib.sh"
W=$FER_ROOT/${FER_MODELS:-models}/blazeface.fer
S=$FER_ROOT/${FER_MODELS:-models}/ssd_mobilenetv1.fer
MODEL=$FER_ROOT/data/cnn.fer
cd "$TMP" || exit 1
P=$FER_SHARED/faces/images/wider_val_11_Meeting_11_176.jpg
if [ ! -f "$P" ]; then
    P=$TMP/flat.ppm
    { printf 'P6\n64 48\n255\n'; head -c 9216 /dev/zero | tr '\0' '\200'; } > "$P"
fi

t blaze-bad-tiles 2 '^fer-detect: --tiles' -- fer-detect --detector blazeface --tiles 3 "$P"
t blaze-bad-score 2 '^fer-detect: --min-score' -- fer-detect --detector blazeface --min-score 1 "$P"
t blaze-cascade 2 'are for --detector haar' -- fer-detect --detector blazeface -c x.xml "$P"
t blaze-haar-weights 2 'are for --detector ssd or blazeface' -- fer-detect --weights "$W" "$P"

# bad weights: one line naming the file, status 1, nothing written
t blaze-missing 1 "^fer-detect: $TMP/none\\.fer: No such file or directory\$" -- \
    fer-detect --detector blazeface --weights "$TMP/none.fer" -o out.fer "$P"
check blaze-missing-no-output test ! -e out.fer
echo 'not weights' > text.fer
t blaze-text 1 "^fer-detect: text\\.fer: " -- fer-detect --detector blazeface --weights text.fer -o out.fer "$P"
check blaze-text-no-output test ! -e out.fer
t blaze-other-model 1 "^fer-detect: .*cnn\\.fer: a model of arch 'cnn', not the blazeface face detector\$" -- \
    fer-detect --detector blazeface --weights "$MODEL" "$P"
n=$(fer-detect --detector blazeface --weights "$MODEL" "$P" 2>&1 | wc -l)
check blaze-one-line test "$n" -eq 1
if [ -f "$S" ]; then
    # the SSD's weights are not BlazeFace's, and the other way round
    t blaze-ssd-weights 1 "ssd_mobilenetv1\\.fer: a model of arch 'ssd_mobilenetv1', not the blazeface" -- \
        fer-detect --detector blazeface --weights "$S" "$P"
fi
mkdir -p alone/bin && cp "$FER_BIN/fer-detect" alone/bin/
t blaze-not-found 1 '^fer-detect: --detector blazeface: blazeface\.fer: not found .*\(make models fetches it\)$' -- \
    sh -c "cd alone && FER_MODELS=$TMP/nowhere ./bin/fer-detect --detector blazeface '$P'"

if [ ! -f "$W" ]; then
    skip blaze-weights "no $W (make models)"
    exit 0
fi
t blaze-ssd-given-blaze 1 "blazeface\\.fer: a model of arch 'blazeface', not the ssd_mobilenetv1" -- \
    fer-detect --detector ssd --weights "$W" "$P"
# cut short: inside the last tensors
size=$(wc -c < "$W")
head -c $((size - 1000)) "$W" > cut.fer
t blaze-cut 1 '^fer-detect: cut\.fer: ' -- fer-detect --detector blazeface --weights cut.fer -o out.fer "$P"
check blaze-cut-no-output test ! -e out.fer

t blaze-boxes 0 '' -- fer-detect --detector blazeface --boxes -o boxes.txt "$P"
# seven fields, the score in (0.75, 1] by default
check blaze-boxes-fields awk 'NF != 7 || $7 <= 0.75 || $7 > 1 { bad = 1 } END { exit bad }' boxes.txt
fer-detect --detector blazeface --tiles off --boxes "$P" > whole.txt
check blaze-whole-score awk 'NF != 7 || $7 <= 0.75 { bad = 1 } END { exit bad }' whole.txt
fer-detect --detector blazeface --tiles off --min-score 0.5 --boxes "$P" > loose.txt
check blaze-min-score-more test "$(wc -l < loose.txt)" -ge "$(wc -l < whole.txt)"
check blaze-min-score-loose awk 'NF != 7 || $7 <= 0.5 { bad = 1 } END { exit bad }' loose.txt
fer-detect --detector blazeface --tiles 320 --boxes "$P" > t320.txt
check blaze-tiles-n awk 'NF != 7 { bad = 1 } END { exit bad }' t320.txt
# the boxes do not depend on the thread count
fer-detect --detector blazeface --threads 1 --boxes "$P" > one.txt
check blaze-threads cmp -s one.txt boxes.txt
t blaze-stream 0 '' -- fer-detect --detector blazeface -o faces.fer "$P"
n=$(wc -l < boxes.txt)
if [ -f "$MODEL" ]; then
    fer-classify -m "$MODEL" faces.fer > classes.txt
    check blaze-classify test "$(wc -l < classes.txt)" -eq "$n"
fi
case $P in
*Meeting_11_176.jpg)
    # the photo of the issue (17 faces): with its default tiles BlazeFace
    # finds at least 10, nearly all on ground-truth faces (IoU >= 0.3)
    check blaze-group-count test "$n" -ge 10
    awk -F, '$1 == "wider_val_11_Meeting_11_176.jpg" && $4 == "gt" { print $5, $6, $7, $8 }' \
        "$FER_SHARED/faces/reference.csv" > gt.txt
    check blaze-group-on-faces awk '
        function iou(x, y, w, h, X, Y, W, H,   ix, iy, i) {
            ix = (x + w < X + W ? x + w : X + W) - (x > X ? x : X)
            iy = (y + h < Y + H ? y + h : Y + H) - (y > Y ? y : Y)
            if (ix <= 0 || iy <= 0) return 0
            i = ix * iy; return i / (w * h + W * H - i) }
        NR == FNR { g[++ng] = $0; next }
        { best = 0; for (k = 1; k <= ng; k++) { split(g[k], a, " ")
              v = iou($3, $4, $5, $6, a[1], a[2], a[3], a[4]); if (v > best) best = v }
          if (best < 0.3) off++ }
        END { exit off > 2 }' gt.txt boxes.txt
    ;;
esac

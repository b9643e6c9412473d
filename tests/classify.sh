# tests/classify.sh: fer-classify over pipes and files. Models are trained
# here on small random data sets (no shared data needed); probabilities are
# checked against fer-eval's per-image predictions, model averaging and
# test-time flipping against single runs, and annotated photos pixel by
# pixel against the original.
. "$FER_ROOT/tests/lib.sh"
MF="$FER_BIN/../tests/make_faces"
PY=${FER_PYTHON:-/usr/bin/python3}
if [ ! -x "$MF" ] || [ ! -x "$FER_BIN/fer-classify" ] || [ ! -x "$FER_BIN/fer-train" ]; then
    skip classify "make_faces, fer-classify or fer-train not built"
    exit 0
fi
cd "$TMP" || exit 1

# two 48x48 models and one for 24x24 faces, on random labelled images
"$MF" -d -n 150 -r 3 >d48.fer && "$MF" -d -n 60 -s 24 -r 4 >d24.fer || exit 1
for s in 1 2; do
    fer-train -m ff --width 0.25 -i d48.fer -o m$s.fer --epochs 1 --seed $s --threads 1 \
        --quiet || exit 1
done
fer-train -m ff --width 0.25 -i d24.fer -o m24.fer --epochs 1 --threads 1 --quiet || exit 1

# 150 faces (not a multiple of the batch of 64), the pixels of d48.fer
"$MF" -i d48.fer -m 'src=photo.jpg\nframe=#\nbox=1#,20,100,120\nimage=640x480\n' >faces.fer
"$MF" -i d48.fer -f >mirrored.fer

# the seven probabilities of each CSV row sum to 1, prob and label are the
# largest; prints the number of rows checked, or "bad ROW"
csv_ok() {
    awk -F, 'NR == 1 { for (j = 9; j <= NF; j++) name[j] = substr($j, 3); next }
        { s = 0; best = 9
          for (j = 9; j <= NF; j++) { s += $j; if ($j > $best) best = j }
          d = s - 1; if (d < 0) d = -d
          if (d > 1e-4 || name[best] != $7 || $8 != $best) { print "bad " NR ": " $0; exit 1 }
          n++ }
        END { print n + 0 }' "$1"
}
# compares the seven probabilities of two CSV files, from column $3 of the
# first and column $4 of the second on (1-based), row by row, to 2e-6
same_probs() {
    [ "$(wc -l <"$1")" -eq "$(wc -l <"$2")" ] || { echo "row counts differ"; return 1; }
    n1=$(head -n 1 "$1" | awk -F, '{ print NF }')
    paste -d, "$1" "$2" | awk -F, -v a="$3" -v b="$(($4 + n1))" 'NR > 1 {
        for (j = 0; j < 7; j++) { d = $(a + j) - $(b + j); if (d < 0) d = -d
            if (d > 2e-6) { print "row " NR " class " j ": " $(a + j) " vs " $(b + j); exit 1 } } }'
}
avg_probs() {   # $1 = average of $2 and $3, all fer-classify CSV
    paste -d, "$1" "$2" "$3" | awk -F, 'NR > 1 { w = NF / 3
        for (j = 9; j <= 15; j++) { d = $j - ($(j + w) + $(j + 2 * w)) / 2; if (d < 0) d = -d
            if (d > 2e-6) { print "row " NR ": " $j " vs " $(j + w) ", " $(j + 2 * w); exit 1 } } }'
}

fer-classify -m m1.fer -f csv --tta none faces.fer >faces.csv 2>err.txt
# a model from a pipe is read once; standard input then holds no faces
t model_pipe 0 "" -- sh -c "cat m1.fer | fer-classify -m - -f csv --tta none faces.fer >pipe.csv"
check model_pipe_same cmp faces.csv pipe.csv
t model_pipe_and_faces 2 '^fer-classify: -m - and the input both read standard input$' -- \
    sh -c "cat m1.fer | fer-classify -m -"
t model_pipe_twice 2 '^fer-classify: -m - and another -m - both read standard input$' -- \
    sh -c "cat m1.fer | fer-classify -m - -m - faces.fer"
t csv-exit 0 "" -- test ! -s err.txt
check csv-rows test "$(csv_ok faces.csv)" = 150
check csv-header test "$(head -n 1 faces.csv)" = \
    "src,frame,x,y,w,h,label,prob,p_angry,p_disgust,p_fear,p_happy,p_sad,p_surprise,p_neutral"
check csv-meta grep -q '^photo.jpg,149,1149,20,100,120,' faces.csv

# against fer-eval's per-image probabilities (columns 4.. there, 9.. here)
fer-eval -m m1.fer -i d48.fer --predictions eval.csv >/dev/null
check vs-fer-eval same_probs faces.csv eval.csv 9 4
# a data set as input: the same faces, named by index
fer-classify -m m1.fer -f csv --tta none d48.fer >dset.csv
check dataset-same same_probs faces.csv dset.csv 9 9
check dataset-index grep -q '^d48.fer,149,0,0,48,48,' dset.csv
# batches of any size give the same
fer-classify -m m1.fer -f csv --tta none --batch 7 <faces.fer >b7.csv
check batch-7 same_probs faces.csv b7.csv 9 9
check batch-7-stdin grep -q '^photo.jpg,3,13,20,100,120' b7.csv

# two models: the mean of each alone; --tta flip: the mean with the mirror
fer-classify -m m2.fer -f csv --tta none faces.fer >m2.csv
fer-classify -m m1.fer -m m2.fer -f csv --tta none faces.fer >both.csv
check two-models avg_probs both.csv faces.csv m2.csv
check two-models-differ sh -c '! cmp -s faces.csv m2.csv'
fer-classify -m m1.fer -f csv --tta none mirrored.fer >mirror.csv
fer-classify -m m1.fer -f csv --tta flip faces.fer >tta.csv
check tta-flip avg_probs tta.csv faces.csv mirror.csv
check tta-rows test "$(csv_ok tta.csv)" = 150
# without --tta, flipcrop (the face, the centre window, and their mirror
# images; its views against the mean by hand: test_predict) is the default
fer-classify -m m1.fer -f csv --tta flipcrop faces.fer >flipcrop.csv
check tta-flipcrop-rows test "$(csv_ok flipcrop.csv)" = 150
check tta-flipcrop-differs sh -c '! cmp -s flipcrop.csv faces.csv && ! cmp -s flipcrop.csv tta.csv'
fer-classify -m m1.fer -f csv faces.fer >default.csv
check tta-default-flipcrop cmp default.csv flipcrop.csv
# --tta crop10 (its views against the mean by hand: test_predict); none
# is no averaging
fer-classify -m m1.fer -f csv --tta crop10 faces.fer >crop.csv
check tta-crop10-rows test "$(csv_ok crop.csv)" = 150
check tta-crop10-differs sh -c '! cmp -s crop.csv faces.csv && ! cmp -s crop.csv tta.csv &&
    ! cmp -s crop.csv flipcrop.csv'
fer-classify -m m1.fer -f csv --tta none faces.fer >none.csv
check tta-none cmp none.csv faces.csv

# text: one aligned line per face; json: one object per face
fer-classify -m m1.fer --tta none faces.fer >faces.txt
line='^photo\.jpg +frame [0-9]+ +box 1[0-9]+,20,100,120 +[a-z]+ +0\.[0-9]{3}  '
line="$line"'\(angry 0\.[0-9]{3} disgust .* neutral [01]\.[0-9]{3}\)$'
check text-lines test "$(grep -Ec "$line" faces.txt)" = 150
fer-classify -m m1.fer -f json --tta none faces.fer >faces.json
json_ok() {
    "$PY" -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
csv = [l.rstrip("\n").split(",") for l in open(sys.argv[2])][1:]
assert len(rows) == len(csv) == 150, len(rows)
for r, c in zip(rows, csv):
    p = r["probabilities"]
    assert r["softmax"] is True and len(p) == 7
    assert abs(sum(p.values()) - 1) < 1e-4
    assert r["label"] == max(p, key=p.get) == c[6], (r, c)
    assert r["src"] == c[0] and r["frame"] == int(c[1]) and r["box"] == [int(v) for v in c[2:6]]
    assert all(abs(float(x) - y) < 2e-6 for x, y in zip(c[8:], p.values()))
' "$1" "$2"
}
if "$PY" -c 'import json' 2>/dev/null; then
    check json-parses json_ok faces.json faces.csv
else
    skip json-parses "no python at $PY"
fi

# image files: the whole image is one face; bad ones named, the rest printed
fer-convert -s 5 -n 10 -o sheet.png d48.fer 2>/dev/null
printf 'not an image\n' >bad.png
t image-one-face 0 '^sheet\.png +frame 0 +box 0,0,240,96 ' -- fer-classify -m m1.fer sheet.png
fer-classify -m m1.fer -f csv sheet.png bad.png missing.jpg sheet.png >imgs.csv 2>imgs.err
check images-exit test $? -eq 1
check images-printed test "$(csv_ok imgs.csv)" = 2
check images-bad grep -q '^fer-classify: bad\.png: ' imgs.err
check images-missing grep -q '^fer-classify: missing\.jpg: No such file' imgs.err
t image-stdin 0 '^<stdin> +frame 0 +box 0,0,240,96 ' -- sh -c 'fer-classify -m m1.fer <sheet.png'
# no faces: an empty stream is a normal answer; an empty file is not
t empty-stdin 0 '' -- sh -c ': | fer-classify -m m1.fer'
check empty-stdin-nothing test -z "$(: | fer-classify -m m1.fer)"
check empty-stdin-csv-header test "$(: | fer-classify -m m1.fer -f csv | wc -l)" -eq 1
: >empty.jpg
t empty-file 1 '^fer-classify: empty\.jpg: an empty file, neither a face stream nor an image$' -- \
    fer-classify -m m1.fer empty.jpg
# JSON: class names with " \ and a tab escaped
"$MF" -d -n 60 -r 6 -k 'an"gry,dis\gust,fe	ar,happy,sad,surprise,neutral' >odd.fer
fer-train -m ff --width 0.25 -i odd.fer -o odd-m.fer --epochs 1 --threads 1 --quiet
fer-classify -m odd-m.fer -f json odd.fer >odd.json
check json-escaped-names grep -qF '"an\"gry": ' odd.json
if "$PY" -c 'import json' 2>/dev/null; then
    check json-parses "$PY" -c 'import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 60 and "fe\tar" in rows[0]["probabilities"]' odd.json
else
    skip json-parses "$PY cannot run"
fi
# an output over an input, a model or the photo itself is refused
cp sheet.png keep.png
t classify-o-is-input 2 '^fer-classify: -o sheet\.png is the input sheet\.png$' -- \
    fer-classify -m m1.fer -o sheet.png sheet.png
t classify-o-is-model 2 '^fer-classify: -o m1\.fer is the model m1\.fer$' -- \
    fer-classify -m m1.fer -o m1.fer sheet.png
t classify-annotate-own-folder 1 '^fer-classify: \./sheet\.png: not annotated: the labelled copy would replace the photo$' -- \
    fer-classify -m m1.fer --annotate . sheet.png
check classify-photo-kept cmp sheet.png keep.png
# a model of 2-channel faces cannot take a photo (gray or RGB): one line, no
# read past the photo's pixels
"$MF" -d -n 40 -c 2 -r 5 >d2c.fer
fer-train -m ff --width 0.25 -i d2c.fer -o m2c.fer --epochs 1 --threads 1 --quiet
t image-2-channels 1 '^fer-classify: sheet\.png: the model takes 2-channel images; a photo gives 1 \(gray\) or 3 \(RGB\)$' -- \
    fer-classify -m m2c.fer sheet.png

# a cut-off stream: the faces before the cut, an error naming the place
head -c 20000 faces.fer >cut.fer
fer-classify -m m1.fer -f csv <cut.fer >cut.csv 2>cut.err
check cut-exit test $? -eq 1
check cut-printed test "$(csv_ok cut.csv)" = 8
check cut-place grep -Eq '^fer-classify: <stdin>: record 8 at byte [0-9]+: truncated' cut.err
cat cut.fer faces.fer >cutmid.fer
# a data set cut at a record boundary: its faces, then an error (the last
# 49 bytes are the end record, images=10)
"$MF" -d -n 10 >d10.fer
head -c "$(($(wc -c <d10.fer) - 49))" d10.fer >d10cut.fer
t cut-at-end 1 '^fer-classify: d10cut\.fer: cut short: no end record after 10 images' -- \
    fer-classify -m m1.fer d10cut.fer
t whole-set 0 '' -- fer-classify -m m1.fer d10.fer
t cut-named 1 '^fer-classify: cut\.fer: record 8 ' -- fer-classify -m m1.fer cut.fer faces.fer

# a model for other faces; the other inputs still classified
"$MF" -s 24 -n 3 >f24.fer
t other-size 1 '^fer-classify: m24\.fer: takes 1x24x24 faces, faces\.fer has 1x48x48$' -- \
    fer-classify -m m24.fer faces.fer
fer-classify -m m24.fer -f csv faces.fer f24.fer >mixed.csv 2>/dev/null
check other-size-rest test $? -eq 1 -a "$(csv_ok mixed.csv)" = 3
t models-disagree 1 'm24\.fer takes 1x24x24 faces, m1\.fer takes 1x48x48' -- \
    fer-classify -m m1.fer -m m24.fer faces.fer

# other bad input
t not-a-face 1 "^fer-classify: m1\\.fer: record 0 at byte 0: 'model' is not a face record" -- \
    fer-classify -m m1.fer m1.fer
t empty-devnull 0 '' -- sh -c 'fer-classify -m m1.fer </dev/null'
t bad-box 1 "record 1 at byte [0-9]+: box '5,5,0,9'" -- sh -c \
    '{ "$0" -n 1; "$0" -n 1 -m "box=5,5,0,9\n"; } | fer-classify -m m1.fer' "$MF"
t full-disk 1 'standard output: write error' -- sh -c 'fer-classify -m m1.fer faces.fer >/dev/full'
t no-model 2 '^usage: fer-classify' -- fer-classify faces.fer
t bad-format 2 "--format: 'xml'" -- fer-classify -m m1.fer -f xml faces.fer
t bad-tta 2 "--tta: 'rot'" -- fer-classify -m m1.fer --tta rot faces.fer
t bad-batch 2 '--batch: ' -- fer-classify -m m1.fer --batch 0 faces.fer

# annotation: two faces on sheet.png (240x96); one with room above, one at
# the top border
"$MF" -n 1 -m 'src=sheet.png\nframe=0\nbox=10,40,60,50\nimage=240x96\n' >ann.fer
"$MF" -n 1 -r 9 -m 'src=sheet.png\nframe=0\nbox=150,0,80,60\nimage=240x96\n' >>ann.fer
t annotate 0 '^sheet\.png +frame 0 +box 150,0,80,60 ' -- \
    fer-classify -m m1.fer --annotate out ann.fer
annotated_ok() {
    "$PY" -c '
import sys, cv2, numpy as np
a = cv2.imread("sheet.png", cv2.IMREAD_GRAYSCALE)
b = cv2.imread(sys.argv[1], cv2.IMREAD_COLOR)[:, :, ::-1].astype(int)
assert a.shape == b.shape[:2] == (96, 240), (a.shape, b.shape)
drawn = np.zeros(a.shape, bool)
for x, y, w, h in [(10, 40, 60, 50), (150, 0, 80, 60)]:
    edge = b[y, x:x + w]
    assert (edge == edge[0]).all() and len(set(edge[0])) > 1, "top edge not one colour"
    assert (b[y:y + h, x] == edge[0]).all(), "left edge"
    assert (b[y + h - 1, x:x + w] == edge[0]).all(), "bottom edge"
    drawn[max(0, y - 20):y + h, x:x + w + 20] = True     # the label may be wider
# label above the first box: coloured background just above its corner
assert (b[39, 10] == b[40, 10]).all(), "no label above the box"
# label inside the second box at the top border: text pixels (black or white)
lab = b[1:11, 150:200]
assert ((lab == 0).all(2) | (lab == 255).all(2)).sum() > 20, "no text in the label"
# everything else unchanged, gray copied to R, G and B
rest = ~drawn
assert (b[rest] == a[rest][:, None]).all(), "pixels away from the boxes changed"
' "$1"
}
if "$PY" -c 'import cv2, numpy' 2>/dev/null; then
    check annotate-pixels annotated_ok out/sheet.png
else
    skip annotate-pixels "no python with cv2 and numpy at $PY"
fi
t annotate-o 0 '' -- fer-classify -m m1.fer -o one.png ann.fer
check annotate-o-same cmp one.png out/sheet.png
cp sheet.png sheet2.png
t annotate-o-two 1 '^fer-classify: -o: the faces come from 2 photos' -- \
    fer-classify -m m1.fer -o two.png ann.fer sheet2.png
check annotate-o-nothing test ! -e two.png
t annotate-stdin 0 'warning: <stdin>: not annotated' -- \
    sh -c '"$0" -n 2 | fer-classify -m m1.fer --annotate out2' "$MF"
check annotate-stdin-nothing test ! -e out2/-
t annotate-frames 0 'warning: photo\.jpg: not annotated' -- \
    fer-classify -m m1.fer --annotate out3 faces.fer
t annotate-moved 1 'sheet\.png: now 240x96, the faces were found on 640x480' -- sh -c \
    '"$0" -n 1 -m "src=sheet.png\nbox=1,1,9,9\nimage=640x480\n" | fer-classify -m m1.fer -o x.png' \
    "$MF"

# the main job on a picture of our own: a cascade that accepts every
# window of a face sheet finds a face in it, whatever the pixels
printf '%s' '<opencv_storage><c><stageType>BOOST</stageType><featureType>HAAR</featureType>
<height>20</height><width>20</width><stages><_><stageThreshold>-100</stageThreshold>
<weakClassifiers><_><internalNodes>0 -1 0 0.</internalNodes><leafValues>1 1</leafValues></_>
</weakClassifiers></_></stages><features><_><rects><_>0 0 20 20 1.</_><_>0 0 10 20 -2.</_>
</rects></_></features></c></opencv_storage>' >all.xml
if [ -x "$FER_BIN/fer-detect" ]; then
    t pipeline-synthetic 0 '^sheet\.png +frame 0 +box [0-9]+,[0-9]+,[0-9]+,[0-9]+ +[a-z]+ +[01]\.' -- \
        sh -c 'fer-detect -c all.xml sheet.png | fer-classify -m m1.fer --annotate dets'
    check pipeline-synthetic-annotated test -s dets/sheet.png
else
    skip pipeline-synthetic "fer-detect not built"
fi
# the main job on a real photo, when there is one
photo="$FER_SHARED/faces/images/mpl_grace_hopper.jpg"
if [ -x "$FER_BIN/fer-detect" ] && [ -r "$photo" ]; then
    t pipeline 0 'mpl_grace_hopper\.jpg +frame 0 +box [0-9]+,[0-9]+,[0-9]+,[0-9]+ +[a-z]+ +0\.' -- \
        sh -c 'fer-detect "$0" | fer-classify -m m1.fer --annotate det' "$photo"
    check pipeline-annotated test -s det/mpl_grace_hopper.jpg
else
    skip pipeline "fer-detect or $photo missing"
fi

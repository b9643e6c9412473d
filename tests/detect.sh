#!/bin/sh
# detect.sh: fer-detect over the shared face photos against OpenCV's own
# boxes (reference.csv: >= 98% matched at IoU >= 0.9, <= 2% extra, with and
# without --eyes), against the ground truth (IoU >= 0.4; false positives only
# on images whose gt is complete), and a table of bad inputs.
. "$FER_ROOT/tests/lib.sh"
FACES=$FER_SHARED/faces
CASC=
for d in /usr/share/opencv4/haarcascades /usr/share/opencv/haarcascades; do
    [ -f "$d/haarcascade_frontalface_default.xml" ] && [ -f "$d/haarcascade_eye.xml" ] && CASC=$d && break
done
if [ -z "$CASC" ]; then
    skip detect "no OpenCV haarcascades (Debian opencv-data)"
    exit 0
fi
cd "$TMP" || exit 1

# compare KIND BOXES: matches the boxes ("file frame x y w h") with the rows
# of one kind of reference.csv, greedily by IoU; prints
# "matched extra total recall precision".
compare() {
    awk -F'[, ]' -v kind="$1" -v iou_min="$3" -v man="$FACES/manifest.csv" '
    function iou(a, b,   ix, iy, i) {
        ix = (a[1] + a[3] < b[1] + b[3] ? a[1] + a[3] : b[1] + b[3]) - (a[1] > b[1] ? a[1] : b[1])
        iy = (a[2] + a[4] < b[2] + b[4] ? a[2] + a[4] : b[2] + b[4]) - (a[2] > b[2] ? a[2] : b[2])
        if (ix <= 0 || iy <= 0) return 0
        i = ix * iy
        return i / (a[3] * a[4] + b[3] * b[4] - i)
    }
    BEGIN { while ((getline l < man) > 0) { split(l, m, ","); status[m[1]] = m[8] } }
    FNR == 1 && NR != 1 { second = 1 }
    !second && $4 == kind { n = nr[$1]++; R[$1, n] = $5 " " $6 " " $7 " " $8; total++; next }
    second { f = $1; sub(/.*\//, "", f); n = nm[f]++; M[f, n] = $3 " " $4 " " $5 " " $6; files[f] = 1 }
    END {
        for (f in nr) files[f] = 1
        for (f in files) {
            for (i = 0; i < nr[f]; i++) {
                split(R[f, i], a, " "); best = -1; bv = 0
                for (j = 0; j < nm[f]; j++) {
                    if (used[f, j]) continue
                    split(M[f, j], b, " "); v = iou(a, b)
                    if (v > bv) { bv = v; best = j }
                }
                if (best >= 0 && bv >= iou_min) { used[f, best] = 1; matched++ }
            }
            if (kind != "gt" || status[f] == "complete")
                for (j = 0; j < nm[f]; j++) { counted++; if (!used[f, j]) extra++ }
        }
        printf "%d %d %d %.3f %.3f\n", matched, extra, total,
               total ? matched / total : 0, counted ? (counted - extra) / counted : 0
    }' "$FACES/reference.csv" "$2"
}

if [ ! -f "$FACES/reference.csv" ]; then
    skip detect-opencv "no $FACES (shared face photos)"
else
    set -- "$FACES"/images/*
    fer-detect --boxes "$@" >faces.txt 2>err.txt; st=$?
    check detect-runs [ "$st" -eq 0 ] && [ ! -s err.txt ]
    fer-detect --boxes --eyes "$@" >eyes.txt 2>>err.txt
    for kind in face face_eye; do
        f=faces.txt; [ $kind = face_eye ] && f=eyes.txt
        set -- $(compare opencv_$kind $f 0.9)
        # >= 98% of OpenCV's boxes at IoU >= 0.9, <= 2% extra boxes
        if [ "$3" -gt 0 ] && [ $(($1 * 100)) -ge $(($3 * 98)) ] && [ $(($2 * 100)) -le $(($3 * 2)) ]; then
            echo "ok detect-opencv-$kind ($1 of $3 matched, $2 extra)"
        else
            echo "FAIL detect-opencv-$kind: $1 of $3 matched at IoU >= 0.9, $2 extra"
        fi
    done
    # ground truth, lenient IoU: a sanity floor, the figures are the point
    set -- $(compare gt faces.txt 0.4)
    if awk "BEGIN { exit !($4 >= 0.1 && $5 >= 0.5) }"; then
        echo "ok detect-gt (recall $4: $1 of $3 gt faces; precision $5 on complete images)"
    else
        echo "FAIL detect-gt: recall $4 ($1 of $3), precision $5"
    fi
fi

# Bad inputs and streams; on a noise picture with a cascade accepting every
# window when the photos are missing: the plumbing needs no real face.
IMG=$FACES/images/mpl_grace_hopper.jpg
DET=
if [ ! -f "$IMG" ]; then
    # no photos: a noise picture, and a cascade that accepts every window
    IMG=noise.pgm
    awk 'BEGIN { srand(3); print "P2\n160 120\n255"
        for (i = 0; i < 160 * 120; i++) print int(rand() * 256) }' >noise.pgm
    printf '%s' '<opencv_storage><c><stageType>BOOST</stageType><featureType>HAAR</featureType>
<height>20</height><width>20</width><stages><_><stageThreshold>-100</stageThreshold>
<weakClassifiers><_><internalNodes>0 -1 0 0.</internalNodes><leafValues>1 1</leafValues></_>
</weakClassifiers></_></stages><features><_><rects><_>0 0 20 20 1.</_><_>0 0 10 20 -2.</_>
</rects></_></features></c></opencv_storage>' >all.xml
    DET="-c all.xml"
fi
: >empty.jpg
printf 'GIF89a not an image' >junk.png
printf 'P5\n4 4\n255\n0123456789abcdef' >one.pgm
{ cat one.pgm one.pgm; printf 'P5\n4 4\n255\n0123'; } >cut.pgm
t detect-empty 1 '^fer-detect: empty.jpg: .*empty' -- fer-detect --boxes empty.jpg
t detect-junk 1 '^fer-detect: junk.png: ' -- fer-detect --boxes junk.png
t detect-missing 1 '^fer-detect: nofile.png: No such file' -- fer-detect --boxes nofile.png
t detect-cut-stream 1 '^fer-detect: cut.pgm: ' -- fer-detect --boxes cut.pgm
nl=$(printf 'a\nsrc=evil.pgm')
cp one.pgm "$nl"
t detect-newline-name 1 '^fer-detect: a\\nsrc=evil\.pgm: a newline in the file name' -- fer-detect "$nl"
cp one.pgm keep.pgm
t detect-o-is-input 2 '^fer-detect: -o one\.pgm is the input one\.pgm$' -- fer-detect -o one.pgm one.pgm
t detect-draw-is-input 2 '^fer-detect: --draw \./one\.pgm is the input one\.pgm$' -- \
    fer-detect --draw ./one.pgm one.pgm
check detect-photo-kept cmp one.pgm keep.pgm
t detect-usage 2 '^usage: fer-detect' -- fer-detect
t detect-bad-option 2 'scale-factor' -- fer-detect --scale-factor 1 one.pgm
t detect-bad-number 2 'min-neighbors' -- fer-detect --min-neighbors x one.pgm
# bounds before work: scales per photo, pixels per photo (before allocating)
t detect-scale-count 2 '^fer-detect: --scale-factor 1.0001: more than 1000 scales' -- \
    fer-detect --scale-factor 1.0001 one.pgm
t detect-scale-fine 0 '' -- fer-detect --scale-factor 1.01 one.pgm
printf 'P5\n20000 20000\n255\n' >huge.pgm
t detect-max-pixels 1 '^fer-detect: huge.pgm: 20000x20000 is 400000000 pixels, over the limit of 100000000 \(FER_MAX_PIXELS' -- \
    fer-detect --boxes huge.pgm
t detect-max-pixels-env 1 '^fer-detect: one.pgm: 4x4 is 16 pixels, over the limit of 15' -- \
    env FER_MAX_PIXELS=15 fer-detect --boxes one.pgm
t detect-max-pixels-bad 1 "^fer-detect: FER_MAX_PIXELS: 'lots' is not a pixel count" -- \
    env FER_MAX_PIXELS=lots fer-detect --boxes one.pgm
printf '<opencv_storage><c><stageType>BOOST</stageType><featureType>LBP</featureType></c></opencv_storage>' >lbp.xml
t detect-bad-cascade 1 '^fer-detect: lbp.xml:1: <featureType>: LBP' -- fer-detect -c lbp.xml one.pgm
t detect-draw-two 2 '' -- fer-detect --draw x.png one.pgm one.pgm
# no faces: the stream is only its end record; fer-classify prints nothing
MODEL=$FER_ROOT/data/cnn.fer
fer-detect one.pgm >noface.fer
t detect-no-faces-classify 0 '' -- fer-classify -m "$MODEL" noface.fer
check detect-no-faces-nothing test -z "$(fer-classify -m "$MODEL" noface.fer)"
if [ -n "$IMG" ]; then
    n=$(fer-detect $DET --boxes "$IMG" | wc -l)
    check detect-photo [ "$n" -ge 1 ]
    # the other files are still processed, and the exit status is 1
    out=$(fer-detect $DET --boxes empty.jpg "$IMG" junk.png 2>/dev/null); st=$?
    check detect-bad-then-good [ "$st" -eq 1 ] && [ "$(printf '%s\n' "$out" | grep -c .)" -eq "$n" ]
    # the face stream ends with an end record: cut before it, the faces
    # are classified and the cut is named
    fer-detect $DET "$IMG" >faces.fer
    head -c "$(($(wc -c <faces.fer) - 47 - ${#n}))" faces.fer >faces-cut.fer
    t detect-cut-at-end 1 "^fer-classify: faces-cut\\.fer: cut short: no end record after $n images" -- \
        fer-classify -m "$MODEL" faces-cut.fer
    check detect-pipe-classify test "$(fer-detect $DET "$IMG" | fer-classify -m "$MODEL" | wc -l)" -eq "$n"
    # a stream of PNM frames on stdin: frames keep their numbers
    if "${FER_PYTHON:-/usr/bin/python3}" -c 'import sys, cv2
cv2.imwrite(sys.argv[2], cv2.imread(sys.argv[1]))' "$IMG" photo.ppm 2>/dev/null; then
        cat photo.ppm photo.ppm photo.ppm | fer-detect $DET --boxes - >frames.txt; st=$?
        check detect-stream [ "$st" -eq 0 ] && [ "$(awk '$2 == 2' frames.txt | wc -l)" -eq "$n" ] &&
            [ "$(wc -l <frames.txt)" -eq $((3 * n)) ] && [ "$(awk '$1 != "stdin"' frames.txt | wc -l)" -eq 0 ]
    else
        skip detect-stream "no python3 with cv2 to write a PPM"
    fi
    # a JPEG on stdin
    check detect-stdin-jpeg [ "$(fer-detect $DET --boxes - <"$IMG" | wc -l)" -eq "$n" ]
    # the fer stream: one 48x48 face record per box, read back as a data set
    fer-detect $DET --margin 0.1 --equalize "$IMG" >faces.fer
    t detect-fer-stream 0 "^images +$n\$" -- fer-convert --info faces.fer
    t detect-fer-meta 0 'box=' -- sh -c "tr -c '[:print:]' '\n' <faces.fer | grep -a '^box='"
    t detect-draw 0 '' -- fer-detect $DET --boxes --draw drawn.png "$IMG"
    check detect-draw-png [ -s drawn.png ]
fi

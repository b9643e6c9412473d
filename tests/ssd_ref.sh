#!/bin/sh
# ssd_ref.sh: fer's SSD MobileNetV1 against face-api.js's own runtime
# (@vladmandic/face-api on tfjs with the wasm backend, tests/faceapi_ref.js,
# installed by make models-ref) on every shared photo, whole photos, min
# score 0.5: each box of one must have a box of the other at IoU >= 0.95
# with a score within 0.01, except a box scoring within 0.01 of the
# threshold, which the other side may have dropped. Skips with one line
# without node, the runtime, the weights or ../shared.
. "$FER_ROOT/tests/lib.sh"
M=$FER_ROOT/${FER_MODELS:-models}
SD=$FER_ROOT/${FER_BUILD:-build}/tests/ssd_dump
FACES=$FER_SHARED/faces/images
if ! command -v node >/dev/null 2>&1; then skip ssd_ref "no node"; exit 0; fi
if [ ! -d "$M/node_modules/@vladmandic/face-api" ] || [ ! -d "$M/node_modules/@tensorflow/tfjs-backend-wasm" ]; then
    skip ssd_ref "no face-api runtime in $M/node_modules (make models-ref)"; exit 0
fi
if [ ! -f "$M/ssd_mobilenetv1.fer" ]; then skip ssd_ref "no $M/ssd_mobilenetv1.fer (make models)"; exit 0; fi
if [ ! -d "$FACES" ]; then skip ssd_ref "no $FACES"; exit 0; fi
if [ ! -x "$SD" ]; then echo "FAIL ssd_ref_build: $SD missing (run make test)"; exit 0; fi

mkdir -p "$TMP/ppm"
if ! "$SD" "$M/ssd_mobilenetv1.fer" 0.5 "$TMP/ppm" "$FACES"/* > "$TMP/fer.txt" 2> "$TMP/err"; then
    echo "FAIL ssd_ref_fer: $(head -c 300 "$TMP/err")"; exit 0
fi
if ! NODE_PATH="$M/node_modules" node "$FER_ROOT/tests/faceapi_ref.js" \
        "$M/node_modules/@vladmandic/face-api/model" 0.5 "$TMP/ppm"/*.ppm > "$TMP/ref.txt" 2> "$TMP/err"; then
    echo "FAIL ssd_ref_node: $(head -c 300 "$TMP/err")"; exit 0
fi
# one line per check: the photos, both directions
awk -v thr=0.5 '
function iou(a, b,   ax1, ay1, bx1, by1, iw, ih, i) {
    split(a, A, " "); split(b, B, " ")
    ax1 = A[1] + A[3]; ay1 = A[2] + A[4]; bx1 = B[1] + B[3]; by1 = B[2] + B[4]
    iw = (ax1 < bx1 ? ax1 : bx1) - (A[1] > B[1] ? A[1] : B[1])
    ih = (ay1 < by1 ? ay1 : by1) - (A[2] > B[2] ? A[2] : B[2])
    if (iw <= 0 || ih <= 0) return 0
    i = iw * ih
    return i / (A[3] * A[4] + B[3] * B[4] - i)
}
FNR == 1 { side++ }
{ k = $1; n[side, k]++; box[side, k, n[side, k]] = $2 " " $3 " " $4 " " $5; sc[side, k, n[side, k]] = $6; files[k] = 1 }
END {
    bad = 0; total = 0
    for (s = 1; s <= 2; s++) for (f in files) for (i = 1; i <= n[s, f]; i++) {
        o = 3 - s; best = 0; bs = -1; total++
        for (j = 1; j <= n[o, f]; j++) { v = iou(box[s, f, i], box[o, f, j]); if (v > best) { best = v; bs = sc[o, f, j] } }
        d = bs - sc[s, f, i]; if (d < 0) d = -d
        if (best >= 0.95 && d <= 0.01) {
            if (!seen++ || best < worst) worst = best
            if (d > dmax) dmax = d
            continue
        }
        if (best < 0.95 && sc[s, f, i] <= thr + 0.01) continue
        bad++
        if (bad <= 3) printf "%s %s box %s score %s: best IoU %.3f, score %s\n", (s == 1 ? "fer" : "face-api"), f, box[s, f, i], sc[s, f, i], best, bs
    }
    printf "checked %d boxes, %d differ; matched: IoU >= %.4f, scores within %.5f\n", total, bad, worst, dmax
    exit bad > 0
}' "$TMP/fer.txt" "$TMP/ref.txt" > "$TMP/cmp" 2>&1
st=$?
nf=$(wc -l < "$TMP/fer.txt"); nr=$(wc -l < "$TMP/ref.txt")
if [ "$st" -eq 0 ] && [ "$nr" -gt 0 ]; then
    echo "ok ssd_ref_boxes ($nf boxes from fer, $nr from face-api; $(tail -1 "$TMP/cmp"))"
else
    echo "FAIL ssd_ref_boxes: $nf fer boxes, $nr face-api boxes; $(tr '\n' ';' < "$TMP/cmp" | head -c 500)"
fi

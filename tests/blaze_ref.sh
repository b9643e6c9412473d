#!/bin/sh
# blaze_ref.sh: fer's BlazeFace against its original runtime (the graph
# model of @vladmandic/human 3.3.6 on tfjs with the wasm backend,
# tests/blaze_ref.js; tfjs from make models-ref) on every shared photo,
# each region run once (the whole photo and its tiles from 320 pixels, so
# that padding and offsets are both checked), min score 0.5: each box of
# one must have a box of the other in the same region at IoU >= 0.95 with
# a score within 0.01, except a box scoring within 0.01 of the threshold,
# which the other side may have dropped. Skips with one line without
# node, the runtime, the weights or ../shared.
. "$FER_ROOT/tests/lib.sh"
M=$FER_ROOT/${FER_MODELS:-models}
BD=$FER_ROOT/${FER_BUILD:-build}/tests/blaze_dump
FACES=$FER_SHARED/faces/images
if ! command -v node >/dev/null 2>&1; then skip blaze_ref "no node"; exit 0; fi
if [ ! -d "$M/node_modules/@tensorflow/tfjs" ] || [ ! -d "$M/node_modules/@tensorflow/tfjs-backend-wasm" ]; then
    skip blaze_ref "no tfjs runtime in $M/node_modules (make models-ref)"; exit 0
fi
if [ ! -f "$M/blazeface.fer" ] || [ ! -f "$M/human/blazeface.json" ]; then
    skip blaze_ref "no $M/blazeface.fer and $M/human/blazeface.json (make models)"; exit 0
fi
if [ ! -d "$FACES" ]; then skip blaze_ref "no $FACES"; exit 0; fi
if [ ! -x "$BD" ]; then echo "FAIL blaze_ref_build: $BD missing (run make test)"; exit 0; fi

mkdir -p "$TMP/ppm"
if ! "$BD" "$M/blazeface.fer" 0.5 320 "$TMP/ppm" "$FACES"/* > "$TMP/fer.txt" 2> "$TMP/err"; then
    echo "FAIL blaze_ref_fer: $(head -c 300 "$TMP/err")"; exit 0
fi
if ! NODE_PATH="$M/node_modules" node "$FER_ROOT/tests/blaze_ref.js" \
        "$M/human/blazeface.json" 0.5 "$TMP/ppm" "$TMP/ppm/regions.txt" > "$TMP/ref.txt" 2> "$TMP/err"; then
    echo "FAIL blaze_ref_node: $(head -c 300 "$TMP/err")"; exit 0
fi
# key: photo and region; both directions
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
{ k = $1 " " $2 " " $3 " " $4 " " $5; n[side, k]++
  box[side, k, n[side, k]] = $6 " " $7 " " $8 " " $9; sc[side, k, n[side, k]] = $10; keys[k] = 1 }
END {
    bad = 0; total = 0
    for (s = 1; s <= 2; s++) for (f in keys) for (i = 1; i <= n[s, f]; i++) {
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
        if (bad <= 3) printf "%s %s box %s score %s: best IoU %.3f, score %s\n", (s == 1 ? "fer" : "tfjs"), f, box[s, f, i], sc[s, f, i], best, bs
    }
    printf "checked %d boxes, %d differ; matched: IoU >= %.4f, scores within %.5f\n", total, bad, worst, dmax
    exit bad > 0
}' "$TMP/fer.txt" "$TMP/ref.txt" > "$TMP/cmp" 2>&1
st=$?
nf=$(wc -l < "$TMP/fer.txt"); nr=$(wc -l < "$TMP/ref.txt"); ng=$(wc -l < "$TMP/ppm/regions.txt")
if [ "$st" -eq 0 ] && [ "$nr" -gt 0 ]; then
    echo "ok blaze_ref_boxes ($ng regions; $nf boxes from fer, $nr from tfjs; $(tail -1 "$TMP/cmp"))"
else
    echo "FAIL blaze_ref_boxes: $nf fer boxes, $nr tfjs boxes; $(tr '\n' ';' < "$TMP/cmp" | head -c 500)"
fi

# converter: scripts/torchvision2fer.py on random torchvision resnet18
# weights (no ImageNet weights can be downloaded here).
#  - the 48x48 variant (3x3 stride-1 1-channel stem, no max pool): fer's
#    inference forward of the converted model equals torchvision's in
#    double, max|a-b| <= 1e-4 max|ref|;
#  - a standard resnet18 (7x7/2 RGB stem, 1000 classes): converted, its
#    gray fold agrees with torchvision's RGB stem on interior pixels
#    (1e-5), fer loads it, and fer-train --init trains from it;
#  - the replica of resnet18 in tests/fer_torch.py matches torchvision.
. tests/lib.sh
need_torch_and_parity_dump converter
FT=tests/fer_torch.py
CONV=scripts/torchvision2fer.py

"$PY" $FT replica

"$PY" $FT tv-random "$TMP/v48.pth" 11 48 &&
    t converter_convert_48 0 "fc kept" -- "$PY" $CONV "$TMP/v48.pth" "$TMP/v48.fer" &&
    "$PD" --forward "$TMP/v48.fer" 12 4 "$TMP/v48.dump" &&
    "$PY" $FT tv-forward "$TMP/v48.pth" "$TMP/v48.dump" ||
    echo "FAIL converter_forward_48: a step failed"

"$PY" $FT tv-random "$TMP/std.pth" 13 || echo "FAIL converter_standard: no .pth"
t converter_convert_standard 0 "7x7 -> 3x3 by resize; rgb folded to gray; fc 1000x512 replaced" \
    -- "$PY" $CONV "$TMP/std.pth" "$TMP/std.fer"
t converter_convert_center 0 "by center" -- "$PY" $CONV --stem center "$TMP/std.pth" "$TMP/c.fer"
"$PY" $FT fold-check "$TMP/std.pth" "$TMP/std.fer"
t converter_loads 0 "" -- "$PD" --forward "$TMP/std.fer" 3 2 "$TMP/std.dump"
t converter_meta 0 "arch=resnet18" -- grep -a "arch=resnet18" "$TMP/std.fer"
t converter_bad_input 1 "torchvision2fer: .*: " -- "$PY" $CONV "$TMP/std.fer" "$TMP/x.fer"
head -9 "$(tiny_data)" >"$TMP/t.csv"
fer-convert "$TMP/t.csv" -o "$TMP/t.fer" &&
    t converter_init_train 0 "std.fer: 102 tensors copied, 0 skipped" -- \
        fer-train -m resnet18 -i "$TMP/t.fer" -o "$TMP/out.fer" --epochs 1 --batch 8 \
        --init "$TMP/std.fer"

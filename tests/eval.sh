# eval.sh: fer-eval over real files: reports checked against scikit-learn
# (tests/sklearn_report.py), model averaging, --usage, --tta, and a table of
# bad inputs, each a one-line error naming the file.
. "${FER_ROOT:-.}/tests/lib.sh"
DATA=$(tiny_data)
PY=${FER_PYTHON:-/usr/bin/python3}
cd "$TMP" || exit 1

# Two quick ff models (different seeds) on the 70 Training images.
t train_a 0 "" -- fer-train -m ff -i "$DATA" -o a.fer --epochs 3 --batch 16 --seed 1 --threads 1 -q
t train_b 0 "" -- fer-train -m ff -i "$DATA" -o b.fer --epochs 3 --batch 16 --seed 2 --threads 1 -q

# The three formats agree; the JSON against scikit-learn.
t json 0 "" -- sh -c "fer-eval -m a.fer -i '$DATA' --format json --predictions pa.csv >r.json"
t text 0 '^ *macro avg( +[0-9.]+){3} +84$' -- fer-eval -m a.fer "$DATA"
t csv 0 '^weighted avg,' -- sh -c "fer-eval -m a.fer '$DATA' --format csv >r.csv; cat r.csv"
check csv_rows test "$(grep -c . r.csv)" -eq 11
acc_json=$(sed -n 's/^{"accuracy": \([0-9.]*\),.*/\1/p' r.json)
acc_csv=$(sed -n 's/^accuracy,,,\([0-9.]*\),84$/\1/p' r.csv)
check json_csv_accuracy test -n "$acc_json" -a "$acc_json" = "$acc_csv"
check predictions_rows test "$(wc -l <pa.csv)" -eq 85
if "$PY" -c 'import sklearn' >/dev/null 2>&1; then
    "$PY" "$FER_ROOT/tests/sklearn_report.py" r.json pa.csv >sk.out 2>&1
    st=$?
    sed -E 's/^(ok|FAIL) /\1 sklearn_/' sk.out
    grep -q '^FAIL' sk.out || [ "$st" -eq 0 ] || echo "FAIL sklearn: exit $st: $(tail -n 3 sk.out)"
else
    skip sklearn "scikit-learn is not importable by $PY"
fi

# Class names with " \ and a tab: the JSON report escapes them.
MF="$FER_BIN/../tests/make_faces"
if [ -x "$MF" ]; then
    "$MF" -d -n 60 -r 6 -k 'an"gry,dis\gust,fe	ar,happy,sad,surprise,neutral' >odd.fer
    fer-train -m ff --width 0.25 -i odd.fer -o odd-m.fer --epochs 1 --threads 1 -q
    fer-eval -m odd-m.fer --format json odd.fer >odd.json
    check json_escaped_names grep -qF '"an\"gry", "dis\\gust", "fe\tar"' odd.json
    if "$PY" -c 'import json' 2>/dev/null; then
        check json_odd_names_parse "$PY" -c 'import json, sys
r = json.load(open(sys.argv[1]))
assert r["classes"][0] == "an\"gry" and "fe\tar" in r["per_class"]' odd.json
    fi
else
    skip json_escaped_names "no $MF (run make test)"
fi

# A picture given as a data set or a model is named for what it is.
fer-convert -s 2 -n 4 -o sheet.png "$DATA" 2>/dev/null
printf '\377\330\377\340 not really' >photo.jpg
t png_as_data 1 '^fer-eval: sheet\.png: a PNG image, not a fer data set$' -- fer-eval -m a.fer sheet.png
t jpeg_as_data 1 '^fer-eval: photo\.jpg: a JPEG image, not a fer data set or CSV$' -- \
    fer-eval -m a.fer photo.jpg
t model_as_data 1 '^fer-eval: a\.fer: a fer model, not a data set$' -- fer-eval -m a.fer a.fer
t png_as_model 1 '^fer-eval: sheet\.png: a PNG image, not a fer model$' -- fer-eval -m sheet.png "$DATA"

# A model from a pipe (read once) is the model from its file; standard
# input feeds one of the model and the data set, not both.
fer-eval -m a.fer --format csv "$DATA" >file.csv
t model_pipe 0 "" -- sh -c "cat a.fer | fer-eval -m - --format csv '$DATA' >pipe.csv"
check model_pipe_same cmp file.csv pipe.csv
t model_pipe_and_data 2 '^fer-eval: -m - and the data set both read standard input$' -- \
    sh -c "cat a.fer | fer-eval -m -"
t model_pipe_twice 2 '^fer-eval: -m - and another -m - both read standard input$' -- \
    sh -c "cat a.fer | fer-eval -m - -m - '$DATA'"

# An output over an input (the data set, a model) is refused before any work.
cp "$DATA" own.csv
t eval_pred_is_data 2 '^fer-eval: --predictions own\.csv is the data set own\.csv$' -- \
    fer-eval -m a.fer own.csv --predictions own.csv
t eval_plot_is_model 2 '^fer-eval: --plot \./a\.fer is the model a\.fer$' -- \
    fer-eval -m a.fer own.csv --plot ./a.fer
check eval_inputs_kept cmp own.csv "$DATA"

# Data from a pipe, a fer data set, the same report.
t stdin 0 "^accuracy,,,$acc_csv,84$" -- \
    sh -c "fer-convert '$DATA' -o - | fer-eval -m a.fer --format csv"

# --usage PublicTest: the 14 test images of the tiny set (2 per class).
t usage_public 0 '"n": 14,' -- \
    sh -c "fer-eval -m a.fer '$DATA' --usage PublicTest --format json --predictions pub.csv"
check usage_public_rows test "$(wc -l <pub.csv)" -eq 15
t usage_two 0 '"n": 84,' -- \
    fer-eval -m a.fer "$DATA" --usage PublicTest --usage Training --format json

# Two models: the mean of their probabilities, row by row, within the
# predictions' 6 significant digits.
t two_models 0 "" -- sh -c "fer-eval -m b.fer '$DATA' --predictions pb.csv >/dev/null &&
                            fer-eval -m a.fer -m b.fer '$DATA' --predictions pm.csv >/dev/null"
check two_models_mean awk -F, '
    FNR == 1 { f++; next }
    f == 1 { a[FNR] = $0; next }
    f == 2 { b[FNR] = $0; next }
    { na = split(a[FNR], x, ","); split(b[FNR], y, ",")
      if (na != NF || x[2] != $2 || y[2] != $2) { bad = 1; exit }
      s = 0
      for (j = 4; j <= NF; j++) {
          d = $j - (x[j] + y[j]) / 2; if (d < 0) d = -d
          if (d > 1e-4) { bad = 1; exit }
          if ($j > $($3 + 4) + 1e-6) { bad = 1; exit }   # pred: argmax
          s += $j }
      if (s < 0.9999 || s > 1.0001) { bad = 1; exit }
      rows++ }
    END { exit bad || rows != 84 }' pa.csv pb.csv pm.csv

# --tta flip: runs, and its probabilities still sum to 1.
t tta_flip 0 '"n": 84,' -- \
    sh -c "fer-eval -m a.fer '$DATA' --tta flip --format json --predictions pt.csv"
check tta_flip_sums awk -F, 'NR > 1 { s = 0; for (j = 4; j <= NF; j++) s += $j
                                      if (s < 0.9999 || s > 1.0001) exit 1 }' pt.csv
check tta_flip_differs sh -c '! cmp -s pa.csv pt.csv'
# --tta crop10: the same (its views: test_predict); --tta none is no option
t tta_crop10 0 '"n": 84,' -- \
    sh -c "fer-eval -m a.fer '$DATA' --tta crop10 --format json --predictions pc.csv"
check tta_crop10_sums awk -F, 'NR > 1 { s = 0; for (j = 4; j <= NF; j++) s += $j
                                        if (s < 0.9999 || s > 1.0001) exit 1 }' pc.csv
check tta_crop10_differs sh -c '! cmp -s pa.csv pc.csv && ! cmp -s pt.csv pc.csv'
# --tta flipcrop: the same (its views: test_predict)
t tta_flipcrop 0 '"n": 84,' -- \
    sh -c "fer-eval -m a.fer '$DATA' --tta flipcrop --format json --predictions pf.csv"
check tta_flipcrop_sums awk -F, 'NR > 1 { s = 0; for (j = 4; j <= NF; j++) s += $j
                                          if (s < 0.9999 || s > 1.0001) exit 1 }' pf.csv
check tta_flipcrop_differs sh -c '! cmp -s pa.csv pf.csv && ! cmp -s pt.csv pf.csv &&
    ! cmp -s pc.csv pf.csv'
t tta_none 0 "" -- sh -c "fer-eval -m a.fer '$DATA' --tta none --predictions pn.csv >/dev/null"
check tta_none_plain cmp pa.csv pn.csv

# Bad models: truncated (early and just before the end), a corrupted byte,
# a data set, a CSV, a missing file.
size=$(wc -c <a.fer)
head -c 5000 a.fer >trunc.fer
head -c $((size - 3)) a.fer >trunc_end.fer
cp a.fer corrupt.fer
off=$((size / 2))
old=$(od -An -tu1 -j $off -N1 a.fer | tr -d ' ')
new=$(( (old + 1) % 256 ))
printf "\\$(printf %o $new)" | dd of=corrupt.fer bs=1 seek=$off conv=notrunc 2>/dev/null
check corrupt_made sh -c '! cmp -s a.fer corrupt.fer'
fer-convert "$DATA" -o tiny.fer 2>/dev/null
: >empty.fer
t bad_truncated 1 '^fer-eval: trunc\.fer: .*truncated' -- fer-eval -m trunc.fer "$DATA"
t bad_truncated_end 1 '^fer-eval: trunc_end\.fer: ' -- fer-eval -m trunc_end.fer "$DATA"
t bad_corrupt 1 '^fer-eval: corrupt\.fer: .*CRC' -- fer-eval -m corrupt.fer "$DATA"
t bad_dataset 1 '^fer-eval: tiny\.fer: .*not a model' -- fer-eval -m tiny.fer "$DATA"
t bad_csv_model 1 '^fer-eval: .*fer2013-tiny\.csv: ' -- fer-eval -m "$DATA" "$DATA"
t bad_empty 1 '^fer-eval: empty\.fer: ' -- fer-eval -m empty.fer "$DATA"
t bad_missing 1 '^fer-eval: nosuch\.fer: ' -- fer-eval -m nosuch.fer "$DATA"
t bad_second 1 '^fer-eval: trunc\.fer: ' -- fer-eval -m a.fer -m trunc.fer "$DATA"
t bad_data_missing 1 '^fer-eval: nosuch\.csv: ' -- fer-eval -m a.fer nosuch.csv
t bad_data_model 1 '^fer-eval: a\.fer: ' -- fer-eval -m a.fer a.fer
t no_such_usage 1 '^fer-eval: .*fer2013-tiny\.csv: ' -- fer-eval -m a.fer "$DATA" --usage PrivateTest

# A model for 24x24 images (trained on a data set of 24x24 images written
# here with the record layout of fer(5)) does not take 48x48 images.
if "$PY" - s24.fer <<'EOF' 2>/dev/null; then
import struct, sys, zlib, random
def record(name, dtype, shape, payload, meta=b""):
    head = struct.pack("<4sHBBHHIQ", b"\x89FER", 1, dtype, len(shape), len(name), 0,
                       len(meta), len(payload))
    body = head + b"".join(struct.pack("<Q", s) for s in shape) + name + meta + payload
    return body + struct.pack("<I", zlib.crc32(body) & 0xffffffff)
rng, n = random.Random(24), 21
px = bytes(rng.randrange(256) for _ in range(n * 24 * 24))
meta = b"classes=angry,disgust,fear,happy,sad,surprise,neutral\nusages=Training,PublicTest,PrivateTest\n"
with open(sys.argv[1], "wb") as f:
    f.write(record(b"images", 1, (n, 1, 24, 24), px, meta))
    f.write(record(b"labels", 2, (n,), struct.pack("<%di" % n, *[i % 7 for i in range(n)])))
    f.write(record(b"usage", 1, (n,), bytes(n)))
EOF
    t train_24 0 "" -- fer-train -m ff -i s24.fer -o m24.fer --epochs 1 --batch 7 --threads 1 -q
    t bad_input_size 1 '^fer-eval: m24\.fer takes 1x24x24 images, .*fer2013-tiny\.csv has 1x48x48' \
        -- fer-eval -m m24.fer "$DATA"
    t bad_mixed_sizes 1 '^fer-eval: m24\.fer takes 1x24x24' -- fer-eval -m a.fer -m m24.fer "$DATA"
else
    skip bad_input_size "$PY cannot write the 24x24 data set"
fi

# Usage errors: exit 2 with a message.
t format_bogus 2 "^fer-eval: --format: 'bogus'" -- fer-eval -m a.fer "$DATA" --format bogus
t tta_bogus 2 "^fer-eval: --tta: 'rotate'" -- fer-eval -m a.fer "$DATA" --tta rotate
t usage_bogus 2 "^fer-eval: --usage: 'publictest'" -- fer-eval -m a.fer "$DATA" --usage publictest
t batch_zero 2 '^fer-eval: --batch: ' -- fer-eval -m a.fer "$DATA" --batch 0
t threads_abc 2 '^fer-eval: --threads: ' -- fer-eval -m a.fer "$DATA" --threads abc
t no_model 2 '^usage: fer-eval' -- fer-eval "$DATA"
t two_inputs 2 '^usage: fer-eval' -- fer-eval -m a.fer "$DATA" "$DATA"
t full_stdout 1 '^fer-eval: .*write error' -- sh -c "fer-eval -m a.fer '$DATA' >/dev/full"

# The progress line: only on a terminal unless --progress; --quiet wins;
# the report is the same either way.
fer-eval -m a.fer "$DATA" >plain.txt 2>plain.err
fer-eval -m a.fer -m a.fer "$DATA" --progress --batch 4 >prog.txt 2>prog.err
check progress_not_when_piped test ! -s plain.err
check progress_forced sh -c "tr '\r' '\n' <prog.err | grep -Eq '^model 2/2  [0-9]+/[0-9]+ +[0-9]+%  .*img/s  ETA '"
check progress_same_report cmp plain.txt prog.txt
fer-eval -m a.fer "$DATA" --progress -q >/dev/null 2>quiet.err
check progress_quiet_wins test ! -s quiet.err

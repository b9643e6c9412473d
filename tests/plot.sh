# plot.sh: fer-plot over real files and pipes: each kind of input, made
# here with random values, renders a PNG of the expected size (read from
# its IHDR bytes); bad inputs exit 1 with one line naming the file and the
# line and leave no file behind; usage errors exit 2; fer-eval --plot and
# fer-eval | fer-plot draw the same picture.
. "${FER_ROOT:-.}/tests/lib.sh"
cd "$TMP" || exit 1
seed=${FER_TEST_SEED:-$$}
echo "# seed $seed (FER_TEST_SEED=$seed reruns these inputs)"

# png_size FILE: "WxH" from the IHDR chunk (bytes 16..23, big-endian).
png_size() {
    od -An -tu1 -j16 -N8 "$1" 2>/dev/null |
        awk '{ if (NF == 8) printf "%dx%d\n", (($1 * 256 + $2) * 256 + $3) * 256 + $4,
                                   (($5 * 256 + $6) * 256 + $7) * 256 + $8 }'
}
# size NAME FILE WxH: the file is a PNG of that size.
size() {
    got=$(png_size "$2")
    if [ "$(head -c 4 "$2" 2>/dev/null | od -An -c | tr -d ' ')" = '211PNG' ] &&
        [ "$got" = "$3" ]; then echo "ok $1"; else echo "FAIL $1: $2 is '${got:-not a PNG}', want $3"; fi
}
# bad NAME PATTERN CMD...: exit 1, exactly one line on stderr matching
# PATTERN, and no file left behind in this directory.
bad() {
    name=$1 pat=$2; shift 2
    before=$(ls -A | sort)
    "$@" >bad.out 2>bad.err </dev/null
    st=$?
    after=$(ls -A | grep -v -e '^bad\.out$' -e '^bad\.err$' | sort)
    if [ "$st" -ne 1 ]; then
        echo "FAIL $name: exit $st, want 1; stderr: $(head -c 300 bad.err)"
    elif [ "$(wc -l <bad.err)" -ne 1 ] || ! grep -Eq -- "$pat" bad.err; then
        echo "FAIL $name: stderr is not one line matching /$pat/: $(head -c 300 bad.err)"
    elif [ "$after" != "$(printf '%s\n' "$before" | grep -v -e '^bad\.out$' -e '^bad\.err$')" ]; then
        echo "FAIL $name: left files behind: $(printf '%s\n' "$after" | tr '\n' ' ')"
    else
        echo "ok $name"
    fi
    rm -f bad.out bad.err
}

# Generators (awk, seeded). train_log SEED EPOCHS [noval]; anneal_log
# SEED TRIALS [random]; report SEED (fer-eval's JSON layout).
train_log() {
    awk -v s="$1" -v n="$2" -v noval="$3" 'BEGIN { srand(s)
        print "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds"
        for (e = 1; e <= n; e++) {
            tl = 1.8 * exp(-e / 10) + 0.5 + rand() * 0.05; ta = 0.3 + 0.4 * (1 - exp(-e / 10)) + rand() * 0.02
            if (noval) v = "nan,nan"; else v = sprintf("%.6f,%.6f", tl + 0.3 + rand() * 0.1, ta - 0.1 + rand() * 0.03)
            printf "%d,%.6f,%.6f,%s,%.6g,%.2f\n", e, tl, ta, v, 0.001 * rand(), 60 + rand() * 30 } }'
}
anneal_log() {
    awk -v s="$1" -v n="$2" -v rs="$3" 'BEGIN { srand(s); T = 0.05
        print "trial,chain,lr,epochs,batch,optim,score,accepted,current,best,temperature,seconds,stopped_early,epochs_run"
        for (t = 1; t <= n; t++) {
            sc = rand() < 0.05 ? "" : sprintf("%.4f", 0.45 + 0.2 * rand())
            if (sc != "" && (best == "" || sc + 0 > best + 0)) best = sc
            acc = rs ? "" : (rand() < 0.5 ? 1 : 0); if (acc == 1) cur = sc
            printf "%d,0,%.6g,%d,64,adamw,%s,%s,%s,%s,%s,%.1f,%d,%d\n", t, 10 ^ (-4 + 2 * rand()),
                10 + int(rand() * 20), sc, acc, rs ? "" : cur, best, rs ? "" : sprintf("%.6g", T),
                30 + rand() * 200, rand() < 0.2, 10
            T *= 0.9 } }'
}
report() {
    awk -v s="$1" 'BEGIN { srand(s); split("angry disgust fear happy sad surprise neutral", c, " ")
        for (i = 1; i <= 7; i++) for (j = 1; j <= 7; j++) { m[i, j] = int(rand() * (i == j ? 900 : 90)); n += m[i, j]; if (i == j) d += m[i, j] }
        printf "{\"accuracy\": %.6f, \"n\": %d, \"classes\": [", d / n, n
        for (i = 1; i <= 7; i++) printf "%s\"%s\"", (i > 1 ? ", " : ""), c[i]
        printf "],\n \"confusion\": ["
        for (i = 1; i <= 7; i++) { printf "%s[", (i > 1 ? ", " : "")
            for (j = 1; j <= 7; j++) printf "%s%d", (j > 1 ? ", " : ""), m[i, j]; printf "]" }
        printf "],\n \"per_class\": {}}\n" }'
}

n=$(awk -v s="$seed" 'BEGIN { srand(s); print 2 + int(rand() * 40) }')
train_log "$seed" "$n" >train.csv
train_log "$((seed + 1))" "$n" >other.csv
train_log "$((seed + 2))" 1 >one.csv
train_log "$((seed + 3))" "$n" noval >noval.csv
anneal_log "$seed" 30 >anneal.csv
anneal_log "$((seed + 1))" 25 random >search.csv
report "$seed" >report.json

# Each kind renders, at its size; the kind is found from the content.
t curves 0 "" -- fer-plot -o curves.png train.csv
size curves_size curves.png 900x600
t curves_default_name 0 "" -- fer-plot train.csv
size curves_default_size train.png 900x600
t curves_one_epoch 0 "" -- fer-plot -o one.png one.csv
size curves_one_epoch_size one.png 900x600
t curves_no_validation 0 "" -- fer-plot -o noval.png noval.csv
size curves_no_validation_size noval.png 900x600
t curves_overlay 0 "" -- fer-plot -o overlay.png --title "with and without" train.csv other.csv
size curves_overlay_size overlay.png 900x600
# A resumed run: the header again, epochs repeated with other values.
{ cat train.csv; sed -n '1p' train.csv; sed -n "$((n / 2 + 1)),\$p" other.csv; } >resumed.csv
t curves_resumed 0 "" -- fer-plot -o resumed.png resumed.csv
size curves_resumed_size resumed.png 900x600
t anneal 0 "" -- fer-plot -o anneal.png anneal.csv
size anneal_size anneal.png 900x600
t anneal_random_search 0 "" -- fer-plot -o search.png search.csv
size anneal_random_search_size search.png 900x600
t confusion 0 "" -- fer-plot -o cm.png report.json
size confusion_size cm.png 1000x860
t confusion_stdin 0 "" -- sh -c 'cat report.json | fer-plot -o cm-stdin.png -'
size confusion_stdin_size cm-stdin.png 1000x860
rm -f anneal.png
t stdin_default_name 0 "" -- sh -c 'fer-plot <anneal.csv'
size stdin_default_name_size anneal.png 900x600
t kind_forced 0 "" -- fer-plot --kind curves -o forced.png train.csv
size kind_forced_size forced.png 900x600
t stdout 0 "" -- sh -c 'fer-plot -o - train.csv >piped.png'
size stdout_size piped.png 900x600
check same_picture cmp -s piped.png curves.png
t full_stdout 1 '^fer-plot: .*[Ww]rite [Ee]rror' -- sh -c 'fer-plot -o - train.csv >/dev/full'

# fer-eval's text report and JSON, from the shipped model on the tiny set.
DATA=$(tiny_data)
if [ -r "$FER_ROOT/data/cnn.fer" ]; then
    t eval_pipe 0 "" -- sh -c "fer-eval -m '$FER_ROOT/data/cnn.fer' '$DATA' --format json |
                               fer-plot -o eval-json.png"
    size eval_pipe_size eval-json.png 1000x860
    t eval_text 0 "" -- sh -c "fer-eval -m '$FER_ROOT/data/cnn.fer' '$DATA' >eval.txt &&
                               fer-plot -o eval-text.png --title 'confusion matrix' eval.txt"
    t eval_plot 0 "" -- sh -c "fer-eval -m '$FER_ROOT/data/cnn.fer' '$DATA' --plot eval-plot.png \
                               --format json >eval.json"
    size eval_plot_size eval-plot.png 1000x860
    check eval_plot_report grep -q '"confusion"' eval.json
    t eval_json_again 0 "" -- fer-plot -o eval-json2.png --title 'confusion matrix' eval.json
    check eval_text_json_same cmp -s eval-text.png eval-json2.png
    bad eval_plot_unwritable '^fer-eval: nodir/x\.png' \
        fer-eval -m "$FER_ROOT/data/cnn.fer" "$DATA" --plot nodir/x.png
else
    skip eval_pipe "no data/cnn.fer"
fi

# Bad inputs: exit 1, one line naming the file and the line, nothing left.
r=$(awk -v s="$seed" -v n="$n" 'BEGIN { srand(s + 7); print 2 + int(rand() * n) }')
awk -v r="$r" -F, 'NR == r { print $1 "," $2 "," $3; next } { print }' train.csv >trunc.csv
bad bad_truncated_row "^fer-plot: trunc\\.csv:$r: 3 fields, expected 7\$" fer-plot -o x.png trunc.csv
col=$(awk -v s="$seed" 'BEGIN { srand(s + 8); print 2 + int(rand() * 4) }')
awk -v r="$r" -v c="$col" -F, -v OFS=, 'NR == r { $c = "x" $c } { print }' train.csv >nonnum.csv
bad bad_non_numeric "^fer-plot: nonnum\\.csv:$r: [a-z_]+: 'x[0-9.]+': not a number\$" \
    fer-plot -o x.png nonnum.csv
: >empty.csv
bad bad_empty "^fer-plot: empty\\.csv:1: empty file\$" fer-plot -o x.png empty.csv
bad bad_empty_stdin "^fer-plot: stdin:1: empty file\$" sh -c 'fer-plot -o x.png - </dev/null'
awk -v s="$seed" 'BEGIN { srand(s); for (i = 0; i < 5; i++) printf "%d,%d,%d\n", rand() * 99, rand() * 99, rand() * 99 }' >numbers.csv
bad bad_unknown_kind "^fer-plot: numbers\\.csv:1: not a training log, anneal log or fer-eval report" \
    fer-plot -o x.png numbers.csv
head -c 150 report.json >trunc.json
bad bad_truncated_json "^fer-plot: trunc\\.json:[12]: " fer-plot -o x.png trunc.json
ra=$(awk -v s="$seed" 'BEGIN { srand(s + 9); print 2 + int(rand() * 30) }')
awk -v r="$ra" -F, -v OFS=, 'NR == r { $8 = 7 } { print }' anneal.csv >badanneal.csv
bad bad_anneal_field "^fer-plot: badanneal\\.csv:$ra: accepted: '7': not 0 or 1\$" \
    fer-plot -o x.png badanneal.csv
bad bad_wrong_kind "^fer-plot: train\\.csv:1: not an anneal log" fer-plot --kind anneal -o x.png train.csv
bad bad_second_log "^fer-plot: trunc\\.csv:$r: " fer-plot -o x.png train.csv trunc.csv
bad bad_missing '^fer-plot: nosuch\.csv: No such file' fer-plot -o x.png nosuch.csv
bad bad_output_dir '^fer-plot: nodir/x\.png' fer-plot -o nodir/x.png train.csv

# Usage errors: exit 2.
t usage_kind 2 "^fer-plot: --kind: 'pie'" -- fer-plot --kind pie train.csv
t usage_option 2 "^fer-plot: .*'--bogus'\$" -- fer-plot --bogus train.csv
t usage_two_reports 2 '^fer-plot: only training logs' -- fer-plot report.json report.json
t usage_stdin_twice 2 '^fer-plot: standard input named twice' -- fer-plot - - </dev/null
t usage_no_output_arg 2 "^fer-plot: .* -- 'o'\$" -- fer-plot train.csv -o
t help 0 '^usage: fer-plot' -- fer-plot --help
t version 0 '^fer-plot 0\.1$' -- fer-plot --version

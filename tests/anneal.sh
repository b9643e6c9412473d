# anneal.sh: fer-anneal over a stand-in trainer (fake-train below) whose
# validation accuracy is a known function of the parameters: the search
# finds the peak, annealing beats random search, -j runs trials at once,
# --resume after SIGINT or SIGKILL ends in the same log as an uninterrupted
# run, the --print-trials loop, early stopping, failures, bad usage and bad
# logs; then a few seconds of the real fer-train on the tiny FER2013 sample.
. "${FER_ROOT:-.}/tests/lib.sh"
DATA=$(tiny_data)
cd "$TMP" || exit 1

# fake-train: takes fer-train's options and writes a --log whose val_acc
# rises over the epochs to q = 0.66 - 0.06 log10(lr/3e-3)^2 - 0.0006
# (epochs-12)^2 - 0.02 log2(batch/64)^2 (sgd 0.03 lower), with noise of
# +-0.005 drawn from the parameters and the epoch. $DELAY: seconds per
# epoch. SIGINT: like fer-train, the model is written and it exits 130.
# $FAIL_BATCH: exits 1 for that batch size; $USAGE_ERROR: exits 2.
cat >fake-train <<'EOF'
#!/bin/sh
lr= ep= b= opt=adam log=/dev/null out=/dev/null seed=1
while [ $# -gt 0 ]; do
    case $1 in
    --lr) lr=$2; shift ;;
    --epochs) ep=$2; shift ;;
    --batch) b=$2; shift ;;
    --optim) opt=$2; shift ;;
    --log) log=$2; shift ;;
    -o) out=$2; shift ;;
    --seed) seed=$2; shift ;;
    -i|-m|--checkpoint|--val|--val-split|--width) shift ;;
    esac
    shift
done
if [ -z "$lr" ] || [ -z "$ep" ] || [ -z "$b" ] || [ -n "$USAGE_ERROR" ]; then
    echo "fake-train: usage" >&2
    exit 2
fi
if [ "$b" = "${FAIL_BATCH:-none}" ]; then
    echo "fake-train: out of memory" >&2
    exit 1
fi
trap 'echo "fake-train: interrupted" >&2; : >"$out"; exit 130' INT
rows() {
    awk -v lr="$lr" -v E="$ep" -v b="$b" -v opt="$opt" -v seed="$seed" -v from="$1" \
        -v to="$2" 'BEGIN {
        l = log(lr / 3e-3) / log(10); m = log(b / 64) / log(2)
        q = 0.66 - 0.06 * l * l - 0.0006 * (E - 12) ^ 2 - 0.02 * m * m - (opt == "sgd") * 0.03
        for (e = from; e <= to; e++) {
            srand(int(lr * 1e7) % 100003 * 7 + E * 131 + b * 17 + e * 1009 + seed * 7919)
            a = 0.2 + (q - 0.2) * (1 - exp(-e / 2)) / (1 - exp(-E / 2)) + 0.01 * (rand() - 0.5)
            printf "%d,1.0,0.5,1.0,%.6f,%s,0.01\n", e, (a < 0 ? 0 : a), lr
        } }' >>"$log"
}
echo "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds" >"$log"
if [ -z "$DELAY" ]; then
    rows 1 "$ep"
else
    e=1
    while [ "$e" -le "$ep" ]; do
        rows "$e" "$e"
        sleep "$DELAY"
        e=$((e + 1))
    done
fi
: >"$out"
EOF
chmod +x fake-train
: >train.fer
FAKE=$TMP/fake-train
SPACE="--lr 1e-4:1e-1 --epochs 2:30 --batch 16,32,64,128,256"
A="fer-anneal -i train.fer --trainer $FAKE $SPACE"
HEADER=trial,chain,lr,epochs,batch,optim,score,accepted,current,best,temperature,seconds,stopped_early,epochs_run,status,start,val_acc

# field LOG NAME: the column NAME of a log, without the header
field() { awk -F, -v n="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == n) c = i; next }
    { print $c }' "$1"; }
# same LOG1 LOG2 [best]: the same rows, by trial, but for the times
# (seconds, start) and, with "best", the best so far (with -j, trials end
# in any order)
same() {
    for f in "$1" "$2"; do
        awk -F, -v OFS=, -v b="$3" 'NR > 1 { $12 = ""; $16 = ""; if (b) $10 = ""; print }' \
            "$f" | sort -t, -k1,1n >"$f.cut"
    done
    test -s "$1.cut" && cmp -s "$1.cut" "$2.cut"
}
# arg FILE OPT: the value after OPT in the command line in FILE
arg() { tr ' ' '\n' <"$1" | awk -v o="$2" 'p { print; exit } $0 == o { p = 1 }'; }
# rows_ok LOG N: a header and N rows of 17 fields, trials 1..N once each
rows_ok() {
    test "$(head -n 1 "$1")" = "$HEADER" &&
        awk -F, 'NR > 1 && NF != 17 { exit 1 }' "$1" &&
        test "$(field "$1" trial | sort -n | tr '\n' ' ')" = "$(seq 1 "$2" | tr '\n' ' ')"
}

# --- help, version ----------------------------------------------------------
t help 0 '^usage: fer-anneal -i train.fer' -- fer-anneal --help
t version 0 '^fer-anneal 0\.1$' -- fer-anneal --version

# --- the search finds the peak (lr 3e-3, 12 epochs, batch 64) ---------------
t near_run 0 "" -- sh -c "$A --seed 1 --iters 30 --workdir near -q >near.txt"
check near_log rows_ok near/anneal.csv 30
check near_lr awk -v x="$(arg near.txt --lr)" 'BEGIN { exit !(x >= 1e-3 && x <= 1e-2) }'
check near_epochs awk -v x="$(arg near.txt --epochs)" 'BEGIN { exit !(x >= 9 && x <= 15) }'
check near_batch awk -v x="$(arg near.txt --batch)" 'BEGIN { exit !(x >= 32 && x <= 128) }'
check near_score awk -F, 'NR > 1 && $10 > m { m = $10 } END { exit !(m > 0.64) }' near/anneal.csv
check near_command grep -q "^$FAKE -i train.fer -o best.fer --lr .* --val-split 0.2 --seed 1\$" near.txt
t near_runnable 0 "" -- sh -c "cd near && sh ../near.txt"
# the columns: T_k = 2 * 0.85^(k-1); best the running maximum; current the
# score when accepted; every epochs_run within the trial's epochs
check near_temperature awk -F, 'NR > 1 { w = 2 * 0.85 ^ ($1 - 1)
    if ($11 < w * 0.99999 || $11 > w * 1.00001) exit 1 }' near/anneal.csv
check near_best awk -F, 'NR > 1 { if ($7 != "" && $7 > m) m = $7; if ($10 != m) exit 1 }' near/anneal.csv
check near_current awk -F, 'NR > 1 && $8 == 1 && $9 != $7 { exit 1 }' near/anneal.csv
check near_epochs_run awk -F, 'NR > 1 && ($14 > $4 || ($13 == 0 && $14 != $4)) { exit 1 }' near/anneal.csv
check near_scores_in_0_1 awk -F, 'NR > 1 && !($7 > 0.2 && $7 < 0.7) { exit 1 }' near/anneal.csv

# --- annealing beats random search on the same budget -----------------------
# (test_anneal compares 20 seeds in process; here 4 through processes)
: >cmp.txt
for s in 1 2 3 4; do
    for m in anneal random; do
        $A --method $m --seed $s --iters 15 --workdir cmp-$m-$s -q >/dev/null 2>&1
        printf '%s %s\n' $m "$(field cmp-$m-$s/anneal.csv best | tail -n 1)" >>cmp.txt
    done
done
check anneal_beats_random awk '{ s[$1] += $2; n[$1]++ } END {
    exit !(n["anneal"] == 4 && n["random"] == 4 && s["anneal"] > s["random"]) }' cmp.txt
check random_columns awk -F, 'NR > 1 && ($8 != "" || $9 != "" || $11 != "") { exit 1 }' \
    cmp-random-1/anneal.csv
check random_log rows_ok cmp-random-1/anneal.csv 15

# --- -j 2: two chains, trials at the same time -------------------------------
t j2 0 "" -- sh -c "DELAY=0.02 $A --epochs 3:6 --iters 6 -j 2 --workdir j2 -q >/dev/null"
check j2_log rows_ok j2/anneal.csv 6
check j2_chains test "$(field j2/anneal.csv chain | sort -u | tr '\n' ' ')" = "1 2 "
check j2_chain_of_trial awk -F, 'NR > 1 && $2 != ($1 - 1) % 2 + 1 { exit 1 }' j2/anneal.csv
check j2_overlap awk -F, 'NR > 1 { s[NR] = $16; e[NR] = $16 + $12; c[NR] = $2 }
    END { for (i in s) for (j in s) if (c[i] != c[j] && s[i] < e[j] && s[j] < e[i]) exit 0
          exit 1 }' j2/anneal.csv

# --- --resume after SIGINT and after SIGKILL: the same log ------------------
R="$A --seed 5 --iters 10 --epochs 2:12"
DELAY=0.01 $R --workdir whole -q >whole.txt 2>/dev/null
check resume_whole rows_ok whole/anneal.csv 10
check resume_stops_some awk -F, 'NR > 1 && $13 == 1 { n++ } END { exit !(n > 0) }' whole/anneal.csv
for sig in INT KILL; do
    DELAY=0.01 $R --workdir cut-$sig -q >/dev/null 2>cut-$sig.err &
    pid=$!
    n=0     # until 4 trials are logged (up to 60 s)
    while [ "$(grep -c . cut-$sig/anneal.csv 2>/dev/null || echo 0)" -lt 5 ] && [ $n -lt 600 ]; do
        sleep 0.1; n=$((n + 1))
    done
    kill -$sig $pid
    wait $pid 2>/dev/null   # no "Killed" line from the shell
    st=$?
    [ $sig = INT ] && check resume_sigint_exit_130 test $st -eq 130
    [ $sig = KILL ] && check resume_sigkill_exit test $st -eq 137
    check resume_${sig}_partial awk -F, 'NR > 1 && NF != 17 { exit 1 }
        END { exit !(NR >= 5 && NR < 11) }' cut-$sig/anneal.csv
    cp cut-$sig/anneal.csv cut-$sig.csv
    t resume_$sig 0 "" -- sh -c "DELAY=0.01 $R --workdir cut-$sig --resume cut-$sig/anneal.csv -q >cut-$sig.txt"
    check resume_${sig}_same_log same whole/anneal.csv cut-$sig/anneal.csv
    check resume_${sig}_kept_rows sh -c "head -n \$(wc -l <cut-$sig.csv) cut-$sig/anneal.csv | cmp -s - cut-$sig.csv"
    check resume_${sig}_same_best cmp whole.txt cut-$sig.txt
done
# with -j 2 and no early stopping the chains resume too (only the best so
# far, which depends on the order trials end in, may differ)
R2="$A --seed 9 --iters 10 --epochs 2:8 -j 2 --no-early-stop"
DELAY=0.01 $R2 --workdir whole2 -q >/dev/null 2>&1
DELAY=0.01 $R2 --workdir cut2 -q >/dev/null 2>&1 &
pid=$!
n=0
while [ "$(grep -c . cut2/anneal.csv 2>/dev/null || echo 0)" -lt 4 ] && [ $n -lt 600 ]; do
    sleep 0.1; n=$((n + 1))
done
kill -INT $pid
wait $pid
t resume_j2 0 "" -- sh -c "DELAY=0.01 $R2 --workdir cut2 --resume cut2/anneal.csv -q >/dev/null"
check resume_j2_same_log same whole2/anneal.csv cut2/anneal.csv best
check sigint_message grep -q 'interrupted; [0-9]* trials in cut-INT/anneal.csv (continue with --resume' cut-INT.err
t resume_done 0 "" -- sh -c "$R --workdir whole --resume whole/anneal.csv -q | cmp - whole.txt"
t fresh_over_log 1 '^fer-anneal: whole/anneal.csv: exists' -- $R --workdir whole

# --- --print-trials: print, run, read back; the same as a supervised run ----
P="$A --seed 7 --iters 9 -j 3 --workdir pt -q"
t print_first 0 "" -- sh -c "$P --print-trials >next.sh"
check print_three test "$(grep -c . next.sh)" -eq 3
check print_commands grep -q "^$FAKE -i train.fer --lr [0-9.e-]* --epochs [0-9]* --batch [0-9]* --optim adam --log pt/trial-001.csv -o pt/trial-001.fer --checkpoint pt/trial-001.ckpt --quiet --val-split 0.2 --seed 7\$" next.sh
check print_header_only test "$(cat pt/anneal.csv)" = "$HEADER"
t print_again 0 "" -- sh -c "$P --print-trials --resume pt/anneal.csv | cmp - next.sh"
rounds=0
while [ -s next.sh ] && [ $rounds -lt 10 ]; do
    sh next.sh
    $P --print-trials --resume pt/anneal.csv >next.sh
    rounds=$((rounds + 1))
done
check print_rounds test $rounds -eq 3
check print_log rows_ok pt/anneal.csv 9
t print_final 0 '^[^ ]*fake-train -i train.fer -o best.fer --lr ' -- $P --resume pt/anneal.csv
$A --seed 7 --iters 9 -j 3 --workdir pt-run --no-early-stop -q >/dev/null
check print_same_as_run same pt/anneal.csv pt-run/anneal.csv best
t print_random 0 "" -- sh -c "$A --method random --iters 7 -j 2 --workdir pr -q --print-trials >pr.sh"
check print_random_all test "$(grep -c . pr.sh)" -eq 7
# a trial with a partial log and no model is still running: not recorded
$A --seed 8 --iters 4 --workdir pp -q --print-trials >pp.sh
printf 'epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds\n1,1,0.5,1,0.3,0.001,1\n' >pp/trial-001.csv
t print_running 0 '^fer-anneal: trial 1 has 1 of [0-9]* epochs in pp/trial-001.csv' -- \
    $A --seed 8 --iters 4 --workdir pp --print-trials --resume pp/anneal.csv
check print_running_unrecorded test "$(grep -c . pp/anneal.csv)" -eq 1

# --- early stopping: the median rule stops some trials, SIGINT reaches them --
E="$A --seed 2 --iters 10 --epochs 4:8"
t early 0 "" -- sh -c "DELAY=0.05 $E --workdir early -q >/dev/null"
t no_early 0 "" -- sh -c "DELAY=0.05 $E --workdir noearly --no-early-stop -q >/dev/null"
check early_some_stopped awk -F, 'NR > 1 && $13 == 1 && $15 == "stopped" && $14 < $4 && $14 >= 3 \
    { n++ } END { exit !(n > 0) }' early/anneal.csv
check early_first_three_run awk -F, 'NR > 1 && NR <= 4 && $13 != 0 { exit 1 }' early/anneal.csv
check early_sigint_reached sh -c 'grep -l "fake-train: interrupted" early/*.err'
check early_saves awk -F, 'NR == FNR && FNR > 1 { a += $14 } NR != FNR && FNR > 1 { b += $14 }
    END { exit !(a < b) }' early/anneal.csv noearly/anneal.csv
check no_early_none_stopped awk -F, 'NR > 1 && ($13 != 0 || $14 != $4) { exit 1 }' noearly/anneal.csv
check no_early_log rows_ok noearly/anneal.csv 10

# --- failed trials, and trainers that cannot run -----------------------------
t fail_some 0 "trial [0-9]+ .*batch 16.* failed: exit-1: fake-train: out of memory" -- \
    sh -c "FAIL_BATCH=16 $A --seed 1 --iters 12 --workdir fail >/dev/null"
check fail_rows awk -F, 'NR > 1 && $5 == 16 { n++; if ($7 != "" || $15 != "exit-1") exit 1 }
    END { exit !(n > 0) }' fail/anneal.csv
check fail_log rows_ok fail/anneal.csv 12
t fail_all 1 '^fer-anneal: no trial gave a score' -- \
    sh -c "FAIL_BATCH=16 fer-anneal -i train.fer --trainer $FAKE --lr 1e-3:1e-2 --epochs 2:4 --batch 16 --iters 3 --workdir failall -q"
t trainer_usage 1 '^fer-anneal: trial 1: the trainer exited with status 2: fake-train: usage' -- \
    sh -c "USAGE_ERROR=1 $A --iters 3 --workdir usage -q"
check trainer_usage_no_row test "$(cat usage/anneal.csv)" = "$HEADER"
t trainer_missing 1 '^fer-anneal: trial 1: the trainer exited with status 127: cannot run' -- \
    fer-anneal -i train.fer --trainer ./no-such-trainer $SPACE --workdir missing -q
t launcher 0 "" -- sh -c "$A --launcher 'env DELAY=' --iters 2 --workdir launch -q >/dev/null"
check launcher_log rows_ok launch/anneal.csv 2

# --- --plot: the trajectory as a PNG (900 x 600) --------------------------
png_size() { od -A n -t u1 -j 16 -N 8 "$1" | awk '{ print $3 * 256 + $4 "x" $7 * 256 + $8 }'; }
t plot 0 "" -- sh -c "$A --iters 4 --workdir plot --plot plot/a.png -q >/dev/null"
check plot_png test "$(od -A n -t x1 -N 8 plot/a.png | tr -d ' ')" = 89504e470d0a1a0a
check plot_size test "$(png_size plot/a.png)" = 900x600
t plot_random 0 "" -- sh -c "$A --method random --iters 3 --workdir plotr --plot plotr/a.png -q >/dev/null"
check plot_random_png test -s plotr/a.png
t plot_bad_path 1 '^fer-anneal: nosuch/a\.png: ' -- $A --iters 2 --workdir plotb --plot nosuch/a.png -q
check plot_bad_no_stdout test -z "$($A --iters 2 --workdir plotc --plot nosuch/a.png -q 2>/dev/null)"

# --- progress line: forced, quiet, and never in a piped log ------------------
t progress_forced 0 'trials +[0-9]+/3' -- sh -c "$A --iters 3 --workdir prog1 --progress 2>&1 >/dev/null | tr '\r' '\n'"
$A --iters 3 --workdir prog2 2>prog2.err >/dev/null
check progress_not_piped sh -c "! grep -q \"\$(printf '\\r')\" prog2.err"
check trial_lines grep -q '^fer-anneal: trial 3/3 (lr ' prog2.err
check quiet_silent sh -c "$A --iters 3 --workdir prog3 -q --progress 2>prog3.err >/dev/null; test ! -s prog3.err"

# --- usage errors: exit 2, one line, nothing written --------------------------
# one NAME REGEX ARGS...: exit 2 and exactly one line matching REGEX
one() {
    name=$1 pat=$2; shift 2
    out=$("$@" 2>&1); st=$?
    if [ $st -ne 2 ] || [ "$(printf '%s\n' "$out" | grep -c .)" -ne 1 ] ||
        ! printf '%s\n' "$out" | grep -Eq -- "$pat"; then
        echo "FAIL usage_$name: exit $st: $(printf '%s' "$out" | head -c 300)"
    else
        echo "ok usage_$name"
    fi
}
U="fer-anneal -i train.fer --trainer $FAKE --workdir bad"
one lr_reversed "^fer-anneal: --lr: '1:0': the lower bound is above the upper" $U --lr 1:0 --epochs 2:4 --batch 32
one lr_zero "^fer-anneal: --lr: '0:1': the learning rate must be above 0" $U --lr 0:1 --epochs 2:4 --batch 32
one lr_text "^fer-anneal: --lr: " $U --lr abc --epochs 2:4 --batch 32
one epochs_reversed "^fer-anneal: --epochs: '5:1'" $U --lr 1e-3:1e-2 --epochs 5:1 --batch 32
one epochs_step0 "^fer-anneal: --epochs: " $U --lr 1e-3:1e-2 --epochs 2:9:0 --batch 32
one batch_empty "^fer-anneal: --batch: " $U --lr 1e-3:1e-2 --epochs 2:4 --batch ""
one batch_hole "^fer-anneal: --batch: '32,,64': empty item" $U --lr 1e-3:1e-2 --epochs 2:4 --batch 32,,64
one batch_one "^fer-anneal: --batch: " $U --lr 1e-3:1e-2 --epochs 2:4 --batch 1
one iters_zero "^fer-anneal: --iters: " $U $SPACE --iters 0
one iters_fraction "^fer-anneal: --iters: '2.5': not an integer" $U $SPACE --iters 2.5
one jobs_zero "^fer-anneal: --jobs: " $U $SPACE -j 0
one cooling_big "^fer-anneal: --cooling: '1.5'" $U $SPACE --cooling 1.5
one cooling_zero "^fer-anneal: --cooling: " $U $SPACE --cooling 0
one t0_zero "^fer-anneal: --t0: " $U $SPACE --t0 0
one optim_unknown "^fer-anneal: --optim: .*'rmsprop' is not sgd, adam or adamw" $U $SPACE --optim adam,rmsprop
one method_unknown "^fer-anneal: --method: 'genetic'" $U $SPACE --method genetic
one no_input "^fer-anneal: -i is required" fer-anneal $SPACE --workdir bad
one no_lr "^fer-anneal: --lr is required" $U --epochs 2:4 --batch 32
one val_both "^fer-anneal: --val and --val-split exclude each other" $U $SPACE --val train.fer --val-split 0.2
one val_split_zero "^fer-anneal: --val-split: " $U $SPACE --val-split 0
one resume_other_log "^fer-anneal: --resume a.csv continues that log" $U $SPACE --resume a.csv --log b.csv
one operand "^fer-anneal: 'extra': an operand before --" $U $SPACE extra
one pass_epochs "^fer-anneal: '--epochs' after --" $U $SPACE -- -m cnn --epochs 5
one pass_lr_eq "^fer-anneal: '--lr=0.1' after --" $U $SPACE -- --lr=0.1
one pass_prefix "^fer-anneal: '--se' after --: fer-anneal sets --seed" $U $SPACE -- --se 3
one pass_output "^fer-anneal: '-qo' after --" $U $SPACE -- -qo x.fer
t pass_ok 0 "" -- sh -c "$U $SPACE --iters 2 -q -- -m cnn --width 0.5 --lr-backbone 1e-4 >/dev/null"
rm -rf bad/anneal.csv bad/trial-*
one_nothing() { test ! -e nothing/anneal.csv; }
$U $SPACE --workdir nothing --iters 0 2>/dev/null
check usage_writes_nothing one_nothing
one unknown_option "^fer-anneal: .*'--bogus'" $U $SPACE --bogus
t missing_input 1 '^fer-anneal: nosuch\.fer: ' -- fer-anneal -i nosuch.fer $SPACE --workdir bad

# --- a malformed --resume log: exit 1 naming file and line, log untouched ---
cp whole/anneal.csv good.csv
# bad NAME REGEX SED: the log edited by SED is refused with REGEX
bad() {
    mkdir -p "r-$1"
    sed "$3" good.csv >"r-$1/log.csv"
    cp "r-$1/log.csv" "r-$1/before.csv"
    t "resume_$1" 1 "$2" -- $R --workdir "r-$1" --resume "r-$1/log.csv" -q
    check "resume_$1_untouched" cmp -s "r-$1/log.csv" "r-$1/before.csv"
}
bad header "^fer-anneal: r-header/log.csv:1: not a fer-anneal log" '1s/score/scores/'
bad fields "^fer-anneal: r-fields/log.csv:4: 16 fields, expected 17" '4s/,[^,]*$//'
bad number "^fer-anneal: r-number/log.csv:3: epochs: 'x[0-9]+': not an integer" '3s/^\([^,]*,[^,]*,[^,]*\),/\1,x/'
bad score "^fer-anneal: r-score/log.csv:5: score: " '5s/^\(\([^,]*,\)\{6\}\)[^,]*/\1abc/'
bad range "^fer-anneal: r-range/log.csv:2: trial 1: outside the search space: batch 48" '2s/^\(\([^,]*,\)\{4\}\)[^,]*/\148/'
bad lr "^fer-anneal: r-lr/log.csv:3: trial 2 has lr 0.05, .*this search proposes" '3s/^\(\([^,]*,\)\{2\}\)[^,]*/\10.05/'
bad decision "^fer-anneal: r-decision/log.csv:2: trial 1 was rejected; this search accepts it" '2s/^\(\([^,]*,\)\{7\}\)1/\10/'
bad twice "^fer-anneal: r-twice/log.csv:[0-9]*: trial 2 twice" '3p'
bad gap "^fer-anneal: r-gap/log.csv:[0-9]*: trial 4 of chain 1 comes before its trial 3" '4d'
mkdir -p r-newline
head -c -1 good.csv >r-newline/log.csv
cp r-newline/log.csv r-newline/before.csv
t resume_newline 1 "^fer-anneal: r-newline/log.csv:11: an incomplete last row" -- \
    $R --workdir r-newline --resume r-newline/log.csv -q
check resume_newline_untouched cmp -s r-newline/log.csv r-newline/before.csv
mkdir -p r-seed && cp good.csv r-seed/log.csv
t resume_other_seed 1 "^fer-anneal: r-seed/log.csv:2: trial 1 has .*this search proposes" -- \
    $A --seed 6 --iters 10 --epochs 2:12 --workdir r-seed --resume r-seed/log.csv -q
t resume_other_method 1 "^fer-anneal: r-seed/log.csv:2: trial 1 is from an annealing search" -- \
    $R --method random --workdir r-seed --resume r-seed/log.csv -q
t resume_other_t0 1 "^fer-anneal: r-seed/log.csv:2: trial 1 was decided at temperature 2" -- \
    $R --t0 3 --workdir r-seed --resume r-seed/log.csv -q
t resume_missing 1 '^fer-anneal: nosuch\.csv: ' -- $R --workdir r-seed --resume nosuch.csv -q
check resume_other_untouched cmp -s r-seed/log.csv good.csv

# --- the real fer-train, a few seconds on the tiny sample --------------------
if [ ! -r "$DATA" ]; then
    skip real_fer_train "no $DATA"
else
    fer-convert "$DATA" -o tiny.fer 2>/dev/null
    t real_run 0 '^fer-train -i tiny\.fer -o best\.fer --lr .* --seed 1 -m ff --width 0.25 --threads 1$' -- \
        sh -c "fer-anneal -i tiny.fer --lr 1e-3:1e-2 --epochs 1:2 --batch 16,32 --iters 2 \
            --workdir real -q -- -m ff --width 0.25 --threads 1 2>real.err"
    check real_log rows_ok real/anneal.csv 2
    check real_scores awk -F, 'NR > 1 && !($7 >= 0 && $7 <= 1 && $7 != "") { exit 1 }' real/anneal.csv
    check real_models test -s real/trial-001.fer -a -s real/trial-002.fer
fi

# augment.sh: fer-augment over real pipes on FER2013-style CSVs made here
# with awk: the study's x4 (counts, labels and splits kept), the mirror
# image and quarter turns byte for byte against awk's own, test splits
# refused without --all, pipes into fer-convert and fer-train, the same
# bytes on 1 and 2 threads, each random transform changing the images, bad
# options (status 2, one line) and bad input (status 1, no output left);
# then fer-train's random transforms.
. "${FER_ROOT:-.}/tests/lib.sh"
cd "$TMP" || exit 1

# csv N USAGE SEED: a FER2013 CSV of N random 48x48 faces, labels 0..6 in
# turn, every row in split USAGE ("" leaves the Usage column out).
csv() {
    awk -v n="$1" -v u="$2" -v seed="$3" 'BEGIN {
        srand(seed)
        print u == "" ? "emotion,pixels" : "emotion,pixels,Usage"
        for (i = 0; i < n; i++) {
            s = ""
            for (p = 0; p < 2304; p++)
                s = s (p ? " " : "") int(rand() * 256)
            print (i % 7) "," s (u == "" ? "" : "," u)
        }
    }'
}
csv 20 Training 1 >train.csv
csv 3 PublicTest 2 | sed 1d >pub.rows
cat train.csv pub.rows >mixed.csv
csv 10 "" 3 >nosplit.csv

# expect CSV: each row followed by its mirror image, itself (a turn by 0)
# and its quarter turn counter-clockwise as seen, dst(y, x) = src(x, 47 - y)
# (what --study --rotate 0,90 writes), computed here from the definition.
expect() {
    awk -F, 'NR == 1 { print; next }
    {
        split($2, p, " ")
        m = ""; r = ""
        for (y = 0; y < 48; y++)
            for (x = 0; x < 48; x++) {
                m = m (m == "" ? "" : " ") p[y * 48 + (47 - x) + 1]
                r = r (r == "" ? "" : " ") p[x * 48 + (47 - y) + 1]
            }
        tail = NF > 2 ? "," $3 : ""
        print $1 "," $2 tail; print $1 "," m tail; print $1 "," $2 tail; print $1 "," r tail
    }' "$1"
}
# count FILE ROW COL: a cell of fer-convert --info's table (ROW a split or
# "all", COL 2 = total, 3.. = the classes).
count() { fer-convert -i "$1" | awk -v r="$2" -v c="$3" '$1 == r { print $c }'; }

# --- the study's x4 ---------------------------------------------------------
t study 0 "" -- fer-augment --study -i train.csv -o x4.fer
check study_x4 test "$(count x4.fer Training 2)" = 80
for c in 3 4 5 6 7 8 9; do   # 20 images: 3 of classes 0..5, 2 of class 6
    want=$(( $(count train.csv Training $c) * 4 ))
    check "study_class_$((c - 3))" test "$(count x4.fer Training $c)" = "$want"
done
# image by image: original, mirror, turns; labels and split in the same
# order; compared as whole data sets with what fer-convert makes of awk's
expect train.csv >want.csv
fer-convert want.csv -o want.fer
t mirror_and_turns 0 "" -- fer-augment --study --rotate 0,90 train.csv -o m.fer
check mirror_and_turns_bytes cmp m.fer want.fer
# --study without --rotate turns by -10 and +10 degrees
fer-augment --study --rotate -10,10 train.csv -o s10.fer
check study_default_angles cmp x4.fer s10.fer
check study_turns_change sh -c '! cmp -s x4.fer m.fer'
t rotate_only 0 "" -- fer-augment --rotate 5,-5,20 train.csv -o r3.fer
check rotate_only_x4 test "$(count r3.fer Training 2)" = 80
# images without a split count as training and keep no split
t no_split 0 "" -- fer-augment --study nosplit.csv -o ns.fer
check no_split_kept test "$(count ns.fer none 2)" = 40

# --- test splits ------------------------------------------------------------
t test_refused 1 '^fer-augment: mixed\.csv: 3 images of the test splits .*--all' -- \
    fer-augment --study -i mixed.csv -o refused.fer
check test_refused_one_line test "$(fer-augment --study mixed.csv -o refused.fer 2>&1 | wc -l)" = 1
check test_refused_no_output test ! -e refused.fer
t test_all 0 "" -- fer-augment --study --all mixed.csv -o all.fer
check test_all_public test "$(count all.fer PublicTest 2)" = 12
check test_all_training test "$(count all.fer Training 2)" = 80

# --- pipes ------------------------------------------------------------------
t pipe_in_out 0 '^images +80$' -- sh -c 'fer-convert -u Training mixed.csv | fer-augment --study |
    fer-convert -i -'
check pipe_same_bytes sh -c 'fer-convert -u Training mixed.csv | fer-augment --study | cmp - x4.fer'
t pipe_operand_dash 0 '^images +80$' -- sh -c 'cat train.csv | fer-augment --study - | fer-convert -i'
t pipe_train 0 "" -- sh -c 'fer-convert -u Training mixed.csv | fer-augment --study |
    fer-train -m ff --width 0.25 --batch 16 --threads 1 -q -o p.fer --epochs 1'
check pipe_train_images sh -c "grep -aq '^train.images=80$' p.fer"

# --- random copies: counts, threads, seeds ----------------------------------
RAND="--flip --rotate-range -15:15 --shift 3 --scale 0.9:1.2 --crop 4 --brightness 0.3
      --contrast 0.3 --erase 0.5"
csv 400 Training 4 >big.csv
fer-convert big.csv -o big.fer
# 400 images x 24 is two blocks of output
t threads_1 0 "" -- fer-augment --study --copies 20 $RAND --threads 1 big.fer -o t1.fer
t threads_2 0 "" -- fer-augment --study --copies 20 $RAND --threads 2 big.fer -o t2.fer
check threads_same_bytes cmp t1.fer t2.fer
check copies_count test "$(count t1.fer Training 2)" = 9600
fer-augment --study --copies 20 $RAND --threads 2 --seed 2 big.fer -o t3.fer
check other_seed_other_bytes sh -c '! cmp -s t1.fer t3.fer'
t copies_default_1 0 "" -- fer-augment --flip train.csv -o f1.fer
check copies_default_1_x2 test "$(count f1.fer Training 2)" = 40
# each random transform alone changes the copies: compared with a run that
# writes each image twice (a turn by 0)
fer-augment --rotate 0 train.csv -o dup.fer
for o in --flip "--rotate-range -20:-5" "--shift 4" "--scale 1.2:1.5" "--crop 5" \
         "--brightness 0.5" "--contrast 0.5" "--erase 1"; do
    n=$(echo "$o" | sed 's/^--//; s/ .*//')
    fer-augment $o train.csv -o "r_$n.fer"
    check "changes_$n" sh -c "test -s r_$n.fer && ! cmp -s r_$n.fer dup.fer"
done
check rotate_range_fixed_is_rotate sh -c 'fer-augment --rotate-range 7:7 train.csv -o r7a.fer &&
    fer-augment --rotate 7 train.csv -o r7b.fer && cmp r7a.fer r7b.fer'

# --- progress ---------------------------------------------------------------
fer-augment --study train.csv -o q.fer 2>q1.err
check progress_not_when_piped test ! -s q1.err
fer-augment --study --progress train.csv -o q.fer 2>q2.err
check progress_forced sh -c "tr '\r' '\n' <q2.err | grep -Eq '^augment  80/80  100% .*img/s'"
fer-augment --study --progress --quiet train.csv -o q.fer 2>q3.err
check progress_quiet_wins test ! -s q3.err

# --- options ----------------------------------------------------------------
t help 0 '^usage: fer-augment ' -- fer-augment --help
check help_on_stdout sh -c 'fer-augment --help 2>/dev/null | grep -q "^usage: fer-augment"'
t version 0 '^fer-augment [0-9]+\.[0-9]+$' -- fer-augment --version
t unknown_option 2 "^fer-augment: .*'--bogus'\$" -- fer-augment --bogus train.csv
t two_operands 2 '^usage: fer-augment' -- fer-augment --study train.csv train.csv
# bad values: status 2 and exactly one line, naming the option; rows are
# NAME|PATTERN|OPTIONS
while IFS='|' read -r name pat args; do
    out=$(fer-augment $args -i train.csv -o bad.fer 2>&1); st=$?
    lines=$(printf '%s\n' "$out" | wc -l)
    if [ $st -ne 2 ] || [ "$lines" -ne 1 ] || ! printf '%s\n' "$out" | grep -Eq -- "$pat"; then
        echo "FAIL bad_$name: exit $st, $lines lines: $(printf '%s' "$out" | head -c 200)"
    elif [ -e bad.fer ]; then
        echo "FAIL bad_$name: bad.fer written"
    else
        echo "ok bad_$name"
    fi
done <<'EOF'
rotate_range_reversed|^fer-augment: --rotate-range: '5:1': A is above B$|--rotate-range 5:1
rotate_range_one|^fer-augment: --rotate-range: '5': want A:B$|--rotate-range 5
rotate_range_big|^fer-augment: --rotate-range: '-200': out of range|--rotate-range -200:0
scale_zero|^fer-augment: --scale: '0': out of range|--scale 0:1
scale_reversed|^fer-augment: --scale: '1.2:0.8': A is above B$|--scale 1.2:0.8
scale_word|^fer-augment: --scale: 'a': not a number$|--scale a:b
copies_zero|^fer-augment: --copies: '0': out of range|--copies 0 --flip
copies_big|^fer-augment: --copies: '100000': out of range|--copies 100000 --flip
copies_alone|^fer-augment: --copies needs a random transform|--copies 2
shift_word|^fer-augment: --shift: '3px': not an integer$|--shift 3px
shift_negative|^fer-augment: --shift: '-1': out of range|--shift -1
crop_fraction|^fer-augment: --crop: '2.5': not an integer$|--crop 2.5
crop_too_big|^fer-augment: --crop 24: leaves no window of 48x48 images$|--crop 24
brightness_big|^fer-augment: --brightness: '11': out of range|--brightness 11
contrast_negative|^fer-augment: --contrast: '-0.5': out of range|--contrast -0.5
erase_above_1|^fer-augment: --erase: '1.5': out of range|--erase 1.5
rotate_empty_item|^fer-augment: --rotate: '10,,2': want DEG|--rotate 10,,2
rotate_word|^fer-augment: --rotate: 'ten': not a number$|--rotate ten
seed_negative|^fer-augment: --seed: '-1': out of range|--study --seed -1
threads_zero|^fer-augment: --threads: '0': out of range|--study --threads 0
nothing_to_do|^fer-augment: nothing to do: give --study|--seed 3
EOF

# --- bad input: status 1, one line naming the file, no output left ---------
t missing_input 1 '^fer-augment: nosuch\.csv: ' -- fer-augment --study -i nosuch.csv -o o1.fer
check missing_input_no_output test ! -e o1.fer
head -c 5000 x4.fer >trunc.fer
t truncated_input 1 '^fer-augment: trunc\.fer: ' -- fer-augment --study trunc.fer -o o2.fer
check truncated_no_output test ! -e o2.fer
(head -n 3 train.csv; echo "0,1 2 3,Training") >short.csv
t bad_row 1 '^fer-augment: short\.csv:4: ' -- fer-augment --study short.csv -o o3.fer
check bad_row_no_output test ! -e o3.fer
check no_temporary_files sh -c '! ls o1.fer.tmp.* o2.fer.tmp.* o3.fer.tmp.* 2>/dev/null'
t unwritable_output 1 '^fer-augment: nodir/o\.fer: ' -- fer-augment --study train.csv -o nodir/o.fer
check closed_pipe_not_success sh -c '{ fer-augment --study --copies 20 --flip big.fer; echo $? >st; } |
    head -c 100 >/dev/null; test "$(cat st)" -ne 0'

# --- fer-train's random transforms ------------------------------------------
FF="-m ff --width 0.25 --batch 16 --threads 1 -q"
NEW="--scale 0.9:1.1 --crop 3 --brightness 0.2 --contrast 0.3 --erase 0.5"
t train_new_options 0 "" -- fer-train $FF -i train.csv -o n.fer --epochs 3 --mirror --shift 2 \
    --rotate 10 $NEW --log n.csv
check train_new_options_epochs awk -F, 'END { exit !(NR == 4 && $2 > 0) }' n.csv
# off means no draw: zeros give the model of a run without the options,
# and a transform that is on gives another one
fer-train $FF -i train.csv -o z0.fer --epochs 3 --mirror --shift 2 --rotate 10 --seed 5
fer-train $FF -i train.csv -o z1.fer --epochs 3 --mirror --shift 2 --rotate 10 --seed 5 \
    --crop 0 --brightness 0 --contrast 0 --erase 0
fer-train $FF -i train.csv -o z2.fer --epochs 3 --mirror --shift 2 --rotate 10 --seed 5 \
    --brightness 0.3
for m in z0 z1 z2; do fer-eval -m $m.fer train.csv --predictions $m.pred >/dev/null; done
check train_off_same_predictions cmp z0.pred z1.pred
check train_on_other_predictions sh -c '! cmp -s z0.pred z2.pred'
t train_scale_zero 2 "^fer-train: --scale: '0'" -- fer-train $FF -i train.csv -o s.fer --scale 0:1
t train_scale_reversed 2 '^fer-train: --scale: ' -- fer-train $FF -i train.csv -o s.fer --scale 2:1
t train_crop_too_big 2 '^fer-train: --crop 24: ' -- fer-train $FF -i train.csv -o s.fer --crop 24
t train_erase_big 2 '^fer-train: --erase: ' -- fer-train $FF -i train.csv -o s.fer --erase 2

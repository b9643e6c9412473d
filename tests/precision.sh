# precision.sh: --precision in fer-train, fer-eval and fer-classify: bf16
# trains and predicts close to fp32, is recorded in the model, and a bad
# name is a usage error. The numerics of bf16 products are test_bf16.c's.
. "${FER_ROOT:-.}/tests/lib.sh"
DATA=$(tiny_data)
cd "$TMP" || exit 1

t train_fp32 0 "" -- fer-train -m cnn --width 0.25 -i "$DATA" -o f.fer --epochs 3 --batch 16 \
    --seed 3 --threads 1 -q
t train_bf16 0 "" -- fer-train -m cnn --width 0.25 -i "$DATA" -o b.fer --epochs 3 --batch 16 \
    --seed 3 --threads 1 -q --precision bf16
check bf16_recorded grep -aq '^train.precision=bf16$' b.fer
check fp32_recorded grep -aq '^train.precision=fp32$' f.fer
# One model evaluated both ways: every probability moves a little (bf16
# products round each operand to 8 bits, about 0.4%), none by much, and the
# predicted classes agree on nearly every face.
fer-eval -m f.fer --predictions p32.csv "$DATA" >e32.txt 2>&1
fer-eval -m f.fer --precision bf16 --predictions p16.csv "$DATA" >e16.txt 2>&1
fer-eval -m b.fer --predictions pb.csv "$DATA" >eb.txt 2>&1
check eval_bf16_ran test -s p16.csv
set -- $(maxdiff p32.csv p16.csv)
check eval_bf16_moves awk -v m="$1" 'BEGIN { exit !(m > 1e-6 && m < 0.05) }'
check eval_bf16_agrees test "${2:-0}" -ge 90
# a model trained with bf16 products has other weights than the fp32 one
set -- $(maxdiff p32.csv pb.csv)
check bf16_changes_training awk -v m="$1" 'BEGIN { exit !(m > 1e-6) }'
a32=$(sed -n 's/^accuracy \([0-9.]*\).*/\1/p' e32.txt)
a16=$(sed -n 's/^accuracy \([0-9.]*\).*/\1/p' e16.txt)
check eval_bf16_accuracy awk -v a="$a32" -v b="$a16" 'BEGIN { d = a - b; exit !(a != "" && b != "" && d < 0.06 && d > -0.06) }'

# fer-classify on a face stream
fer-convert -n 20 "$DATA" -o faces.fer 2>/dev/null
fer-classify -m f.fer --format csv faces.fer >c32.csv 2>/dev/null
fer-classify -m f.fer --format csv --precision bf16 faces.fer >c16.csv 2>/dev/null
check classify_bf16_rows test "$(wc -l <c16.csv)" -eq "$(wc -l <c32.csv)" -a "$(wc -l <c32.csv)" -gt 10

# Without AVX512_BF16 (FER_SIMD=avx2 stands in for such a CPU) bf16 still
# runs, says so once, and is as close to the native kernel's results as
# bf16 allows (not closer: the convolutions may take another algorithm,
# which rounds other values, with another kernel's blocking).
t emulated_says_so 0 '^fer-eval: bf16 without AVX512_BF16 \(kernel avx2-bf16round\): ' -- \
    env FER_SIMD=avx2 fer-eval -m f.fer --precision bf16 --predictions pe.csv "$DATA"
check emulated_once test "$(env FER_SIMD=avx2 fer-eval -m f.fer --precision bf16 "$DATA" 2>&1 |
    grep -c AVX512_BF16)" -eq 1
if [ -s pe.csv ]; then
    set -- $(maxdiff p16.csv pe.csv)
    check emulated_close awk -v m="$1" 'BEGIN { exit !(m < 0.05) }'
    check emulated_agrees test "${2:-0}" -ge 90
    set -- $(maxdiff p32.csv pe.csv)
    check emulated_rounds awk -v m="$1" 'BEGIN { exit !(m > 1e-6) }'
fi

t train_bad 2 '^fer-train: --precision: precision .fp16.: fp32 or bf16$' -- \
    fer-train -m cnn -i "$DATA" -o x.fer --precision fp16
t eval_bad 2 '^fer-eval: --precision: precision .half.: fp32 or bf16$' -- \
    fer-eval -m f.fer --precision half "$DATA"
t classify_bad 2 '^fer-classify: --precision: precision ..: fp32 or bf16$' -- \
    fer-classify -m f.fer --precision "" faces.fer
check train_bad_no_output test ! -e x.fer

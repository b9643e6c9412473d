#!/bin/sh
# gpu-check.sh: the CUDA backend on a real GPU, in one command that ends
# within about 8 minutes on a one-GPU machine. Builds there (nvcc), then:
#   1. the backend tests on the device (test_backend: every op, one
#      training step of cnn, ff and resnet18 against the reference, and
#      training steps replayed as CUDA graphs against op by op), with our
#      GEMM and again with cuBLAS's;
#   2. compute-sanitizer memcheck and racecheck over the same tests;
#   3. one short training run twice: the logs' losses must be identical;
#      and the same run with --gemm cublas (cuBLAS in every product: the
#      dense layers, and the convolutions as im2col + cuBLAS) beside
#      --gemm ours, for the whole-step time of each;
#   4. one table: our GEMM against cuBLAS at the convolutions' sizes
#      (bench_cuda_gemm), and training and inference images/s of cnn and
#      resnet18 at batch 128, 256 and 1024, ours against PyTorch + cuDNN
#      (bench/torch_net.py on the same card, channels-last, same
#      precision), ending with a line per goal, met or not.
# Usage: sh scripts/gpu-check.sh [OUTDIR]   (default gpu-check/; the log,
# the table and the ptxas reports are left there)
# GPU_CHECK_SECONDS sets each benchmark's time (default 2).
set -u
out=${1:-gpu-check}
secs=${GPU_CHECK_SECONDS:-2}
mkdir -p "$out"
log=$out/log.txt
: >"$log"
fails=0
say() { echo "$*" | tee -a "$log"; }
step() {    # step NAME COMMAND...: runs it, logs it, counts a failure
    name=$1
    shift
    say "== $name: $*"
    if "$@" >>"$log" 2>&1; then
        say "ok $name"
    else
        say "FAIL $name (status $?; see $log)"
        fails=$((fails + 1))
    fi
}

command -v nvcc >/dev/null || { say "FAIL: no nvcc on PATH"; exit 1; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | tee -a "$log"
step build make -j"$(nproc)" all build/tests/test_backend build/tests/make_faces \
    build/bench/bench_net build/bench/bench_cuda_gemm
cp build/lib/cuda/*.ptxas "$out/" 2>/dev/null
grep -h -E "registers|spill" build/lib/cuda/*.ptxas >"$out/ptxas.txt" 2>/dev/null

# 1. the ops and a training step of each net, on the device; again with
# cuBLAS in every product (--gemm cublas's path, convolutions included)
step device-tests build/tests/test_backend
step device-tests-cublas env FER_TEST_GEMM=cublas build/tests/test_backend
grep -E "^(skip|FAIL)" "$log" | grep -q "CUDA backend" && { say "FAIL: the GPU did not open"; fails=$((fails + 1)); }

# 2. the sanitizers, on the same tests (small shapes)
if command -v compute-sanitizer >/dev/null; then
    step memcheck compute-sanitizer --tool memcheck --error-exitcode 1 build/tests/test_backend
    step racecheck compute-sanitizer --tool racecheck --error-exitcode 1 build/tests/test_backend
else
    say "FAIL: compute-sanitizer not found"
    fails=$((fails + 1))
fi

# 3. two identical runs
build/tests/make_faces -d -n 2048 -s 48 >"$out/faces.fer"
for r in 1 2; do
    step "train-run$r" build/bin/fer-train -m cnn --width 0.5 -i "$out/faces.fer" \
        -o "$out/run$r.fer" --epochs 2 --batch 128 --mirror --rotate 10 --dropout 0.25 \
        --seed 3 --device cuda --log "$out/run$r.csv" --quiet
done
# every column but the last (the epoch's seconds)
if [ -s "$out/run1.csv" ] &&
    [ "$(cut -d, -f1-6 "$out/run1.csv")" = "$(cut -d, -f1-6 "$out/run2.csv")" ]; then
    say "ok repeatable: the two runs' losses and accuracies are identical"
else
    say "FAIL repeatable: the two runs differ"
    fails=$((fails + 1))
fi

for g in ours cublas; do
    step "train-gemm-$g" build/bin/fer-train -m cnn --width 0.5 -i "$out/faces.fer" \
        -o "$out/gemm-$g.fer" --epochs 3 --batch 128 --seed 3 --device cuda --gemm $g \
        --log "$out/gemm-$g.csv" --quiet
done

# 4. the table
table=$out/table.txt
build/bench/bench_cuda_gemm 128 20 | tee "$table" | tee -a "$log"
# the last epoch's seconds (the log's last column) and training loss
last() { [ -s "$1" ] && tail -n 1 "$1" | awk -F, '{ printf "%ss (loss %s)", $NF, $2 }' || echo -; }
printf '\nwhole-step training, cnn --width 0.5, batch 128, 3rd epoch: --gemm ours %s, --gemm cublas %s\n' \
    "$(last "$out/gemm-ours.csv")" "$(last "$out/gemm-cublas.csv")" | tee -a "$table"
field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
printf '\n%-9s %-6s %5s %9s %11s %11s %6s\n' net mode batch precision "fer img/s" \
    "torch img/s" ratio | tee -a "$table"
slower=0
for net in cnn resnet18; do
    for mode in train infer; do
        for batch in 128 256 1024; do
            for p in fp32 bf16; do
                f=$(build/bench/bench_net $net $mode $batch "$secs" 1 $p cuda 2>>"$log")
                t=$(python3 bench/torch_net.py $net $mode $batch "$secs" 1 $p cuda 2>>"$log")
                fi=$(field img_s "$f")
                ti=$(field img_s "$t")
                r=$(awk -v a="${fi:-0}" -v b="${ti:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
                printf '%-9s %-6s %5d %9s %11s %11s %6s\n' $net $mode $batch $p "${fi:--}" \
                    "${ti:--}" "$r" | tee -a "$table"
                if [ $mode = train ]; then
                    awk -v r="$r" 'BEGIN { exit !(r == "-" || r < 1) }' && slower=$((slower + 1))
                fi
            done
        done
    done
done
if [ $slower -eq 0 ]; then
    say "goal: whole-step training faster than PyTorch + cuDNN at every size: met"
else
    say "goal: whole-step training faster than PyTorch + cuDNN at every size: NOT met ($slower rows)"
fi
cat "$table" >>"$log"
say "gpu-check: $fails check(s) failed; table in $table, log in $log"
[ $fails -eq 0 ]

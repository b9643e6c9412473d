#!/bin/sh
# device.sh: --device, --gemm and --precision of fer-train, fer-eval and
# fer-classify. Without a usable GPU (CI, most machines), --device cuda is
# one line saying why on standard error, nothing on standard output, exit
# 1, and no output file; a bad value is a usage error (exit 2). Where a GPU
# answers, the error cases that need its absence print one skip line.
. "$FER_ROOT/tests/lib.sh"
cd "$TMP" || exit 1
MF="$FER_BIN/../tests/make_faces"
[ -x "$MF" ] || { skip device "make_faces not built"; exit 0; }
"$MF" -d -n 8 -s 48 >d.fer
M="$FER_ROOT/data/cnn.fer"

# the GPU's absence, as each tool reports it: one line, exit 1
gpu=1
fer-eval -m "$M" --device cuda d.fer >out 2>err && gpu=0
if [ $gpu -eq 0 ]; then
    skip device_absent "a GPU answered --device cuda"
else
    for tool in eval classify train; do
        case $tool in
        eval) set -- fer-eval -m "$M" d.fer ;;
        classify) set -- fer-classify -m "$M" d.fer ;;
        train) set -- fer-train -m cnn --width 0.1 --epochs 1 -i d.fer -o m.fer --quiet ;;
        esac
        "$@" --device cuda >out 2>err
        st=$?
        if [ $st -eq 1 ] && [ ! -s out ] && [ "$(grep -c '' err)" -eq 1 ] &&
            grep -Eq "^fer-$tool: --device cuda: (cuda: no usable GPU|cuda: the GPU driver is too old|this fer was built without CUDA)" err &&
            [ ! -e m.fer ]; then
            echo "ok device_absent_$tool"
        else
            echo "FAIL device_absent_$tool: exit $st, stderr '$(head -c 200 err)'"
        fi
    done
    t device_absent_number 1 "device cuda:3:" -- fer-eval -m "$M" --device cuda:3 d.fer
fi

# usage errors, GPU or not
t device_word 2 "--device: 'gpu': use cpu, cuda or cuda:N" -- fer-eval -m "$M" --device gpu d.fer
t device_number 2 "--device" -- fer-classify -m "$M" --device cuda:x d.fer
t device_negative 2 "--device" -- fer-train -m cnn -i d.fer -o m.fer --device cuda:-1
t gemm_needs_cuda 2 "--gemm: chooses the GPU's products; add --device cuda" -- \
    fer-eval -m "$M" --gemm cublas d.fer
t gemm_word 2 "--gemm: 'blas': use ours or cublas" -- fer-eval -m "$M" --device cuda --gemm blas d.fer
t tf32_needs_cuda 2 "--precision tf32: a GPU precision" -- fer-classify -m "$M" --precision tf32 d.fer
t precision_word 2 "--precision: 'fp16'" -- fer-eval -m "$M" --device cuda --precision fp16 d.fer
# --device cpu is the default spelled out: the same report
fer-eval -m "$M" d.fer >a.txt 2>/dev/null
fer-eval -m "$M" --device cpu d.fer >b.txt 2>/dev/null
check device_cpu_same cmp a.txt b.txt

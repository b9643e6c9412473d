# torch_parity: the engine against PyTorch. tests/parity_dump.c builds each
# model (cnn at widths 0.25 and 1, ff, resnet18) with seeded weights and
# dropout 0, and writes a training-mode forward (batch statistics), the
# loss, every gradient, the running statistics, an inference forward and
# the weights after two SGD (plain, Nesterov), Adam and AdamW steps;
# tests/fer_torch.py repeats all of it in PyTorch (float64 as the reference)
# and prints one ok/FAIL line per check with its worst relative error.
# Tolerances: logits, loss, running statistics, inference logits
# max|a-b| <= 1e-4 max|ref| per tensor; gradients the same, widened where
# ReLU kinks make the float result uncertain (see fer_torch.py); weights
# after the optimiser steps 1e-5, their change 1e-4 (less 2 ulps).
. tests/lib.sh
need_torch_and_parity_dump torch_parity
seed=${FER_PARITY_SEED:-20240}
echo "# torch_parity: seed $seed"
for m in "cnn 0.25" "cnn 1" "ff 1" "resnet18 1"; do
    set -- $m
    if ! "$PD" "$1" "$2" "$seed" 5 "$TMP/model.fer" "$TMP/dump.fer" 2>"$TMP/err"; then
        echo "FAIL torch_parity_$1_w$2: parity_dump: $(head -c 300 "$TMP/err")"
        continue
    fi
    "$PY" tests/fer_torch.py parity "$TMP/model.fer" "$TMP/dump.fer" 2>&1 ||
        echo "# fer_torch.py parity exited $? for $1 width $2"
    rm -f "$TMP/model.fer" "$TMP/dump.fer"
done

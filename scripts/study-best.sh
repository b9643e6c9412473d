#!/bin/sh
# study-best.sh ANNEAL.CSV: the best trial of a fer-anneal log (highest
# score; the earlier trial on a tie) as fer-train options, for `make study`:
#   --lr 0.0021 --epochs 3 --batch 64 --optim adam
# Columns are found by the header's names. Exit 1 when no trial scored.
set -e
awk -F, '
NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i
          if (!col["score"] || !col["lr"] || !col["epochs"] || !col["batch"]) {
              print FILENAME ": not a fer-anneal log" > "/dev/stderr"; exit 1 }
          next }
$col["score"] != "" && (best == "" || $col["score"] + 0 > best + 0) {
    best = $col["score"]
    opt = "--lr " $col["lr"] " --epochs " $col["epochs"] " --batch " $col["batch"]
    if (col["optim"] && $col["optim"] != "") opt = opt " --optim " $col["optim"]
}
END { if (best == "") { print FILENAME ": no trial scored" > "/dev/stderr"; exit 1 }
      print opt }' "$1"

# tests/lib.sh: helpers for table-driven shell tests of the tools.
# Sourced by tests/*.sh, which run with FER_BIN (the tools), FER_ROOT (the
# repository) and FER_SHARED (../shared) set by tests/run.sh.
#
#   t NAME STATUS GREP -- CMD...   runs CMD, expects exit STATUS, and, when
#                                  GREP is not "", a line of stdout+stderr
#                                  matching the extended regex GREP.
# Prints "ok NAME" or "FAIL NAME: why".
PATH="$FER_BIN:$PATH"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
t() {
    name=$1 want=$2 pat=$3; shift 3; [ "$1" = "--" ] && shift
    out=$("$@" 2>&1); got=$?
    if [ "$got" -ne "$want" ]; then
        echo "FAIL $name: exit $got, want $want; output: $(printf '%s' "$out" | head -c 300)"
    elif [ -n "$pat" ] && ! printf '%s\n' "$out" | grep -Eq -- "$pat"; then
        echo "FAIL $name: no line matches /$pat/; output: $(printf '%s' "$out" | head -c 300)"
    else
        echo "ok $name"
    fi
}
# check NAME CONDITION-COMMAND...: ok when the command succeeds.
check() {
    name=$1; shift
    if "$@" >/dev/null 2>&1; then echo "ok $name"; else echo "FAIL $name: $*"; fi
}
skip() { echo "skip $1: $2"; }

# maxdiff A B: of two fer-eval --predictions CSVs of the same faces, the
# largest difference of a probability, and the share (%) of faces with the
# same predicted class
maxdiff() {
    paste -d'|' "$1" "$2" | awk -F'|' 'NR > 1 { na = split($1, a, ","); split($2, b, ",")
        for (i = 4; i <= na; i++) { d = a[i] - b[i]; if (d < 0) d = -d; if (d > m) m = d }
        n++; if (a[3] == b[3]) s++ } END { printf "%.8f %d\n", m, n ? 100 * s / n : 0 }'
}

# need_torch_and_parity_dump NAME: for the PyTorch comparisons. Sets PY and
# PD (the parity_dump helper that make test builds); ends the script with a
# skip line when torch is missing, or a FAIL line without parity_dump.
need_torch_and_parity_dump() {
    PY=${FER_PYTHON:-/usr/bin/python3}
    if ! "$PY" -c 'import torch, numpy' >/dev/null 2>&1; then
        echo "skip $1: torch not importable"
        exit 0
    fi
    PD="$FER_ROOT/${FER_BUILD:-build}/tests/parity_dump"
    if [ ! -x "$PD" ]; then
        echo "FAIL $1_build: $PD missing (run make test)"
        exit 1
    fi
}

# tiny_data: prints the path of the tiny FER2013 sample, $FER_SHARED's
# fer2013-tiny.csv when there is one, else a synthetic CSV of its layout
# written once into $TMP under the same name: 84 48x48 faces, 12 per
# class, 70 Training (10 per class) then 14 PublicTest (2 per class), each
# class a seeded pattern plus noise, so that a model can learn it.
tiny_data() {
    if [ -r "$FER_SHARED/data/fer2013-tiny.csv" ]; then
        echo "$FER_SHARED/data/fer2013-tiny.csv"
        return
    fi
    [ -s "$TMP/fer2013-tiny.csv" ] ||
        awk 'BEGIN { srand(12); print "emotion,pixels,Usage"
            for (i = 0; i < 84; i++) { c = i % 7; printf "%d,", c
                for (j = 0; j < 2304; j++)
                    printf "%s%d", (j ? " " : ""),
                        int((c * 37 + (int(j / 48) * (c + 1) + j % 48) * 3) % 200 + rand() * 55)
                print "," (i < 70 ? "Training" : "PublicTest") } }' >"$TMP/fer2013-tiny.csv"
    echo "$TMP/fer2013-tiny.csv"
}

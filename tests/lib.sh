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

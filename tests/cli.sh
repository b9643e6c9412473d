#!/bin/sh
# cli.sh: what every tool in $FER_BIN does alike (cmd/util.h). -h and
# --help print the synopsis on standard output, nothing on standard error,
# status 0; --version prints "fer-x VERSION", the one version of all the
# tools, status 0; neither is success when standard output cannot take it
# (status 1, one line); an unknown option, long or short, is one line on
# standard error naming the tool and the option, nothing on standard
# output, status 2.
. "$FER_ROOT/tests/lib.sh"
cd "$TMP" || exit 1

# res NAME CONDITION: ok when the condition (a shell test) holds, else a
# FAIL line with what the tool printed.
res() {
    if eval "$2"; then
        echo "ok $1"
    else
        echo "FAIL $1: exit $st, stdout '$(head -c 80 out)', stderr '$(head -c 160 err)'"
    fi
}
lines() { grep -c '' "$1"; }

n=0
: >versions
for bin in "$FER_BIN"/fer-*; do
    [ -x "$bin" ] || continue
    tool=${bin##*/}
    n=$((n + 1))

    "$tool" --help >out 2>err </dev/null; st=$?
    res "help_$tool" '[ $st -eq 0 ] && head -n 1 out | grep -q "^usage: $tool " && [ ! -s err ]'
    cp out help
    "$tool" -h >out 2>err </dev/null; st=$?
    res "h_$tool" '[ $st -eq 0 ] && cmp -s out help && [ ! -s err ]'
    "$tool" --help >/dev/full 2>err </dev/null; st=$?; : >out
    res "help_full_$tool" \
        '[ $st -eq 1 ] && [ "$(lines err)" -eq 1 ] && grep -q "^$tool: standard output: write error$" err'

    "$tool" --version >out 2>err </dev/null; st=$?
    res "version_$tool" \
        '[ $st -eq 0 ] && [ "$(lines out)" -eq 1 ] && grep -Eq "^$tool [0-9]+\.[0-9]+$" out && [ ! -s err ]'
    cut -d ' ' -f 2 out >>versions
    "$tool" --version >/dev/full 2>err </dev/null; st=$?; : >out
    res "version_full_$tool" '[ $st -eq 1 ] && [ "$(lines err)" -eq 1 ]'

    "$tool" --no-such-option x >out 2>err </dev/null; st=$?
    res "bogus_long_$tool" \
        '[ $st -eq 2 ] && [ ! -s out ] && [ "$(lines err)" -eq 1 ] && grep -q "^$tool: .*--no-such-option" err'
    "$tool" -Z x >out 2>err </dev/null; st=$?
    res "bogus_short_$tool" \
        '[ $st -eq 2 ] && [ ! -s out ] && [ "$(lines err)" -eq 1 ] && grep -q "^$tool: .*Z" err'
done
if [ "$n" -eq 0 ]; then
    echo "FAIL tools: none in $FER_BIN"
else
    check one_version test "$(sort -u versions | grep -c '')" -eq 1
fi

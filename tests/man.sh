#!/bin/sh
# man.sh: every manual page renders without a warning: groff (-ww, with
# tbl for pages whose first line is '\" t) and, when installed, mandoc's
# linter. Any output at all fails the page. Then each tool's --help and
# usage error against the convention the pages state.
. "$FER_ROOT/tests/lib.sh"
cd "$FER_ROOT" || exit 1
have_groff=$(command -v groff)
have_mandoc=$(command -v mandoc)
[ -n "$have_groff" ] || skip groff "groff is not installed"
[ -n "$have_mandoc" ] || skip mandoc "mandoc is not installed"
for page in man/*.1 man/*.5; do
    [ -f "$page" ] || continue
    if [ -n "$have_groff" ]; then
        tbl=
        head -n 1 "$page" | grep -q "^'\\\\\" t" && tbl=-t
        out=$(groff $tbl -man -Tutf8 -ww -z "$page" 2>&1)
        if [ -z "$out" ]; then echo "ok groff $page"; else
            echo "FAIL groff $page: $(printf '%s' "$out" | head -n 3 | tr '\n' ' ')"; fi
    fi
    if [ -n "$have_mandoc" ]; then
        out=$(mandoc -Tlint -W warning "$page" 2>&1)
        if [ -z "$out" ]; then echo "ok mandoc $page"; else
            echo "FAIL mandoc $page: $(printf '%s' "$out" | head -n 3 | tr '\n' ' ')"; fi
    fi
done

# Every tool of a page: --help prints the synopsis on standard output with
# status 0; an unknown option prints it on standard error with status 2.
for page in man/*.1; do
    tool=$(basename "$page" .1)
    [ -x "$FER_BIN/$tool" ] || continue
    "$tool" --help >"$TMP/out" 2>"$TMP/err"; st=$?
    if [ "$st" -eq 0 ] && grep -q "^usage: $tool" "$TMP/out" && [ ! -s "$TMP/err" ]; then
        echo "ok help $tool"
    else
        echo "FAIL help $tool: exit $st, stdout '$(head -c 60 "$TMP/out")', stderr '$(head -c 60 "$TMP/err")'"
    fi
    "$tool" --no-such-option >"$TMP/out" 2>"$TMP/err"; st=$?
    if [ "$st" -eq 2 ] && grep -q "^usage: $tool" "$TMP/err" && [ ! -s "$TMP/out" ]; then
        echo "ok usage-error $tool"
    else
        echo "FAIL usage-error $tool: exit $st, stdout '$(head -c 60 "$TMP/out")', stderr '$(head -c 60 "$TMP/err")'"
    fi
done

#!/bin/sh
# man.sh: every manual page renders without a warning: groff (-ww, with
# tbl for pages whose first line is '\" t) and, when installed, mandoc's
# linter. Any output at all fails the page. What each tool's --help and
# bad options print is tests/cli.sh's.
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

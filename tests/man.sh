#!/bin/sh
# man.sh: every manual page renders without a warning: groff (-ww, with
# tbl for pages whose first line is '\" t) and, when installed, mandoc's
# linter. Any output at all fails the page. Then each tool's long options
# against its page.
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

# Every long option a tool takes is in its page: the names in its
# longopts (cmd/<tool>.c) and --help and --version (FER_CMD_LONGOPTS,
# cmd/util.h), each written \-\-name and not as the start of a longer
# name. What --help and bad options print is tests/cli.sh's.
for page in man/*.1; do
    tool=$(basename "$page" .1)
    src=cmd/$tool.c
    if [ ! -f "$src" ]; then
        echo "FAIL options $tool: no $src"
        continue
    fi
    names=$(grep -oE '\{"[a-z0-9-]+", *(no|required|optional)_argument' "$src" |
            sed -E 's/^\{"([^"]*)".*/\1/')
    missing=
    for o in $names help version; do
        pat="\\\\-\\\\-$(printf '%s' "$o" | sed 's/-/\\\\-/g')(\$|[^a-z0-9\\\\]|\\\\[^-])"
        grep -Eq -- "$pat" "$page" || missing="$missing --$o"
    done
    if [ -z "$missing" ]; then echo "ok options $tool"; else
        echo "FAIL options $tool: not in $page:$missing"; fi
done

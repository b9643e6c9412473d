#!/bin/sh
# check-layers.sh: each lib/ folder includes headers only from itself and
# the folders the table below lets it use (STYLE.md: a lower folder never
# includes a higher one). A header is named without its folder (every
# folder is on the include path), so "x.h" is the one lib/*/x.h. Each
# violation is one line naming the file, the line and the include, and
# the status is then 1. make all runs it.
cd "$(dirname "$0")/.." || exit 2

# folder: the folders it may use besides itself, lowest layers first.
# backend is the table of ops a net calls (backend.h); cpu and, next,
# cuda fill it, side by side under nn, which binds a net to one.
LAYERS='
base:
data:   base
image:  base
backend: base
cpu:    base backend
cuda:   base backend
nn:     base data image backend cpu cuda
detect: base data image cpu
plot:   base data image
search: base data nn
'

files=
for f in lib/*/*.c lib/*/*.h lib/*/*.cu lib/*/*.cuh; do
    [ -f "$f" ] && files="$files $f"
done

# the table on stdin first, then the sources; which folder holds each
# header comes from the same file list
printf '%s\n' "$LAYERS" | awk -v files="$files" '
    BEGIN {
        n = split(files, list, " ")
        for (i = 1; i <= n; i++) {
            if (list[i] !~ /\.(h|cuh)$/)
                continue
            split(list[i], part, "/")
            if (part[3] in home) {
                printf "check-layers: %s: a second %s (lib/%s has one); header names are unique\n",
                       list[i], part[3], home[part[3]]
                bad = 1
            } else
                home[part[3]] = part[2]
        }
    }
    NR == FNR {
        if (NF == 0)
            next
        dir = $1
        sub(/:$/, "", dir)
        known[dir] = 1
        uses[dir] = ""
        for (i = 2; i <= NF; i++) {
            ok[dir "/" $i] = 1
            uses[dir] = uses[dir] (i > 2 ? " " : "") "lib/" $i
        }
        next
    }
    FNR == 1 {
        split(FILENAME, part, "/")
        dir = part[2]
        if (!(dir in known) && !(dir in told)) {
            printf "check-layers: lib/%s: a folder the table in scripts/check-layers.sh does not list\n", dir
            told[dir] = 1
            bad = 1
        }
    }
    /^[ \t]*#[ \t]*include[ \t]*"/ {
        name = $0
        sub(/^[^"]*"/, "", name)
        sub(/".*/, "", name)
        where = FILENAME ":" FNR ": #include \"" name "\""
        if (name ~ /\//) {
            print "check-layers: " where ": name a lib/ header without its folder"
            bad = 1
        } else if (!(name in home)) {
            print "check-layers: " where ": not a header of lib/"
            bad = 1
        } else if (home[name] != dir && (dir in known) && !((dir "/" home[name]) in ok)) {
            printf "check-layers: %s: lib/%s may not use lib/%s (only %s)\n", where, dir,
                   home[name], uses[dir] == "" ? "its own headers" : uses[dir]
            bad = 1
        }
    }
    END { exit bad }
' - $files

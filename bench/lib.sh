# bench/lib.sh: helpers the benchmark scripts source (not a benchmark;
# bench/run.sh skips it).
# field KEY LINE: the value of KEY=... in a result line
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
# median and most of a list of numbers; "-" for none
median() { printf '%s\n' "$@" | sort -g | awk 'NF { v[++n] = $1 } END {
    if (n == 0) print "-"; else if (n % 2) print v[(n + 1) / 2];
    else printf "%.2f\n", (v[n / 2] + v[n / 2 + 1]) / 2 }'; }
most() { printf '%s\n' "$@" | sort -g | awk 'NF { m = $1 } END { print (m == "" ? "-" : m) }'; }

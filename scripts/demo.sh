#!/bin/sh
# The main job on photos that Debian's packages ship: find the faces in each
# photo, read their emotions with the model in data/, and write annotated
# copies to OUT (default demo-out/). Run by `make demo`.
set -e
B=${FER_BUILD:-build}
OUT=${1:-demo-out}
MODEL=${FER_MODEL:-data/cnn.fer}
PATH="$B/bin:$PATH"
photos=
for f in /usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg \
         /usr/lib/python3/dist-packages/skimage/data/astronaut.png \
         /usr/share/doc/opencv-doc/examples/data/messi5.jpg \
         /usr/share/doc/opencv-doc/examples/data/lena.jpg; do
    [ -r "$f" ] && photos="$photos $f"
done
if [ -z "$photos" ]; then
    echo "demo: no sample photos found (make demo installs python-matplotlib-data and python3-skimage)" >&2
    exit 1
fi
mkdir -p "$OUT"
for f in $photos; do
    echo "== $f"
    fer-detect --eyes "$f" | fer-classify -m "$MODEL" --annotate "$OUT"
done
echo "annotated photos in $OUT/:"
ls "$OUT"

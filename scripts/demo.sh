#!/bin/sh
# The main job on photos that Debian's packages ship: find the faces in each
# photo, read their emotions with the model in data/, and write annotated
# copies to OUT (default demo-out/). Run by `make demo`. With the neural
# detector's weights (make models) the faces are found by it, and group
# photos of the shared test set (../shared/faces, when present; not
# redistributed) are added; without them, the Haar cascade with the eye
# check.
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
detect="fer-detect --eyes"
probe=$(mktemp)
{ printf 'P6\n8 8\n255\n'; head -c 192 /dev/zero; } > "$probe"
if fer-detect --detector ssd --boxes "$probe" >/dev/null 2>&1; then
    detect="fer-detect --detector ssd"
    for f in wider_val_11_Meeting_11_176.jpg dlib_voc_2008_004176.jpg; do
        f=${FER_SHARED:-../shared}/faces/images/$f
        [ -r "$f" ] && photos="$photos $f"
    done
fi
rm -f "$probe"
if [ -z "$photos" ]; then
    echo "demo: no sample photos found (make demo installs python-matplotlib-data and python3-skimage)" >&2
    exit 1
fi
echo "demo: faces by: $detect"
mkdir -p "$OUT"
for f in $photos; do
    echo "== $f"
    $detect "$f" | fer-classify -m "$MODEL" --annotate "$OUT"
done
echo "annotated photos in $OUT/:"
ls "$OUT"

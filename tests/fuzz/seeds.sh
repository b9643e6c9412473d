#!/bin/sh
# seeds.sh: writes the fuzzers' seed corpora, small valid inputs made with
# the tools, into DIR/<parser>/ (make fuzz: build-fuzz/corpus/).
# Usage: FER_BUILD=build sh tests/fuzz/seeds.sh DIR
set -e
dir=${1:?usage: seeds.sh DIR}
B=${FER_BUILD:-build}
bin=$B/bin
mf=$B/tests/make_faces
for p in csv record dataset model checkpoint haar image parse logs ssd blaze; do
    mkdir -p "$dir/$p"
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# CSV: FER2013 rows as Kaggle writes them, and the variants the reader takes
px=$(awk 'BEGIN { for (i = 0; i < 2304; i++) printf "%s%d", i ? " " : "", (i * 7) % 256 }')
c=$dir/csv
printf 'emotion,pixels,Usage\n0,%s,Training\n6,%s,PublicTest\n' "$px" "$px" >"$c/plain.csv"
printf ' Usage , emotion ,pixels\r\nPrivateTest,3,"%s"\r\n\r\n' "$px" >"$c/crlf.csv"
printf 'pixels\n%s\n' "$px" >"$c/nolabel.csv"
printf '2,%s\n' "$px" >"$c/noheader.csv"
printf 'emotion,pixels,Usage\n7,1 2 3,Training\n1,%s,Elsewhere\n' "$px" >"$c/bad.csv"
gzip -9c "$c/plain.csv" >"$c/plain.csv.gz"

# data sets and face records: 4 labelled 8x8 images, face crops, a
# converted CSV (48x48, classes and usages in the meta text)
"$mf" -d -n 4 -s 8 >"$tmp/d8.fer"
cp "$tmp/d8.fer" "$dir/dataset/d8.fer"
"$mf" -n 2 -s 8 -c 3 -m 'src=photo.jpg\nbox=1,2,3,4\n' >"$dir/dataset/faces.fer"
"$bin/fer-convert" "$c/plain.csv" -o "$dir/dataset/csv.fer"
cp "$dir/dataset/"*.fer "$dir/record/"

# models and checkpoints: the tiny ff fuzz_checkpoint resumes (width
# 0.01, 1x8x8, 4 images), per optimiser; a finished run removes its
# checkpoint, so each is interrupted (SIGINT) once two epochs are logged
for o in sgd adam adamw; do
    "$bin/fer-train" -m ff --width 0.01 -i "$tmp/d8.fer" -o "$tmp/m-$o.fer" --epochs 100000 \
        --batch 2 --optim $o --checkpoint "$tmp/c-$o.ckpt" --log "$tmp/$o.csv" --seed 1 \
        --quiet 2>/dev/null &
    pid=$!
    n=0
    # grep -c prints 0 and fails on an empty log: count with wc, 0 if absent
    while [ "$(cat "$tmp/$o.csv" 2>/dev/null | wc -l)" -lt 3 ] && [ $n -lt 600 ]; do
        sleep 0.1
        n=$((n + 1))
    done
    kill -INT $pid
    wait $pid || true
    cp "$tmp/m-$o.fer" "$dir/model/ff-$o.fer"
    cp "$tmp/c-$o.ckpt" "$dir/checkpoint/$o.ckpt"
    cp "$tmp/$o.csv" "$dir/logs/train-$o.csv"
done
"$mf" -d -n 4 -s 16 >"$tmp/d16.fer"
"$bin/fer-train" -m cnn --width 0.05 -i "$tmp/d16.fer" -o "$dir/model/cnn.fer" --epochs 1 \
    --batch 2 --seed 1 --quiet
cp "$dir/model/ff-adam.fer" "$dir/record/"
# files older fers wrote (tests/data): a cnn without the batch-norm keys,
# checkpoints with every kind of training record, one of the oldest form
cp tests/data/old-cnn.fer "$dir/model/"
cp tests/data/old-ff-ckpt.fer tests/data/older-ff-ckpt.fer "$dir/checkpoint/"

# logs and reports read back: fer-eval's reports, an anneal log (the
# random-search row leaves accepted and temperature empty)
"$bin/fer-eval" -m "$dir/model/ff-adam.fer" "$tmp/d8.fer" >"$dir/logs/report.txt"
"$bin/fer-eval" -m "$dir/model/ff-adam.fer" --format json "$tmp/d8.fer" >"$dir/logs/report.json"
{
    echo "trial,chain,lr,epochs,batch,optim,score,accepted,current,best,temperature,seconds,stopped_early,epochs_run,status,start,val_acc"
    echo "1,1,0.001,2,32,adam,0.500000,1,0.500000,0.500000,0.1,1.25,0,2,ok,1700000000.00,0.4 0.5"
    echo "2,1,0.0005,3,64,sgd,,0,0.500000,0.500000,0.09,0.50,0,0,exit-1,,"
    echo "3,2,0.002,1,16,adamw,0.250000,,,0.500000,,2.00,1,1,stopped,1700000003.50,0.25"
} >"$dir/logs/anneal.csv"

# cascades: a new-layout and an old-layout one, small enough to mutate
h=$dir/haar
cat >"$h/new.xml" <<'XML'
<?xml version="1.0"?>
<opencv_storage>
<cascade type_id="opencv-cascade-classifier"><stageType>BOOST</stageType>
  <featureType>HAAR</featureType>
  <height>12</height>
  <width>10</width>
  <featureParams><maxCatCount>0</maxCatCount></featureParams>
  <stageNum>2</stageNum>
  <stages>
    <_>
      <maxWeakCount>2</maxWeakCount>
      <stageThreshold>-1.5</stageThreshold>
      <weakClassifiers>
        <_><internalNodes>0 -1 0 2.5e-02</internalNodes>
          <leafValues>-0.5 0.75</leafValues></_>
        <_><!-- a stump --><internalNodes>0 -1 1 -2.</internalNodes>
          <leafValues>0.5 -0.25</leafValues></_></weakClassifiers></_>
    <_>
      <stageThreshold>-0.2</stageThreshold>
      <weakClassifiers>
        <_><internalNodes>1 0 2 0.5 -1 -2 0 -0.25</internalNodes>
          <leafValues>1 2 3</leafValues></_></weakClassifiers></_></stages>
  <features>
    <_><rects><_>0 0 10 12 -1.</_><_>2 3 6 6 3.</_></rects></_>
    <_><rects><_>1 2 3 4 -1.</_><_>1 4 3 2 2.</_></rects><tilted>0</tilted></_>
    <_><rects><_>5 1 3 3 -1.</_><_>5 2 1 1 3.</_></rects>
      <tilted>1</tilted></_></features>
</cascade>
</opencv_storage>
XML
cat >"$h/old.xml" <<'XML'
<?xml version="1.0"?>
<opencv_storage>
<fuzz_seed type_id="opencv-haar-classifier">
  <size>12 12</size>
  <stages>
    <_>
      <trees>
        <_>
          <_>
            <feature><rects><_>1 1 4 4 -1.</_><_>2 2 2 2 4.</_></rects>
              <tilted>0</tilted></feature>
            <threshold>0.125</threshold>
            <left_val>-1.</left_val>
            <right_node>1</right_node></_>
          <_>
            <feature><rects><_>6 1 3 2 -1.</_><_>6 2 1 1 3.</_></rects>
              <tilted>1</tilted></feature>
            <threshold>0.25</threshold>
            <left_val>-0.75</left_val>
            <right_val>0.875</right_val></_></_></trees>
      <stage_threshold>-0.9</stage_threshold>
      <parent>-1</parent>
      <next>-1</next></_></stages></fuzz_seed>
</opencv_storage>
XML

# images: a PNG sheet, the JPEG and PPM fer-detect draws on it, small PNMs
i=$dir/image
"$bin/fer-convert" -s 2 -n 2 -o "$i/sheet.png" "$tmp/d8.fer"
"$bin/fer-detect" -c "$h/new.xml" --draw "$tmp/drawn.jpg" "$i/sheet.png" >/dev/null
"$bin/fer-detect" -c "$h/new.xml" --draw "$tmp/drawn.ppm" "$i/sheet.png" >/dev/null
cp "$tmp/drawn.jpg" "$tmp/drawn.ppm" "$i/"
printf 'P5\n# a comment\n3 2\n255\n\001\002\003\004\005\377' >"$i/gray.pgm"
printf 'P2\n2 2\n15\n0 5\n10 15\n' >"$i/ascii.pgm"
printf 'P3 1 1 65535 65535 0 257\n' >"$i/ascii.ppm"
printf 'P5 1 1 255 aP5 2 1 255 bc' >"$i/frames.pgm"

# option arguments and meta text (a key after the NUL)
p=$dir/parse
printf '12' >"$p/int"
printf -- '-0.5e-3' >"$p/double"
printf 'adamw' >"$p/optim"
printf 'PublicTest' >"$p/usage"
printf 'format=fer-model\nclasses=angry,disgust\ntrain.command=fer-train -m ff\n\000classes' \
    >"$p/meta"

# the face detector's weights (make models): the real file's first 64 KB
# (its header and first tensors: the loader's checks meet a cut file), and
# a model of another kind; without the weights, only the latter
ssd=${FER_MODELS:-models}/ssd_mobilenetv1.fer
[ -s "$ssd" ] && head -c 65536 "$ssd" >"$dir/ssd/head.fer"
cp "$dir/model/ff-adam.fer" "$dir/ssd/other-model.fer"
blaze=${FER_MODELS:-models}/blazeface.fer
[ -s "$blaze" ] && head -c 65536 "$blaze" >"$dir/blaze/head.fer"
cp "$dir/model/ff-adam.fer" "$dir/blaze/other-model.fer"

#!/bin/sh
# tfjs2fer.sh: scripts/tfjs2fer.py on small manifests made here: uint8,
# uint16 and float16 quantisation and plain float32 read back as the
# manifest defines them (q * scale + min), int32 constants stepped over;
# bad input (a cut manifest, a missing or short or long shard, an unknown
# dtype) is one line naming the file, exit 1, no output file; a converted
# model of the wrong shape is refused by fer-detect naming the tensor.
. "$FER_ROOT/tests/lib.sh"
PY=${FER_PYTHON:-python3}
CV="$FER_ROOT/scripts/tfjs2fer.py"
if ! "$PY" -c 'import json, struct, zlib' >/dev/null 2>&1; then skip tfjs2fer "no python3"; exit 0; fi
cd "$TMP" || exit 1

# the shard: a (2,3) uint8 tensor, a scalar int32 constant (1 byte, as the
# real manifests quantise them), a (2,) uint16 one, a (3,) float16 one and a
# (2,) float32 one, with random values written into want.txt
"$PY" - <<'PYEOF'
import json, random, struct
r = random.Random()
q8 = [r.randrange(256) for _ in range(6)]
q16 = [r.randrange(65536) for _ in range(2)]
h = [r.uniform(-4, 4) for _ in range(3)]
f = [r.uniform(-9, 9) for _ in range(2)]
s8, m8, s16, m16 = r.uniform(0.001, 0.1), r.uniform(-3, 0), r.uniform(1e-5, 1e-3), r.uniform(-1, 1)
data = bytes(q8) + bytes([7]) + struct.pack("<2H", *q16) + struct.pack("<3e", *h) + struct.pack("<2f", *f)
open("w.bin", "wb").write(data)
man = [{"paths": ["w.bin"], "weights": [
    {"name": "a/q8", "shape": [2, 3], "dtype": "float32", "quantization": {"dtype": "uint8", "scale": s8, "min": m8}},
    {"name": "a/const", "shape": [], "dtype": "int32", "quantization": {"dtype": "uint8", "scale": 1, "min": 0}},
    {"name": "a/q16", "shape": [2], "dtype": "float32", "quantization": {"dtype": "uint16", "scale": s16, "min": m16}},
    {"name": "a/h", "shape": [3], "dtype": "float32", "quantization": {"dtype": "float16"}},
    {"name": "a/f", "shape": [2], "dtype": "float32"}]}]
json.dump(man, open("m.json", "w"))
# what each value must be: float32 of q * scale + min, of the half, of f
rt = lambda v: struct.unpack("<f", struct.pack("<f", v))[0]
hv = struct.unpack("<3e", struct.pack("<3e", *h))
with open("want.txt", "w") as o:
    o.write("a/q8 %s\n" % " ".join(repr(rt(q * s8 + m8)) for q in q8))
    o.write("a/q16 %s\n" % " ".join(repr(rt(q * s16 + m16)) for q in q16))
    o.write("a/h %s\n" % " ".join(repr(rt(v)) for v in hv))
    o.write("a/f %s\n" % " ".join(repr(rt(v)) for v in f))
PYEOF
t tfjs2fer-ok 0 '' -- "$PY" "$CV" test_arch test@1 m.json out.fer
# read back: the model record's meta, then each f32 record's name and values
"$PY" - > got.txt <<'PYEOF'
import struct, zlib
b = open("out.fer", "rb").read()
pos = 0
while pos < len(b):
    magic, ver, dt, nd, nl, fl, ml, nb = struct.unpack_from("<4sHBBHHIQ", b, pos)
    start = pos
    pos += 24 + 8 * nd
    name = b[pos:pos + nl].decode(); pos += nl
    meta = b[pos:pos + ml].decode(); pos += ml
    pay = b[pos:pos + nb]; pos += nb
    crc, = struct.unpack_from("<I", b, pos); pos += 4
    assert crc == zlib.crc32(b[start:pos - 4]) & 0xFFFFFFFF, "bad CRC"
    if name == "model":
        print("meta " + meta.replace("\n", ";"))
    else:
        print(name + " " + " ".join(repr(v) for v in struct.unpack("<%df" % (nb // 4), pay)))
PYEOF
check tfjs2fer-meta grep -qx 'meta format=fer-model;arch=test_arch;source=test@1;tfjs2fer=1;' got.txt
check tfjs2fer-values sh -c 'grep -v "^meta" got.txt | diff - want.txt'
check tfjs2fer-no-int32 sh -c '! grep -q "^a/const" got.txt'

# bad input
head -c 100 m.json > cut.json
t tfjs2fer-cut-manifest 1 '^tfjs2fer: cut\.json: not a JSON manifest' -- "$PY" "$CV" a s cut.json o1.fer
check tfjs2fer-cut-no-output test ! -e o1.fer
mkdir -p nobin && cp m.json nobin/
t tfjs2fer-missing-shard 1 '^tfjs2fer: nobin/w\.bin: No such file' -- "$PY" "$CV" a s nobin/m.json o2.fer
check tfjs2fer-missing-no-output test ! -e o2.fer
mkdir -p short && cp m.json short/ && head -c 10 w.bin > short/w.bin
t tfjs2fer-short-shard 1 '^tfjs2fer: short/w\.bin: .*the shards end at byte 10' -- "$PY" "$CV" a s short/m.json o3.fer
mkdir -p long && cp m.json long/ && { cat w.bin; printf 'xx'; } > long/w.bin
t tfjs2fer-long-shard 1 '^tfjs2fer: long/w\.bin: [0-9]+ bytes of shards, the manifest describes' -- "$PY" "$CV" a s long/m.json o4.fer
sed 's/"uint16"/"int4"/' m.json > dtype.json
t tfjs2fer-dtype 1 '^tfjs2fer: dtype\.json: a/q16: dtype float32 stored as int4 not understood' -- "$PY" "$CV" a s dtype.json o5.fer
n=$("$PY" "$CV" a s cut.json o6.fer 2>&1 | wc -l)
check tfjs2fer-one-line test "$n" -eq 1

# a model of the right arch whose first tensor has the wrong shape
"$PY" - <<'PYEOF'
import json, struct
open("c.bin", "wb").write(struct.pack("<%df" % (3 * 3 * 3 * 16), *([0.5] * (3 * 3 * 3 * 16))))
json.dump([{"paths": ["c.bin"], "weights": [{"name": "MobilenetV1/Conv2d_0_pointwise/weights",
          "shape": [3, 3, 3, 16], "dtype": "float32"}]}], open("c.json", "w"))
PYEOF
"$PY" "$CV" ssd_mobilenetv1 test c.json shape.fer
{ printf 'P6\n8 8\n255\n'; head -c 192 /dev/zero; } > p.ppm
t tfjs2fer-wrong-shape 1 '^fer-detect: shape\.fer: tensor MobilenetV1/Conv2d_0_pointwise/weights is \(3,3,3,16\), expected \(3,3,3,32\)$' -- \
    fer-detect --detector ssd --weights shape.fer p.ppm

# a graph model's model.json (weightsManifest inside) for BlazeFace, its
# first convolution of the wrong shape
"$PY" - <<'PYEOF'
import json, struct
open("g.bin", "wb").write(struct.pack("<%df" % (5 * 5 * 3 * 16), *([0.25] * (5 * 5 * 3 * 16))))
json.dump({"format": "graph-model", "modelTopology": {"node": []}, "weightsManifest": [
    {"paths": ["g.bin"], "weights": [{"name": "unknown", "shape": [5, 5, 3, 16],
                                      "dtype": "float32"}]}]}, open("g.json", "w"))
PYEOF
t tfjs2fer-graph-model 0 '' -- "$PY" "$CV" blazeface test g.json blaze.fer
t tfjs2fer-blaze-wrong-shape 1 '^fer-detect: blaze\.fer: tensor unknown is \(5,5,3,16\), expected \(5,5,3,24\)$' -- \
    fer-detect --detector blazeface --weights blaze.fer p.ppm

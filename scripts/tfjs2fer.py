#!/usr/bin/env python3
"""tfjs2fer: a TensorFlow.js weights manifest and its binary shards as a
fer(5) model file, for the neural face detectors of fer-detect(1).

    python3 scripts/tfjs2fer.py ARCH SOURCE manifest.json out.fer

The manifest (model-weights_manifest.json) is a JSON list of groups, or a
graph model's model.json whose "weightsManifest" holds that list (the
graph itself is not read: lib/detect/facenet_blaze.c knows it), each
{"paths": [shard files, read one after another], "weights": [{"name",
"shape", "dtype", "quantization"?}, ...]}; the weights lie in the
concatenated shards in the listed order, little-endian. A weight whose
"quantization" is {"dtype": "uint8" or "uint16", "scale", "min"} is
stored as those integers and means q * scale + min; with {"dtype":
"float16"} it is stored as IEEE half floats. Each float32 weight is
written as an f32 record of its own name and shape (TensorFlow's layouts
kept: HWIO for a convolution, HWC1 for a depthwise one); int32 weights
(graph constants of the export) are stepped over. The first record,
"model", carries format=fer-model, arch=ARCH, source=SOURCE and
tfjs2fer=1 (this converter's version), which lib/detect/tfweights.c and
facenet_ssd.c check.

Standard library only (no numpy). On bad input prints one line naming
the file and exits 1, leaving no output file (written beside it, then
renamed).
"""
import json
import math
import os
import struct
import sys
import zlib

CONVERTER_VERSION = 1
ELEM = {"float32": 4, "int32": 4, "uint8": 1, "uint16": 2, "float16": 2}


class Bad(Exception):
    pass


def record(name, dtype, shape, meta, payload):
    """One fer(5) record (record.h): header, shape, name, meta, payload, CRC."""
    nb, mb = name.encode(), meta.encode()
    head = struct.pack("<4sHBBHHIQ", b"\x89FER", 1, dtype, len(shape), len(nb), 0, len(mb),
                       len(payload))
    body = head + struct.pack("<%dQ" % len(shape), *shape) + nb + mb + payload
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


def values(w, raw, where):
    """The float32 values of weight w from its stored bytes raw."""
    q = w.get("quantization")
    n = len(raw) // ELEM[q["dtype"] if q else w["dtype"]]
    if not q:
        out = struct.unpack("<%df" % n, raw)
    elif q["dtype"] == "float16":
        out = struct.unpack("<%de" % n, raw)
    else:
        scale, lo = q.get("scale"), q.get("min")
        if not all(isinstance(v, (int, float)) for v in (scale, lo)):
            raise Bad("%s: quantised weight without a numeric scale and min" % where)
        fmt = "<%dB" % n if q["dtype"] == "uint8" else "<%dH" % n
        # tfjs computes q * scale + min in double and stores a float32
        out = [v * scale + lo for v in struct.unpack(fmt, raw)]
    if not all(math.isfinite(v) for v in out):
        raise Bad("%s: a value that is not finite" % where)
    return struct.pack("<%df" % n, *out)


def convert(arch, source, manifest_path, out):
    try:
        with open(manifest_path, "rb") as f:
            groups = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError) as e:
        raise Bad("%s: %s" % (manifest_path, getattr(e, "strerror", None) or
                              "not a JSON manifest (%s)" % e))
    if isinstance(groups, dict) and "weightsManifest" in groups:
        groups = groups["weightsManifest"]
    if not isinstance(groups, list) or not groups:
        raise Bad("%s: not a weights manifest (a JSON list of groups)" % manifest_path)
    folder = os.path.dirname(manifest_path)
    meta = "format=fer-model\narch=%s\nsource=%s\ntfjs2fer=%d\n" % (arch, source,
                                                                     CONVERTER_VERSION)
    chunks = [record("model", 1, (0,), meta, b"")]
    for g in groups:
        if not isinstance(g, dict) or not isinstance(g.get("paths"), list) \
                or not isinstance(g.get("weights"), list):
            raise Bad("%s: a group without paths and weights" % manifest_path)
        data = b""
        for p in g["paths"]:
            shard = os.path.join(folder, str(p))
            try:
                with open(shard, "rb") as f:
                    data += f.read()
            except OSError as e:
                raise Bad("%s: %s" % (shard, e.strerror))
        where_bin = os.path.join(folder, str(g["paths"][0])) if g["paths"] else manifest_path
        pos = 0
        for w in g["weights"]:
            try:
                name, shape, dtype = w["name"], [int(d) for d in w["shape"]], w["dtype"]
            except (KeyError, TypeError, ValueError):
                raise Bad("%s: a weight without name, shape or dtype" % manifest_path)
            q = w.get("quantization")
            store = q.get("dtype") if isinstance(q, dict) else dtype
            if dtype not in ELEM or store not in ELEM or any(d < 0 for d in shape):
                raise Bad("%s: %s: dtype %s stored as %s not understood"
                          % (manifest_path, name, dtype, store))
            count = 1
            for d in shape:
                count *= d
            nbytes = count * ELEM[store]
            if pos + nbytes > len(data):
                raise Bad("%s: %s: the shards end at byte %d, the weight needs %d more"
                          % (where_bin, name, len(data), pos + nbytes - len(data)))
            if dtype == "float32":
                payload = values(w, data[pos:pos + nbytes], "%s: %s" % (where_bin, name))
                chunks.append(record(name, 3, shape, "", payload))
            pos += nbytes
        if pos != len(data):
            raise Bad("%s: %d bytes of shards, the manifest describes %d"
                      % (where_bin, len(data), pos))
    tmp = out + ".tmp.%d" % os.getpid()
    try:
        with open(tmp, "wb") as f:
            for c in chunks:
                f.write(c)
        os.replace(tmp, out)
    except OSError as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise Bad("%s: %s" % (out, e.strerror))


def main():
    if len(sys.argv) != 5:
        sys.stderr.write("usage: tfjs2fer.py ARCH SOURCE manifest.json out.fer\n")
        return 2
    try:
        convert(*sys.argv[1:])
    except Bad as e:
        sys.stderr.write("tfjs2fer: %s\n" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""ferfile: read and write fer records (man/fer.5, lib/record.h) from Python.

Numpy only. A fer stream is a sequence of self-describing records, all
integers little-endian:

    magic 0x89 'F' 'E' 'R' | u16 version | u8 dtype | u8 ndim | u16 name length
    | u16 flags | u32 meta length | u64 payload bytes | u64 shape[ndim]
    | name | meta text | payload | u32 CRC-32 of everything before it

    import ferfile
    for rec in ferfile.read("model.fer"):      # Record(name, array, meta)
        print(rec.name, rec.array.shape)
    with open("out.fer", "wb") as f:
        ferfile.write(f, "conv1.weight", np.zeros((4, 1, 3, 3), np.float32))

Models (lib/model.h): read_model() gives (meta dict, {name: array}) and
write_model() writes the "model" record then one f32 record per tensor.
"""
import collections
import os
import struct
import tempfile
import zlib

import numpy as np

MAGIC = b"\x89FER"
VERSION = 1
MAX_DIMS = 8
NAME_MAX = 255
META_MAX = 1 << 20
PAYLOAD_MAX = 1 << 36

# dtype codes (enum fer_dtype) <-> numpy little-endian dtypes
DTYPES = {1: np.dtype("u1"), 2: np.dtype("<i4"), 3: np.dtype("<f4"),
          4: np.dtype("<f8"), 5: np.dtype("<i8")}
CODES = {(v.kind, v.itemsize): k for k, v in DTYPES.items()}

Record = collections.namedtuple("Record", "name array meta dtype shape")

_HEAD = struct.Struct("<4sHBBHHIQ")   # the 24 fixed bytes


class FerError(Exception):
    """A malformed, truncated or corrupt fer stream."""


def _readn(f, n, what, where):
    b = f.read(n)
    if len(b) != n:
        raise FerError("%s: truncated %s (%d of %d bytes)" % (where, what, len(b), n))
    return b


def read(src):
    """Yields every record of a fer file (a path or a binary file object).

    Each is a Record: name (str), array (numpy, shaped; None for a record
    of unknown dtype, whose payload is skipped), meta (str, "" when none),
    dtype (the code) and shape (tuple). Raises FerError on a bad or
    truncated record or a CRC mismatch."""
    f = open(src, "rb") if isinstance(src, (str, os.PathLike)) else src
    try:
        index, pos = 0, 0
        while True:
            where = "record %d at byte %d" % (index, pos)
            head = f.read(_HEAD.size)
            if not head:
                return
            if len(head) < _HEAD.size:
                raise FerError("%s: truncated header" % where)
            magic, version, dtype, ndim, nlen, _flags, mlen, nbytes = _HEAD.unpack(head)
            if magic != MAGIC:
                raise FerError("%s: bad magic (not a fer file)" % where)
            if version == 0 or version > VERSION:
                raise FerError("%s: format version %d, reads up to %d" % (where, version, VERSION))
            if ndim > MAX_DIMS or nlen > NAME_MAX or mlen > META_MAX or nbytes > PAYLOAD_MAX:
                raise FerError("%s: bad header lengths" % where)
            shape_b = _readn(f, 8 * ndim, "shape", where)
            shape = struct.unpack("<%dQ" % ndim, shape_b)
            name_b = _readn(f, nlen, "name", where)
            meta_b = _readn(f, mlen, "meta text", where)
            dt = DTYPES.get(dtype)
            count = int(np.prod(shape, dtype=np.uint64)) if ndim else 1
            if dt is not None and count * dt.itemsize != nbytes:
                raise FerError("%s: shape needs %d bytes, payload length says %d"
                               % (where, count * dt.itemsize, nbytes))
            payload = _readn(f, nbytes, "payload", where)
            crc = zlib.crc32(head + shape_b + name_b + meta_b + payload) & 0xFFFFFFFF
            (want,) = struct.unpack("<I", _readn(f, 4, "CRC", where))
            if crc != want:
                raise FerError("%s: bad CRC" % where)
            arr = None
            if dt is not None:
                arr = np.frombuffer(payload, dtype=dt).reshape(shape).copy()
            yield Record(name_b.decode("utf-8"), arr, meta_b.decode("utf-8"), dtype, tuple(shape))
            pos += len(head) + len(shape_b) + nlen + mlen + nbytes + 4
            index += 1
    finally:
        if f is not src:
            f.close()


def write(f, name, array, meta=""):
    """Writes one record to the binary file object f. array is a numpy
    array of u8, i32, f32, f64 or i64 (other float/int kinds must be cast
    first); meta is "key=value\\n" text."""
    a = np.ascontiguousarray(array)
    code = CODES.get((a.dtype.kind, a.dtype.itemsize))
    if code is None:
        raise ValueError("record %r: dtype %s has no fer code" % (name, a.dtype))
    a = a.astype(DTYPES[code], copy=False)
    name_b, meta_b = name.encode("utf-8"), meta.encode("utf-8")
    if a.ndim > MAX_DIMS or len(name_b) > NAME_MAX or len(meta_b) > META_MAX:
        raise ValueError("record %r: too many dims or too long a name or meta" % name)
    payload = a.tobytes()
    head = _HEAD.pack(MAGIC, VERSION, code, a.ndim, len(name_b), 0, len(meta_b),
                      len(payload))
    body = head + struct.pack("<%dQ" % a.ndim, *a.shape) + name_b + meta_b + payload
    f.write(body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF))


def parse_meta(text):
    """"k=v\\n" text -> dict (the first of repeated keys wins, as fer_parse_meta)."""
    d = collections.OrderedDict()
    for line in text.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            d.setdefault(k, v)
    return d


def read_model(path):
    """A model file -> (meta dict, OrderedDict name -> float32 array).
    Raises FerError when the first record is not a model."""
    it = read(path)
    first = next(it, None)
    if first is None or first.name != "model":
        raise FerError("%s: not a fer model (first record is not 'model')" % path)
    meta = parse_meta(first.meta)
    if meta.get("format") != "fer-model":
        raise FerError("%s: not a fer model (no format=fer-model)" % path)
    tensors = collections.OrderedDict()
    for rec in it:
        if rec.array is not None:
            tensors[rec.name] = rec.array
    return meta, tensors


def model_meta(arch, width=1.0, dropout=0.0, dropout2=0.0, input=(1, 48, 48), mean=0.5,
               std=0.25, classes=None, extra=None):
    """The meta text of a "model" record, in the order lib/model.c writes it,
    with batch norm's eps and momentum at PyTorch's defaults (those of
    model_version 1). extra holds train.* keys: fer refuses others."""
    classes = classes or ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    lines = ["format=fer-model", "model_version=1", "arch=%s" % arch,
             "width=%r" % float(width), "dropout=%r" % float(dropout),
             "dropout2=%r" % float(dropout2), "bn_eps=1e-05", "bn_momentum=0.1",
             "input=%d,%d,%d" % tuple(input),
             "mean=%.9g" % mean, "std=%.9g" % std, "classes=" + ",".join(classes)]
    for k, v in (extra or {}).items():
        lines.append("%s=%s" % (k, str(v).replace("\n", " ")))
    return "\n".join(lines) + "\n"


def write_model(path, meta, tensors):
    """Writes a model file: the "model" record (u8, shape (0), meta text)
    then one f32 record per tensor, through a temp file renamed into place."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".ferfile-", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f, "model", np.zeros((0,), np.uint8), meta)
            for name, a in tensors.items():
                write(f, name, np.asarray(a, dtype=np.float32))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise

"""augment_torch.py: the torchvision half of bench/augment.sh; the same
augmentations as fer-augment on the same images.

    augment_torch.py study|random DATA.fer [THREADS]

Reads the images of a fer data set (the "images" records of fer(5)) into a
uint8 tensor (N, 1, 48, 48), then times only the augmentation, not the
interpreter's start or the reading:

  study   the study's x4 as fer-augment --study: each image, its mirror
          image and turns by -10 and +10 degrees (bilinear), in that order
          per image; torchvision's functional transforms on the whole
          batch at once (the fastest way torchvision offers: one angle for
          every image).
  random  one random copy per image as fer-augment --copies 1 --flip
          --rotate-range -15:15 --shift 3 --scale 0.9:1.1 --crop 4
          --brightness 0.2 --contrast 0.2 --erase 0.5: a Compose of
          RandomHorizontalFlip, RandomAffine, RandomCrop(40) + Resize(48),
          ColorJitter and RandomErasing, called once per image (the
          random transforms draw one set of parameters per call), plus
          the original.

Prints one line: mode=... images=N out=M seconds=S img_s=M/S (images
written per second).
"""
import struct
import sys
import time


def read_images(path):
    """The u8 payloads of the "images" records, concatenated, and N."""
    chunks, n = [], 0
    with open(path, "rb") as f:
        while True:
            h = f.read(24)
            if not h:
                break
            if len(h) < 24 or h[:4] != b"\x89FER":
                raise SystemExit("augment_torch.py: %s: not a fer stream" % path)
            _, _, dtype, ndim, nlen, _, mlen, plen = struct.unpack("<4sHBBHHIQ", h)
            shape = struct.unpack("<%dQ" % ndim, f.read(8 * ndim))
            name = f.read(nlen).decode()
            f.read(mlen)
            payload = f.read(plen)
            f.read(4)
            if name == "images":
                if dtype != 1 or shape[1:] != (1, 48, 48):
                    raise SystemExit("augment_torch.py: want u8 (N, 1, 48, 48) images")
                chunks.append(payload)
                n += shape[0]
    return b"".join(chunks), n


def main(argv):
    if len(argv) not in (3, 4) or argv[1] not in ("study", "random"):
        sys.stderr.write("usage: augment_torch.py study|random DATA.fer [THREADS]\n")
        sys.exit(2)
    import torch
    import torchvision.transforms as T
    import torchvision.transforms.functional as F
    from torchvision.transforms import InterpolationMode

    torch.set_num_threads(int(argv[3]) if len(argv) > 3 else 2)
    raw, n = read_images(argv[2])
    x = torch.frombuffer(bytearray(raw), dtype=torch.uint8).reshape(n, 1, 48, 48)
    torch.manual_seed(1)
    if argv[1] == "study":
        t0 = time.perf_counter()
        out = torch.stack((x, F.hflip(x),
                           F.rotate(x, -10.0, interpolation=InterpolationMode.BILINEAR),
                           F.rotate(x, 10.0, interpolation=InterpolationMode.BILINEAR)),
                          dim=1).reshape(4 * n, 1, 48, 48)
        t1 = time.perf_counter()
    else:
        tf = T.Compose([
            T.RandomHorizontalFlip(),
            T.RandomAffine(15, translate=(3 / 48, 3 / 48), scale=(0.9, 1.1),
                           interpolation=InterpolationMode.BILINEAR),
            T.RandomCrop(40),
            T.Resize(48, interpolation=InterpolationMode.BILINEAR, antialias=False),
            T.ColorJitter(brightness=0.2, contrast=0.2),
            T.RandomErasing(p=0.5, value="random"),
        ])
        t0 = time.perf_counter()
        outs = []
        for i in range(n):
            outs.append(x[i])
            outs.append(tf(x[i]))
        out = torch.stack(outs)
        t1 = time.perf_counter()
    m = out.shape[0]
    print("mode=%s images=%d out=%d seconds=%.4f img_s=%.0f" % (argv[1], n, m, t1 - t0,
                                                                 m / (t1 - t0)))


if __name__ == "__main__":
    main(sys.argv)

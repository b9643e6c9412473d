#!/usr/bin/env python3
"""torchvision2fer: a torchvision resnet18 state_dict (.pth) -> a fer model
file for fer's resnet18 (lib/model.c), e.g. ImageNet weights as a starting
point for fer-train --init.

    torchvision2fer.py [--stem resize|center] [--seed N] [--mean X --std X]
                       resnet18.pth model.fer

No weights are downloaded by this script, and none can be downloaded on a
machine without internet. With internet and torchvision, ImageNet weights
are had with:
    python3 -c "import torch, torchvision; torch.save(torchvision.models.
        resnet18(weights='IMAGENET1K_V1').state_dict(), 'resnet18.pth')"

fer's resnet18 is torchvision's with a 48x48 stem: conv1 is 3x3, stride 1,
padding 1, no bias, on 1 gray channel, and there is no max pool; the rest
(layer1..layer4, the batch norms, fc) has the same names and shapes.
What the conversion does:

  Gray input. For a gray image g replicated to R, G and B, torchvision's
  input is x_c = (g - m_c) / s_c with ImageNet's m = (0.485, 0.456, 0.406),
  s = (0.229, 0.224, 0.225); fer's is x = (g - mean) / std with one mean and
  std (written to the model: mean 0.449, std 0.226 by default). The stem
  weights fold exactly to one channel: W' = std * sum_c W_c / s_c; what is
  left, sum_c W_c (mean - m_c) / s_c, is a constant per output channel,
  which is subtracted from bn1.running_mean: inference gives the same
  stem output for every pixel whose 7x7 (or 3x3) window lies inside the
  image. Only at the border, where torchvision pads each channel with
  zero (gray m_c) and fer with zero (gray mean), do they differ slightly.

  7x7 stride 2 -> 3x3 stride 1. The ImageNet stem sees 224x224 images at
  stride 2 followed by a 3x3 stride-2 max pool: layer1 works at 1/4 of the
  input resolution. A 48x48 face is ~4x smaller, so fer runs layer1 at full
  resolution and needs a stem that sees ~1/2.3 of the 7x7 extent.
  --stem resize (default) shrinks each 7x7 kernel to 3x3 by area
  averaging (each 3x3 tap integrates a 7/3-pixel cell of the 7x7 kernel
  taken as piecewise constant), which keeps every kernel's sum (its
  response to flat regions) and its coarse shape; it loses the kernel's
  finer detail (oriented edges thinner than ~2 px and the high
  frequencies). --stem center keeps the centre 3x3 taps unchanged, which
  keeps the fine detail near the centre and loses the outer ring (and so
  the kernel's sum and its larger-scale structure). Either way the
  pretrained stem is a starting point to fine-tune, not an exact copy.
  A stem that already is 3x3 is kept as it is; a 1-channel stem is not
  folded.

  Head. fc is copied when it already has shape (7, 512); otherwise it is
  replaced by a fresh 7-class head drawn as fer draws it (He-normal
  weights, std sqrt(2/512), seeded by --seed; zero bias).

num_batches_tracked buffers are dropped. The model's classes are
FER2013's seven. Needs torch (to read the .pth) and numpy.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ferfile  # noqa: E402

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
FER_CLASSES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


def area_matrix(n_in, n_out):
    """(n_out, n_in) overlaps of n_out equal cells with n_in unit pixels;
    every column sums to 1, so A K A^T keeps the sum of K."""
    a = np.zeros((n_out, n_in))
    step = n_in / n_out
    for i in range(n_out):
        lo, hi = i * step, (i + 1) * step
        for j in range(n_in):
            a[i, j] = max(0.0, min(hi, j + 1) - max(lo, j))
    return a


def shrink_stem(w, how):
    """(K, C, R, R) -> (K, C, 3, 3)."""
    r = w.shape[2]
    if r == 3:
        return w
    if how == "center":
        o = (r - 3) // 2
        return w[:, :, o:o + 3, o:o + 3].copy()
    a = area_matrix(r, 3)
    return np.einsum("ia,kcab,jb->kcij", a, w, a)


def convert(sd, stem="resize", seed=1, mean=None, std=None, nclasses=7):
    """state_dict (name -> numpy) -> (tensors for fer, mean, std, notes)."""
    sd = {k[7:] if k.startswith("module.") else k: np.asarray(v, np.float64)
          for k, v in sd.items() if not k.endswith("num_batches_tracked")}
    if "conv1.weight" not in sd or "fc.weight" not in sd or "layer4.1.bn2.running_var" not in sd:
        raise ValueError("not a torchvision resnet18 state_dict (conv1, layer4, fc missing)")
    notes = []
    w = sd["conv1.weight"]
    k, c, r, r2 = w.shape
    if k != 64 or r != r2 or c not in (1, 3):
        raise ValueError("conv1.weight has shape %s, expected (64, 3 or 1, R, R)" % (w.shape,))
    mean = float(np.mean(IMAGENET_MEAN)) if mean is None else mean
    std = float(np.mean(IMAGENET_STD)) if std is None else std
    rm = sd["bn1.running_mean"].copy()
    if r != 3:
        w = shrink_stem(w, stem)
        notes.append("stem %dx%d -> 3x3 by %s" % (r, r, stem))
    if c == 3:
        s = np.array(IMAGENET_STD)[None, :, None, None]
        m = np.array(IMAGENET_MEAN)[None, :, None, None]
        # fer's x = (g - mean)/std feeds W' = std * sum_c W_c/s_c; torchvision's
        # conv output exceeds fer's by sum W_c (mean - m_c)/s_c per channel
        shift = (w * (mean - m) / s).sum(axis=(1, 2, 3))
        w = std * (w / s).sum(axis=1, keepdims=True)
        rm = rm - shift
        notes.append("rgb folded to gray")
    out = {}
    for name, v in sd.items():
        if name == "conv1.weight":
            out[name] = w
        elif name == "bn1.running_mean":
            out[name] = rm
        elif name.startswith("fc."):
            continue
        else:
            out[name] = v
    if sd["fc.weight"].shape == (nclasses, 512) and sd["fc.bias"].shape == (nclasses,):
        out["fc.weight"], out["fc.bias"] = sd["fc.weight"], sd["fc.bias"]
        notes.append("fc kept")
    else:
        rng = np.random.default_rng(seed)
        out["fc.weight"] = rng.normal(0, np.sqrt(2.0 / 512), (nclasses, 512))
        out["fc.bias"] = np.zeros(nclasses)
        notes.append("fc %dx512 replaced by a fresh %d-class head" % (sd["fc.weight"].shape[0],
                                                                     nclasses))
    return {k: v.astype(np.float32) for k, v in out.items()}, mean, std, notes


def load_pth(path):
    import torch
    obj = torch.load(path, map_location="cpu")
    if hasattr(obj, "state_dict"):
        obj = obj.state_dict()
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    return {k: v.detach().cpu().numpy() for k, v in obj.items() if hasattr(v, "detach")}


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="torchvision2fer",
        description="Convert a torchvision resnet18 state_dict (.pth) into a fer resnet18 "
        "model file. Nothing is downloaded; this machine may have no internet. With "
        "internet: torch.save(torchvision.models.resnet18(weights='IMAGENET1K_V1')"
        ".state_dict(), 'resnet18.pth'). See the module docstring for what is kept and lost.")
    ap.add_argument("pth")
    ap.add_argument("out")
    ap.add_argument("--stem", choices=("resize", "center"), default="resize",
                    help="7x7 -> 3x3 stem: area resize keeping each kernel's sum (default), "
                    "or the centre 3x3 taps")
    ap.add_argument("--seed", type=int, default=1, help="seed of a fresh fc head")
    ap.add_argument("--mean", type=float, help="fer input mean (default 0.449, ImageNet's mean)")
    ap.add_argument("--std", type=float, help="fer input std (default 0.226, ImageNet's mean)")
    a = ap.parse_args(argv)
    try:
        sd = load_pth(a.pth)
        tensors, mean, std, notes = convert(sd, a.stem, a.seed, a.mean, a.std)
        if not std > 0:
            raise ValueError("std must be positive")
        meta = ferfile.model_meta(
            "resnet18", 1.0, 0.0, 0.0, (1, 48, 48), mean, std, FER_CLASSES,
            {"train.init": "torchvision2fer %s" % os.path.basename(a.pth),
             "train.convert": "; ".join(notes)})
        ferfile.write_model(a.out, meta, tensors)
    except Exception as e:  # one line, as the tools report
        print("torchvision2fer: %s: %s" % (a.pth, e), file=sys.stderr)
        return 1
    print("torchvision2fer: %s -> %s (%s)" % (a.pth, a.out, "; ".join(notes)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

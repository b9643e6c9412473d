"""fer_torch: fer's three architectures in PyTorch, with the parameter names
of lib/model.c, and the Python half of the parity tests.

    cnn       3 blocks of [conv3x3 pad 1 (bias) -> ReLU -> BatchNorm2d] x 2,
              max pool 2, dropout; flatten -> fc1 -> ReLU -> BatchNorm1d (bn7)
              -> dropout -> fc2. Channels 64, 128, 256 (x width), fc1 256.
              With stages=4 (fer-train --stages 4) a fourth block of 512
              (x width) channels, and the fc1 norm is bn9.
    ff        [Linear -> LeakyReLU(0.01) -> Dropout] x 4 (1024, 512, 256, 128,
              x width) -> fc5.
    resnet18  torchvision's resnet18(num_classes) with conv1 a 3x3 stride 1
              pad 1 convolution without bias on 1 channel and no max pool
              (maxpool = Identity): the 48x48 variant. torchvision's own
              model is used when it is importable, else the replica below
              with the same module names.

Command line (run by tests/torch_parity.sh and tests/converter.sh):
    fer_torch.py parity MODEL.fer DUMP.fer       compare with parity_dump
    fer_torch.py tv-random OUT.pth SEED [48]     a random torchvision resnet18
                                                 state_dict (48: the 48x48 stem)
    fer_torch.py tv-forward IN.pth DUMP.fer      its forward vs fer's
    fer_torch.py fold-check IN.pth OUT.fer       torchvision2fer's gray fold
    fer_torch.py replica                         replica vs torchvision
Each check prints "ok NAME (worst ...)" or "FAIL NAME: ..." as the tests'
harness counts them.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import ferfile  # noqa: E402

try:
    import torchvision
except Exception:  # not installed: the replica stands in
    torchvision = None


def _round(x):
    """(int)(x + 0.5), as model.c sizes layers."""
    return int(x + 0.5)


class FerCNN(nn.Module):
    def __init__(self, width=1.0, dropout=0.25, dropout2=0.5, nclasses=7, input=(1, 48, 48),
                 stages=3):
        super().__init__()
        c, h, w = input
        self.dropout, self.dropout2, self.stages = dropout, dropout2, stages
        for b in range(stages):
            k = _round(64 * width * (1 << b))
            setattr(self, "conv%d" % (2 * b + 1), nn.Conv2d(c, k, 3, padding=1))
            setattr(self, "bn%d" % (2 * b + 1), nn.BatchNorm2d(k))
            setattr(self, "conv%d" % (2 * b + 2), nn.Conv2d(k, k, 3, padding=1))
            setattr(self, "bn%d" % (2 * b + 2), nn.BatchNorm2d(k))
            c, h, w = k, h // 2, w // 2
        self.fc1 = nn.Linear(c * h * w, _round(256 * width))
        self.fcbn = "bn%d" % (2 * stages + 1)
        setattr(self, self.fcbn, nn.BatchNorm1d(_round(256 * width)))
        self.fc2 = nn.Linear(_round(256 * width), nclasses)

    def forward(self, x):
        for b in range(self.stages):
            for i in (2 * b + 1, 2 * b + 2):
                x = getattr(self, "bn%d" % i)(F.relu(getattr(self, "conv%d" % i)(x)))
            x = F.dropout(F.max_pool2d(x, 2, 2), self.dropout, self.training)
        x = getattr(self, self.fcbn)(F.relu(self.fc1(x.flatten(1))))
        return self.fc2(F.dropout(x, self.dropout2, self.training))


class FerFF(nn.Module):
    def __init__(self, width=1.0, dropout=0.2, nclasses=7, input=(1, 48, 48)):
        super().__init__()
        n = int(np.prod(input))
        self.dropout = dropout
        for i, size in enumerate((1024, 512, 256, 128)):
            setattr(self, "fc%d" % (i + 1), nn.Linear(n, _round(size * width)))
            n = _round(size * width)
        self.fc5 = nn.Linear(n, nclasses)

    def forward(self, x):
        x = x.flatten(1)
        for i in range(1, 5):
            x = F.dropout(F.leaky_relu(getattr(self, "fc%d" % i)(x), 0.01), self.dropout,
                          self.training)
        return self.fc5(x)


class BasicBlock(nn.Module):
    """torchvision's BasicBlock, same module names."""

    def __init__(self, cin, k, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, k, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(k)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(k, k, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(k)
        self.downsample = None
        if stride != 1 or cin != k:
            self.downsample = nn.Sequential(nn.Conv2d(cin, k, 1, stride, bias=False),
                                            nn.BatchNorm2d(k))

    def forward(self, x):
        y = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(y + (self.downsample(x) if self.downsample is not None else x))


class ResNet18Replica(nn.Module):
    """torchvision.models.resnet18's module tree and state_dict names;
    stem48 picks fer's 48x48 stem instead of the 7x7/2 conv + max pool."""

    def __init__(self, nclasses=1000, stem48=False):
        super().__init__()
        if stem48:
            self.conv1 = nn.Conv2d(1, 64, 3, 1, 1, bias=False)
        else:
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity() if stem48 else nn.MaxPool2d(3, 2, 1)
        cin = 64
        for l, k in enumerate((64, 128, 256, 512)):
            stride = 1 if l == 0 else 2
            setattr(self, "layer%d" % (l + 1),
                    nn.Sequential(BasicBlock(cin, k, stride), BasicBlock(k, k, 1)))
            cin = k
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, nclasses)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for l in range(1, 5):
            x = getattr(self, "layer%d" % l)(x)
        return self.fc(self.avgpool(x).flatten(1))


def resnet18(nclasses=7, stem48=True, use_torchvision=None):
    """torchvision's resnet18 (or the replica when torchvision is missing or
    use_torchvision is False), with fer's 48x48 stem when stem48."""
    if use_torchvision is None:
        use_torchvision = torchvision is not None
    if not use_torchvision:
        return ResNet18Replica(nclasses, stem48)
    m = torchvision.models.resnet18(num_classes=nclasses)
    if stem48:
        m.conv1 = nn.Conv2d(1, 64, 3, 1, 1, bias=False)
        m.maxpool = nn.Identity()
    return m


def build(arch, width=1.0, dropout=0.0, dropout2=0.0, nclasses=7, stages=3):
    if arch == "cnn":
        return FerCNN(width, dropout, dropout2, nclasses, stages=stages)
    if arch == "ff":
        return FerFF(width, dropout, nclasses)
    if arch == "resnet18":
        return resnet18(nclasses)
    raise ValueError("unknown arch %r" % arch)


def load_named(model, tensors):
    """Copies fer tensors into model by state_dict name; every entry of the
    state_dict (but num_batches_tracked) must be there with its shape."""
    sd = model.state_dict()
    want = [k for k in sd if not k.endswith("num_batches_tracked")]
    missing = [k for k in want if k not in tensors]
    extra = [k for k in tensors if k not in sd]
    if missing or extra:
        raise ValueError("names differ: missing %s, unexpected %s" % (missing[:5], extra[:5]))
    with torch.no_grad():
        for k in want:
            if tuple(sd[k].shape) != tuple(tensors[k].shape):
                raise ValueError("%s: shape %s, fer has %s" % (k, tuple(sd[k].shape),
                                                               tensors[k].shape))
            sd[k].copy_(torch.from_numpy(np.asarray(tensors[k])))


# ---- checks ----

class Report:
    def __init__(self):
        self.failed = 0

    def check(self, name, worst, tol):
        """worst: a relative error, or (error, tensor name) from worst_of."""
        worst, where = worst if isinstance(worst, tuple) else (worst, "")
        at = " at %s" % where if where else ""
        if worst <= tol:
            print("ok %s (worst relative error %.2e%s, tolerance %.0e)" % (name, worst, at, tol))
        else:
            print("FAIL %s: relative error %.3e%s exceeds %.0e" % (name, worst, at, tol))
            self.failed += 1


def rel(a, b):
    """max |a - b| / max |b| over a tensor (b the reference)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30)) if b.size else 0.0


def worst_of(pairs):
    """[(name, ours, ref)] -> (worst rel, its name)."""
    w, at = -1.0, ""
    for name, a, b in pairs:
        e = rel(a, b)
        if e > w:
            w, at = e, name
    return max(w, 0.0), at


SPREAD_RUNS = 3


def train_step(arch, width, W0, x, labels, dt, noise=0.0, seed=0):
    """Training forward, mean cross-entropy, backward, then an inference
    forward, in dtype dt. noise > 0 adds noise*rms*N(0,1) to every conv and
    dense output. Returns (logits, loss, {grad}, {buffer}, infer_logits)."""
    m = build(arch, width)
    load_named(m, W0)
    m = m.to(dt).train()
    if noise:
        gen = torch.Generator().manual_seed(seed)

        def hook(mod, inp, out):
            return out + noise * out.std() * torch.randn(out.shape, generator=gen, dtype=out.dtype)
        for mod in m.modules():
            if isinstance(mod, (nn.Conv2d, nn.Linear)):
                mod.register_forward_hook(hook)
    xt = torch.from_numpy(x).to(dt)
    logits = m(xt)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    grads = {k: p.grad.double().numpy() for k, p in m.named_parameters()}
    bufs = {k: b.double().numpy() for k, b in m.named_buffers()
            if not k.endswith("num_batches_tracked")}
    m.eval()
    with torch.no_grad():
        inf = m(xt)
    return logits.detach().double().numpy(), loss.item(), grads, bufs, inf.double().numpy()


def update_err(ours, new, w0):
    """max over a tensor of |ours - new|, less 2 float ulps of the weight
    (the rounding of the stored result), over max |new - w0|."""
    a, b, w = (np.asarray(v, np.float64) for v in (ours, new, w0))
    slack = 2 * np.finfo(np.float32).eps * np.maximum(np.abs(a), np.abs(b))
    d = np.maximum(np.abs(a - b) - slack, 0).max()
    return float(d / max(np.abs(b - w).max(), 1e-30))


def parity(model_path, dump_path):
    meta, W0 = ferfile.read_model(model_path)
    dump = {r.name: r for r in ferfile.read(dump_path)}
    cfg = ferfile.parse_meta(dump["config"].meta)
    arch, width = meta["arch"], float(meta["width"])
    tag = "%s_w%g" % (arch, width)
    x = dump["x"].array
    labels = torch.from_numpy(dump["labels"].array.astype(np.int64))
    rep = Report()

    # training forward, loss, backward; inference forward: torch in double
    # is the reference, torch in float shows its own error for scale
    ref = train_step(arch, width, W0, x, labels, torch.float64)
    f32 = train_step(arch, width, W0, x, labels, torch.float32)
    print("# %s: torch float32 vs float64, for scale: logits %.1e, grads %.1e (%s)" %
          ((tag, rel(f32[0], ref[0])) + worst_of([(k, f32[2][k], ref[2][k]) for k in ref[2]])))
    rep.check(tag + "_logits", rel(dump["logits"].array, ref[0]), 1e-4)
    rep.check(tag + "_loss", abs(float(dump["loss"].array[0]) - ref[1]) / abs(ref[1]), 1e-4)
    names = [k for k in ref[2]]
    missing = [k for k in names if "grad/" + k not in dump]
    if missing:
        print("FAIL %s_grads: no gradient from fer for %s" % (tag, missing[:5]))
        rep.failed += 1
    else:
        # A pre-activation within float rounding of 0 can fall on either side
        # of a ReLU; each one that does flips a whole gradient element, and
        # gradients of weights under training-mode batch norm are small
        # differences of large sums: any two float implementations may then
        # differ by 1e-3 and more. The tolerance per tensor is 1e-4, or,
        # where larger, 4x the largest spread of 3 runs of torch in double when every conv and
        # dense output gets noise of 1e-6 of its rms (float rounding).
        spread = {k: 0.0 for k in names}
        for s in range(SPREAD_RUNS):
            g = train_step(arch, width, W0, x, labels, torch.float64, noise=1e-6, seed=s)[2]
            for k in names:
                spread[k] = max(spread[k], rel(g[k], ref[2][k]))
        rows = []   # (error / tolerance, error, tolerance, name)
        for k in names:
            tol = max(1e-4, 4 * spread[k])
            e = rel(dump["grad/" + k].array.reshape(ref[2][k].shape), ref[2][k])
            rows.append((e / tol, e, tol, k))
        widened = sum(r[2] > 1e-4 for r in rows)
        ratio, e, tol, at = max(rows)
        raw = max(rows, key=lambda r: r[1])
        name = tag + "_grads"
        msg = ("worst error/tolerance %.2f at %s (%.2e, tolerance %.1e); largest error %.2e at %s;"
               " %d of %d tolerances widened by the kink spread" %
               (ratio, at, e, tol, raw[1], raw[3], widened, len(rows)))
        if ratio <= 1:
            print("ok %s (%s)" % (name, msg))
        else:
            print("FAIL %s: %s" % (name, msg))
            rep.failed += 1
    rep.check(tag + "_running_stats",
              worst_of([(k, dump["train/" + k].array, v) for k, v in ref[3].items()]), tol=1e-4)
    rep.check(tag + "_infer_logits", rel(dump["infer_logits"].array, ref[4]), 1e-4)

    # optimisers: torch's in float from fer's start weights and fer's
    # gradients, two steps with the same gradient
    grads = {k: dump["grad/" + k].array for k in names if "grad/" + k in dump}
    mu = float(cfg["momentum"])
    for opt in ("sgd", "sgd_nesterov", "adam", "adamw"):
        lr, wd = float(cfg[opt + ".lr"]), float(cfg[opt + ".weight_decay"])
        m = build(arch, width)
        load_named(m, W0)
        params = dict(m.named_parameters())
        plist = [params[k] for k in names]
        if opt.startswith("sgd"):
            o = torch.optim.SGD(plist, lr=lr, momentum=mu, weight_decay=wd,
                                nesterov=opt == "sgd_nesterov")
        else:
            cls = torch.optim.Adam if opt == "adam" else torch.optim.AdamW
            o = cls(plist, lr=lr, betas=(float(cfg["beta1"]), float(cfg["beta2"])),
                    eps=float(cfg["eps"]), weight_decay=wd)
        for _ in range(2):
            for k in names:
                params[k].grad = torch.from_numpy(grads[k].reshape(params[k].shape).copy())
            o.step()
        new = {k: params[k].detach().double().numpy() for k in names}
        try:
            ours = {k: dump["%s/%s" % (opt, k)].array.reshape(new[k].shape) for k in names}
        except KeyError as e:
            print("FAIL %s_%s: fer wrote no %s" % (tag, opt, e))
            rep.failed += 1
            continue
        rep.check("%s_%s_weights" % (tag, opt),
                  worst_of([(k, ours[k], new[k]) for k in names]), tol=1e-5)
        # the change itself, relative to its largest element per tensor
        worst, at = max((update_err(ours[k], new[k], W0[k]), k) for k in names)
        rep.check("%s_%s_update" % (tag, opt), (worst, at), 1e-4)
    return rep.failed


def tv_random(out, seed, stem48):
    torch.manual_seed(seed)
    m = resnet18(7 if stem48 else 1000, stem48)
    if stem48:  # random batch-norm statistics and affine parameters too
        with torch.no_grad():
            for k, v in m.state_dict().items():
                if k.endswith("num_batches_tracked"):
                    continue
                if "running_var" in k:
                    v.uniform_(0.5, 1.5)
                elif "running_mean" in k:
                    v.uniform_(-0.2, 0.2)
                elif "bn" in k or "downsample.1" in k:
                    v.uniform_(0.6, 1.4) if k.endswith("weight") else v.uniform_(-0.1, 0.1)
                elif k.endswith("fc.bias"):
                    v.uniform_(-0.1, 0.1)
    torch.save(m.state_dict(), out)
    return 0


def tv_forward(pth, dump_path):
    """The 48x48 torchvision model of pth, inference mode, on the dump's x,
    against fer's infer_logits."""
    sd = torch.load(pth, map_location="cpu")
    m = resnet18(sd["fc.weight"].shape[0], True)
    m.load_state_dict(sd)
    dump = {r.name: r for r in ferfile.read(dump_path)}
    m = m.double().eval()
    with torch.no_grad():
        ref = m(torch.from_numpy(dump["x"].array).double()).numpy()
    rep = Report()
    rep.check("converter_forward_48", rel(dump["infer_logits"].array, ref), 1e-4)
    return rep.failed


def fold_check(pth, fer_path):
    """The gray fold of torchvision2fer: torchvision's conv1 (resized to 3x3
    on RGB, as the converter resizes it) and bn1 in inference mode, on a gray
    image replicated to RGB with ImageNet normalisation, against fer's
    folded conv1 and bn1 on the same gray image with the model's mean/std;
    interior pixels (the window inside the image) must agree."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
    import torchvision2fer as t2f
    sd = {k: v.numpy() for k, v in torch.load(pth, map_location="cpu").items()}
    meta, fer = ferfile.read_model(fer_path)
    mean, std = float(meta["mean"]), float(meta["std"])
    g = torch.rand(2, 1, 20, 23, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    m = torch.tensor(t2f.IMAGENET_MEAN, dtype=torch.float64).view(1, 3, 1, 1)
    s = torch.tensor(t2f.IMAGENET_STD, dtype=torch.float64).view(1, 3, 1, 1)
    w_rgb = torch.from_numpy(t2f.shrink_stem(sd["conv1.weight"].astype(np.float64), "resize"))

    def stem(x, w, rm):
        y = F.conv2d(x, w, padding=1)
        return F.batch_norm(y, torch.from_numpy(rm).double(),
                            torch.from_numpy(sd["bn1.running_var"]).double(),
                            torch.from_numpy(sd["bn1.weight"]).double(),
                            torch.from_numpy(sd["bn1.bias"]).double(), False, 0.0, 1e-5)
    ref = stem((g.expand(-1, 3, -1, -1) - m) / s, w_rgb, sd["bn1.running_mean"])
    ours = stem((g - mean) / std, torch.from_numpy(fer["conv1.weight"]).double(),
                fer["bn1.running_mean"])
    rep = Report()
    rep.check("converter_gray_fold_interior",
              rel(ours[..., 1:-1, 1:-1].numpy(), ref[..., 1:-1, 1:-1].numpy()), 1e-5)
    return rep.failed


def replica():
    """Same state_dict names and shapes and the same outputs as torchvision."""
    if torchvision is None:
        print("skip replica: torchvision not importable")
        return 0
    rep = Report()
    for stem48 in (False, True):
        torch.manual_seed(3)
        a, b = resnet18(7, stem48, True), resnet18(7, stem48, False)
        sa, sb = a.state_dict(), b.state_dict()
        same = list(sa) == list(sb) and all(sa[k].shape == sb[k].shape for k in sa)
        name = "replica_names%s" % ("_48" if stem48 else "")
        print(("ok %s" if same else "FAIL %s: state_dict names or shapes differ") % name)
        rep.failed += not same
        b.load_state_dict(sa)
        x = torch.randn(3, 1 if stem48 else 3, 48 if stem48 else 64, 48 if stem48 else 64)
        with torch.no_grad():
            ya, yb = a.double().eval()(x.double()), b.double().eval()(x.double())
        rep.check("replica_forward%s" % ("_48" if stem48 else ""), rel(yb, ya), 1e-12)
    return rep.failed


def main(argv):
    torch.manual_seed(0)
    if len(argv) == 3 and argv[0] == "parity":
        return parity(argv[1], argv[2])
    if len(argv) in (3, 4) and argv[0] == "tv-random":
        return tv_random(argv[1], int(argv[2]), len(argv) == 4 and argv[3] == "48")
    if len(argv) == 3 and argv[0] == "tv-forward":
        return tv_forward(argv[1], argv[2])
    if len(argv) == 3 and argv[0] == "fold-check":
        return fold_check(argv[1], argv[2])
    if len(argv) == 1 and argv[0] == "replica":
        return replica()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(1 if main(sys.argv[1:]) else 0)

"""torch_net.py: the PyTorch half of bench/net.sh; the same measurement as
bench_net.c, on the same three networks (tests/fer_torch.py's definitions,
imported by path).

    torch_net.py ARCH MODE BATCH [SECONDS [THREADS [PRECISION [DEVICE]]]]

ARCH cnn | ff | resnet18 with fer's defaults (width 1; dropouts cnn 0.25 and
0.5, ff 0.2, as lib/model.c; 7 classes; 1x48x48); a cnn of other stages or
width is named cnn,stages=S,width=W (either or both, as fer-train's
--stages and --width; bench/classify.sh measures a model file's net so). MODE train: one SGD step
(momentum 0.9, lr 0.01) per batch: preprocess, forward in training mode,
cross-entropy, backward, update. MODE infer: preprocess and a forward in
eval mode under no_grad. torch.set_num_threads(THREADS), default 2.
PRECISION fp32 (default) or bf16: the forward pass and the loss under
torch.autocast("cpu", dtype=torch.bfloat16), the way a PyTorch user turns
bf16 on (oneDNN's bf16 convolutions and matrix products; the weights and
the optimiser stay fp32).
DEVICE cpu (default) or cuda: on the GPU the model and batch move there in
channels-last layout with cuDNN's autotuner on (cudnn.benchmark), bf16 is
torch.autocast("cuda", dtype=torch.bfloat16), tf32 allows TF32 in cuDNN
and matmuls, and each timed stretch ends with torch.cuda.synchronize():
PyTorch + cuDNN as a user would run it, for scripts/gpu-check.sh.

One batch of seeded random pixels and labels; a warm-up of at least one
step (up to 0.5 s), then steps until SECONDS (default 4) have passed and at
least 2 have run. Prints one line as bench_net does:
    impl=torch net=cnn mode=train batch=32 threads=2 steps=9 seconds=4.02
    img_s=71.6 peak_mb=610.2 base_mb=402.7
peak_mb is ru_maxrss of this process (the Python interpreter and torch's
libraries included), base_mb the same just after the imports, before the
model is built: peak_mb - base_mb is what the network itself cost.
"""
import importlib.util
import os
import resource
import sys
import time


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def usage():
    sys.stderr.write("usage: torch_net.py cnn[,stages=S][,width=W]|ff|resnet18 train|infer BATCH "
                     "[SECONDS [THREADS [fp32|tf32|bf16 [cpu|cuda]]]]\n")
    sys.exit(2)


def main(argv):
    arch, _, spec = argv[1].partition(",") if len(argv) > 1 else ("", "", "")
    shape = {"stages": 3, "width": 1.0}
    try:
        for kv in filter(None, spec.split(",")):
            k, v = kv.split("=")
            shape[k] = {"stages": int, "width": float}[k](v)
    except (KeyError, ValueError):
        usage()
    if not 4 <= len(argv) <= 8 or arch not in ("cnn", "ff", "resnet18") \
            or (spec and arch != "cnn") \
            or argv[2] not in ("train", "infer") \
            or (len(argv) > 6 and argv[6] not in ("fp32", "tf32", "bf16")) \
            or (len(argv) > 7 and argv[7] not in ("cpu", "cuda")):
        usage()
    mode = argv[2]
    try:
        batch = int(argv[3])
        seconds = float(argv[4]) if len(argv) > 4 else 4.0
        threads = int(argv[5]) if len(argv) > 5 else 2
    except ValueError as e:
        sys.stderr.write("torch_net.py: %s\n" % e)
        usage()
    train = mode == "train"
    precision = argv[6] if len(argv) > 6 else "fp32"
    device = argv[7] if len(argv) > 7 else "cpu"
    if precision == "tf32" and device != "cuda":
        usage()
    if batch < (2 if train else 1) or not 0.01 <= seconds <= 3600 or threads < 1:
        usage()

    import torch
    import torch.nn.functional as F
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location(
        "fer_torch", os.path.join(here, "..", "tests", "fer_torch.py"))
    fer_torch = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fer_torch)
    base = peak_mb()

    torch.set_num_threads(threads)
    torch.manual_seed(1)
    dropout = {"cnn": (0.25, 0.5), "ff": (0.2, 0.0), "resnet18": (0.0, 0.0)}[arch]
    model = fer_torch.build(arch, shape["width"], dropout[0], dropout[1], 7, shape["stages"])
    model.train(train)
    g = torch.Generator().manual_seed(1)
    px = torch.randint(0, 256, (batch, 1, 48, 48), dtype=torch.uint8, generator=g)
    y = torch.randint(0, 7, (batch,), generator=g)
    sync = lambda: None
    if device == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cudnn.allow_tf32 = precision == "tf32"
        torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
        model = model.cuda().to(memory_format=torch.channels_last)
        px, y = px.cuda(), y.cuda()
        sync = torch.cuda.synchronize
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9) if train else None
    mean, std = 0.5, 0.25   # fer's model.h defaults: x = (pixel/255 - mean) / std

    def autocast():
        return torch.autocast(device, dtype=torch.bfloat16, enabled=precision == "bf16")

    def step():
        x = (px.float() / 255.0 - mean) / std
        if device == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        if not train:
            with torch.no_grad(), autocast():
                model(x)
            return
        opt.zero_grad(set_to_none=True)
        with autocast():
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    t0 = time.monotonic()
    step()
    while time.monotonic() - t0 < 0.5:
        step()
    sync()
    steps = 0
    t0 = time.monotonic()
    while True:
        step()
        steps += 1
        sync()
        t = time.monotonic() - t0
        if t >= seconds and steps >= 2:
            break
    print("impl=torch net=%s mode=%s batch=%d threads=%d precision=%s device=%s steps=%d "
          "seconds=%.3f img_s=%.2f peak_mb=%.1f base_mb=%.1f"
          % (argv[1], mode, batch, torch.get_num_threads(), precision, device, steps, t,
             steps * batch / t, peak_mb(), base))


if __name__ == "__main__":
    main(sys.argv)

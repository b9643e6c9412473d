#!/usr/bin/env python3
"""detect_score: recall and precision of face boxes against the shared
photos' ground truth (../shared/faces/reference.csv, manifest.csv).

    python3 bench/detect_score.py FACES NAME=boxes.txt...

Each boxes file holds fer-detect --boxes lines ("path frame x y w h
[score]"; the file name is the path's last part). For each detector it
prints one Markdown table row:

  - recall: the ground-truth faces of min(w, h) >= 20 px matched by a box
    at IoU >= 0.5, over those faces, on every photo with ground truth
    (gt_status complete or partial); boxes are matched one to one, best
    score first (Haar's, which have none, in their order), a box taking the
    unmatched face it overlaps most;
  - precision: the boxes matching a ground-truth face (of any size) over all
    boxes, on the photos whose ground truth is complete (negatives
    included); partial ones would count unmarked faces as false;
  - recall by size band (min(w, h): 20-39, 40-79, 80-159, >= 160 px), and of
    the faces under 20 px, for information.

Standard library only.
"""
import csv
import os
import sys

BANDS = [(20, 40), (40, 80), (80, 160), (160, 1 << 30)]


def iou(a, b):
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0, min(ax1, bx1) - max(a[0], b[0]))
    ih = max(0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0


def load_truth(faces):
    status, gt = {}, {}
    with open(os.path.join(faces, "manifest.csv")) as f:
        for r in csv.DictReader(f):
            status[r["file"]] = r["gt_status"]
    with open(os.path.join(faces, "reference.csv")) as f:
        for r in csv.DictReader(f):
            if r["source_kind"] == "gt":
                gt.setdefault(r["file"], []).append(tuple(int(r[k]) for k in "xywh"))
    return status, gt


def load_boxes(path):
    out = {}
    with open(path) as f:
        for n, line in enumerate(f):
            p = line.split()
            if len(p) < 6:
                continue
            score = float(p[6]) if len(p) > 6 else -n    # Haar: keep the order
            out.setdefault(os.path.basename(p[0]), []).append(
                (tuple(int(v) for v in p[2:6]), score))
    return out


def match(gts, dets):
    """Indices of matched gt faces and the number of matched boxes."""
    taken, hits = set(), 0
    for box, _ in sorted(dets, key=lambda d: -d[1]):
        best, bi = 0.5, -1
        for i, g in enumerate(gts):
            if i not in taken:
                v = iou(box, g)
                if v >= best:
                    best, bi = v, i
        if bi >= 0:
            taken.add(bi)
            hits += 1
    return taken, hits


def score(status, gt, dets):
    found = [0] * (len(BANDS) + 1)
    total = [0] * (len(BANDS) + 1)
    tp = nb = 0
    for file, st in status.items():
        if st not in ("complete", "partial"):
            continue
        gts, d = gt.get(file, []), dets.get(file, [])
        taken, hits = match(gts, d)
        for i, g in enumerate(gts):
            s = min(g[2], g[3])
            band = next((k for k, (lo, hi) in enumerate(BANDS) if lo <= s < hi), len(BANDS))
            total[band] += 1
            found[band] += i in taken
        if st == "complete":
            tp += hits
            nb += len(d)
    return found, total, tp, nb


def frac(a, b):
    return "%.2f" % (a / b) if b else "-"


def main():
    if len(sys.argv) < 3:
        sys.stderr.write("usage: detect_score.py FACES NAME=boxes.txt...\n")
        return 2
    status, gt = load_truth(sys.argv[1])
    print("| detector | recall >= 20 px | precision | boxes | 20-39 | 40-79 | 80-159 | >= 160 |"
          " < 20 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for arg in sys.argv[2:]:
        name, path = arg.split("=", 1)
        found, total, tp, nb = score(status, gt, load_boxes(path))
        f20, t20 = sum(found[:-1]), sum(total[:-1])
        bands = " | ".join("%s (%d/%d)" % (frac(found[k], total[k]), found[k], total[k])
                           for k in range(len(BANDS) + 1))
        print("| %s | %s (%d/%d) | %s (%d/%d) | %d | %s |" % (name, frac(f20, t20), f20, t20,
                                                           frac(tp, nb), tp, nb, nb, bands))
    return 0


if __name__ == "__main__":
    sys.exit(main())

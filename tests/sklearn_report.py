"""Checks fer-eval's JSON report against scikit-learn.

    sklearn_report.py report.json predictions.csv

predictions.csv is fer-eval --predictions output (index,label,pred,p_<class>...).
From its label and pred columns, scikit-learn's accuracy_score,
confusion_matrix and classification_report (labels 0..k-1, zero_division=0)
are recomputed and compared with the JSON within 1e-6 (the JSON holds 6
decimals). Each row's probabilities must sum to 1 and pred must be their
argmax (both within the CSV's 6 significant digits).

Prints "ok NAME" / "FAIL NAME: why" lines (tests/lib.sh style); exits 1 on a
failure, 3 when scikit-learn is missing (the caller prints a skip line).
"""
import csv
import json
import sys

try:
    import numpy as np
    from sklearn.metrics import accuracy_score, classification_report, confusion_matrix
except ImportError:
    sys.exit(3)

TOL = 1e-6          # the JSON's 6 decimals round by at most 5e-7
PTOL = 1e-4         # k probabilities of 6 significant digits each

failed = False


def result(name, ok, why=""):
    global failed
    if ok:
        print("ok " + name)
    else:
        print("FAIL %s: %s" % (name, why))
        failed = True


def read_predictions(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    head, body = rows[0], rows[1:]
    if head[:3] != ["index", "label", "pred"] or not all(h.startswith("p_") for h in head[3:]):
        raise SystemExit("%s: unexpected header %s" % (path, head))
    names = [h[2:] for h in head[3:]]
    idx = np.array([int(r[0]) for r in body])
    label = np.array([int(r[1]) for r in body])
    pred = np.array([int(r[2]) for r in body])
    probs = np.array([[float(v) for v in r[3:]] for r in body])
    return names, idx, label, pred, probs


def compare(report_path, pred_path):
    with open(report_path) as f:
        rep = json.load(f)
    names, idx, y, p, probs = read_predictions(pred_path)
    k = len(names)
    labels = list(range(k))

    result("csv_index", list(idx) == list(range(len(idx))), "index column is not 0..n-1")
    sums = probs.sum(axis=1)
    worst = int(np.argmax(abs(sums - 1)))
    result("probs_sum_to_1", abs(sums[worst] - 1) <= PTOL,
           "row %d sums to %.8f" % (worst, sums[worst]))
    top = probs.max(axis=1)
    chosen = probs[np.arange(len(p)), p]
    bad = np.nonzero(chosen < top - 1e-6)[0]
    result("pred_is_argmax", len(bad) == 0,
           "row %d: pred %d has p %g, the largest is %g" % (bad[0], p[bad[0]], chosen[bad[0]],
                                                             top[bad[0]]) if len(bad) else "")

    result("classes", rep["classes"] == names, "%s vs %s" % (rep["classes"], names))
    result("n", rep["n"] == len(y), "%s vs %d" % (rep["n"], len(y)))
    acc = accuracy_score(y, p)
    result("accuracy", abs(rep["accuracy"] - acc) <= TOL, "%s vs %.8f" % (rep["accuracy"], acc))
    cm = confusion_matrix(y, p, labels=labels)
    result("confusion_matrix", np.array_equal(np.array(rep["confusion"]), cm),
           "%s vs %s" % (rep["confusion"], cm.tolist()))

    cr = classification_report(y, p, labels=labels, target_names=names, zero_division=0,
                               output_dict=True)
    bad = []
    for key, got in [(n, rep["per_class"][n]) for n in names] + \
                    [("macro avg", rep["macro avg"]), ("weighted avg", rep["weighted avg"])]:
        want = cr[key]
        for field in ("precision", "recall", "f1-score"):
            if abs(got[field] - want[field]) > TOL:
                bad.append("%s %s %s vs %.8f" % (key, field, got[field], want[field]))
        if got["support"] != want["support"]:
            bad.append("%s support %s vs %s" % (key, got["support"], want["support"]))
    result("classification_report", not bad, "; ".join(bad[:4]))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: sklearn_report.py report.json predictions.csv")
    compare(sys.argv[1], sys.argv[2])
    sys.exit(1 if failed else 0)

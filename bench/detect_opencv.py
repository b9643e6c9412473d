"""detect_opencv.py: OpenCV's side of bench/detect.sh.

    detect_opencv.py THREADS CASCADE FILE...

Runs what fer-detect does by default on every file (imread, BGR2GRAY,
detectMultiScale with scale 1.1, 5 neighbours, min size 30) with
cv2.setNumThreads(THREADS), and prints the wall time of that work in
milliseconds (one number; the interpreter's start and the cascade's loading
are not counted) and the number of faces found.
"""
import sys
import time

import cv2


def main():
    threads, cascade, files = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    cv2.setNumThreads(threads)
    face = cv2.CascadeClassifier(cascade)
    if face.empty():
        sys.exit("detect_opencv: cannot load " + cascade)
    nfaces = 0
    t0 = time.perf_counter()
    for f in files:
        img = cv2.imread(f, cv2.IMREAD_COLOR)
        gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        nfaces += len(face.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5,
                                            minSize=(30, 30)))
    print("%.1f %d" % ((time.perf_counter() - t0) * 1000, nfaces))


if __name__ == "__main__":
    main()

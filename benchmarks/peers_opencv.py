"""Run OpenCV dnn_superres peer models on a folder of PNGs (a helper of bench_quality.py).

OpenCV 5 dropped the TensorFlow importer these ``.pb`` models need, so bench_quality.py can run
this file under another interpreter with OpenCV 4.x (``--peer-python``):

    python peers_opencv.py --scale 2 --peers DIR --inp LR_DIR --out SR_DIR

Writes SR_DIR/<model>/<name>.png for every model of that scale found in DIR. Images are read and
written as BGR PNGs, the order OpenCV's models expect.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2

MODELS = [
    ("espcn", "ESPCN"),
    ("fsrcnn", "FSRCNN"),
    ("fsrcnn", "FSRCNN-small"),
    ("lapsrn", "LapSRN"),
]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=int, required=True)
    ap.add_argument("--peers", type=Path, required=True)
    ap.add_argument("--inp", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    for algo, stem in MODELS:
        p = a.peers / f"{stem}_x{a.scale}.pb"
        if not p.is_file():
            continue
        sr = cv2.dnn_superres.DnnSuperResImpl_create()
        sr.readModel(str(p))
        sr.setModel(algo, a.scale)
        (a.out / stem).mkdir(parents=True, exist_ok=True)
        for f in sorted(a.inp.glob("*.png")):
            cv2.imwrite(str(a.out / stem / f.name), sr.upsample(cv2.imread(str(f))))
    return 0


if __name__ == "__main__":
    sys.exit(main())

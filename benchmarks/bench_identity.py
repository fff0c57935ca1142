"""Identity and PSNR of every shipped weight set, on one set of faces, in one process.

The same measures as ``streamsr eval --identity`` (dlib's ResNet embedding; landmarks found on
the original; paired difference against bicubic with a 95 % bootstrap CI; rank-1 among the
originals), but the originals' and bicubic's embeddings are computed once per scale and
protocol and shared by every weight set, so that the whole table costs one embedding per face
and weight set.

    python benchmarks/bench_identity.py --data ../shared/data/faces/train/hq \
        ../shared/data/faces/train/utkface --holdout [--scales 2 3 4] [--arch fsrcnn-s ...] \
        [--size 128] [--weights candidate.pt ...] [--json out.json]

``--size`` sets the side of the original face crops (default 252, as ``streamsr eval``): at
128 px a x4 face is 32 px across, as small as the faces of a wide surveillance shot, and
rank-1 among the originals stops being 100 % for every method. ``--weights`` adds weights
files that are not shipped (a training candidate), each at the scale its metadata names.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from streamsr.enhance import load_enhancer
from streamsr.enhance._weights import WEIGHTS_DIR, load_weights_file
from streamsr.training import classic_methods, face_crops, find_images
from streamsr.training._dataset import is_validation
from streamsr.training._degrade import EVAL_DEGRADATIONS
from streamsr.training._eval import HR_SIZE
from streamsr.training._identity import IdentityModel, identity_report
from streamsr.training._metrics import psnr_y


def shipped(scales: list[int], archs: list[str] | None) -> list[tuple[str, int, str, Path]]:
    """(arch, scale, name, path) of every shipped weights file of ``scales`` (and ``archs``)."""
    out = []
    for p in sorted(WEIGHTS_DIR.glob("*_x*_*.pt")):
        arch, sx, variant = p.stem.rsplit("_", 2)
        s = int(sx[1:])
        if s in scales and (archs is None or arch in archs):
            out.append((arch, s, variant, p))
    return out


def candidates(paths: list[Path]) -> list[tuple[str, int, str, Path]]:
    """(arch, scale, name, path) of weights files named on the command line."""
    out = []
    for p in paths:
        _, meta = load_weights_file(p)
        out.append((str(meta["arch"]), int(meta["scale"]), p.stem, p))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", nargs="+", required=True)
    ap.add_argument("--holdout", action="store_true", help="only held-out training files")
    ap.add_argument("--scales", nargs="+", type=int, default=[2, 3, 4])
    ap.add_argument("--arch", nargs="+", help="only these networks")
    ap.add_argument("--degrade", nargs="+", default=["clean", "realistic"])
    ap.add_argument("--size", type=int, default=HR_SIZE, help="side of the original face crops")
    ap.add_argument("--weights", type=Path, nargs="+", default=[], help="extra weights files")
    ap.add_argument("--no-shipped", action="store_true", help="only the --weights files")
    ap.add_argument("--json", metavar="PATH")
    a = ap.parse_args(argv)
    if bad := [s for s in a.scales if a.size % s]:
        print(f"--size {a.size} is not divisible by scale {bad[0]}", file=sys.stderr)
        return 2
    paths = find_images(a.data)
    if a.holdout:
        paths = [p for p in paths if is_validation(p)]
    crops = face_crops(paths, size=a.size).crops
    if len(crops) < 2:
        print(f"only {len(crops)} face crops found", file=sys.stderr)
        return 2
    ident = IdentityModel()
    marks = [ident.landmarks(hr) for hr in crops]
    originals = np.array([ident.embed(hr, m) for hr, m in zip(crops, marks, strict=True)])
    extra = candidates(a.weights)
    rows = []
    for scale in a.scales:
        sets = [] if a.no_shipped else shipped([scale], a.arch)
        sets += [c for c in extra if c[1] == scale]
        bic_fn = classic_methods(scale)["bicubic"]
        for degrade in a.degrade:
            rng = np.random.default_rng(0)  # as streamsr eval: the same LR for every method
            lrs = [EVAL_DEGRADATIONS[degrade].apply(hr, scale, rng) for hr in crops]
            bic = [bic_fn(lr) for lr in lrs]
            emb = {
                "bicubic": np.array([ident.embed(b, m) for b, m in zip(bic, marks, strict=True)])
            }
            psnr = {
                "bicubic": float(
                    np.mean([psnr_y(b, hr, shave=scale) for b, hr in zip(bic, crops, strict=True)])
                )
            }
            for arch, s, variant, path in sets:
                e = load_enhancer(s, arch=arch, weights=path, backend="auto")
                srs = [e.enhance([lr])[0] for lr in lrs]
                key = f"{arch}/{variant}"
                emb[key] = np.array([ident.embed(x, m) for x, m in zip(srs, marks, strict=True)])
                psnr[key] = float(
                    np.mean([psnr_y(x, hr, shave=scale) for x, hr in zip(srs, crops, strict=True)])
                )
            rep = identity_report(originals, emb)
            for key, r in rep.items():
                rows.append(
                    {
                        "scale": scale,
                        "degrade": degrade,
                        "weights": key,
                        "psnr_gain": round(psnr[key] - psnr["bicubic"], 3),
                        **r,
                    }
                )
    print(f"{len(crops)} faces; identity: dlib ResNet embedding distance to the original")
    print(
        f"{'x':<3}{'protocol':<11}{'weights':<22}{'PSNR gain':>10}{'distance':>10}{'vs bicubic':>12}{'95% CI':>20}{'rank-1':>8}"
    )
    for r in rows:
        ci = f"[{r['diff_ci95'][0]:+.4f}, {r['diff_ci95'][1]:+.4f}]" if "diff_ci95" in r else ""
        vs = f"{r['diff_percent']:+.1f}%" if "diff_percent" in r else ""
        print(
            f"{r['scale']:<3}{r['degrade']:<11}{r['weights']:<22}{r['psnr_gain']:>+10.2f}"
            f"{r['distance']:>10.4f}{vs:>12}{ci:>20}{100 * r['rank1']:>7.1f}%"
        )
    if a.json:
        Path(a.json).write_text(json.dumps({"faces": len(crops), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

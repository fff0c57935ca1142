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

``--identify DIR`` asks instead what a watch list asks: is the enhanced face recognised from
*another* photo of the person? ``DIR`` holds one folder per person (LFW's layout,
``../shared/data/faces/train/lfw``). Each person's first photo goes into the gallery (all of
them, one per person, as distractors too); the second photo of everyone who has two is a probe,
degraded, upscaled by each method and compared with the whole gallery. Reported per method:
rank-1 (the nearest gallery photo is the person's), the share within dlib's 0.6 same-person
threshold, the mean distance to the person's gallery photo, and, against bicubic, the paired
differences of distance and rank-1 with 95 % bootstrap intervals; ``original`` is the probe's
own undegraded crop, the ceiling. ``--size 128`` fits LFW (its faces are about 120 px).

    python benchmarks/bench_identity.py --identify ../shared/data/faces/train/lfw --size 128 \
        --scales 2 4 --arch espcn espcn-s [--max-probes 600] [--json out.json]
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
from streamsr.training._identity import (
    IdentityModel,
    identification_report,
    identity_report,
)
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


def one_face(paths: list[Path], size: int) -> dict[int, np.ndarray]:
    """The largest face crop of each image (by index into ``paths``); images with none are
    left out."""
    fc = face_crops(paths, size=size)
    best: dict[int, tuple[int, np.ndarray]] = {}
    for crop, k, side in zip(fc.crops, fc.sources, fc.sides, strict=True):
        if k not in best or side > best[k][0]:
            best[k] = (side, crop)
    return {k: c for k, (_, c) in best.items()}


def identify(a: argparse.Namespace) -> int:
    """The ``--identify`` table (see the module docstring)."""
    root = Path(a.identify)
    if not root.is_dir():
        print(f"--identify: {root} is not a folder", file=sys.stderr)
        return 2
    persons = {d.name: find_images([d]) for d in sorted(root.iterdir()) if d.is_dir()}
    names = list(persons)
    gallery_paths = [persons[n][0] for n in names]
    probe_names = [n for n in names if len(persons[n]) >= 2][: a.max_probes]
    g_crops = one_face(gallery_paths, a.size)
    p_crops = one_face([persons[n][1] for n in probe_names], a.size)
    gallery_ids = [names[k] for k in sorted(g_crops)]
    probes = [
        (probe_names[k], p_crops[k]) for k in sorted(p_crops) if probe_names[k] in set(gallery_ids)
    ]
    if len(probes) < 2:
        print(
            f"--identify: only {len(probes)} people with two usable photos in {root}",
            file=sys.stderr,
        )
        return 2
    ident = IdentityModel()
    gallery = np.array(
        [ident.embed(c, ident.landmarks(c)) for c in (g_crops[k] for k in sorted(g_crops))]
    )
    probe_ids = [n for n, _ in probes]
    hrs = [c for _, c in probes]
    marks = [ident.landmarks(hr) for hr in hrs]
    ceiling = np.array([ident.embed(hr, m) for hr, m in zip(hrs, marks, strict=True)])
    extra = candidates(a.weights)
    rows = []
    for scale in a.scales:
        sets = [] if a.no_shipped else shipped([scale], a.arch)
        sets += [c for c in extra if c[1] == scale]
        bic_fn = classic_methods(scale)["bicubic"]
        for degrade in a.degrade:
            rng = np.random.default_rng(0)
            lrs = [EVAL_DEGRADATIONS[degrade].apply(hr, scale, rng) for hr in hrs]
            outs = {"original": hrs, "bicubic": [bic_fn(lr) for lr in lrs]}
            for arch, s, variant, path in sets:
                e = load_enhancer(s, arch=arch, weights=path, backend="auto")
                outs[f"{arch}/{variant}"] = [e.enhance([lr])[0] for lr in lrs]
            emb = {"original": ceiling}
            psnr = {}
            for key, xs in outs.items():
                if key != "original":
                    emb[key] = np.array([ident.embed(x, m) for x, m in zip(xs, marks, strict=True)])
                psnr[key] = float(
                    np.mean([psnr_y(x, hr, shave=scale) for x, hr in zip(xs, hrs, strict=True)])
                )
            rep = identification_report(gallery, gallery_ids, emb, probe_ids)
            for key, r in rep.items():
                gain = psnr[key] - psnr["bicubic"] if key != "original" else float("nan")
                rows.append(
                    {
                        "scale": scale,
                        "degrade": degrade,
                        "weights": key,
                        "psnr_gain": round(gain, 3),
                        **r,
                    }
                )
    print(
        f"{len(gallery_ids)} people in the gallery, {len(probes)} probes (another photo of one of "
        f"them), {a.size} px crops; dlib ResNet embedding"
    )
    print(
        f"{'x':<3}{'protocol':<11}{'weights':<22}{'PSNR gain':>10}{'rank-1':>8}{'vs bicubic':>11}"
        f"{'95% CI':>18}{'<0.6':>7}{'distance':>10}{'vs bicubic':>11}{'95% CI':>20}"
    )
    for r in rows:

        def pct(v: float) -> str:
            return f"{100 * v:+.1f}"

        rk = f"{pct(r['rank1_diff'])}" if "rank1_diff" in r else ""
        rkci = (
            f"[{pct(r['rank1_diff_ci95'][0])}, {pct(r['rank1_diff_ci95'][1])}]"
            if "rank1_diff" in r
            else ""
        )
        dd = f"{r['diff_vs_bicubic']:+.4f}" if "diff_vs_bicubic" in r else ""
        ddci = f"[{r['diff_ci95'][0]:+.4f}, {r['diff_ci95'][1]:+.4f}]" if "diff_ci95" in r else ""
        print(
            f"{r['scale']:<3}{r['degrade']:<11}{r['weights']:<22}{r['psnr_gain']:>+10.2f}"
            f"{100 * r['rank1']:>7.1f}%{rk:>11}{rkci:>18}{100 * r['verified']:>6.1f}%"
            f"{r['distance']:>10.4f}{dd:>11}{ddci:>20}"
        )
    if a.json:
        Path(a.json).write_text(
            json.dumps({"gallery": len(gallery_ids), "probes": len(probes), "rows": rows}, indent=1)
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", nargs="+", help="face photos (the originals-as-gallery table)")
    ap.add_argument("--identify", metavar="DIR", help="one folder per person: identification")
    ap.add_argument("--max-probes", type=int, default=600, help="with --identify")
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
    if a.identify:
        return identify(a)
    if not a.data:
        print("give --data (or --identify)", file=sys.stderr)
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

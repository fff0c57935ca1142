"""Fit ``variant="auto"``'s logistic model (``streamsr/enhance/_auto.py`` COEF and BIAS).

Data: the faces the training holds out for validation (``is_validation``: never trained on)
of the colour training folders, each degraded by one random draw: 30 % clean antialiased
downscales (PIL bicubic or area, as the clean weights were trained); the rest by any of four
resamplers with, each present or not, Gaussian blur 0-1.6, noise 0-6, and JPEG 30-90 or H.264
crf 22-40 (mostly as the last frame of a short inter-coded clip), at every scale asked. For
each low-resolution face the measures of ``_auto.measure`` are taken, and the shipped
``clean`` and ``video`` weights of the default file network are both run: the label is which
one is closer to the original (PSNR-Y). The fit weighs each face by the dB at stake
(|PSNR clean - PSNR video|), so the model learns the faces where the choice matters. The
evaluation faces (``faces/eval``) are never used here.

    python benchmarks/calibrate_variant.py --data ../shared/data/faces/train/hq \
        ../shared/data/faces/train/utkface --scales 2 4 [--json out.json]

Prints the fitted coefficients (paste them into ``_auto.py``) and, for the fitted model, for
the shipped constants, and for always-clean / always-video, the mean dB lost against choosing
per face by hindsight, on a held-out half of the faces.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from streamsr.enhance import default_arch, load_enhancer
from streamsr.enhance._auto import BIAS, COEF, FEATURES, measure
from streamsr.training import find_images
from streamsr.training._dataset import is_validation, read_rgb
from streamsr.training._degrade import Degradation, h264
from streamsr.training._metrics import psnr_y

HR = 252
RESAMPLERS = ("pil-bicubic", "cv2-area", "cv2-cubic", "cv2-linear")


def draw(rng: np.random.Generator) -> tuple[Degradation, int | None]:
    """One degradation of the calibration grid: (per-image part, H.264 crf or None)."""
    if rng.random() < 0.3:  # clean: antialiased, as the clean weights were trained
        resampler = RESAMPLERS[int(rng.random() < 0.3)]
        return Degradation(resampler=resampler), None  # type: ignore[arg-type]
    resampler = RESAMPLERS[int(rng.integers(len(RESAMPLERS)))]
    blur = float(rng.uniform(0.0, 1.6)) if rng.random() < 0.7 else 0.0
    noise = float(rng.uniform(0.0, 6.0)) if rng.random() < 0.5 else 0.0
    u = rng.random()
    jpeg_q = int(rng.integers(30, 91)) if u < 0.45 else None
    crf = int(rng.integers(22, 41)) if 0.45 <= u < 0.9 else None
    return (
        Degradation(
            resampler=resampler,  # type: ignore[arg-type]
            blur_sigma=blur,
            noise_sigma=noise,
            jpeg_quality=jpeg_q,
        ),
        crf,
    )


def h264_inter(lr: np.ndarray, crf: int, rng: np.random.Generator, frames: int = 8) -> np.ndarray:
    """The last frame of a short libx264 clip (P/B frames, deblocking: as cameras stream) of
    ``lr`` drifting by whole pixels, so that most of it is predicted from earlier frames."""
    motion = (float(rng.integers(-1, 2)), float(rng.integers(-1, 2)))
    return h264([lr], crf, frames=frames, motion_xy=motion)[0]


def hr_faces(roots: list[str], limit: int) -> list[np.ndarray]:
    paths = [p for p in find_images(roots) if is_validation(p)]
    out = []
    for p in paths[:limit]:
        rgb = read_rgb(p)
        if rgb is None or min(rgb.shape[:2]) < 180:
            continue
        h, w = rgb.shape[:2]
        s = min(h, w)
        sq = rgb[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
        out.append(np.asarray(Image.fromarray(np.ascontiguousarray(sq)).resize((HR, HR))))
    return out


def samples(
    faces: list[np.ndarray], scale: int, seed: int, draws: int
) -> list[tuple[list[float], float]]:
    """(features, PSNR video - PSNR clean) per face and draw."""
    arch = default_arch(scale, live=False)
    clean = load_enhancer(scale, arch=arch, variant="clean", backend="cpu")
    video = load_enhancer(scale, arch=arch, variant="video", backend="cpu")
    rng = np.random.default_rng(seed)
    rows = []
    for hr in [f for f in faces for _ in range(draws)]:
        d, crf = draw(rng)
        lr = d.apply(hr, scale, rng)
        if crf is not None:
            lr = h264([lr], crf)[0] if rng.random() < 0.3 else h264_inter(lr, crf, rng)
        f = measure(lr)
        pc = psnr_y(clean.enhance([lr])[0], hr, shave=scale)
        pv = psnr_y(video.enhance([lr])[0], hr, shave=scale)
        rows.append(([f[k] for k in FEATURES], pv - pc))
    return rows


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, iters: int = 50) -> np.ndarray:
    """Weighted logistic regression by Newton's method (with a small ridge); returns
    [bias, coef...] on the raw features."""
    mu, sd = x.mean(0), x.std(0) + 1e-9
    z = np.hstack([np.ones((len(x), 1)), (x - mu) / sd])
    beta = np.zeros(z.shape[1])
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ beta, -50, 50)))
        g = z.T @ (w * (p - y)) + 1e-3 * beta
        h = (z * (w * p * (1 - p))[:, None]).T @ z + 1e-3 * np.eye(len(beta))
        beta -= np.linalg.solve(h, g)
    coef = beta[1:] / sd
    return np.concatenate([[beta[0] - float((coef * mu).sum())], coef])


def loss_db(choose_video: np.ndarray, gain: np.ndarray) -> float:
    """Mean dB lost against the per-face hindsight choice."""
    best = np.maximum(gain, 0.0)
    got = np.where(choose_video, gain, 0.0)
    return float((best - got).mean())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", nargs="+", required=True)
    ap.add_argument("--scales", nargs="+", type=int, default=[2, 4])
    ap.add_argument("--limit", type=int, default=400, help="held-out faces per run")
    ap.add_argument("--draws", type=int, default=2, help="degradations per face and scale")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", metavar="PATH")
    a = ap.parse_args(argv)
    faces = hr_faces(a.data, a.limit)
    if len(faces) < 20:
        print(f"only {len(faces)} held-out faces of at least 180 px found", file=sys.stderr)
        return 2
    rows = []
    for s in a.scales:
        rows += samples(faces, s, a.seed + s, a.draws)
    x = np.array([r[0] for r in rows])
    gain = np.array([r[1] for r in rows])
    y = (gain > 0).astype(float)
    w = np.abs(gain) + 1e-3
    # split by face (every draw of a face on one side), so the check is on unseen faces
    face_of = np.array([i // a.draws for s in a.scales for i in range(len(faces) * a.draws)])
    held = np.random.default_rng(a.seed).permutation(len(faces))[: len(faces) // 2]
    te_mask = np.isin(face_of, held)
    tr, te = np.flatnonzero(~te_mask), np.flatnonzero(te_mask)
    beta_half = fit(x[tr], y[tr], w[tr])
    beta = fit(x, y, w)

    def predict(b: np.ndarray, xs: np.ndarray, p: float = 0.5) -> np.ndarray:
        return np.asarray(b[0] + xs @ b[1:] >= np.log(p / (1 - p)))

    shipped = np.array([BIAS, *[COEF[k] for k in FEATURES]])
    table = {
        "always clean": loss_db(np.zeros(len(te), bool), gain[te]),
        "always video": loss_db(np.ones(len(te), bool), gain[te]),
        "shipped constants": loss_db(predict(shipped, x[te]), gain[te]),
        "fit on the other half": loss_db(predict(beta_half, x[te]), gain[te]),
    }
    for p in (0.3, 0.4):  # video unless p(video) is below p: the safer side for identity
        table[f"fit, video if p >= {p}"] = loss_db(predict(beta_half, x[te], p), gain[te])
    wrong = {}  # faces where video was better by > 0.1 dB but clean was chosen
    for p in (0.3, 0.4, 0.5):
        pick = predict(beta_half, x[te], p)
        wrong[p] = float(np.mean((gain[te] > 0.1) & ~pick))
    print(f"{len(faces)} held-out faces x scales {a.scales}: {len(rows)} samples")
    print(
        f"video better on {100 * y.mean():.0f}% of them; mean gain video - clean {gain.mean():+.3f} dB"
    )
    print(f"{'rule (held-out half)':<26}{'dB lost vs hindsight':>22}")
    for k, v in table.items():
        print(f"{k:<26}{v:>22.3f}")
    for p, w in wrong.items():
        print(f"  threshold {p}: clean given where video was better by > 0.1 dB: {100 * w:.1f}%")
    coef = {k: round(float(c), 4) for k, c in zip(FEATURES, beta[1:], strict=True)}
    print(f"fit on all: BIAS = {beta[0]:.4f}; COEF = {coef}")
    for k, col in zip(FEATURES, x.T, strict=True):
        print(f"  {k:<11} range {col.min():.3f} .. {col.max():.3f}, mean {col.mean():.3f}")
    if a.json:
        Path(a.json).write_text(
            json.dumps(
                {
                    "samples": len(rows),
                    "scales": a.scales,
                    "video_better_share": float(y.mean()),
                    "loss_db": table,
                    "bias": float(beta[0]),
                    "coef": coef,
                }
            )
        )
    return 0 if all(math.isfinite(v) for v in table.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

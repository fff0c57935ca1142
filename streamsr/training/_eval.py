"""Evaluation on face crops: bicubic, Lanczos and the model side by side (PSNR-Y, SSIM-Y)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from streamsr._errors import ConfigError
from streamsr.training._degrade import EVAL_DEGRADATIONS
from streamsr.training._identity import IdentityCollector
from streamsr.training._metrics import psnr_y, ssim_y

log = logging.getLogger(__name__)

HR_SIZE = 252  # divisible by 2, 3 and 4
FACE_ENLARGE = 1.5  # BlazeFace boxes run from the brows to the chin: add forehead, ears and jaw
MIN_CROP_PX = round(0.75 * HR_SIZE)  # smaller face crops would be upscaled, not a true HR
WHOLE_IMAGE_FACE_SHARE = 0.6  # a face this wide (share of the short side): the image is a face crop

Method = Callable[[np.ndarray], np.ndarray]  # LR RGB uint8 -> SR RGB uint8 at scale


@dataclass
class FaceCrops:
    crops: list[np.ndarray] = field(default_factory=list)
    sources: list[int] = field(default_factory=list)
    """For each crop, the index of the path it was cut from."""
    sides: list[int] = field(default_factory=list)
    """For each crop, its side in the image before the resize."""
    images: int = 0
    unreadable: int = 0
    too_small: int = 0


def _square_resize(rgb: np.ndarray, size: int) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).resize((size, size), Image.Resampling.BICUBIC))


def face_crops(paths: Sequence[Path], *, size: int = HR_SIZE) -> FaceCrops:
    """Square face crops, resized to ``size``: MediaPipe faces, or the whole image when it
    already is a face crop. Crops smaller than 3/4 of ``size`` are skipped (no fake HR)."""
    from streamsr.faces import FaceDetector, square_boxes
    from streamsr.training._dataset import read_rgb

    out = FaceCrops()
    with FaceDetector(model="full", min_score=0.5) as det:
        for k, p in enumerate(paths):
            rgb = read_rgb(p)
            if rgb is None:
                out.unreadable += 1
                continue
            out.images += 1
            h, w = rgb.shape[:2]
            faces = det.detect(rgb, 1000 * k)  # VIDEO mode: one still per second
            widths = faces.xyxy[:, 2] - faces.xyxy[:, 0] if len(faces) else np.zeros(0)
            if len(faces) == 0 or widths.max() >= WHOLE_IMAGE_FACE_SHARE * min(h, w):
                s = min(h, w)
                boxes = np.array([[(w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s]])
            else:
                boxes = square_boxes(faces.xyxy, enlarge=FACE_ENLARGE, size_wh=(w, h))
            for x0, y0, x1, y1 in boxes.tolist():
                side = min(x1 - x0, y1 - y0)
                if side < MIN_CROP_PX * size / HR_SIZE:
                    out.too_small += 1
                    continue
                out.crops.append(
                    _square_resize(np.ascontiguousarray(rgb[y0 : y0 + side, x0 : x0 + side]), size)
                )
                out.sources.append(k)
                out.sides.append(side)
    return out


def classic_methods(scale: int) -> dict[str, Method]:
    """The baselines. ``bicubic`` and ``lanczos`` are MATLAB-imresize-like (Pillow: bicubic
    a=-0.5, Lanczos-3), the SR literature's baselines; ``bicubic_opencv`` is OpenCV's sharper
    bicubic (a=-0.75), which is also what the model starts from."""

    def pil(flag: Image.Resampling) -> Method:
        return lambda lr: np.asarray(
            Image.fromarray(lr).resize((lr.shape[1] * scale, lr.shape[0] * scale), flag)
        )

    def opencv(lr: np.ndarray) -> np.ndarray:
        return cv2.resize(
            lr, (lr.shape[1] * scale, lr.shape[0] * scale), interpolation=cv2.INTER_CUBIC
        )

    return {
        "bicubic": pil(Image.Resampling.BICUBIC),
        "lanczos": pil(Image.Resampling.LANCZOS),
        "bicubic_opencv": opencv,
    }


def evaluate_crops(
    crops: Sequence[np.ndarray],
    *,
    scale: int,
    degrade: str,
    methods: Mapping[str, Method],
    batch: int = 16,
    identity: IdentityCollector | None = None,
) -> dict[str, dict[str, float]]:
    """Mean PSNR-Y / SSIM-Y per method over ``crops`` (HR), shaving ``scale`` px; with
    ``identity``, each output's face embedding is collected too (its ``report()`` after)."""
    if degrade not in EVAL_DEGRADATIONS:
        raise ConfigError(f"degrade must be one of {', '.join(EVAL_DEGRADATIONS)}, got {degrade!r}")
    rng = np.random.default_rng(0)
    d = EVAL_DEGRADATIONS[degrade]
    sums: dict[str, list[float]] = {m: [0.0, 0.0] for m in methods}
    for hr in crops:
        lr = d.apply(hr, scale, rng)
        outs = {}
        for name, fn in methods.items():
            sr = fn(lr)
            if sr.shape != hr.shape:
                raise ValueError(f"method {name} returned {sr.shape}, expected {hr.shape}")
            sums[name][0] += psnr_y(sr, hr, shave=scale)
            sums[name][1] += ssim_y(sr, hr, shave=scale)
            outs[name] = sr
        if identity is not None:
            identity.add(hr, outs)
    n = max(1, len(crops))
    return {
        m: {"psnr_y": round(v[0] / n, 3), "ssim_y": round(v[1] / n, 4)} for m, v in sums.items()
    }


def enhancer_method(enhancer: object) -> Method:
    return lambda lr: enhancer.enhance([lr])[0]  # type: ignore[attr-defined]


def auto_method(enhancer: Any, chosen: dict[str, int]) -> Method:
    """``variant="auto"`` on unrelated images: the weights chosen per image from its own
    measures (a stream decides over its first crops instead); ``chosen`` counts the picks."""
    from streamsr.enhance._auto import DECIDE_AT, measure, video_probability

    def run(lr: np.ndarray) -> np.ndarray:
        v = "video" if video_probability(measure(lr)) >= DECIDE_AT else "clean"
        chosen[v] = chosen.get(v, 0) + 1
        return enhancer.enhancers[v].enhance([lr])[0]

    return run


def format_table(result: Mapping[str, object]) -> str:
    rows = [
        f"scale x{result['scale']}  images {result['images']}  faces {result['faces']}  "
        f"protocol {result['degrade']} (HR {HR_SIZE} px, LR by PIL antialiased bicubic; "
        "bicubic/lanczos upscale: PIL, as MATLAB imresize)",
        f"{'method':<24}{'PSNR-Y dB':>10}{'SSIM-Y':>9}{'gain dB':>9}",
    ]
    base = result["bicubic"]["psnr_y"]  # type: ignore[index]
    for name, v in result.items():
        if isinstance(v, dict) and "psnr_y" in v:
            rows.append(
                f"{name:<24}{v['psnr_y']:>10.2f}{v['ssim_y']:>9.4f}{v['psnr_y'] - base:>+9.2f}"
            )
    ident = result.get("identity")
    if isinstance(ident, dict):
        rows.append(
            "identity (dlib ResNet embedding distance to the original; paired difference "
            "vs bicubic, 95% bootstrap CI; rank-1 among the originals)"
        )
        rows.append(f"{'method':<24}{'distance':>10}{'vs bicubic':>12}{'95% CI':>20}{'rank-1':>9}")
        for name, r in ident.items():
            if "diff_vs_bicubic" in r:
                lo, hi = r["diff_ci95"]
                vs = f"{r['diff_vs_bicubic']:+.4f}"
                ci = f"[{lo:+.4f}, {hi:+.4f}]"
            else:
                vs, ci = "", ""
            rows.append(
                f"{name:<24}{r['distance']:>10.4f}{vs:>12}{ci:>20}{100 * r['rank1']:>8.1f}%"
            )
    return "\n".join(rows)

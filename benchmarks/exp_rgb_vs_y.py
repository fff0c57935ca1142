"""Luma-only vs RGB SRCNN, measured: the same network shape, patches, steps and seed.

streamsr's SRCNN refines the luma (Y) plane and upscales chroma bicubic. This experiment checks
that choice against the alternative, an SRCNN on all three RGB planes:

1. both networks (``--arch``, 1 and 3 input/output planes) are trained side by side on the
   colour images of the shared training faces (the grayscale LFW third would teach an RGB model
   nothing about colour, so both models see colour images only), every step on the *same* batch
   of clean-protocol patches, with the optimiser settings of ``streamsr train``;
2. both are judged as ``streamsr eval`` judges the shipped weights: the face crops of
   ``faces/eval/face_recognition``, clean protocol, PSNR-Y and SSIM-Y against Pillow bicubic.

    python benchmarks/exp_rgb_vs_y.py [--arch srcnn-915s] [--scale 2] [--steps 3000] [--json]

It trains for minutes; it is an experiment, not a speed benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

from streamsr.enhance._resize import upscale_bicubic
from streamsr.enhance._srcnn import ARCHS, SRCNN, build_srcnn
from streamsr.training._dataset import find_images, is_validation, load_images, sample_pair
from streamsr.training._eval import classic_methods, evaluate_crops, face_crops
from streamsr.training._train import _lr_factor

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STREAMSR_SHARED_DATA", ROOT.parent / "shared" / "data"))


def _luma(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)[..., 0]


def _optimiser(model: SRCNN, lr: float) -> torch.optim.Adam:
    return torch.optim.Adam(
        [
            {"params": [*model.extract.parameters(), *model.mapping.parameters()], "lr": lr},
            {"params": model.reconstruct.parameters(), "lr": lr * 0.1},
        ]
    )


def _batch(
    images: list[np.ndarray], rng: np.random.Generator, *, scale: int, patch: int, batch: int
) -> tuple[np.ndarray, np.ndarray]:
    """(bicubic-upscaled clean LR, HR) RGB patches, uint8, (batch, patch, patch, 3)."""
    xs, ys = [], []
    for i in rng.integers(0, len(images), size=batch):
        hr, lr, _ = sample_pair(
            images[i], rng, scale=scale, patch=patch, mode="clean", clean_fraction=1.0
        )
        xs.append(upscale_bicubic(lr, (patch, patch)))
        ys.append(hr)
    return np.stack(xs), np.stack(ys)


def _tensor(a: np.ndarray) -> torch.Tensor:
    """(N, H, W) or (N, H, W, 3) uint8 -> (N, C, H, W) float in [0, 1]."""
    t = torch.from_numpy(a).float().div_(255.0)
    return t.unsqueeze(1) if t.ndim == 3 else t.permute(0, 3, 1, 2).contiguous()


def _method(model: SRCNN, scale: int, *, rgb: bool) -> Any:
    def run(lr: np.ndarray) -> np.ndarray:
        up = upscale_bicubic(lr, (lr.shape[1] * scale, lr.shape[0] * scale))
        with torch.inference_mode():
            if rgb:
                out = model(_tensor(up[None]))[0].permute(1, 2, 0).numpy()
                return np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)
            ycc = cv2.cvtColor(up, cv2.COLOR_RGB2YCrCb)
            y = model(_tensor(ycc[None, ..., 0]))[0, 0].numpy()
            ycc[..., 0] = np.clip(y * 255.0 + 0.5, 0, 255).astype(np.uint8)
            return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)

    return run


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # SRCNNs only: the optimiser groups below are SRCNN's layers (an FSRCNN has other names)
    ap.add_argument(
        "--arch", default="srcnn-915s", choices=[a for a in ARCHS if a.startswith("srcnn")]
    )
    ap.add_argument("--scale", type=int, default=2, choices=(2, 3, 4))
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--patch", type=int, default=72)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    train_dir = SHARED / "faces" / "train"
    eval_dir = SHARED / "faces" / "eval" / "face_recognition"
    if not train_dir.is_dir() or not eval_dir.is_dir():
        print(f"needs the shared faces at {SHARED / 'faces'}", file=sys.stderr)
        return 2
    torch.manual_seed(a.seed)
    paths = [p for p in find_images([train_dir]) if not is_validation(p)]
    image_set = load_images(paths, min_side=a.patch)
    colour = [im for im, g in zip(image_set.images, image_set.gray, strict=True) if not g]
    models = {"y": build_srcnn(a.arch, 1), "rgb": build_srcnn(a.arch, 3)}
    opts = {k: _optimiser(m, a.lr) for k, m in models.items()}
    bases = {k: [g["lr"] for g in o.param_groups] for k, o in opts.items()}
    loss_fn = nn.MSELoss()
    rng = np.random.default_rng(a.seed)
    seconds = dict.fromkeys(models, 0.0)
    for step in range(a.steps):
        xs, ys = _batch(colour, rng, scale=a.scale, patch=a.patch, batch=a.batch)
        inputs = {
            "y": (
                _tensor(np.stack([_luma(x) for x in xs])),
                _tensor(np.stack([_luma(y) for y in ys])),
            ),
            "rgb": (_tensor(xs), _tensor(ys)),
        }
        f = _lr_factor(step / a.steps)
        for k, m in models.items():
            t = time.perf_counter()
            x, y = inputs[k]
            for g, b in zip(opts[k].param_groups, bases[k], strict=True):
                g["lr"] = b * f
            c = m.valid_crop
            loss = loss_fn(m.forward_valid(x), y[..., c:-c, c:-c])
            opts[k].zero_grad(set_to_none=True)
            loss.backward()
            opts[k].step()
            seconds[k] += time.perf_counter() - t
        if not a.json and (step + 1) % 500 == 0:
            print(f"step {step + 1}/{a.steps}", file=sys.stderr, flush=True)
    for m in models.values():
        m.eval()
    crops = face_crops(find_images([eval_dir])).crops
    methods = {
        "bicubic": classic_methods(a.scale)["bicubic"],
        "y": _method(models["y"], a.scale, rgb=False),
        "rgb": _method(models["rgb"], a.scale, rgb=True),
    }
    r = evaluate_crops(crops, scale=a.scale, degrade="clean", methods=methods)
    result = {
        "arch": a.arch,
        "scale": a.scale,
        "steps": a.steps,
        "train_colour_images": len(colour),
        "eval_faces": len(crops),
        "train_seconds": {k: round(v, 1) for k, v in seconds.items()},
        **{k: {m: round(v, 4) for m, v in r[k].items()} for k in methods},
    }
    if a.json:
        print(json.dumps(result, indent=2))
        return 0
    base = r["bicubic"]["psnr_y"]
    print(
        f"{a.arch} x{a.scale}, {a.steps} steps on {len(colour)} colour faces, "
        f"{len(crops)} eval crops (clean protocol)"
    )
    print(f"{'method':<10}{'PSNR-Y dB':>10}{'gain':>8}{'SSIM-Y':>9}{'train s':>9}")
    for k in methods:
        print(
            f"{k:<10}{r[k]['psnr_y']:>10.2f}{r[k]['psnr_y'] - base:>+8.2f}{r[k]['ssim_y']:>9.4f}"
            f"{seconds.get(k, 0.0):>9.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

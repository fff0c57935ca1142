"""Training an SRCNN or FSRCNN on face images: time- or step-bounded, resumable, seeded."""

from __future__ import annotations

import datetime as _dt
import logging
import math
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

from streamsr._errors import ConfigError, DatasetError, WeightsError
from streamsr.enhance._resize import upscale_bicubic
from streamsr.enhance._srcnn import SRCNN, Network, build_srcnn, is_scale_bound
from streamsr.enhance._weights import load_checkpoint_file, save_weights
from streamsr.training._degrade import EVAL_DEGRADATIONS, TRAIN_MIXES, TrainMix
from streamsr.training._metrics import psnr

log = logging.getLogger(__name__)

SCALES = (2, 3, 4)
PATCH = 72  # divisible by 2, 3 and 4
MIN_VALID_PX = 40  # output pixels per side a training patch keeps after the unpadded layers
VAL_CROP = 120
VAL_MAX = 150


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainOptions:
    data: tuple[str, ...]
    scale: int
    out: Path
    arch: str = "srcnn-955"
    minutes: float | None = None
    steps: int | None = None
    val: tuple[str, ...] = ()
    seed: int = 0
    resume: Path | None = None
    init: Path | None = None
    degrade: TrainMix = "clean"
    clean_fraction: float = 0.3
    h264_inter: float = 0.0
    folder_weights: tuple[tuple[str, float], ...] = ()
    batch: int = 32
    lr: float = 1e-3
    val_every_s: float = 120.0

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise ConfigError(f"scale must be one of {SCALES}, got {self.scale}")
        if (self.minutes is None) == (self.steps is None):
            raise ConfigError("give exactly one of --minutes or --steps")
        if self.minutes is not None and self.minutes <= 0:
            raise ConfigError(f"--minutes must be positive, got {self.minutes}")
        if self.steps is not None and self.steps <= 0:
            raise ConfigError(f"--steps must be positive, got {self.steps}")
        if self.degrade not in TRAIN_MIXES:
            raise ConfigError(f"degrade must be one of {TRAIN_MIXES}, got {self.degrade!r}")
        if not 0.0 <= self.clean_fraction <= 1.0:
            raise ConfigError(f"--clean-fraction must be in 0..1, got {self.clean_fraction}")
        if not 0.0 <= self.h264_inter <= 1.0:
            raise ConfigError(f"--h264-inter must be in 0..1, got {self.h264_inter}")
        for name, weight in self.folder_weights:
            if not name or not weight > 0:
                raise ConfigError(f"folder weights are NAME=W with W > 0, got {name!r}={weight}")
        build_srcnn(self.arch, scale=self.scale)  # raises ConfigError naming the allowed archs


def patch_size(model: Network, scale: int) -> int:
    """HR patch side for ``model``: :data:`PATCH`, or larger (a multiple of 12, so of every
    scale) where the unpadded layers would leave less than :data:`MIN_VALID_PX` of it. An
    FSRCNN loses its receptive field on the low-resolution grid, ``scale`` times more output
    pixels than an SRCNN of the same depth."""
    need = 2 * model.valid_crop + MIN_VALID_PX
    p = max(PATCH, -(-need // 12) * 12)
    assert p % scale == 0
    return p


def param_groups(model: Network, lr: float) -> list[dict[str, Any]]:
    """Adam groups: ``lr`` for every layer but the last, a tenth of it for the last (the
    reconstruction of SRCNN, the up-sampling of FSRCNN and ESPCN), as the papers train them."""
    head = model.reconstruct if isinstance(model, SRCNN) else model.layers()[-1][1]
    head_ids = {id(p) for p in head.parameters()}
    body = [p for p in model.parameters() if id(p) not in head_ids]
    return [{"params": body, "lr": lr}, {"params": list(head.parameters()), "lr": lr * 0.1}]


def _val_crops(
    images: Sequence[np.ndarray], scale: int, protocol: str = "clean"
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(HR, LR-bicubic-upscaled, Y of the upscale) for centre crops, degraded as ``streamsr
    eval --degrade protocol`` does (clean: PIL antialiased bicubic)."""
    degradation = EVAL_DEGRADATIONS[protocol]
    rng = np.random.default_rng(0)
    out = []
    for img in images[:VAL_MAX]:
        h, w = img.shape[:2]
        c = min(VAL_CROP, h, w) // scale * scale
        y0, x0 = (h - c) // 2, (w - c) // 2
        hr = np.ascontiguousarray(img[y0 : y0 + c, x0 : x0 + c])
        up = upscale_bicubic(degradation.apply(hr, scale, rng), (c, c))
        out.append((hr, up, cv2.cvtColor(up, cv2.COLOR_RGB2YCrCb)))
    return out


def _y601(ycrcb_y: np.ndarray) -> np.ndarray:
    # Full-range luma -> studio range: the metric of the literature, without a round trip to RGB.
    return 16.0 + ycrcb_y.astype(np.float64) * (219.0 / 255.0)


@torch.inference_mode()
def validate(
    model: Network, crops: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], scale: int
) -> tuple[float, float]:
    """Mean PSNR-Y (dB) of (model, bicubic) on validation crops; ``scale`` px border shaved."""
    model.eval()
    pm, pb = [], []
    for hr, _up, ycc in crops:
        y_hr = cv2.cvtColor(hr, cv2.COLOR_RGB2YCrCb)[..., 0]
        x = torch.from_numpy(ycc[..., 0]).float().div(255.0)[None, None]
        y = model(x)[0, 0].clamp(0, 1).mul(255.0).round().to(torch.uint8).numpy()
        s = slice(scale, -scale)
        pm.append(psnr(_y601(y)[s, s], _y601(y_hr)[s, s]))
        pb.append(psnr(_y601(ycc[..., 0])[s, s], _y601(y_hr)[s, s]))
    model.train()
    return float(np.mean(pm)), float(np.mean(pb))


def _lr_factor(progress: float) -> float:
    """Short warm-up, then cosine decay to 5 % of the base rate."""
    if progress < 0.02:
        return 0.1 + 0.9 * progress / 0.02
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def train(opts: TrainOptions) -> dict[str, object]:
    """Train and write ``opts.out`` (weights with metadata) and ``opts.out``.ckpt (resumable)."""
    from streamsr.training._dataset import PatchBatches, find_images, is_validation, load_images

    random.seed(opts.seed)
    np.random.seed(opts.seed)
    torch.manual_seed(opts.seed)
    paths = find_images(opts.data)
    if opts.val:
        train_paths, val_paths = paths, find_images(opts.val)
    else:
        train_paths = [p for p in paths if not is_validation(p)]
        val_paths = [p for p in paths if is_validation(p)]
        if not train_paths or not val_paths:
            raise DatasetError(
                f"too few images ({len(paths)}) to hold out a validation part; pass --val DIR"
            )
    t0 = time.monotonic()
    model = build_srcnn(opts.arch, scale=opts.scale)
    patch = patch_size(model, opts.scale)
    train_set = load_images(train_paths, min_side=patch, folder_weights=dict(opts.folder_weights))
    val_set = load_images(val_paths, min_side=VAL_CROP // 2)
    log.info(
        "data: %d training images, %d validation images, %d unreadable or too small skipped (%.0f s)",
        len(train_set.images),
        len(val_set.images),
        train_set.unreadable + val_set.unreadable,
        time.monotonic() - t0,
    )
    # Realistic training is judged on both protocols, so that the kept checkpoint is the one that
    # serves footage best without giving up more of the clean case than it must.
    protocols = ("clean",) if opts.degrade == "clean" else ("clean", "realistic")
    val_crops = [c for p in protocols for c in _val_crops(val_set.images, opts.scale, p)]

    opt = torch.optim.Adam(param_groups(model, opts.lr))
    base_lrs = [g["lr"] for g in opt.param_groups]
    step, elapsed_before, init_note = 0, 0.0, None
    if opts.resume is not None:
        ck = load_checkpoint_file(opts.resume)
        if ck.get("arch") != opts.arch or ck.get("scale") != opts.scale:
            raise WeightsError(
                f"checkpoint {opts.resume} is {ck.get('arch')} x{ck.get('scale')}, not {opts.arch} x{opts.scale}"
            )
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        step, elapsed_before = int(ck["step"]), float(ck["elapsed_s"])
        init_note = ck.get("init")
        log.info("resumed from %s at step %d", opts.resume, step)
    elif opts.init is not None:
        from streamsr.enhance._weights import load_weights_file

        sd, init_meta = load_weights_file(opts.init)
        if init_meta.get("arch") != opts.arch:
            raise WeightsError(
                f"--init weights {opts.init} are {init_meta.get('arch')}, not {opts.arch}"
            )
        if is_scale_bound(opts.arch) and init_meta.get("scale") != opts.scale:
            raise WeightsError(
                f"--init weights {opts.init} are {opts.arch} x{init_meta.get('scale')}, not "
                f"x{opts.scale}: this network's shape depends on the scale (train it from "
                "scratch for another scale)"
            )
        model.load_state_dict(sd)
        init_note = f"{Path(opts.init).name} ({init_meta.get('arch')} x{init_meta.get('scale')})"
    model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]

    batches = PatchBatches(
        train_set,
        scale=opts.scale,
        patch=patch,
        batch=opts.batch,
        mode=opts.degrade,
        clean_fraction=opts.clean_fraction,
        seed=opts.seed * 1_000_003 + step,
        h264_inter=opts.h264_inter,
    )
    budget_s = opts.minutes * 60.0 if opts.minutes is not None else None
    total_steps = opts.steps
    loss_fn = nn.MSELoss()
    best = (-math.inf, 0.0)
    best_state: dict[str, torch.Tensor] | None = None
    v_model, v_bic = validate(model, val_crops, opts.scale)
    log.info("start: val PSNR-Y %.2f dB, bicubic %.2f dB", v_model, v_bic)
    t_start = time.monotonic()
    last_val = last_log = t_start
    running = 0.0
    ck_path = opts.out.with_suffix(opts.out.suffix + ".ckpt")

    def elapsed() -> float:
        return elapsed_before + time.monotonic() - t_start

    def progress() -> float:
        if budget_s is not None:
            return elapsed() / budget_s
        assert total_steps is not None
        return step / total_steps

    def save_ckpt() -> None:
        ck_path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "step": step,
                "elapsed_s": elapsed(),
                "arch": opts.arch,
                "scale": opts.scale,
                "init": init_note,
            },
            ck_path,
        )

    it = batches.prefetch()
    try:
        while progress() < 1.0:
            x, y = next(it)
            x = x.contiguous(memory_format=torch.channels_last)
            f = _lr_factor(progress())
            for g, b in zip(opt.param_groups, base_lrs, strict=True):
                g["lr"] = b * f
            c = model.valid_crop
            loss = loss_fn(model.forward_valid(x), y[..., c:-c, c:-c])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            lv = float(loss.detach())
            running = 0.98 * running + 0.02 * lv if step > 1 else lv
            now = time.monotonic()
            done = progress() >= 1.0
            if now - last_val >= opts.val_every_s or done:
                last_val = now
                v_model, v_bic = validate(model, val_crops, opts.scale)
                if v_model > best[0]:
                    best = (v_model, v_bic)
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                save_ckpt()
            if now - last_log >= 10.0 or done:
                last_log = now
                left = (
                    (budget_s - elapsed())
                    if budget_s is not None
                    else (
                        (total_steps - step) * (now - t_start) / max(1, step)  # type: ignore[operator]
                    )
                )
                msg = (
                    f"step {step} | loss {running:.6f} | val PSNR-Y {v_model:.2f} dB "
                    f"({v_model - v_bic:+.2f} vs bicubic) | {step / max(1e-9, now - t_start):.1f} steps/s "
                    f"| {max(0.0, left) / 60:.1f} min left"
                )
                log.info(msg)
                if sys.stderr.isatty():
                    sys.stderr.flush()
    except KeyboardInterrupt:
        log.warning("interrupted at step %d: checkpoint saved to %s", step, ck_path)
        save_ckpt()
        raise
    finally:
        it.close()
    if best_state is None:
        best_state = model.state_dict()
        best = (v_model, v_bic)
    meta: dict[str, object] = {
        "arch": opts.arch,
        "scale": opts.scale,
        "channels": "y",
        "residual": True,
        "degrade": opts.degrade,
        "clean_fraction": opts.clean_fraction if opts.degrade != "clean" else 1.0,
        "h264_inter": opts.h264_inter if opts.degrade != "clean" else 0.0,
        "data": [str(d) for d in opts.data],
        "folder_weights": dict(opts.folder_weights),
        "train_images": len(train_set.images),
        "val_images": len(val_crops),
        "steps": step,
        "batch": opts.batch,
        "patch": patch,
        "minutes": round(elapsed() / 60, 1),
        "seed": opts.seed,
        "init": init_note,
        "val_psnr_y": round(best[0], 3),
        "val_bicubic_psnr_y": round(best[1], 3),
        "val_gain_db": round(best[0] - best[1], 3),
        "val_protocol": f"centre crops, {' + '.join(protocols)} (as streamsr eval), shave=scale",
        "date": _dt.date.today().isoformat(),
        "torch": str(torch.__version__),
    }
    save_weights(opts.out, best_state, meta)
    log.info(
        "wrote %s: val PSNR-Y %.2f dB (%+.2f vs bicubic) after %d steps, %.1f min",
        opts.out,
        best[0],
        best[0] - best[1],
        step,
        elapsed() / 60,
    )
    return meta

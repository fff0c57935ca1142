"""``load_enhancer``: crops in, enhanced crops out, batched.

Pre- and post-processing are pure functions shared by every backend: a crop is upscaled by
bicubic interpolation, the network refines its luma (full-range BT.601 Y), the chroma stays
bicubic. Inference runs crops of equal size as one batch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import torch

from streamsr._errors import ConfigError, WeightsError
from streamsr.enhance._degrade import upscale_bicubic
from streamsr.enhance._srcnn import ARCHS, build_srcnn
from streamsr.enhance._weights import load_weights_file, shipped_weights_path
from streamsr.enhance.backends import Backend, EagerBackend

log = logging.getLogger(__name__)

Device = Literal["auto", "cpu", "cuda"]
Variant = Literal["clean", "video"]
SCALES = (2, 3, 4)
VARIANTS = ("clean", "video")
MAX_BATCH = 64


def preprocess(crop_rgb24: np.ndarray, scale: int) -> np.ndarray:
    """Bicubic upscale of a crop, as full-range YCrCb uint8 (the network input lives in [..., 0])."""
    h, w = crop_rgb24.shape[:2]
    return cv2.cvtColor(upscale_bicubic(crop_rgb24, (w * scale, h * scale)), cv2.COLOR_RGB2YCrCb)


def postprocess(ycrcb_up: np.ndarray, y_out: np.ndarray) -> np.ndarray:
    """Put the refined luma into the bicubic YCrCb and convert to RGB (``ycrcb_up`` is reused)."""
    ycrcb_up[..., 0] = y_out
    return cv2.cvtColor(ycrcb_up, cv2.COLOR_YCrCb2RGB)


def check_crop(i: int, crop: Any) -> None:
    if not isinstance(crop, np.ndarray):
        raise ValueError(f"crop {i}: expected a numpy array, got {type(crop).__name__}")
    if crop.dtype != np.uint8:
        raise ValueError(f"crop {i}: expected dtype uint8, got {crop.dtype}")
    if crop.ndim != 3 or crop.shape[2] != 3:
        raise ValueError(f"crop {i}: expected shape (H, W, 3) RGB, got {crop.shape}")
    if crop.shape[0] < 1 or crop.shape[1] < 1:
        raise ValueError(f"crop {i}: empty crop of shape {crop.shape}")


def resolve_device(device: str) -> torch.device:
    if device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' asked for, but torch sees no CUDA device")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


class Enhancer:
    """An SRCNN ready for inference. Build with :func:`load_enhancer`."""

    def __init__(
        self, backend: Backend, *, scale: int, device: torch.device, meta: dict[str, Any]
    ) -> None:
        self.scale = scale
        self.device = device
        self.meta = meta
        self.arch = str(meta.get("arch"))
        self.backend = backend

    def __repr__(self) -> str:
        return f"Enhancer(arch={self.arch!r}, scale={self.scale}, backend={self.backend.name!r})"

    def enhance_luma(self, y_up: np.ndarray) -> np.ndarray:
        """Refine a batch ``(B, H, W)`` of bicubic-upscaled uint8 luma planes."""
        return self.backend.infer_luma(y_up)

    def enhance(self, crops: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Enhance RGB uint8 crops of any sizes; returns crops ``scale`` times larger, same order."""
        if isinstance(crops, np.ndarray):
            raise ValueError("crops must be a list of (H, W, 3) arrays, not one array")
        for i, c in enumerate(crops):
            check_crop(i, c)
        ups = [preprocess(c, self.scale) for c in crops]
        out: list[np.ndarray | None] = [None] * len(ups)
        groups: dict[tuple[int, int], list[int]] = {}
        for i, u in enumerate(ups):
            groups.setdefault(u.shape[:2], []).append(i)
        for idx in groups.values():
            for k in range(0, len(idx), MAX_BATCH):
                chunk = idx[k : k + MAX_BATCH]
                y = self.enhance_luma(np.stack([ups[i][..., 0] for i in chunk]))
                for j, i in enumerate(chunk):
                    out[i] = postprocess(ups[i], y[j])
        return [o for o in out if o is not None]


def load_enhancer(
    scale: int = 4,
    *,
    arch: str = "srcnn-955",
    device: Device | str = "auto",
    weights: str | Path | None = None,
    variant: Variant | str = "clean",
) -> Enhancer:
    """Load an SRCNN enhancer.

    ``weights=None`` loads the weights shipped in the package for ``arch``, ``scale`` and
    ``variant`` (``"clean"``: trained on clean downscales, best on good footage; ``"video"``:
    fine-tuned on blur, noise and compression, for webcam and surveillance video).
    """
    if scale not in SCALES:
        raise ConfigError(f"scale must be one of {SCALES}, got {scale!r}")
    if arch not in ARCHS:
        raise ConfigError(f"unknown arch {arch!r}; choose one of {', '.join(ARCHS)}")
    if variant not in VARIANTS:
        raise ConfigError(f"variant must be one of {VARIANTS}, got {variant!r}")
    dev = resolve_device(str(device))
    if weights is None:
        path = shipped_weights_path(arch, scale, str(variant))
        if not path.is_file():
            raise WeightsError(
                f"no shipped weights for {arch} x{scale} ({variant}); train them with "
                f"'streamsr train --arch {arch} --scale {scale} ...' and pass weights=PATH"
            )
    else:
        path = Path(weights)
    state, meta = load_weights_file(path)
    if meta.get("arch") != arch:
        raise WeightsError(f"weights {path} are for {meta.get('arch')}, not {arch}")
    if meta.get("scale") != scale:
        raise WeightsError(f"weights {path} are for scale x{meta.get('scale')}, not x{scale}")
    model = build_srcnn(arch)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise WeightsError(f"weights {path} do not fit {arch}: {str(exc).splitlines()[0]}") from exc
    return Enhancer(
        EagerBackend(model, device=dev), scale=scale, device=dev, meta=dict(meta, path=str(path))
    )

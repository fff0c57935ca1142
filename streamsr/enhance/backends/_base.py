"""The backend protocol: how a batch of luma planes goes through the network.

Also the pieces every torch backend shares: uint8 planes to a normalised tensor and back, the
size buckets that fixed-shape backends compile for, and the error for a missing extra.
"""

from __future__ import annotations

import bisect
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from streamsr._errors import MissingExtraError

# Output-side (upscaled) square sizes that fixed-shape backends compile or capture for. The
# steps are at most 1.5x, so padding a crop up to its bucket costs at most 2.25x the pixels.
BUCKET_SIDES: tuple[int, ...] = (32, 48, 64, 96, 128, 160, 192, 256, 320, 384, 512)
# Batch sizes a CUDA graph is captured for; a batch is padded up to the next one.
BATCH_BUCKETS: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
MAX_BATCH = BATCH_BUCKETS[-1]


@runtime_checkable
class Backend(Protocol):
    """Runs the SRCNN on a batch of bicubic-upscaled luma planes.

    ``infer_luma`` takes a ``(B, H, W)`` uint8 array (full-range Y, 0..255) and returns the
    refined planes, same shape and dtype. Pre- and post-processing (bicubic, colour) are shared
    by every backend and live in :mod:`streamsr.enhance._enhancer`.
    """

    name: str

    def infer_luma(self, y_up: np.ndarray) -> np.ndarray: ...


def bucket_side(h: int, w: int, sides: tuple[int, ...] = BUCKET_SIDES) -> int | None:
    """The smallest bucket side that holds an ``h`` x ``w`` plane, or None when none does."""
    i = bisect.bisect_left(sides, max(h, w))
    return sides[i] if i < len(sides) else None


def batch_bucket(n: int, sizes: tuple[int, ...] = BATCH_BUCKETS) -> int:
    """The smallest batch bucket that holds ``n`` planes (``n`` <= the largest bucket)."""
    return sizes[bisect.bisect_left(sizes, n)]


def luma_to_tensor(
    y_up: torch.Tensor, dtype: torch.dtype, *, channels_last: bool = False
) -> torch.Tensor:
    """``(B, H, W)`` uint8 -> ``(B, 1, H, W)`` in [0, 1], on the input's device."""
    x = y_up.unsqueeze(1).to(dtype).div_(255.0)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def tensor_to_luma(y: torch.Tensor) -> torch.Tensor:
    """``(B, 1, H, W)`` in [0, 1] -> ``(B, H, W)`` uint8 (round half to even, clamp).

    Scaled and rounded in float32 whatever the network's dtype: in fp16, ``y * 255`` is itself
    rounded to fp16's 11-bit mantissa (steps of 0.125 above 128), which put about 4 % of the
    pixels one level off.
    """
    return y.squeeze(1).float().mul_(255.0).round_().clamp_(0, 255).to(torch.uint8)


def indexed_device(device: torch.device) -> torch.device:
    """``device`` with its index: ``cuda`` alone becomes ``cuda:N`` of the current device.

    Torch-TensorRT writes the device it is handed into the engine (``gpu_id``); an index of
    None fails when the engine module is built. CUDA graphs and streams are also created on an
    explicit device.
    """
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", torch.cuda.current_device())
    return device


def check_luma(y_up: np.ndarray) -> None:
    if not isinstance(y_up, np.ndarray) or y_up.dtype != np.uint8 or y_up.ndim != 3:
        got = getattr(y_up, "shape", None), getattr(y_up, "dtype", type(y_up).__name__)
        raise ValueError(f"luma batch must be a (B, H, W) uint8 array, got {got}")


def missing_extra(what: str, extra: str, exc: BaseException) -> MissingExtraError:
    """The error for an optional backend whose packages are not importable."""
    return MissingExtraError(
        f"the {what} backend needs the '{extra}' extra: pip install 'streamsr[{extra}]' "
        f"({type(exc).__name__}: {exc})"
    )

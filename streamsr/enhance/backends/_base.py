"""The backend protocol: how a batch of luma planes goes through the network."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Backend(Protocol):
    """Runs the SRCNN on a batch of bicubic-upscaled luma planes.

    ``infer_luma`` takes a ``(B, H, W)`` uint8 array (full-range Y, 0..255) and returns the
    refined planes, same shape and dtype. Pre- and post-processing (bicubic, colour) are shared
    by every backend and live in :mod:`streamsr.enhance._enhancer`.
    """

    name: str

    def infer_luma(self, y_up: np.ndarray) -> np.ndarray: ...

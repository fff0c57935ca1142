"""The bicubic pre-upsampling of every SRCNN path (a pure function).

Inference upscales a crop with it before the network refines the luma; training and
evaluation import it from here so that the model learns from the input it will be given.
"""

from __future__ import annotations

import cv2
import numpy as np


def upscale_bicubic(rgb24: np.ndarray, size_wh: tuple[int, int]) -> np.ndarray:
    """Resize to ``size_wh`` (width, height) with OpenCV's bicubic (a=-0.75)."""
    return cv2.resize(rgb24, size_wh, interpolation=cv2.INTER_CUBIC)


CUBIC_A = -0.75
"""OpenCV's bicubic coefficient (Keys' kernel with a = -0.75)."""


def _cubic(t: float) -> float:
    t = abs(t)
    if t <= 1.0:
        return (CUBIC_A + 2.0) * t**3 - (CUBIC_A + 3.0) * t**2 + 1.0
    if t < 2.0:
        return CUBIC_A * (t**3 - 5.0 * t**2 + 8.0 * t - 4.0)
    return 0.0


def bicubic_phase_weights(scale: int) -> np.ndarray:
    """``(scale, 5)`` float64: row ``i`` weighs the low-resolution pixels ``q - 2 .. q + 2``
    into output pixel ``scale * q + i`` of :func:`upscale_bicubic` (OpenCV's half-pixel
    alignment: output ``x`` samples input ``(x + 0.5) / scale - 0.5``), away from the borders
    and before OpenCV's rounding to uint8.

    A bicubic upscale by an integer factor is ``scale**2`` fixed filters of the input, one per
    output phase: what lets a network that reads the pixel-unshuffled bicubic plane read the
    low-resolution plane instead (:func:`streamsr.enhance.backends._onnx.fold_bicubic`).
    """
    w = np.zeros((scale, 5), np.float64)
    for i in range(scale):
        frac = (i + 0.5) / scale - 0.5
        for t in range(-2, 3):
            w[i, t + 2] = _cubic(frac - t)
    return w

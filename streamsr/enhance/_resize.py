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

"""Colour conversions shared by training, inference and evaluation (pure functions).

The model works on the luma plane of OpenCV's full-range YCrCb (BT.601 weights, 0..255),
with the chroma planes upscaled by bicubic interpolation. Metrics use the BT.601
studio-range Y (16..235) that the SR literature (MATLAB's ``rgb2ycbcr``) reports.
"""

from __future__ import annotations

import cv2
import numpy as np


def rgb_to_ycrcb(rgb24: np.ndarray) -> np.ndarray:
    """RGB uint8 -> full-range YCrCb uint8 (same shape)."""
    return cv2.cvtColor(rgb24, cv2.COLOR_RGB2YCrCb)


def ycrcb_to_rgb(ycrcb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2RGB)


def luma_studio(rgb24: np.ndarray) -> np.ndarray:
    """BT.601 studio-range Y (16..235) as float64, as MATLAB's ``rgb2ycbcr`` computes it."""
    x = rgb24.astype(np.float64) / 255.0
    if x.ndim == 2:
        x = np.repeat(x[..., None], 3, axis=2)
    return 16.0 + 65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2]

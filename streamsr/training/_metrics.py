"""PSNR and SSIM on the BT.601 studio-range Y channel, border shaved, as the SR literature."""

from __future__ import annotations

import cv2
import numpy as np

from streamsr.enhance._color import luma_studio


def _shave(y: np.ndarray, border: int) -> np.ndarray:
    return y[border:-border, border:-border] if border > 0 else y


def psnr(a: np.ndarray, b: np.ndarray, *, peak: float = 255.0) -> float:
    """PSNR in dB between two same-shaped arrays (float64 maths)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(peak * peak / mse)


def ssim(a: np.ndarray, b: np.ndarray, *, peak: float = 255.0) -> float:
    """Mean SSIM (Wang et al. 2004): 11x11 Gaussian window, sigma 1.5, 'valid' region."""
    x, y = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    g = cv2.getGaussianKernel(11, 1.5)
    win = g @ g.T

    def filt(z: np.ndarray) -> np.ndarray:
        return cv2.filter2D(z, -1, win, borderType=cv2.BORDER_REFLECT)[5:-5, 5:-5]

    mx, my = filt(x), filt(y)
    sxx, syy, sxy = filt(x * x) - mx * mx, filt(y * y) - my * my, filt(x * y) - mx * my
    num = (2 * mx * my + c1) * (2 * sxy + c2)
    den = (mx * mx + my * my + c1) * (sxx + syy + c2)
    return float(np.mean(num / den))


def psnr_y(rgb_a: np.ndarray, rgb_b: np.ndarray, *, shave: int) -> float:
    return psnr(_shave(luma_studio(rgb_a), shave), _shave(luma_studio(rgb_b), shave))


def ssim_y(rgb_a: np.ndarray, rgb_b: np.ndarray, *, shave: int) -> float:
    return ssim(_shave(luma_studio(rgb_a), shave), _shave(luma_studio(rgb_b), shave))

import numpy as np
import pytest

from streamsr.enhance._color import luma_studio
from streamsr.training._metrics import psnr, psnr_y, ssim, ssim_y


def test_psnr_known_values() -> None:
    a = np.zeros((8, 8))
    assert psnr(a, a + 1.0) == pytest.approx(10 * np.log10(255.0**2), abs=1e-9)  # 48.13 dB
    assert psnr(a, a + 255.0) == pytest.approx(0.0, abs=1e-9)
    assert psnr(a, a) == float("inf")


def test_ssim_identical_is_one_and_shift_matches_closed_form() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (40, 40))
    assert ssim(x, x) == pytest.approx(1.0, abs=1e-12)
    # Two constant images: SSIM reduces to the luminance term (2ab + C1) / (a^2 + b^2 + C1).
    a, b, c1 = 100.0, 120.0, (0.01 * 255) ** 2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    assert ssim(np.full((30, 30), a), np.full((30, 30), b)) == pytest.approx(expected, rel=1e-9)


def test_luma_studio_range() -> None:
    black = np.zeros((1, 1, 3), np.uint8)
    white = np.full((1, 1, 3), 255, np.uint8)
    assert luma_studio(black)[0, 0] == pytest.approx(16.0)
    assert luma_studio(white)[0, 0] == pytest.approx(235.0)


def test_y_metrics_shave_the_border() -> None:
    a = np.full((20, 20, 3), 128, np.uint8)
    b = a.copy()
    b[:2] = 0  # damage only the border rows
    assert psnr_y(a, b, shave=2) == float("inf")
    assert psnr_y(a, b, shave=0) < 30
    assert ssim_y(a, b, shave=0) < ssim_y(a, a, shave=0)

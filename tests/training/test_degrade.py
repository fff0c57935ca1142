"""The training mixes: strengths in range, shapes and dtype kept, draws seeded."""

import cv2
import numpy as np
import pytest

from streamsr.training._degrade import (
    EVAL_DEGRADATIONS,
    VIDEO_BLUR_SIGMA,
    VIDEO_H264_CRF,
    VIDEO_JPEG_Q,
    VIDEO_MOTION_PX,
    VIDEO_NOISE_SIGMA,
    Degradation,
    h264,
    motion_kernel,
    sample_training_degradation,
    sample_video_degradation,
)


def _in(value: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= value <= bounds[1]


def test_video_draws_are_in_range_and_mostly_compressed() -> None:
    rng = np.random.default_rng(0)
    draws = [sample_video_degradation(rng, clean_fraction=0.1) for _ in range(2000)]
    clean = [d for d in draws if d == Degradation(resampler=d.resampler)]
    assert 0.06 < len(clean) / len(draws) < 0.14
    for d in draws:
        assert d.blur_sigma == 0 or _in(d.blur_sigma, VIDEO_BLUR_SIGMA)
        assert d.motion_px == 0 or _in(d.motion_px, VIDEO_MOTION_PX)
        assert 0 <= d.motion_deg <= 180
        assert d.noise_sigma == 0 or _in(d.noise_sigma, VIDEO_NOISE_SIGMA)
        assert d.jpeg_quality is None or _in(d.jpeg_quality, VIDEO_JPEG_Q)
        assert d.h264_crf is None or _in(d.h264_crf, VIDEO_H264_CRF)
        assert d.jpeg_quality is None or d.h264_crf is None  # one codec per sample
    degraded = [d for d in draws if d not in clean]
    compressed = sum(d.jpeg_quality is not None or d.h264_crf is not None for d in degraded)
    blurred = sum(d.blur_sigma > 0 or d.motion_px > 0 for d in degraded)
    assert compressed / len(degraded) > 0.9 and blurred / len(degraded) > 0.55
    assert sum(d.motion_px > 0 for d in degraded) > 0
    assert sum(d.h264_crf is not None for d in degraded) > 0.3 * len(degraded)


def test_draws_are_seeded() -> None:
    for mode in ("clean", "realistic", "video"):
        a = [sample_training_degradation(np.random.default_rng(7), mode, clean_fraction=0.1)]
        b = [sample_training_degradation(np.random.default_rng(7), mode, clean_fraction=0.1)]
        assert a == b


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_video_degradations_keep_shape_and_dtype(scale: int) -> None:
    hr = np.random.default_rng(1).integers(0, 256, (72, 72, 3), dtype=np.uint8)
    rng = np.random.default_rng(2)
    for _ in range(50):
        lr = sample_video_degradation(rng, clean_fraction=0.0).apply(hr, scale, rng)
        assert lr.shape == (72 // scale, 72 // scale, 3) and lr.dtype == np.uint8


@pytest.mark.parametrize(("length", "angle"), [(3.0, 0.0), (5.5, 45.0), (9.0, 100.0)])
def test_motion_kernel_is_a_normalised_line(length: float, angle: float) -> None:
    k = motion_kernel(length, angle)
    assert k.shape[0] == k.shape[1] and k.shape[0] % 2 == 1 and k.dtype == np.float32
    assert np.isclose(k.sum(), 1.0) and k[k.shape[0] // 2, k.shape[1] // 2] > 0
    assert (k > 0).sum() >= 3


def test_eval_protocols_are_unchanged() -> None:
    assert EVAL_DEGRADATIONS["clean"] == Degradation()
    assert EVAL_DEGRADATIONS["realistic"] == Degradation(blur_sigma=1.0, jpeg_quality=60)
    assert EVAL_DEGRADATIONS["h264"] == Degradation(stream_crf=28)


def test_the_h264_protocol_is_deterministic_and_a_stream_frame() -> None:
    """``stream_crf``: apply() ends with a motion-predicted H.264 frame; the same image gives
    the same LR (no randomness), and it is not the clean downscale."""
    rng = np.random.default_rng(5)
    hr = cv2.GaussianBlur(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8), (0, 0), 1.2)
    d = EVAL_DEGRADATIONS["h264"]
    a = d.apply(hr, 2, np.random.default_rng(1))
    b = d.apply(hr, 2, np.random.default_rng(2))
    clean = EVAL_DEGRADATIONS["clean"].apply(hr, 2, np.random.default_rng(1))
    assert a.shape == clean.shape == (48, 48, 3)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a.astype(float) - clean).mean() > 0.5


def test_h264_round_trip_keeps_levels_and_shapes() -> None:
    """No brightness bias (PyAV's own RGB->YUV conversion darkened by about 1.2 levels)."""
    rng = np.random.default_rng(3)
    base = cv2.GaussianBlur(rng.integers(0, 256, (36, 36, 3), dtype=np.uint8), (0, 0), 2.0)
    images = [np.roll(base, k, axis=1) for k in range(5)]
    out = h264(images, 22)
    assert [o.shape for o in out] == [i.shape for i in images]
    assert all(o.dtype == np.uint8 for o in out)
    y = [cv2.cvtColor(a, cv2.COLOR_RGB2YCrCb)[..., 0].astype(np.float64) for a in (*out, *images)]
    shift = np.mean([(y[k] - y[k + 5]).mean() for k in range(5)])
    assert abs(shift) < 0.4


def test_h264_inter_gives_back_the_last_frame_of_a_moving_clip() -> None:
    """``frames > 1``: the images come back as the motion-predicted last frame (same shapes,
    no level bias, the same picture: close to the input, not to a shifted copy of it)."""
    rng = np.random.default_rng(4)
    base = cv2.GaussianBlur(rng.integers(0, 256, (36, 36, 3), dtype=np.uint8), (0, 0), 1.5)
    images = [np.ascontiguousarray(np.roll(base, 3 * k, axis=0)) for k in range(6)]
    out = h264(images, 26, frames=6, motion_xy=(1.2, -0.7))
    assert [o.shape for o in out] == [i.shape for i in images]
    y = [cv2.cvtColor(a, cv2.COLOR_RGB2YCrCb)[..., 0].astype(np.float64) for a in (*out, *images)]
    # (the conversion's bias is the intra test's; prediction over sub-pixel motion moves the
    # mean of such small tiles by up to about a level, 0.0-0.9 measured over CRF 18-34)
    assert abs(np.mean([(y[k] - y[k + 6]).mean() for k in range(6)])) < 1.5
    for o, i in zip(out, images, strict=True):
        err = np.abs(o.astype(float) - i).mean()
        first = np.abs(o.astype(float) - np.roll(i, -6, axis=1)).mean()  # the clip's start
        assert err < 0.8 * first, (err, first)
    with pytest.raises(ValueError, match="frames"):
        h264(images, 26, frames=0)

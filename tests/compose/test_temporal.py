import numpy as np
import pytest

from streamsr.compose import ResidualSmoother


def _run(
    smoother: ResidualSmoother, bgs: list[np.ndarray], residuals: list[np.ndarray]
) -> list[np.ndarray]:
    out = []
    for bg, r in zip(bgs, residuals, strict=True):
        smoother.begin(bg, 1)  # input frames at scale 1: box and frame pixels coincide
        out.append(smoother.smooth(r, (0, 0, 32, 32)).copy())
        smoother.end()
    return out


def test_still_picture_noisy_residual_flickers_less() -> None:
    rng = np.random.default_rng(0)
    bg = np.full((32, 32, 3), 120, np.uint8)
    res = [rng.normal(0, 4, (32, 32, 3)).astype(np.float32) for _ in range(20)]
    out = _run(ResidualSmoother(), [bg] * 20, res)
    change_in = np.mean([np.abs(res[t + 1] - res[t]).mean() for t in range(19)])
    change_out = np.mean([np.abs(out[t + 1] - out[t]).mean() for t in range(19)])
    assert change_out < 0.8 * change_in
    np.testing.assert_array_equal(out[0], res[0])  # nothing to blend with on the first frame


def test_moving_picture_keeps_the_new_residual() -> None:
    rng = np.random.default_rng(1)
    bgs = [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(5)]
    res = [rng.normal(0, 4, (32, 32, 3)).astype(np.float32) for _ in range(5)]
    out = _run(ResidualSmoother(), bgs, res)
    for o, r in zip(out, res, strict=True):
        np.testing.assert_allclose(o, r, atol=1e-5)


def test_reset_and_bad_options() -> None:
    s = ResidualSmoother()
    bg = np.zeros((32, 32, 3), np.uint8)
    _run(s, [bg], [np.ones((32, 32, 3), np.float32)])
    s.reset()
    r = np.full((32, 32, 3), 5.0, np.float32)
    np.testing.assert_array_equal(_run(s, [bg], [r])[0], r)
    with pytest.raises(ValueError, match="strength"):
        ResidualSmoother(strength=1.0)


def test_luma_and_rgb_residuals_are_smoothed_alike() -> None:
    """One plane (the pipeline's luma residual) is smoothed as each plane of an RGB one."""
    rng = np.random.default_rng(3)
    bg = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    res = [rng.normal(0, 5, (32, 32)).astype(np.float32) for _ in range(6)]
    luma = _run(ResidualSmoother(), [bg] * 6, res)
    rgb = _run(ResidualSmoother(), [bg] * 6, [np.repeat(r[..., None], 3, axis=2) for r in res])
    for a, b in zip(luma, rgb, strict=True):
        np.testing.assert_allclose(np.repeat(a[..., None], 3, axis=2), b, atol=1e-4)
    assert np.std(luma[-1]) < 0.8 * np.std(res[-1])  # still picture: smoothed


@pytest.mark.parametrize("channels", [0, 3])
def test_a_box_inside_the_frame_blends_with_its_own_last_residual(channels: int) -> None:
    """A face box that is a part of the frame (its residual a strided window of the smoother's
    frame-sized plane), output twice the input: on a still picture each frame's result is
    (1 - s) * new + s * the last result, exactly, and the rest of the plane is left alone."""
    rng = np.random.default_rng(4)
    bg = np.full((40, 60, 3), 90, np.uint8)
    box = (20, 16, 84, 64)  # output pixels: x0, y0, x1, y1 (a 32 x 24 input box)
    shape = (48, 64) + ((channels,) if channels else ())
    res = [rng.normal(0, 5, shape).astype(np.float32) for _ in range(4)]
    s = ResidualSmoother()
    outs = []
    for r in res:
        s.begin(bg, 2)
        outs.append(s.smooth(r, box).copy())
        s.end()
    np.testing.assert_array_equal(outs[0], res[0])
    for t in range(1, 4):
        want = (1 - s.strength) * res[t] + s.strength * outs[t - 1]
        np.testing.assert_allclose(outs[t], want, rtol=1e-4, atol=1e-3)
    # the next frame blends with the stored result, not with a stale copy
    s.begin(bg, 2)
    nxt = s.smooth(np.zeros(shape, np.float32), box)
    np.testing.assert_allclose(nxt, s.strength * outs[-1], rtol=1e-4, atol=1e-3)

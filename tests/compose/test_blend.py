import numpy as np
import pytest

from streamsr.compose import compose, feather_mask, mark, paste, upscale_frame


def test_feather_mask_is_zero_at_the_edge_and_one_inside() -> None:
    m = feather_mask(50, 40)
    assert m.shape == (50, 40, 1) and m.dtype == np.float32
    assert m[0, 0, 0] < 0.01 and m[-1, -1, 0] < 0.01
    assert m[25, 20, 0] == pytest.approx(1.0)
    # Monotone ramp from the edge to the centre, symmetric.
    col = m[:25, 20, 0]
    assert np.all(np.diff(col) >= 0)
    np.testing.assert_allclose(m[:, :, 0], m[::-1, ::-1, 0], atol=1e-6)


def test_paste_of_the_background_changes_nothing() -> None:
    rng = np.random.default_rng(0)
    out = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    before = out.copy()
    boxes = np.array([[10, 10, 42, 42]])
    paste(out, boxes, [before[10:42, 10:42].copy()])
    np.testing.assert_array_equal(out, before)


def test_no_step_at_the_box_edge() -> None:
    """A crop brighter by 40 fades in: neighbouring pixels never jump by more than the ramp allows."""
    out = np.full((100, 100, 3), 100, np.uint8)
    crop = np.full((60, 60, 3), 140, np.uint8)
    paste(out, np.array([[20, 20, 80, 80]]), [crop])
    row = out[50, :, 0].astype(int)
    assert row[50] == 140 and row[0] == 100
    assert np.abs(np.diff(row)).max() <= 6  # 40 levels spread over ~11 px of cosine ramp


def test_compose_size_and_face_region() -> None:
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    crop = np.zeros((20, 20, 3), np.uint8)
    out = compose(frame, scale=2, boxes_xyxy=np.array([[5, 5, 15, 15]]), crops=[crop])
    assert out.shape == (60, 80, 3)
    plain = upscale_frame(frame, 2)
    assert (
        out[20, 20].sum() < plain[20, 20].sum() or plain[20, 20].sum() == 0
    )  # the dark crop is in
    np.testing.assert_array_equal(out[40:, 40:], plain[40:, 40:])  # far from the box: untouched


def test_mark_draws_an_outline() -> None:
    out = np.zeros((100, 100, 3), np.uint8)
    mark(out, np.array([[20, 30, 60, 70]]), [7])
    assert out[30, 40].any() and out[69, 40].any()  # top and bottom edges
    assert not out[50, 40].any()  # inside stays
    with pytest.raises(ValueError):
        paste(out, np.array([[0, 0, 10, 10]]), [np.zeros((5, 5, 3), np.uint8)])

import numpy as np
import pytest

from streamsr.compose import compose, feather_mask, mark, paste, upscale_frame
from streamsr.compose._blend import MARK_RGB


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


def _scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """A textured 240x320 frame, two boxes, and x2 'enhanced' crops: the bicubic upscale of each
    box plus fine detail (as a network's residual would add)."""
    import cv2

    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8), (7, 7), 2)
    boxes = np.array([[40, 30, 120, 110], [200, 100, 296, 196]])
    crops = []
    for x0, y0, x1, y1 in boxes.tolist():
        up = cv2.resize(img[y0:y1, x0:x1], None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
        detail = rng.normal(0, 12, up.shape)
        crops.append(np.clip(up + detail, 0, 255).astype(np.uint8))
    return img, boxes, crops


def test_input_size_output_matches_scaled_then_area_downscale() -> None:
    import cv2

    img, boxes, crops = _scene()
    scaled = compose(img, scale=2, boxes_xyxy=boxes, crops=crops)
    reference = cv2.resize(scaled, (320, 240), interpolation=cv2.INTER_AREA).astype(np.float32)
    fast = compose(img, scale=2, boxes_xyxy=boxes, crops=crops, output_size="input")
    assert fast.shape == img.shape
    inside = np.zeros(img.shape[:2], bool)
    for x0, y0, x1, y1 in boxes.tolist():
        inside[y0:y1, x0:x1] = True
    # Away from the faces the frame is the input itself, untouched.
    assert np.array_equal(fast[~inside], img[~inside])
    # In the boxes, what the scaled output area-averaged gives (to about a level), and the
    # enhancement is there: the boxes differ from the input as much as the reference does.
    err = np.abs(fast.astype(np.float32) - reference)[inside].mean()
    change_ref = np.abs(reference - img.astype(np.float32))[inside].mean()
    change_fast = np.abs(fast.astype(np.float32) - img.astype(np.float32))[inside].mean()
    assert err < 1.5, err
    assert change_fast > 0.7 * change_ref > 0.5, (change_fast, change_ref)


def test_input_size_output_marks_boxes_at_input_size() -> None:
    img, boxes, crops = _scene(1)
    out = compose(
        img,
        scale=2,
        boxes_xyxy=boxes,
        crops=crops,
        track_ids=[3, 4],
        marked=True,
        output_size="input",
    )
    x0, y0 = boxes[0, :2].tolist()
    # The outline's left edge, at input pixels (anti-aliased: the colour dominates there).
    edge = out[y0 + 30 : y0 + 50, x0].astype(int)
    assert (np.abs(edge - np.array(MARK_RGB)).max(axis=1) < 60).all(), edge


def test_input_size_output_refuses_crops_of_the_wrong_size() -> None:
    img, boxes, crops = _scene(2)
    with pytest.raises(ValueError, match="does not fit"):
        compose(img, scale=3, boxes_xyxy=boxes, crops=crops, output_size="input")


@pytest.mark.parametrize("output_size", ["scaled", "input"])
def test_a_luma_residual_pastes_as_the_rgb_crop_it_stands_for(output_size: str) -> None:
    """The pipeline pastes what the network added to the luma (one plane); the result is the
    RGB crop's paste (luma replaced in the bicubic crop) to within the YCrCb round trip."""
    import cv2

    from streamsr.enhance._enhancer import luma_residual, postprocess, preprocess

    rng = np.random.default_rng(4)
    frame = cv2.GaussianBlur(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8), (0, 0), 1.5)
    box = np.array([[10, 8, 42, 40]])
    ycrcb = preprocess(frame[8:40, 10:42], 2)
    y_net = np.clip(ycrcb[..., 0].astype(int) + rng.integers(-20, 21, ycrcb.shape[:2]), 0, 255)
    y_net = y_net.astype(np.uint8)
    residual = luma_residual(ycrcb, y_net)
    assert residual.shape == (64, 64) and residual.dtype == np.float32
    rgb_crop = postprocess(ycrcb.copy(), y_net)
    a = compose(frame, scale=2, boxes_xyxy=box, crops=[rgb_crop], output_size=output_size)  # type: ignore[arg-type]
    b = compose(frame, scale=2, boxes_xyxy=box, crops=[residual], output_size=output_size)  # type: ignore[arg-type]
    assert not np.array_equal(
        b, compose(frame, scale=2, boxes_xyxy=box[:0], crops=[], output_size=output_size)
    )  # type: ignore[arg-type]
    diff = np.abs(a.astype(int) - b.astype(int))
    assert diff.max() <= 3 and diff.mean() < 0.5


def test_an_averaged_residual_pastes_as_the_output_size_one_it_stands_for() -> None:
    """At input size a luma residual averaged to its box (``residual="input"``) composes the
    same frame as the residual at the output size, to a level (only the feathered mask is
    applied before instead of after the average), with and without temporal smoothing; the
    smoother keeps it at the input's size and still blends a still picture's frames."""
    import cv2

    from streamsr.compose import ResidualSmoother

    rng = np.random.default_rng(8)
    frame = cv2.GaussianBlur(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8), (0, 0), 1.5)
    box = np.array([[20, 16, 84, 80]])
    outs: dict[str, list[np.ndarray]] = {"full": [], "avg": []}
    smoothers = {"full": ResidualSmoother(), "avg": ResidualSmoother()}
    for i in range(3):  # a still picture, a new residual every frame
        full = rng.normal(0, 10, (128, 128)).astype(np.float32)
        avg = cv2.resize(full, (64, 64), interpolation=cv2.INTER_AREA)
        for name, crop in (("full", full), ("avg", avg)):
            kw = {"smoother": smoothers[name]} if i else {}
            out = compose(frame, scale=2, boxes_xyxy=box, crops=[crop], output_size="input", **kw)  # type: ignore[arg-type]
            outs[name].append(out)
        diff = np.abs(outs["full"][i].astype(int) - outs["avg"][i])
        assert diff.max() <= 1 and diff.mean() < 0.05, (i, diff.max(), diff.mean())
    assert smoothers["avg"].scale == 1 and smoothers["full"].scale == 2
    # the smoothed frames differ from the unsmoothed residual's: the last one was blended in
    plain = compose(frame, scale=2, boxes_xyxy=box, crops=[avg], output_size="input")
    assert np.abs(plain.astype(int) - outs["avg"][2]).mean() > 1.0

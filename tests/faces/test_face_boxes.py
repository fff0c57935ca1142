import numpy as np
import pytest

from streamsr import ConfigError
from streamsr.faces import square_boxes


def test_square_and_enlarged_around_the_face() -> None:
    out = square_boxes(
        np.array([[100, 100, 140, 160]], np.float32), enlarge=1.5, size_wh=(640, 480)
    )
    assert out.dtype == np.int32 and out.shape == (1, 4)
    x0, y0, x1, y1 = out[0].tolist()
    assert x1 - x0 == y1 - y0 == 90  # 1.5 × the longer side (60)
    assert (x0 + x1) / 2 == 120 and (y0 + y1) / 2 == 130  # same centre


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        ([-10, -10, 30, 30], [0, 0, 40, 40]),  # top-left corner: moved inside, still square
        ([620, 450, 660, 490], [600, 440, 640, 480]),  # bottom-right corner
        ([300, 460, 340, 500], [300, 440, 340, 480]),  # bottom edge only
    ],
)
def test_boxes_at_the_edge_are_moved_inside_and_stay_square(
    box: list[float], expected: list[int]
) -> None:
    out = square_boxes(np.array([box], np.float32), enlarge=1.0, size_wh=(640, 480))
    assert out[0].tolist() == expected


def test_a_box_larger_than_the_frame_is_cut_to_the_shorter_side() -> None:
    out = square_boxes(np.array([[0, 0, 400, 400]], np.float32), enlarge=2.0, size_wh=(640, 480))
    x0, y0, x1, y1 = out[0].tolist()
    assert (x1 - x0, y1 - y0) == (480, 480)
    assert x0 >= 0 and y0 >= 0 and x1 <= 640 and y1 <= 480


def test_many_boxes_and_none() -> None:
    rng = np.random.default_rng(0)
    xy = rng.uniform(-50, 700, (50, 2))
    wh = rng.uniform(5, 200, (50, 2))
    out = square_boxes(np.concatenate([xy, xy + wh], 1), enlarge=1.3, size_wh=(640, 360))
    assert out.shape == (50, 4)
    assert (out[:, 2] - out[:, 0] == out[:, 3] - out[:, 1]).all()
    assert (out[:, :2] >= 0).all() and (out[:, 2] <= 640).all() and (out[:, 3] <= 360).all()
    empty = square_boxes(np.zeros((0, 4), np.float32), enlarge=1.3, size_wh=(640, 360))
    assert empty.shape == (0, 4) and empty.dtype == np.int32


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"enlarge": 0.0}, r"enlarge must be a finite number > 0"),
        ({"enlarge": float("nan")}, r"enlarge"),
        ({"size_wh": (0, 480)}, r"size_wh must be two ints ≥ 1"),
        ({"size_wh": (640.0, 480)}, r"size_wh"),
        ({"xyxy": np.zeros((3,), np.float32)}, r"xyxy must be an \(N, 4\) array"),
    ],
)
def test_invalid_arguments_raise_value_error(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "xyxy": np.zeros((1, 4), np.float32),
        "enlarge": 1.5,
        "size_wh": (640, 480),
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message) as info:
        square_boxes(**args)  # type: ignore[arg-type]
    assert isinstance(info.value, ConfigError)

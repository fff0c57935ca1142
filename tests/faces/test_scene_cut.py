from collections.abc import Callable

import numpy as np
import pytest

from streamsr import ConfigError
from streamsr.faces import SceneCutDetector

ClipFrames = Callable[[str, str, int], list[np.ndarray]]


def picture(seed: int, size_wh: tuple[int, int] = (320, 240)) -> np.ndarray:
    """A blocky random picture: big areas of colour, like a shot rather than noise."""
    rng = np.random.default_rng(seed)
    w, h = size_wh
    blocks = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    return np.kron(blocks, np.ones((h // 6 + 1, w // 8 + 1, 1), np.uint8))[:h, :w]


def test_first_frame_is_not_a_cut() -> None:
    assert not SceneCutDetector().is_cut(picture(0))


def test_same_image_is_not_a_cut() -> None:
    sc = SceneCutDetector()
    img = picture(0)
    assert not sc.is_cut(img)
    assert not sc.is_cut(img.copy())
    assert sc.last_mad == 0.0


def test_two_different_images_are_a_cut() -> None:
    sc = SceneCutDetector()
    sc.is_cut(picture(0))
    assert sc.is_cut(picture(1))
    assert not sc.is_cut(picture(1))


def test_small_motion_and_noise_are_not_a_cut() -> None:
    sc = SceneCutDetector()
    rng = np.random.default_rng(2)
    img = picture(0)
    sc.is_cut(img)
    shifted = np.roll(img, 4, axis=1)
    noisy = np.clip(shifted.astype(int) + rng.normal(0, 8, img.shape), 0, 255).astype(np.uint8)
    assert not sc.is_cut(noisy)


def test_reset_forgets_the_previous_frame() -> None:
    sc = SceneCutDetector()
    sc.is_cut(picture(0))
    sc.reset()
    assert not sc.is_cut(picture(1))


def test_no_cut_inside_a_talking_head_and_a_cut_between_clips(clip_frames: ClipFrames) -> None:
    head = clip_frames("talking_heads", "news_1.mp4", 30)
    webcam = clip_frames("webcam_small_faces", "again.mkv", 1)
    sc = SceneCutDetector()
    assert not any(sc.is_cut(f) for f in head)
    assert sc.is_cut(webcam[0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mad_threshold": 0}, r"mad_threshold must be a number in \(0, 255\)"),
        ({"hist_threshold": 1.0}, r"hist_threshold must be a number in \(0, 1\)"),
    ],
)
def test_invalid_options_raise_value_error(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        SceneCutDetector(**kwargs)
    assert isinstance(info.value, ConfigError)


def test_rejects_a_frame_that_is_not_rgb24() -> None:
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8"):
        SceneCutDetector().is_cut(np.zeros((10, 10), np.uint8))

"""The face gallery's rule: per track, the sighting with the best confidence × size ×
sharpness is kept, as the enhanced crop beside the same crop bicubic; bounded in tracks and
pixels."""

from __future__ import annotations

import io
from fractions import Fraction

import cv2
import numpy as np
from PIL import Image

from streamsr._frame import Faces, Frame
from streamsr.runtime import _webview
from streamsr.runtime._webview import SCORE_EVERY, Gallery

RNG = np.random.default_rng(0)
SHARP = RNG.integers(0, 255, (240, 320, 3), dtype=np.uint8)
BLURRED = cv2.GaussianBlur(SHARP, (0, 0), 4)


def _faces(boxes: list[tuple[int, int, int, int]], tracks: list[int]) -> Faces:
    xyxy = np.array(boxes, np.float32).reshape(-1, 4)
    return Faces(
        xyxy,
        np.full(len(boxes), 0.9, np.float32),
        np.array(tracks, np.int64),
        np.array(boxes, np.int32).reshape(-1, 4),
    )


def _see(g: Gallery, rgb: np.ndarray, faces: Faces, times: int = 1) -> None:
    out = cv2.resize(rgb, (rgb.shape[1] * 2, rgb.shape[0] * 2), interpolation=cv2.INTER_CUBIC)
    for _ in range(times):
        g.update(Frame(rgb, 0, Fraction(1, 30), 0), faces, out, "video")


def test_the_sharper_sighting_replaces_the_blurred_one() -> None:
    g = Gallery("door", {"model": "fsrcnn-s", "scale": "2"})
    faces = _faces([(40, 40, 120, 120)], [3])
    _see(g, BLURRED, faces, SCORE_EVERY)
    blurred_score = g.tracks()[0]["score"]
    _see(g, SHARP, faces, SCORE_EVERY)
    t = g.tracks()[0]
    assert t["track"] == 3 and t["sightings"] == 2 * SCORE_EVERY
    assert t["score"] > blurred_score  # the sharp one was scored and kept
    pair = Image.open(io.BytesIO(g.png(3, "pair")))
    assert pair.size == (2 * 160 + 4, 160)  # bicubic | enhanced, at the output scale
    assert pair.text["streamsr:camera"] == "door" and pair.text["streamsr:variant"] == "video"
    # a later blurred sighting does not replace it
    _see(g, BLURRED, faces, SCORE_EVERY)
    assert g.tracks()[0]["score"] == t["score"]


def test_the_gallery_is_bounded(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(_webview, "MAX_TRACKS", 5)
    g = Gallery("lobby", {})
    for track in range(12):
        _see(g, SHARP, _faces([(0, 0, 200, 200)], [track]))
    tracks = g.tracks()
    assert [t["track"] for t in tracks] == [11, 10, 9, 8, 7]  # the newest, newest first
    img = Image.open(io.BytesIO(g.png(11, "enhanced")))
    assert max(img.size) == _webview.MAX_SIDE_PX  # a 400 px crop is kept at 320
    assert img.text["streamsr:enhanced"] == "yes"

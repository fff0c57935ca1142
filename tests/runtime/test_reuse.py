"""Large faces through the network every N frames, the residual carried over in between."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from fractions import Fraction

import cv2
import numpy as np
import pytest

from streamsr._frame import Faces, Frame
from streamsr.runtime._budget import NoBudget
from streamsr.runtime._metrics import Metrics
from streamsr.runtime._stages import MAX_DECLINED_CARRIES, EnhanceStage, ResidualReuse, Work

SCALE = 2


def _texture(seed: int, size: int = 220) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    return cv2.GaussianBlur(img, (0, 0), 2.0)


def _frame(rgb: np.ndarray, i: int, *, cut: bool = False) -> Frame:
    return Frame(np.ascontiguousarray(rgb), i, Fraction(1, 30), i, discontinuity=cut)


def _faces(box: tuple[int, int, int, int], track: int = 0) -> Faces:
    xyxy = np.array([box], np.float32)
    return Faces(xyxy, np.ones(1, np.float32), np.array([track]), np.array([box], np.int32))


class _Counting:
    """A stand-in network: the residual is the crop's own luma (so a carried one can be told
    from a fresh one), counted per call."""

    scale = SCALE
    gives_residuals = True

    def __init__(self) -> None:
        self.crops = 0

    def enhance(self, crops: Sequence[np.ndarray], *, residual: bool = False) -> list[np.ndarray]:
        assert residual
        self.crops += len(crops)
        out = []
        for c in crops:
            y = cv2.cvtColor(c, cv2.COLOR_RGB2GRAY).astype(np.float32)
            out.append(cv2.resize(y, (c.shape[1] * SCALE, c.shape[0] * SCALE)))
        return out

    def enhance_many(
        self, crops_per_frame: Sequence[Sequence[np.ndarray]], *, residual: bool = False
    ) -> list[list[np.ndarray]]:
        return [self.enhance(c, residual=residual) for c in crops_per_frame]


@pytest.mark.parametrize("px", [SCALE, 1])
def test_a_carried_residual_moves_with_the_picture(px: int) -> None:
    """The residual moves by the picture's shift times its own pixels per input pixel: the
    output's (``scale``), or 1 for a residual averaged to the crop (output at input size)."""
    base = _texture(0, 260)
    box = (40, 40, 200, 200)  # 160 px: a 320 px output crop, large
    first = _frame(base[:220, :220], 0)
    moved = _frame(base[1:221, 2:222], 1)  # the picture moved 2 px left and 1 px up
    reuse = ResidualReuse(2, SCALE)
    faces = _faces(box)
    assert reuse.plan(first, faces)[1] == {}
    luma = cv2.cvtColor(first.rgb24[40:200, 40:200], cv2.COLOR_RGB2GRAY).astype(np.float32)
    res = cv2.resize(luma, (160 * px, 160 * px))
    reuse.keep(first, faces.enhanced, {0: res})
    faces2, carried = reuse.plan(moved, _faces((41, 40, 201, 200)))  # the tracker's new box
    assert list(carried) == [0]
    assert faces2.crop_xyxy is not None and tuple(faces2.crop_xyxy[0].tolist()) == box
    shifted = carried[0]
    assert shifted.shape == res.shape
    # content at (x, y) in the first frame is at (x - 2, y - 1) now, in residual pixels
    m = 10 * px
    inner = (slice(m, -m), slice(m, -m))
    expect = res[m + px : -m + px, m + 2 * px : -m + 2 * px]
    err = np.abs(shifted[inner] - expect).mean()
    assert err < 0.1 * np.abs(res[inner] - res[inner].mean()).mean()


def test_every_second_frame_goes_through_the_network_and_every_frame_has_its_crop() -> None:
    net = _Counting()
    metrics = Metrics()
    stage = EnhanceStage(net, NoBudget(), metrics, reuse_every=2)
    base = _texture(1, 300)
    box = (30, 30, 190, 190)
    for i in range(10):
        f = _frame(base[i % 2 : 220 + i % 2, :220], i, cut=i == 6)
        w = stage.enhance(Work(f, 0.0, faces=_faces(box)))
        assert len(w.crops) == 1 and w.crops[0].shape == (320, 320)
    # frames 0, 2, 4 fresh; 1, 3, 5 carried; 6 is a scene cut (fresh), 7 carried, 8 fresh, 9 carried
    assert net.crops == 5 and metrics.faces_reused == 5 and metrics.faces_enhanced == 10


def test_small_faces_and_new_tracks_always_go_through_the_network() -> None:
    net = _Counting()
    metrics = Metrics()
    stage = EnhanceStage(net, NoBudget(), metrics, reuse_every=3)
    frame = _frame(_texture(2), 0)
    for i in range(4):
        small = _faces((10, 10, 110, 110), track=1)  # a 200 px output crop
        stage.enhance(Work(dataclasses.replace(frame, index=i), 0.0, faces=small))
    for i in range(3):  # a new track id each frame
        stage.enhance(Work(frame, 0.0, faces=_faces((20, 20, 200, 200), track=10 + i)))
    assert net.crops == 7 and metrics.faces_reused == 0


def test_without_reuse_the_stage_batches_frames_as_before() -> None:
    net = _Counting()
    stage = EnhanceStage(net, NoBudget(), Metrics())
    frame = _frame(_texture(3), 0)
    works = [Work(frame, 0.0, faces=_faces((20, 20, 200, 200))) for _ in range(3)]
    out = stage.enhance_many(works)
    assert net.crops == 3 and all(len(w.crops) == 1 for w in out)


def test_a_residual_is_not_carried_into_a_smaller_frame(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The kept box no longer fits: the network runs, even where the picture seems still."""
    monkeypatch.setattr(cv2, "phaseCorrelate", lambda a, b, w: ((0.0, 0.0), 1.0))
    reuse = ResidualReuse(2, SCALE)
    big = _frame(_texture(4, 300), 0)
    box = (100, 100, 280, 280)
    reuse.keep(big, _faces(box), {0: np.zeros((360, 360), np.float32)})
    assert list(reuse.plan(_frame(_texture(4, 300), 1), _faces(box))[1]) == [0]  # it would carry
    reuse.keep(big, _faces(box), {0: np.zeros((360, 360), np.float32)})
    small = _frame(_texture(4, 300)[:250, :250], 2)  # same track, the input shrank
    assert reuse.plan(small, _faces((20, 20, 200, 200)))[1] == {}


class _Declining:
    """A budget that leaves the faces of the frames named in ``out`` out (as a latency budget
    that could not fit them into the frame interval)."""

    def __init__(self, out: set[int]) -> None:
        self.out, self.frame = out, -1

    def select(self, faces: Faces, age_s: float) -> Faces:
        self.frame += 1
        return faces.with_enhance(np.full(len(faces), self.frame not in self.out))

    def learn(self, seconds: float, out_px: float) -> None:
        return None


def test_a_large_face_the_budget_leaves_out_carries_its_residual_for_two_frames() -> None:
    """Live, with a budget: a declined large face keeps the network's last residual, moved,
    for :data:`MAX_DECLINED_CARRIES` frames in a row; then it stays bicubic (counted) until
    the network has run on it again. Each frame still has one crop per enhanced face."""
    net = _Counting()
    metrics = Metrics()
    declined = {1, 3, 4, 5, 6}
    stage = EnhanceStage(net, _Declining(declined), metrics, carry_declined=True)
    base = _texture(5, 300)
    box = (30, 30, 190, 190)
    enhanced = []
    for i in range(8):
        f = _frame(base[i % 2 : 220 + i % 2, :220], i)
        w = stage.enhance(Work(f, 0.0, faces=_faces(box)))
        enhanced.append(bool(w.faces.enhance[0]))
        assert len(w.crops) == int(enhanced[-1])
        if w.crops:
            assert w.crops[0].shape == (320, 320)
    # 0 fresh, 1 carried, 2 fresh, 3 and 4 carried, 5 and 6 bicubic, 7 fresh
    assert enhanced == [True, True, True, True, True, False, False, True]
    assert net.crops == 3 and metrics.faces_reused == 3 and metrics.enhance_skips == 2
    assert MAX_DECLINED_CARRIES == 2


def test_without_carry_a_declined_face_stays_bicubic() -> None:
    net = _Counting()
    metrics = Metrics()
    stage = EnhanceStage(net, _Declining({1, 2}), metrics)
    frame = _frame(_texture(6, 300)[:220, :220], 0)
    chosen = [
        bool(stage.enhance(Work(frame, 0.0, faces=_faces((30, 30, 190, 190)))).faces.enhance[0])
        for _ in range(4)
    ]
    assert chosen == [True, False, False, True] and metrics.faces_reused == 0


def test_small_declined_faces_are_not_carried() -> None:
    net = _Counting()
    metrics = Metrics()
    stage = EnhanceStage(net, _Declining({1}), metrics, carry_declined=True)
    frame = _frame(_texture(7)[:220, :220], 0)
    small = (10, 10, 110, 110)  # a 200 px output crop
    for _ in range(3):
        stage.enhance(Work(frame, 0.0, faces=_faces(small)))
    assert net.crops == 2 and metrics.faces_reused == 0 and metrics.enhance_skips == 1


class _Averaging(_Counting):
    """A stand-in that also gives residuals averaged to the crop (``residual="input"``)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[object] = []

    def enhance(self, crops: Sequence[np.ndarray], *, residual: object = False) -> list[np.ndarray]:
        self.forms.append(residual)
        full = super().enhance(crops, residual=True)
        if residual == "input":
            return [cv2.resize(r, (r.shape[1] // SCALE, r.shape[0] // SCALE)) for r in full]
        return full


def test_at_input_size_the_stage_asks_for_averaged_residuals() -> None:
    net = _Averaging()
    stage = EnhanceStage(net, NoBudget(), Metrics(), reuse_every=2, at_input_size=True)
    base = _texture(6, 300)
    box = (30, 30, 190, 190)
    for i in range(6):
        f = _frame(base[i % 2 : 220 + i % 2, :220], i)
        w = stage.enhance(Work(f, 0.0, faces=_faces(box)))
        assert len(w.crops) == 1 and w.crops[0].shape == (160, 160)  # the box, not 2x it
    assert net.forms == ["input"] * 3 and net.crops == 3  # frames 1, 3, 5 carried

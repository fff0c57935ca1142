"""The live latency budget: which faces the network may enhance and still meet the deadline."""

from __future__ import annotations

import itertools

import numpy as np

from streamsr._frame import Faces
from streamsr.enhance._srcnn import build_srcnn, multiply_adds
from streamsr.runtime._budget import (
    PERIOD_CAP,
    PERIOD_SHARE,
    SEC_PER_OUT_PX,
    LatencyBudget,
    first_guess,
)


def one_face(side: int) -> Faces:
    f = Faces(
        np.array([[0, 0, side, side]], np.float32),
        np.ones(1, np.float32),
        np.zeros(1, np.int64),
    )
    return f.with_crops(np.array([[0, 0, side, side]], np.int32))


def test_first_guess_follows_the_networks_multiply_adds() -> None:
    assert first_guess(None) == SEC_PER_OUT_PX
    assert first_guess(multiply_adds(build_srcnn("srcnn-955"))) == SEC_PER_OUT_PX
    cheap = first_guess(multiply_adds(build_srcnn("espcn-s", scale=2)))
    mid = first_guess(multiply_adds(build_srcnn("fsrcnn-s", scale=2)))
    assert cheap < mid < SEC_PER_OUT_PX / 10


def test_a_stale_estimate_is_tried_again_and_corrected() -> None:
    """A close face (400 px, x2) under a 60 ms budget with srcnn-955's guess (205 ms for its
    crop) was never enhanced, so the guess was never corrected. Skipping shrinks the estimate
    until the face is tried; a measurement as fast as the guess keeps it enhanced."""
    b = LatencyBudget(60, scale=2, tail_s=lambda: 0.01)
    face = one_face(400)
    chosen = [bool(b.select(face, 0.0).enhance[0]) for _ in range(200)]
    first = chosen.index(True)
    assert 0 < first < 150 and not any(chosen[:first])
    for _ in range(20):  # the network turns out to take 10 ms for the crop
        b.learn(0.010, 800 * 800)
    assert all(b.select(face, 0.0).enhance for _ in range(50))


def test_a_slow_measurement_makes_the_budget_cautious_at_once() -> None:
    b = LatencyBudget(60, scale=2, tail_s=lambda: 0.01, px_cost=1e-9)
    face = one_face(400)
    assert b.select(face, 0.0).enhance[0]
    b.learn(0.2, 800 * 800)  # 200 ms: far over the budget
    assert not b.select(face, 0.0).enhance[0]
    # While skipping, the estimate shrinks, but not below a quarter of what was measured.
    for _ in range(1000):
        b.select(face, 0.0)
    assert b.px_cost >= 0.25 * 0.5 * (0.2 / 800**2)


def test_faces_are_kept_in_track_order_until_the_budget_is_spent() -> None:
    b = LatencyBudget(60, scale=2, tail_s=lambda: 0.0, px_cost=1e-7)  # a 100 px crop: 4 ms
    faces = Faces(
        np.zeros((3, 4), np.float32), np.ones(3, np.float32), np.array([2, 0, 1], np.int64)
    ).with_crops(np.array([[0, 0, 100, 100], [0, 0, 100, 100], [0, 0, 400, 400]], np.int32))
    sel = b.select(faces, 0.0)
    assert sel.track_ids.tolist() == [0, 1, 2]
    # track 0 fits (4 ms); track 1, a 400 px crop (64 ms at x2), does not, and the budget stops
    # there: track 2 is not enhanced ahead of it, so the same faces are enhanced frame after frame
    assert sel.enhance.tolist() == [True, False, False]


def _run(b: LatencyBudget, face: Faces, frames: int, seconds: float) -> list[bool]:
    """``frames`` frames through the budget; each enhancement measured at ``seconds``."""
    chosen = []
    for _ in range(frames):
        on = bool(b.select(face, 0.0).enhance[0])
        if on:
            b.learn(seconds, 400 * 400)
        chosen.append(on)
    return chosen


def test_the_enhance_stage_keeps_up_with_the_frame_rate() -> None:
    """A face that takes longer than the frame interval's share (30 fps, 40 ms of a 33 ms
    interval) is enhanced on some frames only: the time spent never exceeds what the frames
    brought, and the stage is not starved either."""
    period = 1 / 30
    cost = 0.040
    b = LatencyBudget(500, scale=2, tail_s=lambda: 0.0, px_cost=cost / (400 * 400), period_s=period)
    chosen = _run(b, one_face(200), 300, cost)
    spent = sum(chosen) * cost
    assert spent <= PERIOD_SHARE * period * 300 + PERIOD_CAP * period
    assert sum(chosen) >= 0.9 * PERIOD_SHARE * period * 300 / cost
    # and never two frames in a row left out: one frame's credit and the rest of the last one's
    # pay for the next enhancement
    assert not any(a is False and c is False for a, c in itertools.pairwise(chosen))


def test_without_a_period_only_the_latency_counts() -> None:
    b = LatencyBudget(500, scale=2, tail_s=lambda: 0.0, px_cost=0.040 / (400 * 400))
    assert all(_run(b, one_face(200), 100, 0.040))


def test_a_face_that_can_never_fit_the_frame_interval_is_tried_again_later() -> None:
    """Costlier than :data:`PERIOD_CAP` intervals by its estimate: left out, the estimate
    shrinks until it is tried (as for the latency limit), then the measurement corrects it."""
    period = 1 / 30
    b = LatencyBudget(5000, scale=2, tail_s=lambda: 0.0, px_cost=0.2 / (400 * 400), period_s=period)
    face = one_face(200)
    chosen = [bool(b.select(face, 0.0).enhance[0]) for _ in range(300)]
    assert not chosen[0] and any(chosen)
    b.learn(0.2, 400 * 400)  # it does take 200 ms: left out again
    assert not b.select(face, 0.0).enhance[0]

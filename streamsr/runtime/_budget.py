"""Latency budgets: which faces of a frame the network may enhance and still meet a deadline.

The enhance stage asks its budget to :meth:`~LatencyBudget.select` the faces of each frame; a
face left out stays bicubic and is counted. Files have no budget (:class:`NoBudget`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from streamsr._frame import Faces

SEC_PER_OUT_PX = 3.2e-7
"""Enhance time per output pixel of srcnn-955 (2 CPU threads: ~21 ms per 256²): the first guess,
scaled by a network's multiply-adds (:func:`first_guess`), refined from measurements."""
EMA_UP = 0.5
"""Weight of a measurement slower than the estimate: the budget turns cautious at once."""
EMA_DOWN = 0.1
"""Weight of a measurement faster than the estimate."""
SKIP_DECAY = 0.98
"""Per frame whose faces were all skipped, the estimate shrinks by this factor (once measured,
to no less than :data:`MIN_SHRINK` of the last measurement), so that a stale estimate (the warm-up's first
call, a load spike) is tried again and corrected, instead of leaving every face bicubic for
good: measured, a close face (a 780 px crop) against a 60 ms budget and the old fixed guess
(srcnn-955's cost) was never enhanced once in a live run."""
MIN_SHRINK = 0.25
PERIOD_SHARE = 0.8
"""Share of the input's frame interval the enhance stage may spend per frame, on average. The
stages run side by side, each on its own thread: an enhance stage that needs longer than a
frame interval per frame falls behind, and live mode then drops whole frames. Measured: a close
face at 1280x720 (a 1,280 px output crop, espcn-s, about 32 ms on the 2-core machine) against
the 33 ms interval of a 30 fps camera dropped 52-58 of 300 frames under the latency budget alone."""
PERIOD_CAP = 2.0
"""The most credit (in frame intervals) the enhance stage saves up, and so the most one frame's
faces may cost: the queue before the stage holds at least one more frame, so one long
enhancement followed by a short one drops nothing. Two intervals let a face that costs 1.2 of
them run on two frames of three (a cap of 1.5 wasted credit: one of two)."""


def first_guess(multiply_adds: float | None) -> float:
    """Seconds per output pixel for a network of ``multiply_adds`` per output pixel (None: the
    srcnn-955 figure). Cheap networks have a floor: the uint8 conversions, padding and
    colour steps cost about what 1,500 multiply-adds do."""
    if multiply_adds is None:
        return SEC_PER_OUT_PX
    return SEC_PER_OUT_PX * (multiply_adds + 1500.0) / (57184.0 + 1500.0)


class Budget(Protocol):
    def select(self, faces: Faces, age_s: float) -> Faces: ...

    def learn(self, seconds: float, out_px: float) -> None: ...


class NoBudget:
    """Every face is enhanced."""

    def select(self, faces: Faces, age_s: float) -> Faces:
        return faces

    def learn(self, seconds: float, out_px: float) -> None:
        return None


class LatencyBudget:
    """Enhance faces, in track order (the same faces frame after frame), while the frame's age
    plus the expected enhance time and the rest of its way out (``tail_s()``: compose and encode,
    measured) stays within ``max_latency_ms``.

    With ``period_s`` (the input's frame interval, live runs) also while the stage keeps up
    with the input: each frame adds :data:`PERIOD_SHARE` of the interval to a credit (at most
    :data:`PERIOD_CAP` intervals), each enhancement spends what it measured, and faces whose
    expected cost exceeds the credit wait for a later frame (the enhance stage carries their
    last residual over meanwhile, :class:`~streamsr.runtime._stages.ResidualReuse`).
    """

    def __init__(
        self,
        max_latency_ms: float,
        *,
        scale: int,
        tail_s: Callable[[], float],
        px_cost: float = SEC_PER_OUT_PX,
        period_s: float | None = None,
    ) -> None:
        if period_s is not None and not period_s > 0:
            raise ValueError(f"period_s must be > 0 or None, got {period_s!r}")
        self.limit_s = max_latency_ms / 1000.0
        self.period_s = period_s
        self.credit_s = 0.0 if period_s is None else PERIOD_CAP * period_s
        self.scale = scale
        self.tail_s = tail_s
        self.px_cost = px_cost
        self._measured: float | None = None  # the estimate at the last measurement

    def select(self, faces: Faces, age_s: float) -> Faces:
        cap = None
        if self.period_s is not None:
            cap = PERIOD_CAP * self.period_s
            self.credit_s = min(self.credit_s + PERIOD_SHARE * self.period_s, cap)
        n = len(faces)
        if n == 0:
            return faces
        faces = faces[np.argsort(faces.track_ids, kind="stable")]
        assert faces.crop_xyxy is not None
        sides = (faces.crop_xyxy[:, 2] - faces.crop_xyxy[:, 0]).astype(np.float64) * self.scale
        costs = np.cumsum(sides * sides * self.px_cost)
        left = self.limit_s - age_s - self.tail_s()
        k = int(np.searchsorted(costs, left, side="right"))
        if k == 0 or (cap is not None and costs[0] > cap):
            # the first face cannot fit however long it waits: try a smaller estimate later
            floor = 0.0 if self._measured is None else self._measured * MIN_SHRINK
            self.px_cost = max(self.px_cost * SKIP_DECAY, floor)
        if cap is not None:
            k = min(k, int(np.searchsorted(costs, self.credit_s, side="right")))
        return faces.with_enhance(np.arange(n) < k)

    def learn(self, seconds: float, out_px: float) -> None:
        if self.period_s is not None:
            self.credit_s = max(self.credit_s - seconds, -PERIOD_CAP * self.period_s)
        if out_px > 0:
            cost = seconds / out_px
            self.px_cost += (EMA_UP if cost > self.px_cost else EMA_DOWN) * (cost - self.px_cost)
            self._measured = self.px_cost

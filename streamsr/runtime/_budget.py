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
    measured) stays within ``max_latency_ms``."""

    def __init__(
        self,
        max_latency_ms: float,
        *,
        scale: int,
        tail_s: Callable[[], float],
        px_cost: float = SEC_PER_OUT_PX,
    ) -> None:
        self.limit_s = max_latency_ms / 1000.0
        self.scale = scale
        self.tail_s = tail_s
        self.px_cost = px_cost
        self._measured: float | None = None  # the estimate at the last measurement

    def select(self, faces: Faces, age_s: float) -> Faces:
        n = len(faces)
        if n == 0:
            return faces
        faces = faces[np.argsort(faces.track_ids, kind="stable")]
        assert faces.crop_xyxy is not None
        sides = (faces.crop_xyxy[:, 2] - faces.crop_xyxy[:, 0]).astype(np.float64) * self.scale
        left = self.limit_s - age_s - self.tail_s()
        k = int(np.searchsorted(np.cumsum(sides * sides * self.px_cost), left, side="right"))
        if k == 0:
            floor = 0.0 if self._measured is None else self._measured * MIN_SHRINK
            self.px_cost = max(self.px_cost * SKIP_DECAY, floor)
        return faces.with_enhance(np.arange(n) < k)

    def learn(self, seconds: float, out_px: float) -> None:
        if out_px > 0:
            cost = seconds / out_px
            self.px_cost += (EMA_UP if cost > self.px_cost else EMA_DOWN) * (cost - self.px_cost)
            self._measured = self.px_cost

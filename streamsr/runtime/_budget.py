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
"""First guess of enhance time per output pixel (SRCNN 9-5-5, 2 CPU threads: ~21 ms per 256²),
refined from measurements as the pipeline runs."""
EMA = 0.1


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

    def __init__(self, max_latency_ms: float, *, scale: int, tail_s: Callable[[], float]) -> None:
        self.limit_s = max_latency_ms / 1000.0
        self.scale = scale
        self.tail_s = tail_s
        self.px_cost = SEC_PER_OUT_PX

    def select(self, faces: Faces, age_s: float) -> Faces:
        n = len(faces)
        if n == 0:
            return faces
        faces = faces[np.argsort(faces.track_ids, kind="stable")]
        assert faces.crop_xyxy is not None
        sides = (faces.crop_xyxy[:, 2] - faces.crop_xyxy[:, 0]).astype(np.float64) * self.scale
        left = self.limit_s - age_s - self.tail_s()
        k = int(np.searchsorted(np.cumsum(sides * sides * self.px_cost), left, side="right"))
        return faces.with_enhance(np.arange(n) < k)

    def learn(self, seconds: float, out_px: float) -> None:
        if out_px > 0:
            self.px_cost += EMA * (seconds / out_px - self.px_cost)

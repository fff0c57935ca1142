"""The output clock: the one place where the pts of the frames leaving a pipeline are set.

* **Files**: a frame keeps the source's pts in the source's time base (the source already made
  them strictly increasing, :class:`~streamsr.sources._file.PtsFixer`), so audio stays in sync
  and the output has the input's timing.
* **Live**: a frame is stamped with the wall clock at which it leaves the pipeline, in 90 kHz
  ticks since the first one, so every output stays continuous across reconnects, drops and
  stale repeats.

Either way the pts are strictly increasing, which every sink may trust (sinks still check, and
count any frame they had to move in ``pts_adjusted``).
"""

from __future__ import annotations

import time
from fractions import Fraction

from streamsr.sources import LIVE_TIME_BASE


class OutputClock:
    """``stamp(source_pts)`` gives the output pts, in ``time_base`` (the source's for files,
    :data:`~streamsr.sources.LIVE_TIME_BASE` for live runs)."""

    def __init__(self, *, live: bool, time_base: Fraction) -> None:
        if live and time_base != LIVE_TIME_BASE:
            raise ValueError(f"live output time base is {LIVE_TIME_BASE}, not {time_base}")
        self.live = live
        self.time_base = time_base
        self._t0: float | None = None
        self._last: int | None = None

    @property
    def t0(self) -> float:
        """Live: the ``time.monotonic()`` of output pts 0 (the first stamp)."""
        if self._t0 is None:
            raise RuntimeError("no frame has been stamped yet")
        return self._t0

    def stamp(self, source_pts: int) -> int:
        if self.live:
            now = time.monotonic()
            if self._t0 is None:
                self._t0 = now
            pts = round((now - self._t0) / LIVE_TIME_BASE)
        else:
            pts = int(source_pts)
        if self._last is not None and pts <= self._last:
            pts = self._last + 1
        self._last = pts
        return pts

"""Validated dataclasses that travel between pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded video frame.

    ``rgb24`` is an ``(H, W, 3)`` uint8 array in RGB order (PyAV's order; OpenCV wants BGR).
    ``pts`` is in units of ``time_base`` as the container gave it (``None`` when it had none).
    ``index`` counts decoded frames from 0 in decode-output order.
    """

    rgb24: np.ndarray
    pts: int | None
    time_base: Fraction | None
    index: int

    def __post_init__(self) -> None:
        a = self.rgb24
        if not isinstance(a, np.ndarray) or a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
            raise ValueError(
                f"Frame.rgb24 must be an (H, W, 3) uint8 array, got "
                f"{getattr(a, 'shape', type(a))} {getattr(a, 'dtype', '')}"
            )

    @property
    def size_wh(self) -> tuple[int, int]:
        return int(self.rgb24.shape[1]), int(self.rgb24.shape[0])

    @property
    def time_s(self) -> float | None:
        if self.pts is None or self.time_base is None:
            return None
        return float(self.pts * self.time_base)

    def __repr__(self) -> str:
        w, h = self.size_wh
        return f"Frame(index={self.index}, size_wh=({w}, {h}), pts={self.pts}, time_base={self.time_base})"


def _empty_boxes() -> np.ndarray:
    return np.zeros((0, 4), np.float32)


@dataclass(frozen=True, slots=True)
class Faces:
    """The faces of one frame: boxes as one ``(N, 4)`` float32 ``xyxy`` array in pixels.

    ``scores`` are detector confidences in [0, 1]; ``track_ids`` are stable ids assigned by the
    tracker (-1 before tracking).
    """

    xyxy: np.ndarray = field(default_factory=_empty_boxes)
    scores: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.float32))
    track_ids: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int64))

    def __post_init__(self) -> None:
        n = len(self.xyxy)
        if self.xyxy.dtype != np.float32 or self.xyxy.shape != (n, 4):
            raise ValueError(
                f"Faces.xyxy must be (N, 4) float32, got {self.xyxy.shape} {self.xyxy.dtype}"
            )
        if self.scores.dtype != np.float32 or self.scores.shape != (n,):
            raise ValueError(
                f"Faces.scores must be ({n},) float32, got {self.scores.shape} {self.scores.dtype}"
            )
        if self.track_ids.dtype != np.int64 or self.track_ids.shape != (n,):
            raise ValueError(
                f"Faces.track_ids must be ({n},) int64, got {self.track_ids.shape} {self.track_ids.dtype}"
            )

    def __len__(self) -> int:
        return len(self.xyxy)

    def __repr__(self) -> str:
        return f"Faces(n={len(self)}, track_ids={self.track_ids.tolist()})"

"""A cheap hard-cut detector, to reset face tracks when the scene changes."""

from __future__ import annotations

import cv2
import numpy as np

from streamsr._check import is_number
from streamsr._errors import ConfigError

_THUMB_WH = (64, 36)
_BINS = 32


class SceneCutDetector:
    """Say whether a frame starts a new shot, comparing it with the previous frame.

    Each frame is shrunk to a 64×36 gray thumbnail (about 0.3 ms at 1280×720). A cut needs
    both a large mean absolute difference between thumbnails (``mad_threshold``, in 0–255 grey
    levels; a new picture) and a large change of the grey histogram (``hist_threshold``, the
    total-variation distance in [0, 1]; new content, not the same scene panned or lit by a
    flash). The first frame, and the first after ``reset``, is not a cut.

    The defaults were measured on the shared clips: 0 false cuts in 3,313 frames of talking
    heads, webcam and stage video (the highest score without a cut was a mean difference of 18
    on a moving portrait), all 3 hard cuts of the stage clip found, and 94 % of the joins between
    two different clips; the misses were mostly two webcam clips of the same room.
    """

    def __init__(self, *, mad_threshold: float = 20.0, hist_threshold: float = 0.15) -> None:
        if not is_number(mad_threshold) or not 0 < mad_threshold < 255:
            raise ConfigError(f"mad_threshold must be a number in (0, 255), got {mad_threshold!r}")
        if not is_number(hist_threshold) or not 0 < hist_threshold < 1:
            raise ConfigError(f"hist_threshold must be a number in (0, 1), got {hist_threshold!r}")
        self.mad_threshold = float(mad_threshold)
        self.hist_threshold = float(hist_threshold)
        self._prev_thumb: np.ndarray | None = None
        self._prev_hist: np.ndarray | None = None
        self.last_mad = 0.0
        self.last_hist_distance = 0.0

    def is_cut(self, rgb24: np.ndarray) -> bool:
        """True when ``rgb24`` (an ``(H, W, 3)`` uint8 RGB frame) starts a new shot."""
        if (
            not isinstance(rgb24, np.ndarray)
            or rgb24.dtype != np.uint8
            or rgb24.ndim != 3
            or rgb24.shape[2] != 3
        ):
            raise ConfigError(
                f"rgb24 must be an (H, W, 3) uint8 array, got "
                f"{getattr(rgb24, 'shape', type(rgb24))} {getattr(rgb24, 'dtype', '')}"
            )
        small = cv2.resize(rgb24, _THUMB_WH, interpolation=cv2.INTER_AREA)
        thumb = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)
        hist = np.bincount((thumb.astype(np.uint8) >> 3).ravel(), minlength=_BINS).astype(
            np.float32
        )
        hist /= hist.sum()
        prev_thumb, prev_hist = self._prev_thumb, self._prev_hist
        self._prev_thumb, self._prev_hist = thumb, hist
        if prev_thumb is None or prev_hist is None:
            self.last_mad = self.last_hist_distance = 0.0
            return False
        self.last_mad = float(np.mean(np.abs(thumb - prev_thumb)))
        self.last_hist_distance = float(0.5 * np.abs(hist - prev_hist).sum())
        return self.last_mad > self.mad_threshold and self.last_hist_distance > self.hist_threshold

    def reset(self) -> None:
        """Forget the previous frame (for a new source)."""
        self._prev_thumb = None
        self._prev_hist = None

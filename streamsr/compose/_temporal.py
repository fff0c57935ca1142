"""Temporal smoothing of the enhancement, so that per-frame SR noise does not flicker.

SRCNN works frame by frame: on a still face its output changes a little from frame to frame
although the picture does not (codec noise is sharpened too). The smoother keeps the previous
frame's *residual* (enhanced minus bicubic) in output pixels and, where the bicubic background
did not change (no motion), blends the new residual towards it. Where the picture moves, the
new residual is used as it is. It only averages what the network computed on the camera's own
pixels over time; it adds nothing.
"""

from __future__ import annotations

import cv2
import numpy as np

STRENGTH = 0.5  # weight of the previous residual where nothing moved
MOTION_LEVELS = 6.0  # mean RGB change (0..255) at which a pixel counts as moving


class ResidualSmoother:
    """Per-stream state: the previous background and residual, in output pixels."""

    def __init__(self, *, strength: float = STRENGTH, motion_levels: float = MOTION_LEVELS) -> None:
        if not 0.0 <= strength < 1.0:
            raise ValueError(f"strength must be in [0, 1), got {strength}")
        if motion_levels <= 0:
            raise ValueError(f"motion_levels must be positive, got {motion_levels}")
        self.strength = strength
        self.motion_levels = motion_levels
        self._bg: np.ndarray | None = None
        self._res: np.ndarray | None = None
        self._valid: np.ndarray | None = None
        self._next_valid: np.ndarray | None = None

    def reset(self) -> None:
        self._bg = self._res = self._valid = self._next_valid = None

    def begin(self, bg_rgb24: np.ndarray) -> None:
        """Start a frame whose upscaled background is ``bg_rgb24``."""
        h, w = bg_rgb24.shape[:2]
        if self._res is None or self._res.shape[:2] != (h, w):
            self._res = np.zeros((h, w, 3), np.float32)
            self._valid = np.zeros((h, w), bool)
            self._bg = None
        self._next_valid = np.zeros((h, w), bool)
        self._cur_bg = bg_rgb24

    def smooth(self, residual: np.ndarray, box_xyxy: tuple[int, int, int, int]) -> np.ndarray:
        """The residual to paste at ``box_xyxy`` (output pixels), blended with the last one."""
        assert self._res is not None and self._valid is not None and self._next_valid is not None
        x0, y0, x1, y1 = box_xyxy
        out = residual
        if self._bg is not None:
            valid = self._valid[y0:y1, x0:x1]
            if valid.any():
                diff = np.abs(
                    self._cur_bg[y0:y1, x0:x1].astype(np.int16) - self._bg[y0:y1, x0:x1]
                ).mean(axis=2)
                diff = cv2.blur(diff.astype(np.float32), (5, 5))
                still = np.clip(1.0 - diff / self.motion_levels, 0.0, 1.0) * valid
                w = (self.strength * still)[..., None]
                out = residual + w * (self._res[y0:y1, x0:x1] - residual)
        self._res[y0:y1, x0:x1] = out
        self._next_valid[y0:y1, x0:x1] = True
        return out

    def end(self) -> None:
        """Finish the frame: its background and enhanced boxes become the reference."""
        self._bg = self._cur_bg
        self._valid = self._next_valid

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

STRENGTH = 0.8  # weight of the previous residual where nothing moved
MOTION_LEVELS = 6.0  # mean RGB change (0..255) of an input pixel at which it counts as moving
_CHANNEL_MEAN = np.full((1, 3), 1.0 / 3.0, np.float32)  # cv2.transform: mean of R, G and B


class ResidualSmoother:
    """Per-stream state: the previous input frame and the previous residual (output pixels).

    Motion is judged on the input frame (``scale``² fewer pixels than the output), so the
    smoother costs a fraction of a millisecond per face and copies no frame.
    """

    def __init__(self, *, strength: float = STRENGTH, motion_levels: float = MOTION_LEVELS) -> None:
        if not 0.0 <= strength < 1.0:
            raise ValueError(f"strength must be in [0, 1), got {strength}")
        if motion_levels <= 0:
            raise ValueError(f"motion_levels must be positive, got {motion_levels}")
        self.strength = strength
        self.motion_levels = motion_levels
        self._prev: np.ndarray | None = None  # previous input frame (frames are never modified)
        self._res: np.ndarray | None = None  # residual in output pixels (1 plane: luma; or RGB)
        self._valid: np.ndarray | None = None  # input pixels whose residual is from the last frame
        self._next_valid: np.ndarray | None = None
        self._cur: np.ndarray | None = None
        self._scale = 1

    @property
    def scale(self) -> int:
        """Output pixels per input pixel of the residuals it keeps (that of the last frame)."""
        return self._scale

    def reset(self) -> None:
        self._prev = self._res = self._valid = self._next_valid = self._cur = None

    def begin(self, rgb24: np.ndarray, scale: int) -> None:
        """Start a frame: ``rgb24`` is the input frame, the output is ``scale`` times larger."""
        h, w = rgb24.shape[:2]
        if self._valid is None or self._valid.shape != (h, w) or scale != self._scale:
            self._res = None  # allocated by the first residual, with its channels
            self._valid = np.zeros((h, w), bool)
            self._prev = None
        self._scale = scale
        self._next_valid = np.zeros((h, w), bool)
        self._cur = rgb24

    def smooth(self, residual: np.ndarray, box_xyxy: tuple[int, int, int, int]) -> np.ndarray:
        """The residual to paste at ``box_xyxy`` (output pixels), blended with the last one.

        ``residual``: ``(H, W)`` float32 (a luma residual) or ``(H, W, 3)`` (RGB); a stream
        that changes from one form to the other starts afresh.
        """
        assert self._valid is not None and self._next_valid is not None
        assert self._cur is not None
        lh, lw = self._valid.shape
        s = self._scale
        shape = (lh * s, lw * s, *residual.shape[2:])
        if self._res is None or self._res.shape != shape:
            self._res = np.zeros(shape, np.float32)
            self._valid[:] = False
        x0, y0, x1, y1 = box_xyxy
        lx0, ly0, lx1, ly1 = x0 // s, y0 // s, -(-x1 // s), -(-y1 // s)
        out = residual
        valid = self._valid[ly0:ly1, lx0:lx1]
        if self._prev is not None and valid.any():
            # mean absolute RGB change per input pixel, by OpenCV (numpy's int16 form took
            # several full passes: on a close face most of the smoother's time)
            absdiff = cv2.absdiff(self._cur[ly0:ly1, lx0:lx1], self._prev[ly0:ly1, lx0:lx1])
            diff = cv2.transform(absdiff.astype(np.float32), _CHANNEL_MEAN)
            still = np.clip(1.0 - cv2.blur(diff, (3, 3)) / self.motion_levels, 0.0, 1.0) * valid
            if still.any():  # where all of it moved, the new residual as it is
                w = cv2.resize(
                    self.strength * still, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR
                )
                # (1 - w) * residual + w * previous in one OpenCV pass, the weight one plane for
                # all three channels (numpy's form took five passes over float copies: on a
                # close face, an 800 px box, 13.2 against 7.9 ms for the whole smoothed paste),
                # written over the previous residual in place: OpenCV reads and writes the box
                # of the frame-sized plane through its row stride, so neither a contiguous copy
                # of it nor a copy back is made (a 1280x720 close face, output at input size:
                # the two copies were 40 % of the smoother's time).
                prev = self._res[y0:y1, x0:x1]
                blended = cv2.blendLinear(residual, prev, 1.0 - w, w, dst=prev)
                if blended.ctypes.data != prev.ctypes.data:  # OpenCV made its own array
                    prev[...] = blended
                self._next_valid[ly0:ly1, lx0:lx1] = True
                return prev
        self._res[y0:y1, x0:x1] = out
        self._next_valid[ly0:ly1, lx0:lx1] = True
        return out

    def end(self) -> None:
        """Finish the frame: its input and enhanced boxes become the reference."""
        self._prev = self._cur
        self._valid = self._next_valid

"""An OpenCV window that shows the output as it goes out.

GUI toolkits want their windows driven from one thread, the main one on macOS: :meth:`write`
(any thread) only keeps the newest frame, and :meth:`pump`, called from the main thread, shows
it and handles the window's events. Closing the window, or pressing ``q`` or Esc in it, makes
``pump`` return False, the signal to stop.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

import cv2
import numpy as np

from streamsr._closing import Closing
from streamsr._errors import ConfigError, SinkError
from streamsr._frame import Frame

log = logging.getLogger(__name__)

MAX_PREVIEW_SIDE = 1280  # larger frames are shown downscaled (INTER_AREA)
_QUIT_KEYS = (ord("q"), ord("Q"), 27)


class PreviewSink(Closing):
    """Show frames in a window titled ``title``; raises SinkError where no display exists."""

    def __init__(self, title: str = "streamsr", *, max_side: int = MAX_PREVIEW_SIDE) -> None:
        if not isinstance(max_side, int) or max_side < 16:
            raise ConfigError(f"max_side must be an int >= 16; got {max_side!r}")
        if (
            sys.platform.startswith("linux")
            and not os.environ.get("DISPLAY")
            and not os.environ.get("WAYLAND_DISPLAY")
        ):
            raise SinkError(
                "no display for the preview window (neither DISPLAY nor WAYLAND_DISPLAY)"
            )
        self.title = title
        self.max_side = max_side
        self.frames_written = 0
        self.frames_shown = 0
        self._lock = threading.Lock()
        self._latest: np.ndarray | None = None
        self._closed = False
        try:
            cv2.namedWindow(title, cv2.WINDOW_NORMAL)
        except cv2.error as exc:
            raise SinkError(f"cannot open the preview window: {exc}") from exc

    def write(self, frame: Frame) -> None:
        """Keep the newest frame for the next :meth:`pump` (never blocks)."""
        with self._lock:
            self._latest = frame.rgb24
        self.frames_written += 1

    def pump(self) -> bool:
        """Show the newest frame and process window events; False once the user closed it.

        Call it from the main thread, every few milliseconds.
        """
        if self._closed:
            return False
        with self._lock:
            rgb24, self._latest = self._latest, None
        if rgb24 is not None:
            h, w = rgb24.shape[:2]
            f = self.max_side / max(h, w)
            bgr = cv2.cvtColor(rgb24, cv2.COLOR_RGB2BGR)
            if f < 1:
                bgr = cv2.resize(bgr, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
            cv2.imshow(self.title, bgr)
            self.frames_shown += 1
        key = cv2.waitKey(1) & 0xFF
        if key in _QUIT_KEYS:
            return False
        try:
            return cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) >= 1
        except cv2.error:
            return False

    def close(self) -> None:
        """Close the window. Idempotent."""
        if not self._closed:
            self._closed = True
            try:
                cv2.destroyWindow(self.title)
                cv2.waitKey(1)
            except cv2.error as exc:
                log.debug("closing the preview window: %s", exc)

    def __repr__(self) -> str:
        return f"PreviewSink({self.title!r}, frames_shown={self.frames_shown})"

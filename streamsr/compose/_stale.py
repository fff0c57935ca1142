"""The label on a frame repeated while the input is lost."""

from __future__ import annotations

import cv2
import numpy as np


def mark_stale(rgb24: np.ndarray) -> np.ndarray:
    """A copy of ``rgb24`` with a small "STALE" label in the top-left corner."""
    out = rgb24.copy()
    h = out.shape[0]
    s = max(0.4, h / 720)
    thick = max(1, round(2 * s))
    (tw, th), base = cv2.getTextSize("STALE", cv2.FONT_HERSHEY_SIMPLEX, s, thick)
    pad = max(2, round(6 * s))
    cv2.rectangle(out, (0, 0), (tw + 2 * pad, th + base + 2 * pad), (160, 0, 0), -1)
    cv2.putText(
        out,
        "STALE",
        (pad, pad + th),
        cv2.FONT_HERSHEY_SIMPLEX,
        s,
        (255, 255, 255),
        thick,
        cv2.LINE_AA,
    )
    return out

"""Compose: upscale the frame, paste the enhanced faces back through feathered masks, mark them."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

import cv2
import numpy as np

from streamsr.compose._temporal import ResidualSmoother

FEATHER = 0.18  # share of the crop side over which the mask ramps from 0 to 1
MARK_RGB = (0, 255, 128)


def upscale_frame(rgb24: np.ndarray, scale: int) -> np.ndarray:
    """The background of the output: bicubic, the interpolation the enhancer itself starts from."""
    h, w = rgb24.shape[:2]
    return cv2.resize(rgb24, (w * scale, h * scale), interpolation=cv2.INTER_CUBIC)


@lru_cache(maxsize=64)
def feather_mask(h: int, w: int, channels: int = 1) -> np.ndarray:
    """``(h, w, channels)`` float32 weights: 1 inside, a raised-cosine ramp to 0 at the crop edges.

    The ramp hides the crop border, where the network saw replicated pixels, and makes the
    enhanced region fade into the bicubic background with no seam or colour step. (Three
    channels for OpenCV's element-wise arithmetic, which does not broadcast.)
    """

    def ramp(n: int) -> np.ndarray:
        f = max(1.0, FEATHER * n)
        d = np.minimum(np.arange(n) + 0.5, n - np.arange(n) - 0.5)  # distance to the nearest edge
        return (0.5 - 0.5 * np.cos(np.pi * np.clip(d / f, 0.0, 1.0))).astype(np.float32)

    m = np.outer(ramp(h), ramp(w))[..., None]
    if channels > 1:
        m = np.ascontiguousarray(np.repeat(m, channels, axis=2))
    m.setflags(write=False)
    return m


def _add_saturated(region: np.ndarray, delta: np.ndarray) -> None:
    """``region`` (uint8, in place) += ``delta`` (float32), rounded and clipped to 0..255.

    One OpenCV pass (SIMD, no temporaries) where the numpy form ``clip(r + d + 0.5)`` made four
    full-size float copies: on a close face (a 780 px output crop) that was most of the compose.
    OpenCV rounds half to even; the numpy form rounded half up, which moves a value that lies
    exactly on .5 by one level.
    """
    region[...] = cv2.add(region, delta, dtype=cv2.CV_8U)


def _residual_of(crop: np.ndarray, background: np.ndarray) -> np.ndarray:
    """The float32 residual to blend: a luma residual (2-D, float32) is one already; an RGB
    crop's is its difference from the bicubic ``background`` under it."""
    if crop.ndim == 2:
        return crop if crop.dtype == np.float32 else crop.astype(np.float32)
    return cv2.subtract(crop, background, dtype=cv2.CV_32F)


BAND_ROWS = 32
"""Rows of a luma residual weighed, widened to three channels and added at a time: the float
copies of a band stay in the core's cache (a 780 px crop: a band is about 300 KB, the whole
crop 7 MB): the paste of a 780 px crop took 1.64 ms against 2.83 (one thread)."""


def _add_luma(region: np.ndarray, residual: np.ndarray, mask: np.ndarray) -> None:
    """``region`` (uint8 RGB, in place) += ``residual * mask`` on every channel (a change of
    full-range Y is that), rounded and saturated, in bands of :data:`BAND_ROWS` rows."""
    for y in range(0, residual.shape[0], BAND_ROWS):
        rows = slice(y, y + BAND_ROWS)
        band = region[rows]
        delta = cv2.cvtColor(cv2.multiply(residual[rows], mask[rows]), cv2.COLOR_GRAY2RGB)
        out = cv2.add(band, delta, dst=band, dtype=cv2.CV_8U)
        if out.ctypes.data != band.ctypes.data:  # OpenCV made its own array
            band[...] = out


def _weighted(residual: np.ndarray, h: int, w: int) -> np.ndarray:
    """An RGB ``residual`` times the feathered mask (a luma one goes through :func:`_add_luma`)."""
    return cv2.multiply(residual, feather_mask(h, w, 3))


def is_input_sized(crop: np.ndarray, h: int, w: int, scale: int) -> bool:
    """Whether ``crop`` is a luma residual averaged to its ``h`` x ``w`` box (not ``scale``
    times it)."""
    return scale > 1 and crop.ndim == 2 and crop.shape == (h, w)


def _check_fit(crop: np.ndarray, h: int, w: int) -> None:
    if crop.shape[:2] != (h, w) or crop.ndim not in (2, 3):
        raise ValueError(f"crop of shape {crop.shape[:2]} does not fit box of {(h, w)}")


def paste(
    out_rgb24: np.ndarray,
    boxes_xyxy: np.ndarray,
    crops: Sequence[np.ndarray],
    smoother: ResidualSmoother | None = None,
) -> None:
    """Blend each crop into ``out_rgb24`` (in place) at its box, already in output pixels.

    ``out_rgb24`` holds the bicubic background; what is blended in is the crop's residual over
    it, weighted by the feathered mask, and smoothed over time when a ``smoother`` was begun
    for this frame. A crop is an enhanced RGB crop (uint8) or a luma residual (``(H, W)``
    float32, what the enhancer added to the bicubic luma: the pipeline's form).
    """
    for (x0, y0, x1, y1), crop in zip(boxes_xyxy.tolist(), crops, strict=True):
        h, w = y1 - y0, x1 - x0
        _check_fit(crop, h, w)
        region = out_rgb24[y0:y1, x0:x1]
        residual = _residual_of(crop, region)
        if smoother is not None:
            residual = smoother.smooth(residual, (x0, y0, x1, y1))
        if residual.ndim == 2:
            _add_luma(region, residual, feather_mask(h, w)[..., 0])
        else:
            _add_saturated(region, _weighted(residual, h, w))
    if smoother is not None:
        smoother.end()


def paste_downscaled(
    out_rgb24: np.ndarray,
    boxes_xyxy: np.ndarray,
    crops: Sequence[np.ndarray],
    scale: int,
    smoother: ResidualSmoother | None = None,
) -> None:
    """Blend each crop, ``scale`` times its box, into ``out_rgb24`` (in place) at input size.

    What :func:`paste` then an area downscale of the whole frame would give, for the cost of
    the boxes alone: each crop's feathered residual over the bicubic upscale of its box is
    area-averaged down to the box and added to the input pixels (away from the faces the frame
    is the input itself, untouched). The enhanced detail survives as supersampling. A luma
    residual needs no bicubic of the box at all. A luma residual the size of its box is one
    averaged already (``Enhancer.enhance(residual="input")``): it is weighted by the feathered
    mask at that size and added, and the ``smoother`` (begun at scale 1) keeps it at that size.
    """
    for (x0, y0, x1, y1), crop in zip(boxes_xyxy.tolist(), crops, strict=True):
        h, w = y1 - y0, x1 - x0
        region = out_rgb24[y0:y1, x0:x1]
        if is_input_sized(crop, h, w, scale):
            residual = _residual_of(crop, region)
            if smoother is not None:
                residual = smoother.smooth(residual, (x0, y0, x1, y1))
            _add_luma(region, residual, feather_mask(h, w)[..., 0])
            continue
        hs, ws = h * scale, w * scale
        _check_fit(crop, hs, ws)
        if crop.ndim == 2:
            residual = _residual_of(crop, region)
        else:
            bg = cv2.resize(region, (ws, hs), interpolation=cv2.INTER_CUBIC)
            residual = _residual_of(crop, bg)
        if smoother is not None:
            residual = smoother.smooth(residual, (x0 * scale, y0 * scale, x1 * scale, y1 * scale))
        if residual.ndim == 2:  # shrink one plane, then give it three channels
            small = cv2.resize(
                cv2.multiply(residual, feather_mask(hs, ws)[..., 0]),
                (w, h),
                interpolation=cv2.INTER_AREA,
            )
            _add_saturated(region, cv2.cvtColor(small, cv2.COLOR_GRAY2RGB))
        else:
            weighted = _weighted(residual, hs, ws)
            _add_saturated(region, cv2.resize(weighted, (w, h), interpolation=cv2.INTER_AREA))
    if smoother is not None:
        smoother.end()


def mark(out_rgb24: np.ndarray, boxes_xyxy: np.ndarray, track_ids: Sequence[int]) -> None:
    """Draw a thin outline and the track id around each enhanced region (in place)."""
    h = out_rgb24.shape[0]
    thick = max(1, h // 540)
    for (x0, y0, x1, y1), tid in zip(boxes_xyxy.tolist(), track_ids, strict=True):
        cv2.rectangle(out_rgb24, (x0, y0), (x1 - 1, y1 - 1), MARK_RGB, thick, cv2.LINE_AA)
        label = f"SR {tid}" if tid >= 0 else "SR"
        cv2.putText(
            out_rgb24,
            label,
            (x0 + 2, max(12, y0 - 4)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.4 * thick + 0.1,
            MARK_RGB,
            thick,
            cv2.LINE_AA,
        )


def compose(
    rgb24: np.ndarray,
    *,
    scale: int,
    boxes_xyxy: np.ndarray,
    crops: Sequence[np.ndarray],
    track_ids: Sequence[int] = (),
    marked: bool = False,
    smoother: ResidualSmoother | None = None,
    output_size: Literal["scaled", "input"] = "scaled",
) -> np.ndarray:
    """The output frame: ``rgb24`` upscaled by ``scale`` with the enhanced ``crops`` blended in;
    with ``output_size="input"``, the same frame area-averaged back to the input size (computed
    on the face boxes only, :func:`paste_downscaled`).

    ``boxes_xyxy`` are the crop boxes in *input* pixels (int, x1/y1 exclusive).
    """
    boxes = np.asarray(boxes_xyxy, np.int64).reshape(-1, 4)
    if smoother is not None:
        # the smoother keeps residuals in their own pixels: averaged to their boxes (one enhancer
        # gives one form), at the input's; a frame without faces leaves its plane as it is
        kept = smoother.scale
        if len(crops):
            x0, y0, x1, y1 = boxes[0].tolist()
            at_input = output_size == "input" and is_input_sized(crops[0], y1 - y0, x1 - x0, scale)
            kept = 1 if at_input else scale
        smoother.begin(rgb24, kept)
    if output_size == "input":
        out = rgb24.copy()
        paste_downscaled(out, boxes, crops, scale, smoother)
    else:
        out = upscale_frame(rgb24, scale)
        boxes = boxes * scale
        paste(out, boxes, crops, smoother)
    if marked:
        mark(out, boxes, list(track_ids) or [-1] * len(boxes))
    return out

"""What a camera shows the browser: its live pictures and its face gallery.

A :class:`CameraView` is the tap a camera's compose stage calls with every composed frame
(before any marks are drawn): it offers the enhanced picture and the original input to their
:class:`~streamsr.sinks._webview.WebStream`\\ s (encoded only while someone watches) and keeps
the :class:`Gallery`.

**The gallery's rule** (one entry per track, the best sighting kept): a track's sightings are
scored every :data:`SCORE_EVERY`-th frame it is enhanced in, as
``confidence × side × sharpness``: the detector's confidence (MediaPipe's short-range model
scores a turned face lower, so it stands in for "frontal"), the crop's side in input pixels
(capped at :data:`SIDE_CAP`: larger), and the square root of the variance of the Laplacian
of the original crop resized to 64×64 (sharper: less motion blur). The entry keeps the
enhanced crop from the output picture and the same crop of the original upscaled bicubic to
the same size, side by side, so an operator sees what the camera recorded next to what
streamsr made of it.
"""

from __future__ import annotations

import collections
import hashlib
import io
import threading
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

import cv2
import numpy as np

from streamsr._frame import Faces, Frame
from streamsr.sinks._webview import WebFrame, WebKind, WebStream, boxes_fractions

SCORE_EVERY = 5
"""A track's sightings scored for the gallery: every this many frames it is enhanced in."""
SIDE_CAP = 256
MAX_TRACKS = 100
"""Tracks kept per camera (the oldest are forgotten first)."""
MAX_SIDE_PX = 320
"""Gallery crops larger than this are kept downscaled to it (memory: at most about
``MAX_TRACKS * 2 * 320 * 320 * 3`` bytes, 61 MB, per camera)."""
STREAMS = ("enhanced", "original")


@dataclass
class Track:
    """One tracked face: when it was first and last seen (Unix s), its best sighting."""

    track: int
    first_seen: float
    last_seen: float
    sightings: int = 0
    score: float = -1.0
    side_px: int = 0
    enhanced_rgb24: np.ndarray | None = None
    bicubic_rgb24: np.ndarray | None = None
    variant: str = ""
    png: dict[str, bytes] | None = None


def sharpness(crop_rgb24: np.ndarray) -> float:
    """Square root of the variance of the Laplacian of the crop's luma at 64×64."""
    g = cv2.cvtColor(
        cv2.resize(crop_rgb24, (64, 64), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY
    )
    return float(np.sqrt(cv2.Laplacian(g, cv2.CV_32F).var()))


@cache
def _file_sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Gallery:
    """The best enhanced sighting of each track of one camera (see the module doc)."""

    def __init__(self, camera: str, describe: dict[str, str]) -> None:
        self.camera = camera
        self.describe = describe
        self._tracks: collections.OrderedDict[int, Track] = collections.OrderedDict()
        self._lock = threading.Lock()

    def update(self, frame_in: Frame, faces: Faces, out_rgb24: np.ndarray, variant: str) -> None:
        if not len(faces):
            return
        now = time.time()
        s = out_rgb24.shape[1] / frame_in.rgb24.shape[1]
        boxes = faces.crop_xyxy
        assert boxes is not None
        for (x0, y0, x1, y1), tid, conf in zip(
            boxes.tolist(), faces.track_ids.tolist(), faces.scores.tolist(), strict=True
        ):
            if tid < 0:
                continue
            with self._lock:
                t = self._tracks.get(tid)
                if t is None:
                    t = self._tracks[tid] = Track(tid, now, now)
                    while len(self._tracks) > MAX_TRACKS:
                        self._tracks.popitem(last=False)
                t.last_seen = now
                t.sightings += 1
                if (t.sightings - 1) % SCORE_EVERY:
                    continue
            crop = frame_in.rgb24[y0:y1, x0:x1]
            if crop.size == 0:
                continue
            side = x1 - x0
            score = float(conf) * min(side, SIDE_CAP) * sharpness(crop)
            if score <= t.score:
                continue
            ox0, oy0, ox1, oy1 = (round(v * s) for v in (x0, y0, x1, y1))
            enhanced = out_rgb24[oy0:oy1, ox0:ox1].copy()
            if enhanced.size == 0:
                continue
            bicubic = cv2.resize(
                crop, (enhanced.shape[1], enhanced.shape[0]), interpolation=cv2.INTER_CUBIC
            )
            if max(enhanced.shape[:2]) > MAX_SIDE_PX:
                f = MAX_SIDE_PX / max(enhanced.shape[:2])
                wh = (max(1, round(enhanced.shape[1] * f)), max(1, round(enhanced.shape[0] * f)))
                enhanced = cv2.resize(enhanced, wh, interpolation=cv2.INTER_AREA)
                bicubic = cv2.resize(bicubic, wh, interpolation=cv2.INTER_AREA)
            with self._lock:
                t.score, t.side_px, t.variant = score, side, variant
                t.enhanced_rgb24, t.bicubic_rgb24, t.png = enhanced, bicubic, None

    def tracks(self) -> list[dict[str, Any]]:
        with self._lock:
            items = list(self._tracks.values())
        return [
            {
                "camera": self.camera,
                "track": t.track,
                "first_seen": t.first_seen,
                "last_seen": t.last_seen,
                "sightings": t.sightings,
                "side_px": t.side_px,
                "score": round(t.score, 1),
                "has_image": t.enhanced_rgb24 is not None,
            }
            for t in reversed(items)
        ]

    def png(self, track: int, which: str) -> bytes:
        """``which``: ``enhanced``, ``bicubic`` or ``pair`` (the two side by side), as PNG with
        text chunks saying what it is (enhanced or not, by which model and weights).
        ``KeyError`` when the track or its image does not exist."""
        from PIL import Image
        from PIL.PngImagePlugin import PngInfo

        with self._lock:
            t = self._tracks[track]
            if t.enhanced_rgb24 is None or t.bicubic_rgb24 is None:
                raise KeyError(track)
            cached = (t.png or {}).get(which)
            if cached is not None:
                return cached
            enhanced, bicubic, variant = t.enhanced_rgb24, t.bicubic_rgb24, t.variant
        if which == "enhanced":
            rgb = enhanced
        elif which == "bicubic":
            rgb = bicubic
        elif which == "pair":
            gap = np.full((enhanced.shape[0], 4, 3), 255, np.uint8)
            rgb = np.concatenate([bicubic, gap, enhanced], axis=1)
        else:
            raise KeyError(which)
        info = PngInfo()
        what = {
            "enhanced": "enhanced by streamsr (super-resolution of the recorded face)",
            "bicubic": "not enhanced: the recorded face upscaled bicubic",
            "pair": "left: the recorded face upscaled bicubic; right: enhanced by streamsr",
        }[which]
        info.add_text("Description", what)
        info.add_text("streamsr:enhanced", "no" if which == "bicubic" else "yes")
        info.add_text("streamsr:camera", self.camera)
        info.add_text("streamsr:track", str(track))
        info.add_text("streamsr:variant", variant)
        for k, v in self.describe.items():
            info.add_text(f"streamsr:{k}", v)
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format="PNG", pnginfo=info)
        data = buf.getvalue()
        with self._lock:
            t.png = {**(t.png or {}), which: data}
        return data


def describe_enhancer(enhancer: Any) -> dict[str, str]:
    """Model, scale and weights of a camera's enhancer, for the gallery's PNG metadata."""
    from importlib.metadata import PackageNotFoundError, version

    from streamsr.enhance._weights import shipped_weights_path

    try:
        release = version("streamsr")
    except PackageNotFoundError:  # run from a source tree that is not installed
        release = "unknown"

    arch, scale = str(getattr(enhancer, "arch", "?")), int(getattr(enhancer, "scale", 0))
    out = {"software": f"streamsr {release}", "model": arch, "scale": str(scale)}
    for variant in ("clean", "video"):
        try:
            p = shipped_weights_path(arch, scale, variant)
        except (ValueError, KeyError):
            continue
        if p.is_file():
            out[f"weights_{variant}"] = f"{p.name} sha256:{_file_sha256(str(p))[:16]}"
    return out


class CameraView:
    """The compose stage's tap for one camera: pictures to the browser, faces to the gallery."""

    def __init__(self, name: str, enhancer: Any) -> None:
        self.name = name
        self.enhancer = enhancer
        kinds: tuple[WebKind, ...] = ("fmp4", "jpeg")
        self.streams = {
            (pic, kind): WebStream(f"{name}-{pic}", kind) for pic in STREAMS for kind in kinds
        }
        self.gallery = Gallery(name, describe_enhancer(enhancer))
        self.faces_now = 0
        """Faces enhanced in the last frame."""

    def __call__(
        self, frame_in: Frame, faces: Faces, out_rgb24: np.ndarray, t_decoded: float
    ) -> bool:
        """Take one composed frame; True when a stream holds on to ``out_rgb24`` (someone
        watches the enhanced picture), so the caller must not draw on it."""
        self.faces_now = len(faces)
        self.gallery.update(frame_in, faces, out_rgb24, str(getattr(self.enhancer, "variant", "")))
        watched = {pic for (pic, _), s in self.streams.items() if s.viewers}
        if not watched:
            return False
        decoded_ms = (time.time() - (time.perf_counter() - t_decoded)) * 1000.0
        assert faces.crop_xyxy is not None
        boxes = boxes_fractions(faces.crop_xyxy, faces.track_ids.tolist(), frame_in.size_wh)
        pictures = {
            "enhanced": WebFrame(out_rgb24, decoded_ms, boxes),
            "original": WebFrame(frame_in.rgb24, decoded_ms, boxes),
        }
        for (pic, _), stream in self.streams.items():
            if pic in watched:
                stream.offer(pictures[pic])
        return "enhanced" in watched

    def close(self) -> None:
        for s in self.streams.values():
            s.close()

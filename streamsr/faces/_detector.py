"""Face detection with MediaPipe's BlazeFace models, shipped inside the package.

Current mediapipe releases carry no model files, so the two BlazeFace ``.tflite`` models are
bundled in ``streamsr/faces/models/`` (taken from the mediapipe 0.10.21 wheel, Apache-2.0; see
``models/NOTICE``). Nothing is downloaded at run time.
"""

from __future__ import annotations

import logging
import threading
import weakref
from importlib import resources
from typing import Any, Literal, get_args

import numpy as np

from streamsr._check import is_int, is_number
from streamsr._closing import Closing
from streamsr._errors import ConfigError, MissingExtraError, PipelineError, WeightsError
from streamsr._frame import Faces
from streamsr._quiet import quiet_native_stderr

log = logging.getLogger(__name__)

ModelName = Literal["short", "full", "auto"]
"""``short``: BlazeFace short range, the whole frame at 128×128, for faces that fill much of it.
``full``: BlazeFace full range (sparse), 192×192, finds faces down to about 30 px in 640×480.
``auto``: full range; the only one that finds the small faces of webcam and wide shots."""

MODEL_FILES: dict[str, str] = {
    "short": "face_detection_short_range.tflite",
    "full": "face_detection_full_range_sparse.tflite",
}
_MODEL_NAMES: tuple[str, ...] = get_args(ModelName)

# Detectors still open when the interpreter exits. mediapipe's own ``close`` runs on a
# ThreadPoolExecutor, and its ``__del__`` at interpreter teardown prints a TypeError; so the
# ones left open are closed from a ``threading`` exit hook, which runs before concurrent.futures
# shuts its executors down (``atexit`` runs after, too late).
_open_detectors: weakref.WeakSet[FaceDetector] = weakref.WeakSet()
_exit_hook_registered = False
_exit_hook_lock = threading.Lock()


def _close_open_detectors() -> None:
    for det in list(_open_detectors):
        try:
            det.close()
        except RuntimeError as exc:  # nothing left to recover at exit; say so and go on
            log.warning("could not close %r at exit: %s", det, exc)


def _register_exit_hook() -> None:
    """Register the exit hook once, after mediapipe has imported concurrent.futures.thread.

    ``threading._register_atexit`` hooks run in reverse order of registration; registering after
    the executor module is imported puts ours first.
    """
    global _exit_hook_registered
    with _exit_hook_lock:
        if _exit_hook_registered:
            return
        register = getattr(threading, "_register_atexit", None)
        if register is not None:
            register(_close_open_detectors)
        _exit_hook_registered = True


def resolve_model(model: ModelName) -> Literal["short", "full"]:
    """The concrete model ``auto`` stands for.

    Measured on the shared webcam clips (640×480, faces 46–73 px wide by full-range boxes): full
    range found a face (score ≥ 0.5) in 100 % of frames of all 20 clips, short range in 31–100 %,
    with false positives on a T-shirt print. On a 2×2 mosaic of those clips (faces 30–41 px) full
    range found ~95 % where short range found none. Short range is about 2× faster and scores
    close-ups higher, so ask for ``short`` when faces fill the frame and speed matters.
    """
    return "short" if model == "short" else "full"


def model_bytes(model: Literal["short", "full"]) -> bytes:
    """The bundled ``.tflite`` file for ``model``, read through ``importlib.resources``."""
    name = MODEL_FILES[model]
    try:
        return (resources.files("streamsr.faces") / "models" / name).read_bytes()
    except OSError as exc:
        raise WeightsError(
            f"bundled face model {name!r} is missing from streamsr/faces/models/; "
            "reinstall streamsr"
        ) from exc


class FaceDetector(Closing):
    """Detect faces in RGB frames of one video, in MediaPipe's VIDEO running mode.

    One detector serves one stream from one thread: VIDEO mode needs strictly increasing
    timestamps, so a timestamp that does not increase (a looped file, duplicated pts) is moved to
    one millisecond after the previous one. Use it as a context manager or call ``close()``.

    Options (keyword-only, checked here):
    ``model``: ``"short"``, ``"full"`` or ``"auto"`` (full range; see :func:`resolve_model`).
    ``min_score``: drop detections below this confidence, in [0, 1].
    ``min_face_px``: drop boxes narrower than this many pixels (0 keeps all).
    """

    def __init__(
        self,
        *,
        model: ModelName = "auto",
        min_score: float = 0.5,
        min_face_px: int = 0,
    ) -> None:
        if model not in _MODEL_NAMES:
            raise ConfigError(f"model must be one of {list(_MODEL_NAMES)}, got {model!r}")
        if not is_number(min_score) or not 0.0 <= min_score <= 1.0:
            raise ConfigError(f"min_score must be a number in [0, 1], got {min_score!r}")
        if not is_int(min_face_px) or min_face_px < 0:
            raise ConfigError(f"min_face_px must be an int ≥ 0, got {min_face_px!r}")
        self.model: Literal["short", "full"] = resolve_model(model)
        self.min_score = float(min_score)
        self.min_face_px = int(min_face_px)
        self._last_timestamp_ms: int | None = None
        self._first = True
        self._mp: Any = None
        self._detector: Any = self._create()
        _open_detectors.add(self)
        _register_exit_hook()

    def _create(self) -> Any:
        try:
            import mediapipe as mp
            from mediapipe.tasks.python import BaseOptions, vision
        except ImportError as exc:
            raise MissingExtraError(
                f"face detection needs mediapipe ({exc}); install it with "
                "`pip install 'mediapipe>=0.10.30' matplotlib`"
            ) from exc
        self._mp = mp
        options = vision.FaceDetectorOptions(
            base_options=BaseOptions(model_asset_buffer=model_bytes(self.model)),
            running_mode=vision.RunningMode.VIDEO,
            min_detection_confidence=self.min_score,
        )
        try:
            with quiet_native_stderr("mediapipe (loading the face model)"):
                return vision.FaceDetector.create_from_options(options)
        except (RuntimeError, ValueError, OSError) as exc:
            raise WeightsError(
                f"mediapipe could not load the bundled {self.model}-range face model: {exc}"
            ) from exc

    @property
    def closed(self) -> bool:
        return self._detector is None

    def detect(self, rgb24: np.ndarray, timestamp_ms: int) -> Faces:
        """Faces in one ``(H, W, 3)`` uint8 RGB frame, boxes as float32 ``xyxy`` pixels.

        Boxes are clipped to the frame; ``track_ids`` are -1 (the tracker assigns them).
        ``timestamp_ms`` is the frame's presentation time; it must increase from call to call,
        and is bumped by 1 ms past the previous one when it does not.
        """
        if self._detector is None:
            raise PipelineError("FaceDetector.detect() called after close()")
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
        ts = int(timestamp_ms)
        if self._last_timestamp_ms is not None and ts <= self._last_timestamp_ms:
            log.debug(
                "timestamp %d ms does not increase; using %d", ts, self._last_timestamp_ms + 1
            )
            ts = self._last_timestamp_ms + 1
        self._last_timestamp_ms = ts

        mp = self._mp
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb24))
        try:
            if self._first:  # LiteRT logs its set-up (memory alignment...) on the first call
                self._first = False
                with quiet_native_stderr("mediapipe (first detection)"):
                    result = self._detector.detect_for_video(image, ts)
            else:
                result = self._detector.detect_for_video(image, ts)
        except (RuntimeError, ValueError) as exc:
            raise PipelineError(f"face detection failed at {ts} ms: {exc}") from exc
        return self._to_faces(result.detections, size_wh=(rgb24.shape[1], rgb24.shape[0]))

    def _to_faces(self, detections: list[Any], *, size_wh: tuple[int, int]) -> Faces:
        w, h = size_wh
        boxes: list[tuple[float, float, float, float]] = []
        scores: list[float] = []
        for d in detections:
            score = float(d.categories[0].score) if d.categories else 0.0
            bb = d.bounding_box
            if score < self.min_score or bb.width < self.min_face_px:
                continue
            x0 = min(max(float(bb.origin_x), 0.0), w)
            y0 = min(max(float(bb.origin_y), 0.0), h)
            x1 = min(max(float(bb.origin_x + bb.width), 0.0), w)
            y1 = min(max(float(bb.origin_y + bb.height), 0.0), h)
            if x1 <= x0 or y1 <= y0:
                continue
            boxes.append((x0, y0, x1, y1))
            scores.append(score)
        n = len(boxes)
        return Faces(
            xyxy=np.asarray(boxes, np.float32).reshape(n, 4),
            scores=np.asarray(scores, np.float32),
            track_ids=np.full((n,), -1, np.int64),
        )

    def close(self) -> None:
        """Release mediapipe's graph. Safe to call twice."""
        detector, self._detector = self._detector, None
        _open_detectors.discard(self)
        if detector is not None:
            with quiet_native_stderr("mediapipe (closing)"):
                detector.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return (
            f"FaceDetector(model={self.model!r}, min_score={self.min_score}, "
            f"min_face_px={self.min_face_px}, {state})"
        )

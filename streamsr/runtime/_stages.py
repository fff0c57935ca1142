"""The per-frame work every pipeline shares: detect+track, enhance, compose.

Offline and live pipelines differ in how frames are queued (block vs drop the oldest), not in
what happens to a frame; both call these methods from their stage threads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from streamsr._frame import Faces, Frame
from streamsr.compose import ResidualSmoother, compose
from streamsr.faces import FaceTracker, SceneCutDetector, square_boxes

ENLARGE = 1.6  # crop side / face box side: forehead, chin and a margin for the feathered blend
MIN_CROP_PX = 8  # smaller crops are left bicubic


@dataclass(slots=True)
class Work:
    """A frame on its way through the stages."""

    frame: Frame
    faces: Faces = field(default_factory=Faces)
    boxes_xyxy: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.int32))
    crops: list[np.ndarray] = field(default_factory=list)
    out_rgb24: np.ndarray | None = None
    t_decoded: float = 0.0  # perf_counter() when the frame left the decoder (latency)
    scene_cut: bool = False


class FaceStages:
    """Detect and track faces, enhance their crops, compose the output frame.

    ``detector`` is a :class:`~streamsr.faces.FaceDetector` and ``enhancer`` an
    :class:`~streamsr.enhance.Enhancer`; both are owned by the caller. Each method is called
    from one thread only (the tracker and scene-cut detector keep per-stream state).
    """

    def __init__(
        self,
        *,
        enhancer: Any,
        detector: Any,
        detect_every: int,
        mark: bool,
        temporal: bool = True,
        output_size: Literal["scaled", "input"] = "scaled",
    ) -> None:
        self.enhancer = enhancer
        self.output_size = output_size
        self.scale = int(enhancer.scale)
        self.detector = detector
        self.detect_every = detect_every
        self.mark = mark
        self.tracker = FaceTracker()
        self.scenecut = SceneCutDetector()
        self.smoother = ResidualSmoother() if temporal else None
        self._seen = 0  # frames this stage has seen (live mode drops frames before it)

    @property
    def tracks(self) -> int:
        return self.tracker.ids_assigned

    def detect(self, w: Work) -> Work:
        """Detect on every ``detect_every``-th frame this stage sees and after a scene cut;
        track in between."""
        f = w.frame
        seen, self._seen = self._seen, self._seen + 1
        cut = self.scenecut.is_cut(f.rgb24)
        if cut:
            self.tracker.reset()
            w.scene_cut = True
        if cut or seen % self.detect_every == 0:
            t_ms = f.time_s * 1000.0 if f.time_s is not None else f.index * 40.0
            faces = self.tracker.update(self.detector.detect(f.rgb24, round(t_ms)))
        else:
            faces = self.tracker.predict()
        if len(faces):
            boxes = square_boxes(faces.xyxy, enlarge=ENLARGE, size_wh=f.size_wh)
            keep = (boxes[:, 2] - boxes[:, 0]) >= MIN_CROP_PX
            w.faces = Faces(faces.xyxy[keep], faces.scores[keep], faces.track_ids[keep])
            w.boxes_xyxy = boxes[keep]
        return w

    def enhance(self, w: Work) -> Work:
        """All faces of the frame in one batch."""
        if len(w.boxes_xyxy):
            rgb = w.frame.rgb24
            w.crops = self.enhancer.enhance(
                [rgb[y0:y1, x0:x1] for x0, y0, x1, y1 in w.boxes_xyxy.tolist()]
            )
        return w

    def enhance_many(self, works: list[Work]) -> list[Work]:
        """The faces of several consecutive frames in one batch (offline mode)."""
        crops = [
            [w.frame.rgb24[y0:y1, x0:x1] for x0, y0, x1, y1 in w.boxes_xyxy.tolist()] for w in works
        ]
        for w, out in zip(works, self.enhancer.enhance_many(crops), strict=True):
            w.crops = out
        return works

    def compose(self, w: Work) -> Work:
        """Upscale, blend the enhanced crops in (only the boxes that were enhanced), mark them;
        at the input size when ``output_size`` is ``"input"``."""
        n = len(w.crops)
        if w.scene_cut and self.smoother is not None:
            self.smoother.reset()
        w.out_rgb24 = compose(
            w.frame.rgb24,
            scale=self.scale,
            boxes_xyxy=w.boxes_xyxy[:n],
            crops=w.crops,
            track_ids=w.faces.track_ids[:n].tolist(),
            marked=self.mark,
            smoother=self.smoother,
            output_size=self.output_size,
        )
        return w

"""The per-frame work, one verb per stage: detect+track, enhance, compose.

Every run, file or live, calls these from its stage threads; what differs between runs is how
frames are queued (:mod:`streamsr.runtime._threads`) and whether a latency budget chooses the
faces (:mod:`streamsr.runtime._budget`), not what happens to a frame. The detector and the
enhancer are anything that has their one method (:class:`Detector`, :class:`CropEnhancer`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import cv2
import numpy as np

from streamsr._frame import Faces, Frame
from streamsr.compose import ResidualSmoother, compose, mark
from streamsr.compose._options import ComposeOptions
from streamsr.faces import FaceTracker, SceneCutDetector, square_boxes
from streamsr.faces._boxes import MIN_CROP_PX
from streamsr.faces._options import FaceOptions
from streamsr.runtime._budget import Budget
from streamsr.runtime._metrics import Metrics

if TYPE_CHECKING:  # the enhancer's module imports torch
    from streamsr.enhance._enhancer import Residual

log = logging.getLogger(__name__)
MEAN_EMA = 0.1
"""Weight of the newest frame in the compose stage's running mean time (the budget's tail)."""


class Detector(Protocol):
    def detect(self, rgb24: np.ndarray, timestamp_ms: int) -> Faces: ...


class CropEnhancer(Protocol):
    """Enhanced RGB crops, ``scale`` times larger. One whose ``gives_residuals`` is true also
    takes ``residual=True`` and returns each crop's luma residual (``(H, W)`` float32), which
    compose pastes at a third of the cost."""

    scale: int

    def enhance(self, crops: Sequence[np.ndarray]) -> list[np.ndarray]: ...

    def enhance_many(
        self, crops_per_frame: Sequence[Sequence[np.ndarray]]
    ) -> list[list[np.ndarray]]: ...


@dataclass(frozen=True, slots=True)
class Work:
    """A frame on its way through the stages.

    ``faces``: set by detect. ``crops``: set by enhance, one per face of ``faces.enhanced``, in
    that order: its luma residual (``(H, W)`` float32) or, from an enhancer that gives none,
    the enhanced RGB crop (both in output pixels; compose takes either). ``t_decoded``:
    ``perf_counter()`` when the frame left the decoder (its age, for the latency budget and the
    end-to-end latency).
    """

    frame: Frame
    t_decoded: float
    faces: Faces = dataclasses.field(default_factory=Faces)
    crops: tuple[np.ndarray, ...] = ()


def crops_of(frame: Frame, faces: Faces) -> list[np.ndarray]:
    """The input crops of the faces to enhance (views, no copy)."""
    rgb, boxes = frame.rgb24, faces.enhanced.crop_xyxy
    assert boxes is not None
    return [rgb[y0:y1, x0:x1] for x0, y0, x1, y1 in boxes.tolist()]


def origins_of(faces: Faces) -> list[tuple[int, int]]:
    """Each enhanced face's crop origin in its frame (where the codec's block grid starts)."""
    boxes = faces.enhanced.crop_xyxy
    assert boxes is not None
    return [(int(b[0]), int(b[1])) for b in boxes.tolist()]


class FaceQps(Sequence[float | None]):
    """Each enhanced face's mean macroblock quantiser (:meth:`Frame.face_qp`), computed when
    one is first read: the frame's map is read from the decoder only for the crops the
    variant chooser measures (:meth:`Frame.quantisers` says why that matters)."""

    def __init__(self, frame: Frame, boxes: list[tuple[int, int, int, int]]) -> None:
        self._frame, self._boxes = frame, boxes

    def __len__(self) -> int:
        return len(self._boxes)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self._frame.face_qp(b) for b in self._boxes[i]]
        return self._frame.face_qp(self._boxes[i])

    def subset(self, idx: Sequence[int]) -> FaceQps:
        """The faces ``idx``, in that order, still unread."""
        return FaceQps(self._frame, [self._boxes[j] for j in idx])


def qps_of(frame: Frame, faces: Faces) -> FaceQps | None:
    """Each enhanced face's mean macroblock quantiser, read when asked (:class:`FaceQps`), or
    None when the frame carries no quantiser map."""
    if not frame.has_qp:
        return None
    boxes = faces.enhanced.xyxy.round().astype(int).tolist()
    return FaceQps(frame, [(b[0], b[1], b[2], b[3]) for b in boxes])


class FaceStage:
    """Detect on every ``detect_every``-th frame and on a discontinuity; track in between;
    give each face its crop box. Called from one thread (the tracker keeps per-stream state)."""

    def __init__(self, detector: Detector, options: FaceOptions, metrics: Metrics) -> None:
        self.detector = detector
        self.metrics = metrics
        self.detect_every = options.detect_every
        self.crop_enlarge = options.crop_enlarge
        self.tracker = FaceTracker()
        self.scenecut = SceneCutDetector()
        self._seen = 0  # frames this stage has seen (live runs drop frames before it)

    @property
    def tracks(self) -> int:
        return self.tracker.ids_assigned

    def detect(self, w: Work) -> Work:
        t = time.perf_counter()
        f = w.frame
        seen, self._seen = self._seen, self._seen + 1
        cut = self.scenecut.is_cut(f.rgb24) or f.discontinuity
        if cut:
            self.tracker.reset()
            f = dataclasses.replace(f, discontinuity=True)
        if cut or seen % self.detect_every == 0:
            faces = self.tracker.update(self.detector.detect(f.rgb24, round(f.time_s * 1000.0)))
        else:
            faces = self.tracker.predict()
        if len(faces):
            boxes = square_boxes(faces.xyxy, enlarge=self.crop_enlarge, size_wh=f.size_wh)
            keep = (boxes[:, 2] - boxes[:, 0]) >= MIN_CROP_PX
            faces = faces.with_crops(boxes)[keep]
        self.metrics.time("detect", time.perf_counter() - t)
        return dataclasses.replace(w, frame=f, faces=faces)


LARGE_FACE_PX = 256
"""Output crop side from which a face counts as large (:class:`ResidualReuse`)."""
ALIGN_SIDE_PX = 96
"""Side to which a large crop's luma is shrunk to measure how the picture moved (phase
correlation: about 6.6 ms at 390 px, a fraction of a millisecond at this size)."""
MAX_SHIFT_PX = 6.0
"""Largest movement (input pixels) between two frames over which a residual is carried."""
MIN_RESPONSE = 0.2
"""Phase-correlation peak below which the movement is not trusted (the network runs)."""
MAX_DECLINED_CARRIES = 2
"""Frames in a row a large face the latency budget left out may carry its residual over
(then it stays bicubic until the network has run on it again)."""


@dataclass
class _Kept:
    box: tuple[int, int, int, int]  # input pixels
    residual: np.ndarray  # output pixels, float32
    luma: np.ndarray  # the crop's luma, shrunk to ALIGN_SIDE_PX, float32
    age: int = 0


class ResidualReuse:
    """Large faces through the network every ``every``-th frame of their track; in between,
    the last residual moved by how the picture moved. ``carry_declined``: also a large face
    the latency budget left out of this frame (it waits for the enhance stage to catch up),
    for at most :data:`MAX_DECLINED_CARRIES` frames in a row.

    A face that fills the frame makes the network most of a frame's cost, while two frames
    1/30 s apart differ little. On a frame in between, the face keeps the box of its last
    enhanced frame; the movement of the picture inside that box since then (phase correlation
    of the two crops' luma, shrunk) moves the residual with sub-pixel precision. A movement
    larger than :data:`MAX_SHIFT_PX`, a weak correlation, a new track, a scene cut or a face
    smaller than :data:`LARGE_FACE_PX` goes through the network (or, declined, stays bicubic).
    The enhancement stays the network's own output on the camera's pixels, one frame old and
    moved; it adds nothing.
    """

    def __init__(self, every: int, scale: int, *, carry_declined: bool = False) -> None:
        self.every, self.scale = every, scale
        self.carry_declined = carry_declined
        self.active = every >= 2 or carry_declined
        self._kept: dict[int, _Kept] = {}
        self._window = cv2.createHanningWindow((ALIGN_SIDE_PX,) * 2, cv2.CV_32F)

    def _luma(self, rgb24: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        x0, y0, x1, y1 = box
        gray = cv2.cvtColor(rgb24[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY)
        small = cv2.resize(gray, (ALIGN_SIDE_PX, ALIGN_SIDE_PX), interpolation=cv2.INTER_AREA)
        return small.astype(np.float32)

    def _due(self, kept: _Kept, selected: bool) -> bool:
        """Whether a face with ``kept`` goes through the network (or stays bicubic) this frame."""
        if selected:
            return kept.age + 1 >= self.every
        return not self.carry_declined or kept.age + 1 > MAX_DECLINED_CARRIES

    def plan(self, frame: Frame, faces: Faces) -> tuple[Faces, dict[int, np.ndarray]]:
        """Which faces carry a residual over: the faces with those boxes moved back to their
        last enhanced ones (and, declined by the budget, marked for enhancement again), and
        ``{index in the returned faces.enhanced: residual}``."""
        if frame.discontinuity:
            self._kept.clear()
        if not self.active or not len(faces) or not self._kept:
            return faces, {}
        assert faces.crop_xyxy is not None and faces.enhance is not None
        selected = np.asarray(faces.enhance, bool)
        boxes = faces.crop_xyxy.copy()
        fh, fw = frame.rgb24.shape[:2]
        carried_at: dict[int, np.ndarray] = {}  # index in faces: residual
        for i, (tid, box) in enumerate(
            zip(faces.track_ids.tolist(), faces.crop_xyxy.tolist(), strict=True)
        ):
            kept = self._kept.get(tid)
            if tid < 0 or kept is None or self._due(kept, bool(selected[i])):
                continue
            if (box[2] - box[0]) * self.scale < LARGE_FACE_PX:
                continue
            if kept.box[2] > fw or kept.box[3] > fh:  # the input changed size under it
                continue
            luma = self._luma(frame.rgb24, kept.box)
            (dx, dy), response = cv2.phaseCorrelate(kept.luma, luma, self._window)
            k = (kept.box[2] - kept.box[0]) / ALIGN_SIDE_PX  # input pixels per aligned pixel
            dx, dy = dx * k, dy * k
            if response < MIN_RESPONSE or max(abs(dx), abs(dy)) > MAX_SHIFT_PX:
                continue
            hs, ws = kept.residual.shape[:2]
            px = ws / (kept.box[2] - kept.box[0])  # residual pixels per input pixel: scale, or 1
            move = np.array([[1, 0, dx * px], [0, 1, dy * px]], np.float32)
            residual = cv2.warpAffine(
                kept.residual,
                move,
                (ws, hs),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT,
            )
            self._kept[tid] = _Kept(kept.box, residual, luma, kept.age + 1)
            boxes[i] = kept.box
            carried_at[i] = residual
        if not carried_at:
            return faces, {}
        on = selected.copy()
        on[list(carried_at)] = True
        position = np.cumsum(on) - 1  # index in faces -> index in faces.enhanced
        carried = {int(position[i]): r for i, r in carried_at.items()}
        return faces.with_crops(boxes).with_enhance(on), carried

    def any_large(self, works: Sequence[Work]) -> bool:
        """Whether a frame of ``works`` has a face this reuses (else they batch as before)."""
        if not self.active:
            return False
        for w in works:
            boxes = w.faces.enhanced.crop_xyxy
            if boxes is None or not len(boxes):
                continue
            if ((boxes[:, 2] - boxes[:, 0]) * self.scale >= LARGE_FACE_PX).any():
                return True
        return False

    def forget(self) -> None:
        self._kept.clear()

    def keep(self, frame: Frame, enhanced: Faces, fresh: dict[int, np.ndarray]) -> None:
        """Remember the residuals the network just gave (``{index in enhanced: residual}``)
        of large tracked faces; forget the tracks not in this frame."""
        if not self.active:
            return
        assert enhanced.crop_xyxy is not None
        ids = enhanced.track_ids.tolist()
        for j, residual in fresh.items():
            box = tuple(enhanced.crop_xyxy[j].tolist())
            if (
                ids[j] >= 0
                and residual.ndim == 2
                and (box[2] - box[0]) * self.scale >= LARGE_FACE_PX
            ):
                self._kept[ids[j]] = _Kept(box, residual, self._luma(frame.rgb24, box))
        for tid in set(self._kept) - set(ids):
            del self._kept[tid]


class EnhanceStage:
    """Enhance the crops of the faces the budget selects (all of them without a budget);
    ``reuse_every`` > 1: large faces through the network every that many frames
    (:class:`ResidualReuse`). ``at_input_size``: the picture is composed at the input's size,
    so an enhancer that gives residuals is asked for them averaged to the crop's own size
    (``residual="input"``), where they are made at the low resolution."""

    def __init__(
        self,
        enhancer: CropEnhancer,
        budget: Budget,
        metrics: Metrics,
        *,
        reuse_every: int = 1,
        carry_declined: bool = False,
        at_input_size: bool = False,
    ) -> None:
        self.enhancer, self.budget, self.metrics = enhancer, budget, metrics
        self._kw: dict[str, Residual] = {}
        if getattr(enhancer, "gives_residuals", False):
            self._kw["residual"] = "input" if at_input_size else True
        self.reuse = ResidualReuse(
            reuse_every if self._kw else 1,
            int(enhancer.scale),
            carry_declined=carry_declined and bool(self._kw),
        )
        # an enhancer that chooses its weights from the input (variant auto) is shown the
        # crops with their places in the frame
        self._observe = getattr(enhancer, "observe", None)

    def enhance(self, w: Work) -> Work:
        t = time.perf_counter()
        faces = self.budget.select(w.faces, t - w.t_decoded)
        faces, carried = self.reuse.plan(w.frame, faces)
        n = int(np.count_nonzero(np.asarray(faces.enhance)))
        self.metrics.enhance_skips += len(faces) - n
        if n == 0:
            self.reuse.keep(w.frame, faces.enhanced, {})
            return dataclasses.replace(w, faces=faces)
        fresh_idx = [j for j in range(n) if j not in carried]
        crops: list[np.ndarray] = [np.empty(0)] * n
        for j, r in carried.items():
            crops[j] = r
        if fresh_idx:
            enhanced = faces.enhanced
            all_crops, all_origins = crops_of(w.frame, enhanced), origins_of(enhanced)
            crops_in = [all_crops[j] for j in fresh_idx]
            origins = [all_origins[j] for j in fresh_idx]
            if self._observe is not None:
                qps = qps_of(w.frame, enhanced)
                self._observe(crops_in, origins, None if qps is None else qps.subset(fresh_idx))
            out = self.enhancer.enhance(crops_in, **self._kw)
            for j, c in zip(fresh_idx, out, strict=True):
                crops[j] = c
            dt = time.perf_counter() - t
            s = int(self.enhancer.scale)  # the budget counts output pixels
            self.budget.learn(dt, float(sum(c.shape[0] * c.shape[1] for c in crops_in) * s * s))
            self.metrics.time("enhance", dt)
        self.reuse.keep(w.frame, faces.enhanced, {j: crops[j] for j in fresh_idx})
        self.metrics.faces_enhanced += n
        self.metrics.faces_reused += len(carried)
        return dataclasses.replace(w, faces=faces, crops=tuple(crops))

    def enhance_many(self, works: list[Work]) -> list[Work]:
        """The faces of several queued frames in one batch (file runs: no budget). Where a frame
        has a face :class:`ResidualReuse` may carry over, frame by frame instead (each frame's
        plan needs the residual of the one before)."""
        if self.reuse.any_large(works):
            return [self.enhance(w) for w in works]
        self.reuse.forget()
        t = time.perf_counter()
        per_frame = [crops_of(w.frame, w.faces) for w in works]
        if self._observe is not None:
            for w, crops in zip(works, per_frame, strict=True):
                if crops:
                    self._observe(crops, origins_of(w.faces), qps_of(w.frame, w.faces))
        outs = self.enhancer.enhance_many(per_frame, **self._kw)
        dt = (time.perf_counter() - t) / len(works)
        for w in works:
            self.metrics.faces_enhanced += len(w.faces.enhanced)
            self.metrics.time("enhance", dt)
        return [dataclasses.replace(w, crops=tuple(c)) for w, c in zip(works, outs, strict=True)]


class ComposeStage:
    """Upscale, blend the enhanced crops in, mark them; then fit the frame to the size the
    outputs were opened with (an input whose size changes mid-stream keeps its outputs)."""

    def __init__(
        self,
        options: ComposeOptions,
        *,
        scale: int,
        output_size_wh: tuple[int, int],
        metrics: Metrics,
    ) -> None:
        self.options = options
        self.metrics = metrics
        self.mean_s = 0.0
        """Moving average of one frame's compose time (the latency budget reads it)."""
        self.scale = scale
        self.output_size_wh = output_size_wh
        self.smoother = ResidualSmoother() if options.temporal else None
        self._warned_size: tuple[int, int] | None = None
        self.tap: Callable[[Frame, Faces, np.ndarray, float], bool] | None = None
        """Called with each input frame, its enhanced faces, the composed picture before any
        marks are drawn, and its decode time (the browser view of ``streamsr serve``); returns
        whether it keeps the picture (then the marks go on a copy)."""

    def run(self, w: Work) -> Work:
        """:meth:`compose` of a frame on its way, timed."""
        t = time.perf_counter()
        frame = self.compose(w.frame, w.faces, w.crops, t_decoded=w.t_decoded)
        dt = time.perf_counter() - t
        self.mean_s += MEAN_EMA * (dt - self.mean_s)
        self.metrics.time("compose", dt)
        return dataclasses.replace(w, frame=frame)

    def compose(
        self,
        frame: Frame,
        faces: Faces,
        crops: Sequence[np.ndarray],
        *,
        t_decoded: float | None = None,
    ) -> Frame:
        if frame.discontinuity and self.smoother is not None:
            self.smoother.reset()
        enhanced = faces.enhanced
        assert enhanced.crop_xyxy is not None
        tap = self.tap
        out = compose(
            frame.rgb24,
            scale=self.scale,
            boxes_xyxy=enhanced.crop_xyxy,
            crops=crops,
            track_ids=enhanced.track_ids.tolist(),
            marked=self.options.mark and tap is None,
            smoother=self.smoother,
            output_size=self.options.output_size,
        )
        if tap is not None:
            kept = tap(
                frame, enhanced, out, time.perf_counter() if t_decoded is None else t_decoded
            )
            if self.options.mark and len(enhanced):
                if kept:
                    out = out.copy()  # a viewer's stream holds the unmarked picture
                s = 1 if self.options.output_size == "input" else self.scale
                mark(out, enhanced.crop_xyxy.astype(np.int64) * s, enhanced.track_ids.tolist())
        ow, oh = self.output_size_wh
        if out.shape[1] != ow or out.shape[0] != oh:
            if self._warned_size != frame.size_wh:  # once per new input size
                self._warned_size = frame.size_wh
                log.warning(
                    "input size changed to %dx%d: output frames resized to %dx%d for the open "
                    "outputs",
                    *frame.size_wh,
                    ow,
                    oh,
                )
            shrink = out.shape[1] > ow
            out = cv2.resize(
                out, (ow, oh), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
            )
        return dataclasses.replace(frame, rgb24=out)

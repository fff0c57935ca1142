"""The live pipeline: a stream or camera in, enhanced frames out, never falling behind.

Same stages as the offline :class:`~streamsr.Pipeline` (decode → detect+track → enhance →
compose → outputs, one thread each, the per-frame work in :class:`FaceStages`), with the queues
and clocks of a live system:

* **Newest frame wins.** Every queue holds :attr:`LiveOptions.queue_frames` frames (1 by
  default) and a put into a full queue drops the oldest frame there, counted in
  ``frames_dropped``. The decoder never waits for a slower stage; each stage works on the newest
  frame it can get. Frames that go out still go out in input order.
* **Latency budget.** With ``max_latency_ms``, the enhance stage enhances a frame's faces (in
  track order, so the same faces keep being enhanced) only while the frame's age plus the
  expected enhance, compose and encode times stays within the budget; the other faces go out
  bicubic and are counted in ``enhance_skips``.
* **Outputs never freeze.** Each output has its own thread and a two-frame drop-oldest queue, so
  a slow or reconnecting output holds up no other. When no new frame has come for
  ``stale_after_s`` (input lost, reconnecting, stalled), the last output frame is repeated with a
  "STALE" label, at the input's frame rate but at most :data:`STALE_FPS`, until frames flow again.
* **Timestamps.** Output frames are stamped with the wall clock at which they leave the pipeline
  (90 kHz): every output stays continuous across reconnects and stale repeats.
* **Reconnects** are the :class:`~streamsr.sources.LiveSource`'s: after its last attempt its
  error is raised from :meth:`LivePipeline.run` after every output was closed cleanly.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, get_args

import cv2
import numpy as np

from streamsr._errors import ConfigError, PipelineError, StreamSRError
from streamsr._frame import Faces, Frame
from streamsr.runtime._metrics import LiveMetrics, MetricsServer, MetricsSnapshot
from streamsr.runtime._stages import FaceStages, Work
from streamsr.runtime._threads import END, POLL_S, Stage
from streamsr.sources._live import (
    DEFAULT_TIMEOUT_S,
    LIVE_TIME_BASE,
    CameraOptions,
    LiveSource,
    SourceEvent,
    Transport,
)
from streamsr.sources._url import is_url, redact_url

log = logging.getLogger(__name__)

OutputKind = Literal["file", "rtsp", "virtualcam", "preview"]
OUTPUT_KINDS: tuple[str, ...] = get_args(OutputKind)
OutputSize = Literal["scaled", "input"]
OUTPUT_SIZES: tuple[str, ...] = get_args(OutputSize)

STALE_FPS = 10.0
"""Most frames per second repeated while the input is lost."""
SINK_QUEUE_FRAMES = 2
"""Frames an output may fall behind before its oldest is dropped."""
SEC_PER_OUT_PX = 3.2e-7
"""First guess of enhance time per output pixel (SRCNN 9-5-5, 2 CPU threads: ~21 ms per 256²),
refined from measurements as the pipeline runs."""
_EMA = 0.1


class LatestQueue(queue.Queue):
    """A bounded queue whose ``put`` never blocks: when full, the oldest item is dropped.

    ``on_drop(item)`` is called for each dropped item (under the queue's lock: keep it short).
    """

    def __init__(self, maxsize: int, on_drop: Callable[[Any], None]) -> None:
        if maxsize < 1:
            raise ValueError("a LatestQueue needs maxsize >= 1")
        super().__init__(maxsize)
        self._on_drop = on_drop

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        with self.not_full:
            while self._qsize() >= self.maxsize:
                self._on_drop(self._get())
            self._put(item)
            self.unfinished_tasks += 1
            self.not_empty.notify()


def output_kind(location: str) -> OutputKind:
    """``preview``, ``virtualcam[:DEVICE]``, ``rtsp(s)://…``, or else a file path."""
    text = str(location)
    low = text.lower()
    if low == "preview":
        return "preview"
    if low == "virtualcam" or low.startswith("virtualcam:"):
        return "virtualcam"
    if low.startswith(("rtsp://", "rtsps://")):
        return "rtsp"
    if is_url(text):
        raise ConfigError(
            f"unsupported output {redact_url(text)}: use a file path, rtsp://, virtualcam or "
            "preview"
        )
    return "file"


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputSpec:
    """One output of a live pipeline.

    ``location``: a file path (``.mp4``, ``.mkv``, ``.mov``, ``.ts``...), ``rtsp://…`` (published
    with RTSP ANNOUNCE/RECORD), ``virtualcam`` or ``virtualcam:DEVICE``, or ``preview`` (a
    window). ``segment_seconds`` cuts a file output into files that long. ``codec``, ``crf``
    and ``preset`` set the encoder (files: h264, hevc or av1; RTSP: h264 only).
    ``transport``: RTSP over tcp or udp. ``overwrite`` replaces an existing (unsegmented) file.
    """

    location: str
    segment_seconds: float | None = None
    codec: Literal["h264", "hevc", "av1"] = "h264"
    crf: int | None = None
    preset: str | None = None
    transport: Transport = "tcp"
    overwrite: bool = False

    def __post_init__(self) -> None:
        kind = output_kind(self.location)  # validates
        if self.segment_seconds is not None and kind != "file":
            raise ConfigError(
                f"segment_seconds applies to file outputs only, not {redact_url(self.location)}"
            )
        if kind == "rtsp" and self.codec != "h264":
            raise ConfigError(f"RTSP outputs are encoded with h264, not {self.codec!r}")

    @property
    def kind(self) -> OutputKind:
        return output_kind(self.location)

    @property
    def name(self) -> str:
        return redact_url(self.location)


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveOptions:
    """Options of :class:`LivePipeline`, checked at construction.

    Enhancement (as :class:`~streamsr.PipelineOptions`, except that ``arch=None`` means
    srcnn-915s, the live network, see :func:`~streamsr.enhance.default_arch`):
    ``scale``, ``arch``, ``variant``,
    ``device``, ``backend``, ``weights``, ``detect_every``, ``min_face``, ``face_model``,
    ``mark``, ``temporal``. ``output_size``: ``"scaled"`` (input × scale) or ``"input"`` (the
    enhanced frame downscaled back to the input's size, for a virtual camera that must keep the
    camera's format).

    Live behaviour: ``max_latency_ms`` (None: enhance every face), ``queue_frames``,
    ``stale_after_s``, ``status_every_s`` (0: no status line), ``metrics_port`` (None: no
    endpoint) and ``metrics_host``.

    Input: ``transport``, ``open_timeout_s``, ``read_timeout_s``, ``reconnect_attempts`` (-1: for
    ever), ``reconnect_delay_s``, ``realtime`` (play a file at its frame rate), ``camera``.
    """

    scale: int = 2
    arch: str | None = None
    variant: Literal["clean", "video"] = "video"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    backend: str = "auto"
    weights: str | None = None
    detect_every: int = 3
    min_face: int = 0
    face_model: Literal["auto", "short", "full"] = "auto"
    mark: bool = False
    temporal: bool = True
    output_size: OutputSize = "scaled"
    max_latency_ms: float | None = None
    queue_frames: int = 1
    stale_after_s: float = 1.0
    status_every_s: float = 5.0
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    transport: Transport = "tcp"
    open_timeout_s: float = DEFAULT_TIMEOUT_S
    read_timeout_s: float = DEFAULT_TIMEOUT_S
    reconnect_attempts: int = 5
    reconnect_delay_s: float = 1.0
    realtime: bool = False
    camera: CameraOptions = field(default_factory=CameraOptions)

    def __post_init__(self) -> None:
        def number(name: str, lo: float, hi: float, *, none: bool = False) -> None:
            v = getattr(self, name)
            if v is None and none:
                return
            if (
                isinstance(v, bool)
                or not isinstance(v, int | float)
                or not math.isfinite(v)
                or not lo <= v <= hi
            ):
                raise ConfigError(f"{name} must be a number in [{lo:g}, {hi:g}], got {v!r}")

        def integer(name: str, lo: int, hi: int, *, none: bool = False) -> None:
            v = getattr(self, name)
            if v is None and none:
                return
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise ConfigError(f"{name} must be an integer in [{lo}, {hi}], got {v!r}")

        def choice(name: str, allowed: Sequence[str]) -> None:
            if getattr(self, name) not in allowed:
                raise ConfigError(
                    f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}"
                )

        if self.scale not in (2, 3, 4):
            raise ConfigError(f"scale must be 2, 3 or 4, got {self.scale!r}")
        choice("variant", ("clean", "video"))
        choice("device", ("auto", "cpu", "cuda"))
        choice("face_model", ("auto", "short", "full"))
        choice("output_size", OUTPUT_SIZES)
        choice("transport", ("tcp", "udp"))
        integer("detect_every", 1, 1000)
        integer("min_face", 0, 100_000)
        integer("queue_frames", 1, 64)
        integer("metrics_port", 0, 65535, none=True)
        integer("reconnect_attempts", -1, 1_000_000)
        number("max_latency_ms", 1, 60_000, none=True)
        number("stale_after_s", 0.05, 60)
        number("status_every_s", 0, 3600)
        number("open_timeout_s", 0.1, 3600)
        number("read_timeout_s", 0.1, 3600)
        number("reconnect_delay_s", 0, 3600)
        if not isinstance(self.camera, CameraOptions):
            raise ConfigError(f"camera must be CameraOptions, got {type(self.camera).__name__}")


@dataclass
class LiveStats(MetricsSnapshot):
    """What a live run did: the last metrics reading, its length and each output's counters."""

    seconds: float = 0.0
    interrupted: bool = False
    outputs: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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


class _SinkWorker(threading.Thread):
    """One output on its own thread, fed through a two-frame drop-oldest queue."""

    def __init__(
        self, spec: OutputSpec, sink: Any, metrics: LiveMetrics, on_error: Callable[[], None]
    ) -> None:
        super().__init__(name=f"streamsr-out-{spec.kind}", daemon=True)
        self.spec, self.sink, self.metrics = spec, sink, metrics
        self.dropped = 0
        self.error: BaseException | None = None
        self._on_error = on_error
        self._abort = threading.Event()
        self.inbox = LatestQueue(SINK_QUEUE_FRAMES, self._count_drop)
        self.encode_s = 0.0  # moving average of one write

    def _count_drop(self, item: Any) -> None:
        if item is not END:
            self.dropped += 1

    def offer(self, frame: Frame, t_decoded: float | None) -> None:
        self.inbox.put((frame, t_decoded))

    def finish(self) -> None:
        """Write what is queued, then stop."""
        self.inbox.put(END)

    def abort(self) -> None:
        self._abort.set()

    def run(self) -> None:
        try:
            while not self._abort.is_set():
                try:
                    item = self.inbox.get(timeout=POLL_S)
                except queue.Empty:
                    continue
                if item is END:
                    return
                frame, t_decoded = item
                t = time.perf_counter()
                self.sink.write(frame)
                now = time.perf_counter()
                self.encode_s += _EMA * ((now - t) - self.encode_s)
                self.metrics.latency["encode"].add(now - t)
                if t_decoded is not None:
                    self.metrics.latency["end_to_end"].add(now - t_decoded)
        except BaseException as exc:  # kept for the caller, which re-raises it
            self.error = exc
            self._on_error()

    def counters(self) -> dict[str, int]:
        c = {
            "frames_written": int(getattr(self.sink, "frames_written", 0)),
            "queue_dropped": self.dropped,
        }
        for name in ("frames_dropped", "reconnects"):
            if hasattr(self.sink, name):
                c[name] = int(getattr(self.sink, name))
        return c


class LivePipeline:
    """Enhance the faces of a live stream and send it to one or more outputs.

    ::

        with LivePipeline("rtsp://cam/stream", ["rtsp://127.0.0.1:8554/enhanced", "rec.mp4"],
                          max_latency_ms=250, reconnect_attempts=-1) as p:
            p.run()  # until the input is lost for good, Ctrl-C, or duration_s

    ``input``: a location :class:`~streamsr.sources.LiveSource` accepts, or an open one.
    ``outputs``: locations or :class:`OutputSpec` objects (see :func:`output_kind`).
    ``enhancer``: an :class:`~streamsr.Enhancer` to use instead of loading one from the options.
    The input is connected and every output opened in the constructor: errors show up there.
    """

    def __init__(
        self,
        input: str | Path | LiveSource,
        outputs: Sequence[str | Path | OutputSpec],
        *,
        enhancer: Any = None,
        **options: Any,
    ) -> None:
        from streamsr.enhance._enhancer import default_arch, load_enhancer
        from streamsr.faces import FaceDetector

        self.options = opts = LiveOptions(**options)
        specs = [o if isinstance(o, OutputSpec) else OutputSpec(location=str(o)) for o in outputs]
        if not specs:
            raise ConfigError("a live pipeline needs at least one output")
        if sum(s.kind == "preview" for s in specs) > 1:
            raise ConfigError("one preview window at most")
        if enhancer is None:
            arch = opts.arch
            if arch is None and opts.weights is None:
                arch = default_arch(opts.scale, live=True)
            enhancer = load_enhancer(
                opts.scale,
                arch=arch,
                device=opts.device,
                weights=opts.weights,
                variant=opts.variant,
                backend=opts.backend,
            )
        elif int(enhancer.scale) != opts.scale:
            raise ConfigError(f"the enhancer is x{enhancer.scale}, the options say x{opts.scale}")
        self.enhancer = enhancer
        self.specs = specs
        self.metrics = LiveMetrics(queue_depths=self._queue_depths)
        self._stop = threading.Event()
        self._closed = False
        self._started = False
        self._t0 = time.monotonic()
        self._detector: Any = None
        self._metrics_server: MetricsServer | None = None
        self._workers: list[_SinkWorker] = []
        self._preview: Any = None
        self._queues: dict[str, queue.Queue[Any]] = {}
        self._threads: list[threading.Thread] = []
        self._stages: list[Stage] = []
        self._errors: list[tuple[str, BaseException]] = []
        self._reset_from_index = -1
        self._last_size_warning: tuple[int, int] | None = None
        self._px_cost = SEC_PER_OUT_PX
        self._compose_s = 0.0
        self._interrupted = False

        if isinstance(input, LiveSource):
            self.source = input
        else:
            self.source = LiveSource(
                str(input),
                transport=opts.transport,
                timeout=(opts.open_timeout_s, opts.read_timeout_s),
                reconnect_attempts=opts.reconnect_attempts,
                reconnect_delay_s=opts.reconnect_delay_s,
                realtime=opts.realtime,
                camera=opts.camera,
            )
        self.source.stop_event = self._stop  # one stop event for the source and every thread
        self.source.on_event = self._on_source_event
        try:
            w, h = self.source.size_wh
            if w < 1 or h < 1:
                raise PipelineError(f"{self.source.name}: the stream does not say its frame size")
            self.input_size_wh = (w, h)
            s = opts.scale
            self.output_size_wh = (w * s, h * s) if opts.output_size == "scaled" else (w, h)
            rate = float(self.source.average_rate or 30)
            self.rate = min(max(rate, 1.0), 120.0) if math.isfinite(rate) else 30.0
            self._detector = FaceDetector(model=opts.face_model, min_face_px=opts.min_face)
            self.stages = FaceStages(
                enhancer=enhancer,
                detector=self._detector,
                detect_every=opts.detect_every,
                mark=opts.mark,
                temporal=opts.temporal,
                output_size=opts.output_size,
            )
            for spec in specs:
                self._open_output(spec)
            if opts.metrics_port is not None:
                self._metrics_server = MetricsServer(
                    self.metrics, port=opts.metrics_port, host=opts.metrics_host
                )
        except BaseException:
            self._close_outputs()
            self.source.close()
            if self._detector is not None:
                self._detector.close()
            raise
        self.metrics.sink_dropped = lambda: sum(
            w.dropped + int(getattr(w.sink, "frames_dropped", 0)) for w in self._workers
        )
        log.info(
            "%s -> %s: x%d, %dx%d -> %dx%d, %s",
            self.source.name,
            ", ".join(s.name for s in specs),
            opts.scale,
            *self.input_size_wh,
            *self.output_size_wh,
            enhancer,
        )

    # -- outputs ------------------------------------------------------------------------------

    def _open_output(self, spec: OutputSpec) -> None:
        from streamsr.sinks import FileSink
        from streamsr.sinks._preview import PreviewSink
        from streamsr.sinks._rtsp import RtspSink
        from streamsr.sinks._segments import SegmentedFileSink
        from streamsr.sinks._virtualcam import VirtualCamSink

        size = self.output_size_wh
        sink: Any
        if spec.kind == "preview":
            self._preview = PreviewSink(f"streamsr: {self.source.name}")
            return
        if spec.kind == "rtsp":
            sink = RtspSink(
                spec.location,
                size_wh=size,
                rate=self.rate,
                transport=spec.transport,
                crf=spec.crf,
                preset=spec.preset,
            )
        elif spec.kind == "virtualcam":
            _, _, device = spec.location.partition(":")
            sink = VirtualCamSink(size_wh=size, fps=self.rate, device=device or None)
        elif spec.segment_seconds is not None:
            sink = SegmentedFileSink(
                spec.location,
                segment_seconds=spec.segment_seconds,
                size_wh=size,
                time_base=LIVE_TIME_BASE,
                rate=round(self.rate),
                codec=spec.codec,
                crf=spec.crf,
                preset=spec.preset or "superfast",
            )
        else:
            sink = FileSink(
                spec.location,
                size_wh=size,
                time_base=LIVE_TIME_BASE,
                rate=round(self.rate),
                codec=spec.codec,
                crf=spec.crf,
                preset=spec.preset or ("superfast" if spec.codec != "av1" else None),
                overwrite=spec.overwrite,
            )
        self._workers.append(_SinkWorker(spec, sink, self.metrics, self._stop.set))

    def _close_outputs(self) -> None:
        for w in self._workers:
            if w.is_alive():
                w.finish()
        for w in self._workers:
            if w.is_alive():
                w.join(timeout=self.options.open_timeout_s + 5.0)
            if w.is_alive():
                log.warning("output %s did not finish in time; abandoning it", w.spec.name)
                w.abort()
                continue
            try:
                w.sink.close()
            except StreamSRError as exc:
                log.error("closing %s failed: %s", w.spec.name, exc)
                self._errors.append((f"output {w.spec.name}", exc))
        if self._preview is not None:
            self._preview.close()

    # -- stages -------------------------------------------------------------------------------

    def _on_source_event(self, event: SourceEvent) -> None:
        m = self.metrics
        if event.kind == "lost":
            m.connected = False
        elif event.kind == "reconnected":
            m.connected = True
            m.reconnects += 1
            self._reset_from_index = self.source.frames_read  # a new stream: forget the tracks
        elif event.kind == "gave_up":
            m.connected = False

    def _count_drop(self, item: Any) -> None:
        if item is not END:
            self.metrics.add_dropped()

    def _decode(self) -> None:
        q = self._queues["decoded"]
        try:
            for frame in self.source.frames():
                self.metrics.frames_in += 1
                self.metrics.rate_in.tick()
                q.put(Work(frame, t_decoded=time.perf_counter()))
        except BaseException as exc:
            self._errors.append(("input", exc))
            self._stop.set()
            return
        q.put(END)

    def _detect(self, w: Work) -> Work:
        t = time.perf_counter()
        f = w.frame
        reset = self._reset_from_index
        if 0 <= reset <= f.index:
            self._reset_from_index = -1
            self.stages.tracker.reset()
            w.scene_cut = True
        w = self.stages.detect(w)
        self.metrics.latency["detect"].add(time.perf_counter() - t)
        return w

    def _enhance(self, w: Work) -> Work:
        n = len(w.boxes_xyxy)
        if n == 0:
            return w
        t = time.perf_counter()
        k = n
        if self.options.max_latency_ms is not None:
            # Same faces first, frame after frame: in track order.
            order = np.argsort(w.faces.track_ids, kind="stable")
            f = w.faces
            w.faces = Faces(f.xyxy[order], f.scores[order], f.track_ids[order])
            w.boxes_xyxy = w.boxes_xyxy[order]
            s = self.stages.scale
            sides = (w.boxes_xyxy[:, 2] - w.boxes_xyxy[:, 0]).astype(np.float64) * s
            costs = sides * sides * self._px_cost
            tail = self._compose_s + max((x.encode_s for x in self._workers), default=0.0)
            left = self.options.max_latency_ms / 1000.0 - (t - w.t_decoded) - tail
            k = int(np.searchsorted(np.cumsum(costs), left, side="right"))
            if k < n:
                self.metrics.enhance_skips += n - k
        if k > 0:
            boxes = w.boxes_xyxy
            w.boxes_xyxy = boxes[:k]
            self.stages.enhance(w)
            w.boxes_xyxy = boxes
            dt = time.perf_counter() - t
            px = float(sum(c.shape[0] * c.shape[1] for c in w.crops))
            if px > 0:
                self._px_cost += _EMA * (dt / px - self._px_cost)
            self.metrics.faces_enhanced += k
            self.metrics.latency["enhance"].add(dt)
        return w

    def _compose(self, w: Work) -> Work:
        t = time.perf_counter()
        w = self.stages.compose(w)
        out = w.out_rgb24
        assert out is not None
        ow, oh = self.output_size_wh
        if out.shape[1] != ow or out.shape[0] != oh:
            expected = self.options.output_size == "input" and w.frame.size_wh == self.input_size_wh
            if not expected and self._last_size_warning != (out.shape[1], out.shape[0]):
                self._last_size_warning = (out.shape[1], out.shape[0])
                log.warning(
                    "input size changed: %dx%d output frames resized to %dx%d for the open outputs",
                    out.shape[1],
                    out.shape[0],
                    ow,
                    oh,
                )
            shrink = out.shape[1] > ow
            w.out_rgb24 = cv2.resize(
                out, (ow, oh), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
            )
        dt = time.perf_counter() - t
        self._compose_s += _EMA * (dt - self._compose_s)
        self.metrics.latency["compose"].add(dt)
        return w

    def _output(self) -> None:
        try:
            self._output_loop()
        except BaseException as exc:
            self._errors.append(("output", exc))
            self._stop.set()

    def _output_loop(self) -> None:
        q = self._queues["composed"]
        stale_every = 1.0 / min(self.rate, STALE_FPS)
        poll = min(POLL_S, stale_every / 2)
        last: np.ndarray | None = None
        stale_img: np.ndarray | None = None
        last_fresh = time.monotonic()
        next_stale = 0.0
        while not self._stop.is_set():
            try:
                w = q.get(timeout=poll)
            except queue.Empty:
                now = time.monotonic()
                late = now - last_fresh >= self.options.stale_after_s
                if last is not None and late and now >= next_stale:
                    if stale_img is None:
                        stale_img = mark_stale(last)
                    self._emit(stale_img, None)
                    self.metrics.frames_stale += 1
                    next_stale = now + stale_every
                continue
            if w is END:
                return
            last, stale_img = w.out_rgb24, None
            self._emit(last, w.t_decoded)
            last_fresh = time.monotonic()
            next_stale = last_fresh + self.options.stale_after_s

    def _emit(self, rgb24: np.ndarray, t_decoded: float | None) -> None:
        pts = round((time.monotonic() - self._t0) / LIVE_TIME_BASE)
        frame = Frame(rgb24, pts, LIVE_TIME_BASE, self.metrics.frames_out)
        for worker in self._workers:
            worker.offer(frame, t_decoded)
        if self._preview is not None:
            self._preview.write(frame)
        self.metrics.frames_out += 1
        self.metrics.rate_out.tick()

    def _queue_depths(self) -> dict[str, int]:
        d = {name: q.qsize() for name, q in self._queues.items()}
        for w in self._workers:
            d[f"out:{w.spec.kind}"] = w.inbox.qsize()
        return d

    # -- running ------------------------------------------------------------------------------

    def _start(self) -> None:
        if self._closed:
            raise PipelineError("pipeline is closed")
        self._started = True
        n = self.options.queue_frames
        names = ("decoded", "detected", "enhanced", "composed")
        self._queues = {k: LatestQueue(n, self._count_drop) for k in names}
        q = self._queues
        stop = self._stop
        self._stages = [
            Stage("detect", fn=self._detect, inbox=q["decoded"], outbox=q["detected"], stop=stop),
            Stage(
                "enhance", fn=self._enhance, inbox=q["detected"], outbox=q["enhanced"], stop=stop
            ),
            Stage(
                "compose", fn=self._compose, inbox=q["enhanced"], outbox=q["composed"], stop=stop
            ),
        ]
        self._threads = [
            threading.Thread(target=self._decode, name="streamsr-decode", daemon=True),
            *self._stages,
            threading.Thread(target=self._output, name="streamsr-output", daemon=True),
        ]
        self._t0 = time.monotonic()
        for w in self._workers:
            w.start()
        for t in self._threads:
            t.start()

    def run(self, *, duration_s: float | None = None) -> LiveStats:
        """Run until the input ends or is lost for good, ``duration_s`` passes, the preview
        window is closed, or Ctrl-C; then close every output and return the stats.

        Raises the input's error (after its last reconnect attempt) or a stage's error, once
        the outputs are closed.
        """
        if duration_s is not None and not duration_s > 0:
            raise ConfigError(f"duration_s must be > 0 seconds, got {duration_s!r}")
        if not self._started:
            self._start()
        deadline = None if duration_s is None else time.monotonic() + duration_s
        every = self.options.status_every_s
        next_status = time.monotonic() + every if every > 0 else math.inf
        output_thread = self._threads[-1]
        try:
            while output_thread.is_alive() and not self._stop.is_set():
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    break
                if now >= next_status:
                    log.info("%s", self.metrics.status_line())
                    next_status = now + every
                if self._preview is not None:
                    if not self._preview.pump():
                        log.info("preview window closed")
                        break
                    time.sleep(0.01)
                else:
                    output_thread.join(timeout=0.1)
        except KeyboardInterrupt:
            self._interrupted = True
            raise
        finally:
            self.close()
        self._raise_errors()
        return self.stats

    def _raise_errors(self) -> None:
        if not self._errors:
            return
        errors = dict(self._errors)
        for where in ("input", "output", *(s.stage for s in self._stages)):
            if where in errors:
                exc = errors[where]
                break
        else:
            where, exc = self._errors[0]
        if isinstance(exc, StreamSRError):
            raise exc
        raise PipelineError(f"{where} failed: {type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        """Stop every thread, finish every output, release the input. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        for t in self._threads[1:]:
            t.join(timeout=5.0)
            if t.is_alive():
                log.warning("thread %s did not stop within 5 s", t.name)
        for s in self._stages:
            if s.error is not None:
                self._errors.append((s.stage, s.error))
        for w in self._workers:
            if w.error is not None:
                self._errors.append((f"output {w.spec.name}", w.error))
        try:
            self._close_outputs()
        finally:
            decode = self._threads[0] if self._threads else None
            if decode is not None:
                decode.join(timeout=self.options.read_timeout_s + 2.0)
            if decode is not None and decode.is_alive():
                log.warning("input %s did not stop in time; left open", self.source.name)
            else:
                self.source.close()
            if self._detector is not None:
                self._detector.close()
            if self._metrics_server is not None:
                self._metrics_server.close()
            self._final = self._snapshot_stats()
            log.info("%s", self.metrics.status_line())

    def _snapshot_stats(self) -> LiveStats:
        snap = self.metrics.snapshot()
        st = LiveStats(**asdict(snap))
        st.seconds = time.monotonic() - self._t0 if self._started else 0.0
        st.interrupted = self._interrupted
        st.outputs = {w.spec.name: w.counters() for w in self._workers}
        return st

    @property
    def metrics_port(self) -> int | None:
        """Port of the Prometheus endpoint (the one picked when ``metrics_port=0``), or None."""
        return self._metrics_server.port if self._metrics_server is not None else None

    @property
    def stats(self) -> LiveStats:
        """Current stats; after :meth:`close`, those of the whole run."""
        return getattr(self, "_final", None) or self._snapshot_stats()

    def __enter__(self) -> LivePipeline:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if isinstance(ev, KeyboardInterrupt):
            self._interrupted = True
        self.close()

"""The pipeline: decode → detect+track → enhance → compose → encode, each stage a thread.

Offline (files) every queue put blocks, so nothing is dropped: frames out = frames in, in
input order (one thread per stage and FIFO queues keep the order).
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from streamsr._errors import ConfigError, PipelineError, StreamSRError
from streamsr._frame import Frame
from streamsr.runtime._stages import FaceStages, Work
from streamsr.runtime._threads import END, Stage, StageTimer, get

log = logging.getLogger(__name__)

QUEUE_FRAMES = 8  # frames in flight between two stages
ENHANCE_BATCH_FRAMES = 4  # offline: faces of up to this many queued frames in one batch


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineOptions:
    """Options of :class:`Pipeline`, checked at construction."""

    scale: int = 2
    arch: str | None = None  # None: srcnn-955, or the arch a weights file names
    variant: Literal["clean", "video"] = "video"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    weights: str | None = None
    backend: Literal["auto", "tensorrt", "cuda", "compile", "onnxruntime", "cpu"] = "auto"
    detect_every: int = 3
    min_face: int = 0
    face_model: Literal["auto", "short", "full"] = "auto"
    codec: Literal["h264", "hevc", "av1"] = "h264"
    crf: int | None = None
    preset: str | None = None
    mark: bool = False
    temporal: bool = True
    overwrite: bool = False

    def __post_init__(self) -> None:
        if self.scale not in (2, 3, 4):
            raise ConfigError(f"scale must be 2, 3 or 4, got {self.scale!r}")
        if not isinstance(self.detect_every, int) or self.detect_every < 1:
            raise ConfigError(f"detect_every must be an integer >= 1, got {self.detect_every!r}")
        if not isinstance(self.min_face, int) or self.min_face < 0:
            raise ConfigError(f"min_face must be an integer >= 0 (pixels), got {self.min_face!r}")
        if self.codec not in ("h264", "hevc", "av1"):
            raise ConfigError(f"codec must be h264, hevc or av1, got {self.codec!r}")


@dataclass
class PipelineStats:
    """What a run did; ``stage_ms`` is the mean busy time per frame of each stage."""

    frames_in: int = 0
    frames_out: int = 0
    frames_with_faces: int = 0
    faces_enhanced: int = 0
    tracks: int = 0
    fps: float = 0.0
    dropped: int = 0
    decode_errors: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    stage_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Pipeline:
    """Enhance the faces of a video: ``Pipeline(input, output).run()``, or iterate it.

    Iterating yields the output frames (upscaled by ``scale``, faces enhanced) in input order
    and writes each to ``output`` when one is given. Use it as a context manager: leaving the
    block stops the threads and finishes the output file, also on Ctrl-C.
    """

    def __init__(self, input: str | Path, output: str | Path | None = None, **options: Any) -> None:
        from streamsr.enhance._enhancer import load_enhancer
        from streamsr.faces import FaceDetector
        from streamsr.sinks import FileSink, same_file
        from streamsr.sources import VideoSource

        self.options = opts = PipelineOptions(**options)
        if output is not None and same_file(input, output):
            raise ConfigError(f"output is the input: {output}")
        self.enhancer = load_enhancer(
            opts.scale,
            arch=opts.arch,
            device=opts.device,
            weights=opts.weights,
            variant=opts.variant,
            backend=opts.backend,
        )
        self.source = VideoSource(input)
        self.sink: Any = None
        self._detector: Any = None
        try:
            self._detector = FaceDetector(model=opts.face_model, min_face_px=opts.min_face)
            if output is not None:
                w, h = self.source.size_wh
                self.sink = FileSink(
                    output,
                    size_wh=(w * opts.scale, h * opts.scale),
                    time_base=self.source.time_base,
                    rate=self.source.average_rate,
                    codec=opts.codec,
                    crf=opts.crf,
                    preset=opts.preset,
                    audio_from=self.source.audio_streams,
                    overwrite=opts.overwrite,
                )
        except BaseException:
            self.source.close()
            if self._detector is not None:
                self._detector.close()
            raise
        self.stages = FaceStages(
            enhancer=self.enhancer,
            detector=self._detector,
            detect_every=opts.detect_every,
            mark=opts.mark,
            temporal=opts.temporal,
        )
        self.stats = PipelineStats()
        self._stop = threading.Event()
        self._audio: collections.deque[Any] = collections.deque()  # drained by the encoder
        self._timers = {
            k: StageTimer() for k in ("decode", "detect", "enhance", "compose", "encode")
        }
        self._stages: list[Stage] = []
        self._started = False
        self._closed = False
        self._t0 = 0.0

    # -- stages (each runs on its own thread) -------------------------------------------------

    def _decode(self) -> Iterator[Work | None]:
        for item in self.source.read():
            if isinstance(item, Frame):
                self.stats.frames_in += 1
                yield Work(item)
            else:
                self._audio.append(item)
                yield None

    # -- running --------------------------------------------------------------------------------

    def _start(self) -> None:
        if self._closed:
            raise PipelineError("pipeline is closed")
        self._started = True
        self._t0 = time.perf_counter()
        stop = self._stop
        q = [queue.Queue(maxsize=QUEUE_FRAMES) for _ in range(4)]  # type: ignore[var-annotated]
        t = self._timers
        self._stages = [
            Stage("decode", source=self._decode, outbox=q[0], stop=stop, timer=t["decode"]),
            Stage(
                "detect",
                fn=self.stages.detect,
                inbox=q[0],
                outbox=q[1],
                stop=stop,
                timer=t["detect"],
            ),
            Stage(
                "enhance",
                fn=self.stages.enhance,
                fn_many=self.stages.enhance_many,
                max_batch=ENHANCE_BATCH_FRAMES,
                inbox=q[1],
                outbox=q[2],
                stop=stop,
                timer=t["enhance"],
            ),
            Stage(
                "compose",
                fn=self.stages.compose,
                inbox=q[2],
                outbox=q[3],
                stop=stop,
                timer=t["compose"],
            ),
        ]
        self._out = q[3]
        for s in self._stages:
            s.start()

    def _raise_stage_error(self) -> None:
        for s in self._stages:
            if s.error is not None:
                if isinstance(s.error, StreamSRError):
                    raise s.error
                raise PipelineError(
                    f"{s.stage} stage failed: {type(s.error).__name__}: {s.error}"
                ) from s.error

    def __iter__(self) -> Iterator[Frame]:
        if not self._started:
            self._start()
        while True:
            w = get(self._out, self._stop)
            if w is END:
                break
            t = time.perf_counter()
            out = Frame(w.out_rgb24, w.frame.pts, w.frame.time_base, w.frame.index)
            if self.sink is not None:
                self.sink.write(out)
                while self._audio:
                    self.sink.write_audio(self._audio.popleft())
            self._timers["encode"].add(time.perf_counter() - t)
            self.stats.frames_out += 1
            if len(w.crops):
                self.stats.frames_with_faces += 1
                self.stats.faces_enhanced += len(w.crops)
            yield out
        self._raise_stage_error()
        if self.sink is not None:
            while self._audio:
                self.sink.write_audio(self._audio.popleft())

    def run(self, *, progress: bool = False) -> PipelineStats:
        """Process the whole input; returns the stats (also on ``self.stats``)."""
        from tqdm import tqdm

        hint = self.source.frame_count_hint
        with tqdm(
            total=hint, unit="frame", disable=not progress, dynamic_ncols=True, leave=False
        ) as bar:
            for _ in self:
                bar.update(1)
                if self.stats.frames_out % 10 == 0:
                    bar.set_postfix(faces=self.stats.faces_enhanced, refresh=False)
        return self.stats

    def close(self) -> None:
        """Stop every stage, finish the output (flush the encoder) and release the input."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        for s in self._stages:
            s.join(timeout=10.0)
            if s.is_alive():
                log.warning("stage %s did not stop within 10 s", s.stage)
        try:
            if self.sink is not None:
                self.sink.close()
        finally:
            self.source.close()
            self._detector.close()
            self._finish_stats()

    def _finish_stats(self) -> None:
        st = self.stats
        st.seconds = time.perf_counter() - self._t0 if self._started else 0.0
        st.fps = st.frames_out / st.seconds if st.seconds > 0 else 0.0
        st.tracks = self.stages.tracks
        st.decode_errors = int(getattr(self.source, "decode_errors", 0))
        st.stage_ms = {k: round(t.mean_ms, 2) for k, t in self._timers.items()}

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if isinstance(ev, KeyboardInterrupt):
            self.stats.interrupted = True
        self.close()

"""The pipeline: decode → detect+track → enhance → compose → outputs, each stage a thread.

One engine for files and live streams. What differs is policy, chosen once from the input (a
stream URL or camera is live; a file is not, unless ``live=True`` or ``realtime=True``):

============== ============================================ =====================================
               file (offline)                               live
============== ============================================ =====================================
queues         block: nothing dropped, every frame out,     drop_oldest: the newest frame wins,
               in order, audio copied                       drops counted
enhance        faces of up to 4 queued frames per batch     a latency budget may leave faces
                                                            bicubic (``max_latency_ms``)
input lost     (an error)                                   reconnects; the last frame repeated
                                                            with a STALE label meanwhile
timestamps     the input's own                              wall clock at output, 90 kHz
============== ============================================ =====================================

Frames leave in input order either way (one thread per stage, FIFO queues). Iterating a
pipeline is one more output.
"""

from __future__ import annotations

import collections
import logging
import math
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from streamsr._errors import ConfigError, PipelineError, SourceError, StreamSRError
from streamsr._frame import Frame
from streamsr.runtime._budget import Budget, LatencyBudget, NoBudget, first_guess
from streamsr.runtime._clock import OutputClock
from streamsr.runtime._metrics import Metrics, MetricsServer, Stats
from streamsr.runtime._options import OUTPUT_DEFAULTS, PipelineOptions, check_file_run
from streamsr.runtime._outputs import Fanout, OutputLoop
from streamsr.runtime._stages import ComposeStage, EnhanceStage, FaceStage, Work
from streamsr.runtime._threads import END, QueuePolicy, Stage, get, make_queue, network_threads
from streamsr.sinks import OutputSpec
from streamsr.sinks._options import check_output_size, output_specs
from streamsr.sources import LIVE_TIME_BASE, LiveSource, SourceEvent

log = logging.getLogger(__name__)

FILE_QUEUE_FRAMES = 8  # frames in flight between two stages of a file run
IN_FLIGHT_BYTES = 1 << 30  # about what the queued frames of a file run may hold
ENHANCE_BATCH_FRAMES = 4  # file runs: faces of up to this many queued frames in one batch

Output = str | Path | OutputSpec
STAGE_NAMES = ("decode", "detect", "enhance", "compose")


class Pipeline:
    """Enhance the faces of a video or stream and write them to zero or more outputs.

    ::

        with Pipeline("in.mp4", "out.mp4", scale=2, mark=True) as p:
            p.run()                                   # or: for frame in p: ...
        with Pipeline("rtsp://cam/stream", ["rtsp://127.0.0.1:8554/enhanced", "rec.mp4"],
                      max_latency_ms=250, reconnect_attempts=-1) as p:
            p.run(duration_s=60)

    ``input``: a file, URL or camera (``camera:0``), or an open
    :class:`~streamsr.sources.LiveSource`. ``output``: one location or
    :class:`~streamsr.sinks.OutputSpec`, a list of them, or None (iterate to get the frames).
    ``options``: a :class:`~streamsr.runtime.PipelineOptions`, or instead keywords of the stage
    options (``scale=3, max_latency_ms=200``); ``codec``, ``crf``, ``preset``, ``overwrite`` and
    ``segment_seconds`` apply to outputs given as plain locations. ``enhancer``: an
    :class:`~streamsr.Enhancer` to share instead of loading one. The input and every output are
    opened here: errors show up in the constructor.
    """

    def __init__(
        self,
        input: str | Path | LiveSource,
        output: Output | Sequence[Output] | None = None,
        *,
        enhancer: Any = None,
        options: PipelineOptions | None = None,
        **keywords: Any,
    ) -> None:
        if options is not None and keywords.keys() - OUTPUT_DEFAULTS:
            raise ConfigError("give options= or keywords, not both")
        if options is None:
            options, out_defaults = PipelineOptions.from_keywords(**keywords)
        else:
            out_defaults = keywords
        self.options = opts = options
        if isinstance(input, LiveSource):
            self.live = True
        else:
            self.live = opts.source.is_live_for(input)
        outputs = [] if output is None else [output] if isinstance(output, Output) else output
        self.specs = output_specs(outputs, out_defaults, input=input, live=self.live)
        if not self.live:
            check_file_run(opts, self.specs, input)
        self.metrics = Metrics(live=self.live, queue_depths=self._queue_depths)
        self._stop = threading.Event()
        self._closed = self._started = self._interrupted = False
        self._audio: collections.deque[Any] = collections.deque()  # drained by the output thread
        self._detector: Any = None
        self._metrics_server: MetricsServer | None = None
        self._preview: Any = None
        self._iter_q: queue.Queue[Any] | None = None
        self._queues: dict[str, queue.Queue[Any]] = {}
        self._stages: list[Stage] = []
        self._output_thread: OutputLoop | None = None
        self._errors: list[tuple[str, BaseException]] = []
        self.fanout = Fanout()
        # Cheap checks first (output_specs checked the output paths), so that a wrong input or
        # output fails in a moment: the input opens before the network and the detector load.
        self.source: Any = self._open_source(input, qp=self._reads_qp(enhancer))
        try:
            self._sizes()
            self.enhancer = self._load_enhancer(enhancer)
            self._open_rest()
        except BaseException:
            self.fanout.close(wait_s=1.0, on_error=lambda *_: None)
            self._release()
            raise
        log.info(
            "%s -> %s: %s, x%d, %dx%d -> %dx%d, %s",
            self.source.name,
            ", ".join(s.name for s in self.specs) or "(iterated)",
            "live" if self.live else "file",
            opts.enhance.scale,
            *self.input_size_wh,
            *self.output_size_wh,
            self.enhancer,
        )

    # -- construction -------------------------------------------------------------------------

    def _file_queue_frames(self) -> int:
        """Frames per queue of a file run: :data:`FILE_QUEUE_FRAMES`, fewer for huge frames so
        that the frames in flight stay within :data:`IN_FLIGHT_BYTES`."""
        ow, oh = self.output_size_wh
        per_queue = IN_FLIGHT_BYTES // (5 * 3 * ow * oh)  # four stage queues and the outputs'
        return max(1, min(FILE_QUEUE_FRAMES, per_queue))

    def _load_enhancer(self, enhancer: Any) -> Any:
        e = self.options.enhance
        if enhancer is None:
            return e.load(live=self.live, threads=network_threads())
        if int(enhancer.scale) != e.scale:
            raise ConfigError(f"the enhancer is x{enhancer.scale}, the options say x{e.scale}")
        return enhancer

    def _enhancer_stats(self) -> dict[str, Any]:
        stats = getattr(self.enhancer, "stats", None)
        if callable(stats):
            return dict(stats())
        meta = getattr(self.enhancer, "meta", None) or {}
        return {"variant": str(meta.get("variant", ""))}

    def _reads_qp(self, enhancer: Any) -> bool:
        """Whether the enhancer chooses its weights from the input (``variant="auto"``), which
        reads the codec's quantisers of the face regions where the decoder exports them."""
        if enhancer is not None:  # AutoEnhancer, a tier's main one, a serve camera's share
            main = getattr(enhancer, "main", enhancer)
            return getattr(main, "chooser", None) is not None
        e = self.options.enhance
        return e.variant == "auto" and e.weights is None

    def _open_source(self, input: Any, *, qp: bool = False) -> Any:
        if not self.live:
            return self.options.source.open(input, live=False, qp=qp)
        source = (
            input
            if isinstance(input, LiveSource)
            else self.options.source.open(input, live=True, qp=qp)
        )
        source.stop_event = self._stop  # one stop event for the source and every thread
        source.on_event = self._on_source_event
        return source

    def _sizes(self) -> None:
        w, h = self.source.size_wh
        if w < 1 or h < 1:
            raise PipelineError(f"{self.source.name}: the stream does not say its frame size")
        self.input_size_wh = (w, h)
        scale = self.options.enhance.scale
        scaled = self.options.compose.output_size == "scaled"
        self.output_size_wh = (w * scale, h * scale) if scaled else (w, h)
        check_output_size(self.input_size_wh, self.output_size_wh, scale=scale)

    def _open_rest(self) -> None:
        opts = self.options
        scale = opts.enhance.scale
        if self.live:
            rate = float(self.source.average_rate or 30)
            self.rate: Any = min(max(rate, 1.0), 120.0) if math.isfinite(rate) else 30.0
        else:
            self.rate = self.source.average_rate
        tb = LIVE_TIME_BASE if self.live else self.source.time_base
        self.clock = OutputClock(live=self.live, time_base=tb)
        self._detector = opts.faces.detector()
        self.faces = FaceStage(self._detector, opts.faces, self.metrics)
        self.composer = ComposeStage(
            opts.compose, scale=scale, output_size_wh=self.output_size_wh, metrics=self.metrics
        )
        max_ms = opts.runtime.max_latency_ms
        self.budget: Budget = NoBudget()
        if max_ms is not None:  # what follows enhance: compose and the slowest encode
            tail = lambda: self.composer.mean_s + self.fanout.encode_s  # noqa: E731
            self.budget = LatencyBudget(
                max_ms,
                scale=scale,
                tail_s=tail,
                px_cost=first_guess(network_cost(self.enhancer)),
                period_s=1.0 / float(self.rate) if self.live else None,
            )
        self.enhance = EnhanceStage(
            self.enhancer,
            self.budget,
            self.metrics,
            reuse_every=opts.enhance.reuse_every,
            carry_declined=max_ms is not None and self.live,
            at_input_size=opts.compose.output_size == "input",
        )
        self._preview = self.fanout.open(
            self.specs,
            size_wh=self.output_size_wh,
            time_base=self.clock.time_base,
            rate=self.rate,
            live=self.live,
            audio_from=self.source.audio_streams,
            metrics=self.metrics,
            stop=self._stop,
        )
        if opts.runtime.metrics_port is not None:
            self._metrics_server = MetricsServer(
                self.metrics, port=opts.runtime.metrics_port, host=opts.runtime.metrics_host
            )
        self.metrics.sink_dropped = self.fanout.dropped
        self.metrics.outputs = self.fanout.counters
        self.metrics.extra = lambda: {
            "tracks": self.faces.tracks,
            "decode_errors": int(getattr(self.source, "decode_errors", 0)),
            "interrupted": self._interrupted,
            **self._enhancer_stats(),
        }

    # -- stages (each runs on its own thread) -------------------------------------------------

    def _on_source_event(self, event: SourceEvent) -> None:
        if event.kind in ("lost", "gave_up"):
            self.metrics.connected = False
        elif event.kind == "reconnected":
            self.metrics.connected = True
            self.metrics.reconnects += 1

    def _decode(self) -> Iterator[Work | None]:
        items = self.source.frames() if self.live else self.source.read()
        for item in items:
            if isinstance(item, Frame):
                self.metrics.frames_in += 1
                self.metrics.rate_in.tick()
                yield Work(item, time.perf_counter())
            else:
                self.metrics.audio_in += 1
                self._audio.append(item)
                yield None

    def _queue_depths(self) -> dict[str, int]:
        return {name: q.qsize() for name, q in self._queues.items()} | self.fanout.depths()

    # -- running ------------------------------------------------------------------------------

    def _start(self, *, iterate: bool = False) -> None:
        if self._closed:
            raise PipelineError("pipeline is closed")
        if self._started:
            raise PipelineError("pipeline already started")
        self._started = True
        policy: QueuePolicy = "drop_oldest" if self.live else "block"
        size = self.options.runtime.queue_frames if self.live else self._file_queue_frames()
        drop = lambda item: None if item is END else self.metrics.add_dropped()  # noqa: E731
        names = ("decoded", "detected", "enhanced", "composed")
        self._queues = q = {k: make_queue(policy, size, drop) for k in names}
        stop = self._stop
        batched = not self.live and self.options.runtime.max_latency_ms is None
        self._stages = [
            Stage("decode", source=self._decode, outbox=q["decoded"], stop=stop),
            Stage(
                "detect", fn=self.faces.detect, inbox=q["decoded"], outbox=q["detected"], stop=stop
            ),
            Stage(
                "enhance",
                fn=self.enhance.enhance,
                fn_many=self.enhance.enhance_many if batched else None,
                max_batch=ENHANCE_BATCH_FRAMES if batched else 1,
                inbox=q["detected"],
                outbox=q["enhanced"],
                stop=stop,
            ),
            Stage(
                "compose",
                fn=self.composer.run,
                inbox=q["enhanced"],
                outbox=q["composed"],
                stop=stop,
            ),
        ]
        out = OutputLoop(
            q["composed"],
            fanout=self.fanout,
            clock=self.clock,
            metrics=self.metrics,
            stop=stop,
            rate=float(self.rate or 30),
            stale_after_s=self.options.runtime.stale_after_s if self.live else None,
            audio=self._audio,
        )
        out.preview = self._preview
        if self.live:
            src = self.source
            out.input_age_s = lambda: time.monotonic() - (src.last_frame_time or -math.inf)
        if iterate:
            out.iterated = self._iter_q = make_queue(policy, size)
        self._output_thread = out
        self.metrics.started = time.monotonic()
        self.fanout.start()
        for st in self._stages:
            st.start()
        out.start()

    def __iter__(self) -> Iterator[Frame]:
        """The output frames, in input order (one more output of the run)."""
        self._start(iterate=True)
        assert self._iter_q is not None
        try:
            while (frame := get(self._iter_q, self._stop)) is not END:
                yield frame
        except KeyboardInterrupt:
            self._interrupted = True
            raise
        if self._output_thread is not None:
            self._output_thread.join()
        self._raise_errors()

    def run(self, *, duration_s: float | None = None, progress: bool = False) -> Stats:
        """Run until the input ends (or, live, is lost for good), ``duration_s`` passes, the
        preview window is closed, or Ctrl-C; then close every output and return the stats.

        Raises the input's error, an output's or a stage's, once every output is closed.
        """
        from tqdm import tqdm

        if duration_s is not None and not duration_s > 0:
            raise ConfigError(f"duration_s must be > 0 seconds, got {duration_s!r}")
        self._start()
        assert self._output_thread is not None
        deadline = math.inf if duration_s is None else time.monotonic() + duration_s
        every = self.options.runtime.status_every_s
        next_status = time.monotonic() + every if every > 0 else math.inf
        total = None if self.live else self.source.frame_count_hint
        bar = tqdm(total=total, unit="frame", disable=not progress, dynamic_ncols=True, leave=False)
        try:
            while self._output_thread.is_alive() and not self._stop.is_set():
                now = time.monotonic()
                if now >= deadline:
                    break
                if now >= next_status:
                    log.info("%s", self.metrics.status_line())
                    next_status = now + every
                bar.update(self.metrics.frames_out - bar.n)
                if self._preview is not None:
                    if not self._preview.pump():
                        log.info("preview window closed")
                        break
                    time.sleep(0.01)
                else:
                    self._output_thread.join(timeout=0.1)
        except KeyboardInterrupt:
            self._interrupted = True
            raise
        finally:
            bar.close()
            self.close()
        nothing = not self.live and self.stats.frames_out == 0 and duration_s is None
        if nothing and self._errors:
            self._discard_outputs()  # a run that failed before its first frame leaves no file
        self._raise_errors()
        if nothing:
            self._discard_outputs()
            raise SourceError(f"{self.source.name}: no frame could be decoded; no output written")
        return self.stats

    def _discard_outputs(self) -> None:
        """Remove the file outputs of a run that produced nothing (an empty file is no result)."""
        for spec in self.specs:
            if spec.kind == "file":
                Path(spec.location).unlink(missing_ok=True)

    def _raise_errors(self) -> None:
        errors = dict(self._errors)
        order = ("decode", "output", *(f"output {s.name}" for s in self.specs))
        for where in (*order, *STAGE_NAMES[1:]):
            if where in errors:
                exc = errors[where]
                if isinstance(exc, StreamSRError):
                    raise exc
                what = f"{where} stage" if where in STAGE_NAMES else where
                raise PipelineError(f"{what} failed: {type(exc).__name__}: {exc}") from exc

    def stop(self) -> None:
        """Ask a running :meth:`run` to end (from another thread): it closes the outputs."""
        self._stop.set()

    def close(self) -> None:
        """Stop every thread, finish every output (flush the encoders), release the input."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        for t in [*self._stages[1:], self._output_thread]:
            if t is not None:
                t.join(timeout=10.0)
                if t.is_alive():
                    log.warning("thread %s did not stop within 10 s", t.name)
        self._errors += [(s.stage, s.error) for s in self._stages[1:] if s.error is not None]
        if self._output_thread is not None and self._output_thread.error is not None:
            self._errors.append(("output", self._output_thread.error))
        wait_s = self.options.source.open_timeout_s + 5.0 if self.live else 60.0
        try:
            self.fanout.close(wait_s=wait_s, on_error=lambda w, e: self._errors.append((w, e)))
        finally:
            self._release()
            if self._stages and self._stages[0].error is not None:
                self._errors.append(("decode", self._stages[0].error))
            self._final = self.metrics.snapshot()
            if self.live:
                log.info("%s", self.metrics.status_line())

    def _release(self) -> None:
        decode = self._stages[0] if self._stages else None
        if decode is not None:
            decode.join(timeout=self.options.source.read_timeout_s + 2.0)
        if decode is not None and decode.is_alive():
            log.warning("input %s did not stop in time; left open", self.source.name)
        elif getattr(self, "source", None) is not None:
            self.source.close()
        if self._preview is not None:
            self._preview.close()
        if self._detector is not None:
            self._detector.close()
        if self._metrics_server is not None:
            self._metrics_server.close()

    @property
    def metrics_port(self) -> int | None:
        """Port of the Prometheus endpoint (the one picked when ``metrics_port=0``), or None."""
        return self._metrics_server.port if self._metrics_server is not None else None

    @property
    def stats(self) -> Stats:
        """Current stats; after :meth:`close`, those of the whole run."""
        return getattr(self, "_final", None) or self.metrics.snapshot()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if isinstance(ev, KeyboardInterrupt):
            self._interrupted = True
        self.close()


def network_cost(enhancer: Any) -> float | None:
    """Multiply-adds per output pixel of the enhancer's network, where it can say (None: not
    known, as for a shared enhancer's door or a stand-in)."""
    from streamsr.enhance._srcnn import ARCHS, build_srcnn, multiply_adds

    arch, scale = getattr(enhancer, "arch", None), getattr(enhancer, "scale", None)
    if arch not in ARCHS or not isinstance(scale, int):
        return None
    return multiply_adds(build_srcnn(str(arch), scale=scale))

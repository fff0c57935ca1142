"""What a pipeline is doing: counts, rates, latencies, drops, skips, reconnects, queue depths.

:class:`Metrics` is updated by the stage threads; :meth:`Metrics.snapshot` gives one
:class:`Stats`, the one type that the status line (logged every few seconds), ``--stats-json``,
:attr:`Pipeline.stats <streamsr.Pipeline.stats>` and the Prometheus endpoint
(:class:`MetricsServer`, extra ``streamsr[metrics]``, bound to 127.0.0.1 unless told otherwise)
all read. Latencies are kept over the last :data:`WINDOW` frames (p50/p95) and as a mean over
the run; rates over the last :data:`RATE_WINDOW_S` seconds.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from streamsr._errors import ConfigError, MissingExtraError, SinkError

log = logging.getLogger(__name__)

WINDOW = 300  # latency samples kept per stage (10 s at 30 fps)
RATE_WINDOW_S = 5.0
STAGES = ("decode", "detect", "enhance", "compose", "encode", "end_to_end")


class LatencyWindow:
    """The last ``size`` durations (seconds), for percentiles."""

    def __init__(self, size: int = WINDOW) -> None:
        self._values: collections.deque[float] = collections.deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, seconds: float) -> None:
        with self._lock:
            self._values.append(seconds)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def percentiles_ms(self) -> tuple[float, float] | None:
        """(p50, p95) in milliseconds, or None before the first sample."""
        with self._lock:
            if not self._values:
                return None
            a = np.fromiter(self._values, np.float64)
        p50, p95 = np.percentile(a, (50, 95))
        return 1000.0 * float(p50), 1000.0 * float(p95)


LATENCY_BUCKETS_S = (0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2)
"""Upper bounds of the end-to-end latency histogram (Prometheus ``le``, seconds)."""


class LatencyHistogram:
    """Every duration since the start, counted into :data:`LATENCY_BUCKETS_S` (cumulative, as
    a Prometheus histogram), with their sum."""

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS_S) + 1)  # the last: above every bound (+Inf)
        self.sum_s = 0.0
        self._lock = threading.Lock()

    def add(self, seconds: float) -> None:
        i = next((k for k, b in enumerate(LATENCY_BUCKETS_S) if seconds <= b), -1)
        with self._lock:
            self.counts[i] += 1
            self.sum_s += seconds

    def snapshot(self) -> dict[str, Any]:
        """``{"le": [bounds..., "+Inf"], "cumulative": [...], "sum_s": s, "count": n}``."""
        with self._lock:
            counts, total = list(self.counts), self.sum_s
        cumulative = list(np.cumsum(counts).astype(int).tolist())
        return {
            "le": [*LATENCY_BUCKETS_S, "+Inf"],
            "cumulative": cumulative,
            "sum_s": round(total, 6),
            "count": cumulative[-1],
        }


class RateMeter:
    """Events per second over the last ``window_s`` seconds."""

    def __init__(self, window_s: float = RATE_WINDOW_S) -> None:
        self.window_s = window_s
        self._times: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()

    def tick(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._times.append(now)
            self._trim(now)

    def _trim(self, now: float) -> None:
        while self._times and self._times[0] < now - self.window_s:
            self._times.popleft()

    def rate(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._trim(now)
            n = len(self._times)
            if n < 2:
                return 0.0
            span = now - self._times[0]
        return (n - 1) / span if span > 0 else 0.0


@dataclass
class Stats:
    """What a run did (or is doing): one reading of :class:`Metrics`.

    Accounting, in every mode: ``frames_in = frames_out - frames_stale + frames_dropped``
    (plus the frames in flight while it runs); per output, ``frames_written + queue_dropped``
    = ``frames_out`` (``outputs``). Offline runs drop nothing and repeat nothing.
    ``latency_ms``: per stage (p50, p95) over the last frames; ``stage_ms``: mean per frame
    over the run; ``fps``: frames out per second of the run; ``fps_in``/``fps_out``: over the
    last seconds. ``variant``: the weights in use (``auto:clean``/``auto:video`` when chosen
    from the input, with ``degradation``, the estimate they were chosen from, and
    ``variant_switches``).
    """

    live: bool = False
    frames_in: int = 0
    frames_out: int = 0
    frames_stale: int = 0
    frames_dropped: int = 0
    sink_frames_dropped: int = 0
    audio_in: int = 0
    audio_dropped: int = 0
    frames_with_faces: int = 0
    faces_enhanced: int = 0
    faces_reused: int = 0
    enhance_skips: int = 0
    tracks: int = 0
    reconnects: int = 0
    connected: bool = True
    decode_errors: int = 0
    fps_in: float = 0.0
    fps_out: float = 0.0
    fps: float = 0.0
    seconds: float = 0.0
    interrupted: bool = False
    variant: str = ""
    degradation: dict[str, float] = field(default_factory=dict)
    variant_switches: int = 0
    latency_ms: dict[str, tuple[float, float]] = field(default_factory=dict)
    latency_histogram: dict[str, Any] = field(default_factory=dict)
    stage_ms: dict[str, float] = field(default_factory=dict)
    queue_depths: dict[str, int] = field(default_factory=dict)
    outputs: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Metrics:
    """Counters and windows updated by the pipeline's threads (each counter has one writer).

    ``queue_depths``, ``outputs`` and ``extra`` are callables read at snapshot time: queue
    depths by name, per-output counters, and the fields the pipeline knows best (tracks,
    decode errors...).
    """

    def __init__(
        self,
        *,
        live: bool = False,
        queue_depths: Callable[[], dict[str, int]] | None = None,
    ) -> None:
        self.live = live
        self.started = time.monotonic()
        self.frames_in = 0
        self.frames_out = 0
        self.frames_stale = 0
        self.audio_in = 0  # audio packets read from the input
        self.audio_dropped = 0  # live audio that fell before the recording's start, or out of order
        self.frames_dropped = 0  # frames replaced by newer ones in a stage queue (add_dropped)
        self.frames_with_faces = 0
        self.enhance_skips = 0  # faces left bicubic to keep within the latency budget
        self.faces_enhanced = 0
        self.faces_reused = 0  # of those, large faces that carried the last residual over
        self.reconnects = 0
        self.connected = True
        self.sink_dropped: Callable[[], int] = lambda: 0
        self.outputs: Callable[[], dict[str, dict[str, int]]] = dict
        self.extra: Callable[[], dict[str, Any]] = dict
        self.queue_depths = queue_depths or (lambda: {})
        self.latency = {name: LatencyWindow() for name in STAGES}
        self.end_to_end = LatencyHistogram()
        """Every frame written to an output, decode to write (each output counts its own)."""
        self._busy = {name: [0.0, 0] for name in STAGES}
        self.rate_in = RateMeter()
        self.rate_out = RateMeter()
        self._lock = threading.Lock()

    def add_dropped(self, n: int = 1) -> None:
        """Count dropped frames (several threads drop: the one counter they share is locked)."""
        with self._lock:
            self.frames_dropped += n

    def time(self, stage: str, seconds: float) -> None:
        """One frame's time in ``stage`` (called by that stage's thread only)."""
        self.latency[stage].add(seconds)
        busy = self._busy[stage]
        busy[0] += seconds
        busy[1] += 1

    def snapshot(self) -> Stats:
        lat = {k: p for k, w in self.latency.items() if (p := w.percentiles_ms()) is not None}
        busy = {k: round(1000.0 * t / n, 2) for k, (t, n) in self._busy.items() if n}
        seconds = time.monotonic() - self.started
        st = Stats(
            live=self.live,
            fps_in=self.rate_in.rate(),
            fps_out=self.rate_out.rate(),
            frames_in=self.frames_in,
            frames_out=self.frames_out,
            frames_stale=self.frames_stale,
            frames_dropped=self.frames_dropped,
            sink_frames_dropped=self.sink_dropped(),
            audio_in=self.audio_in,
            audio_dropped=self.audio_dropped,
            frames_with_faces=self.frames_with_faces,
            enhance_skips=self.enhance_skips,
            faces_enhanced=self.faces_enhanced,
            faces_reused=self.faces_reused,
            reconnects=self.reconnects,
            connected=self.connected,
            seconds=seconds,
            fps=self.frames_out / seconds if seconds > 0 else 0.0,
            latency_ms=lat,
            latency_histogram=self.end_to_end.snapshot(),
            stage_ms=busy,
            queue_depths=dict(self.queue_depths()),
            outputs=self.outputs(),
        )
        for name, value in self.extra().items():
            setattr(st, name, value)
        return st

    def status_line(self) -> str:
        """One line for the log: rates, latency, drops, skips, reconnects, queues."""
        s = self.snapshot()

        def ms(name: str) -> str:
            p = s.latency_ms.get(name)
            return "-" if p is None else f"{p[0]:.0f}/{p[1]:.0f}"

        queues = " ".join(f"{k}={v}" for k, v in s.queue_depths.items())
        state = "" if s.connected else " INPUT LOST,"
        return (
            f"{'live' if s.live else 'file'}:{state} in {s.fps_in:.1f} fps, out {s.fps_out:.1f} fps "
            f"({s.frames_stale} stale); ms p50/p95: e2e {ms('end_to_end')}, "
            f"detect {ms('detect')}, enhance {ms('enhance')}, compose {ms('compose')}, "
            f"encode {ms('encode')}; dropped {s.frames_dropped} in + {s.sink_frames_dropped} "
            f"out, skips {s.enhance_skips}, reconnects {s.reconnects}; queues {queues}"
        )


class MetricsServer:
    """Serve ``metrics`` in Prometheus text format on ``http://host:port/metrics``.

    Needs prometheus-client (``pip install 'streamsr[metrics]'``). ``host`` defaults to
    127.0.0.1: expose it on other interfaces only on purpose. ``port=0`` picks a free port
    (read it back from :attr:`port`). Call :meth:`close` to stop serving.
    """

    def __init__(self, metrics: Metrics, *, port: int, host: str = "127.0.0.1") -> None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ConfigError(f"metrics port must be an int in 0..65535; got {port!r}")
        try:
            import prometheus_client
            from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
        except ImportError as exc:
            raise MissingExtraError(
                f"--metrics-port needs prometheus-client: pip install 'streamsr[metrics]' ({exc})"
            ) from exc

        class _Collector:
            def collect(self) -> Iterator[Any]:
                s = metrics.snapshot()
                for name, value, doc in (
                    ("fps_in", s.fps_in, "Frames per second read from the input"),
                    ("fps_out", s.fps_out, "Frames per second sent to the outputs"),
                    ("input_connected", float(s.connected), "1 while the input delivers"),
                ):
                    yield GaugeMetricFamily(f"streamsr_{name}", doc, value=value)
                for name, value, doc in (
                    ("frames_in", s.frames_in, "Frames read from the input"),
                    ("frames_out", s.frames_out, "Frames sent to the outputs, stale included"),
                    (
                        "frames_stale",
                        s.frames_stale,
                        "Last frame repeated while the input was lost",
                    ),
                    ("frames_dropped", s.frames_dropped, "Input frames dropped for newer ones"),
                    (
                        "sink_frames_dropped",
                        s.sink_frames_dropped,
                        "Frames an output could not take in time, or sent while disconnected",
                    ),
                    ("enhance_skips", s.enhance_skips, "Faces left bicubic to meet the budget"),
                    ("faces_enhanced", s.faces_enhanced, "Faces enhanced"),
                    (
                        "faces_reused",
                        s.faces_reused,
                        "Enhanced faces that carried the last residual over (reuse_every)",
                    ),
                    ("reconnects", s.reconnects, "Input reconnections"),
                ):
                    yield CounterMetricFamily(f"streamsr_{name}", doc, value=value)
                lat = GaugeMetricFamily(
                    "streamsr_latency_seconds",
                    "Per-stage and end-to-end latency over the last frames",
                    labels=["stage", "quantile"],
                )
                for stage, (p50, p95) in s.latency_ms.items():
                    lat.add_metric([stage, "0.5"], p50 / 1000.0)
                    lat.add_metric([stage, "0.95"], p95 / 1000.0)
                yield lat
                q = GaugeMetricFamily(
                    "streamsr_queue_depth", "Frames waiting between stages", labels=["queue"]
                )
                for name, depth in s.queue_depths.items():
                    q.add_metric([name], depth)
                yield q

        self.registry = prometheus_client.CollectorRegistry(auto_describe=False)
        self.registry.register(_Collector())
        try:
            result = prometheus_client.start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            raise SinkError(f"cannot serve metrics on {host}:{port}: {exc}") from exc
        self._server: Any = result[0] if isinstance(result, tuple) else None
        self.host = host
        self.port = int(self._server.server_port) if self._server is not None else port
        log.info("metrics on http://%s:%d/metrics", host, self.port)

    def close(self) -> None:
        """Stop serving. Idempotent."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

"""Outputs: the output loop that stamps frames, and the fan-out to every sink.

Every sink runs on its own thread, fed through its own queue.
A slow or reconnecting output holds up no other. The queue policy is the run's: offline, a
worker's queue blocks (nothing is lost: every frame reaches every output, audio packets in
between, in order); live, it holds :data:`LIVE_SINK_FRAMES` frames and drops the oldest
(counted per output as ``queue_dropped``).

**A failing output** (its ``write`` raised) stops the whole run: the other outputs are closed
cleanly and the error is raised from :meth:`~streamsr.Pipeline.run`, so no output silently
ends early. Outputs that ride out their own outages (RTSP reconnects) do not raise.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

from streamsr._errors import StreamSRError
from streamsr._frame import Frame
from streamsr.compose import mark_stale
from streamsr.runtime._audio import LiveAudioClock
from streamsr.runtime._clock import OutputClock
from streamsr.runtime._metrics import Metrics
from streamsr.runtime._threads import END, POLL_S, QueuePolicy, make_queue, put
from streamsr.sinks import OutputSpec, open_sink
from streamsr.sinks._options import Sink

log = logging.getLogger(__name__)

LIVE_SINK_FRAMES = 2
"""Frames a live output may fall behind before its oldest is dropped."""
LIVE_AUDIO_PACKETS = 1000
"""Audio packets a live output may hold (about 20 s of AAC) before its oldest is dropped."""
AUDIO_DELAY_FRAMES = 15
"""Live: the first frames whose latency places the audio on the output timeline."""
FILE_SINK_FRAMES = 8
"""Frames queued for an output of a file run (it blocks when full)."""
STALE_FPS = 10.0
"""Most frames per second repeated while a live input is lost."""
EMA = 0.1


class SinkWorker(threading.Thread):
    """One output on its own thread. Items are ``(frame, t_decoded)`` or an audio packet."""

    def __init__(
        self,
        spec: OutputSpec,
        sink: Sink,
        *,
        policy: QueuePolicy,
        metrics: Metrics,
        stop: threading.Event,
    ) -> None:
        super().__init__(name=f"streamsr-out-{spec.kind}", daemon=True)
        self.spec, self.sink, self.metrics = spec, sink, metrics
        self.dropped = 0
        self.error: BaseException | None = None
        self._stop_run = stop
        self._abort = threading.Event()
        size = LIVE_SINK_FRAMES if policy == "drop_oldest" else FILE_SINK_FRAMES
        self.inbox = make_queue(policy, size, self._count_drop)
        # Live, audio packets wait beside the frames, not among them: the frame queue drops its
        # oldest to stay live, and an audio packet must not push out a frame (or be pushed out).
        self.live = policy == "drop_oldest"
        self.audio_inbox: collections.deque[Any] = collections.deque(maxlen=LIVE_AUDIO_PACKETS)
        self.audio_dropped = 0
        self.encode_s = 0.0  # moving average of one write (the latency budget reads it)

    def _count_drop(self, item: Any) -> None:
        if item is not END:
            self.dropped += 1

    def offer(self, item: Any) -> None:
        """Queue a frame ``(frame, t_decoded)`` or an audio packet; waits only in file runs."""
        if self.live and not isinstance(item, tuple) and item is not END:
            if len(self.audio_inbox) == self.audio_inbox.maxlen:
                self.audio_dropped += 1
            self.audio_inbox.append(item)
            return
        put(self.inbox, item, self._abort)

    def _write_audio(self) -> None:
        write = self.sink.write_audio  # type: ignore[attr-defined]  # offered only to such sinks
        while self.audio_inbox:
            write(self.audio_inbox.popleft())

    def finish(self) -> None:
        """Write what is queued, then stop."""
        put(self.inbox, END, self._abort)

    def abort(self) -> None:
        self._abort.set()

    def run(self) -> None:
        try:
            while not self._abort.is_set():
                try:
                    item = self.inbox.get(timeout=POLL_S)
                except queue.Empty:
                    if self.audio_inbox:
                        self._write_audio()
                    continue
                if self.audio_inbox:
                    self._write_audio()
                if item is END:
                    return
                if not isinstance(item, tuple):
                    if hasattr(self.sink, "write_audio"):
                        self.sink.write_audio(item)
                    continue
                frame, t_decoded = item
                t = time.perf_counter()
                self.sink.write(frame)
                now = time.perf_counter()
                self.encode_s += EMA * ((now - t) - self.encode_s)
                self.metrics.time("encode", now - t)
                self.metrics.latency["end_to_end"].add(now - t_decoded)
                self.metrics.end_to_end.add(now - t_decoded)
        except BaseException as exc:  # kept for the caller, which re-raises it
            self.error = exc
            self._abort.set()  # nothing more is queued for a dead worker
            self._stop_run.set()

    def counters(self) -> dict[str, int]:
        c = {
            "frames_written": int(getattr(self.sink, "frames_written", 0)),
            "queue_dropped": self.dropped,
        }
        if self.audio_dropped:
            c["audio_queue_dropped"] = self.audio_dropped
        for name in ("frames_dropped", "reconnects", "audio_packets_written"):
            if hasattr(self.sink, name):
                c[name] = int(getattr(self.sink, name))
        return c


class Fanout:
    """The outputs of one run: offer each frame (and audio packet) to all of them."""

    def __init__(self) -> None:
        self.workers: list[SinkWorker] = []
        self.errors: list[tuple[str, BaseException]] = []

    def open(
        self,
        specs: Sequence[OutputSpec],
        *,
        size_wh: tuple[int, int],
        time_base: Fraction,
        rate: Fraction | float | None,
        live: bool,
        audio_from: Sequence[Any],
        metrics: Metrics,
        stop: threading.Event,
    ) -> Any:
        """Open a sink and its worker for each spec; returns the preview sink or None (it is
        shown by the main thread, where windows live)."""
        preview = None
        policy: QueuePolicy = "drop_oldest" if live else "block"
        for spec in specs:
            sink = open_sink(
                spec, size_wh=size_wh, time_base=time_base, rate=rate, live=live,
                audio_from=audio_from,
            )  # fmt: skip
            if spec.kind == "preview":
                preview = sink
            else:
                self.workers.append(
                    SinkWorker(spec, sink, policy=policy, metrics=metrics, stop=stop)
                )
        return preview

    def start(self) -> None:
        for w in self.workers:
            w.start()

    def offer_frame(self, frame: Frame, t_decoded: float) -> None:
        for w in self.workers:
            w.offer((frame, t_decoded))

    def offer_audio(self, packet: Any) -> None:
        for w in self.workers:
            if hasattr(w.sink, "write_audio"):
                w.offer(packet)

    @property
    def encode_s(self) -> float:
        return max((w.encode_s for w in self.workers), default=0.0)

    def dropped(self) -> int:
        return sum(w.dropped + int(getattr(w.sink, "frames_dropped", 0)) for w in self.workers)

    def counters(self) -> dict[str, dict[str, int]]:
        return {w.spec.name: w.counters() for w in self.workers}

    def depths(self) -> dict[str, int]:
        return {f"out:{w.spec.kind}": w.inbox.qsize() for w in self.workers}

    def close(self, *, wait_s: float, on_error: Callable[[str, BaseException], None]) -> None:
        """Let every started worker write what it has queued, then close every sink."""
        for w in self.workers:
            if w.is_alive():
                w.finish()
        for w in self.workers:
            if w.is_alive():
                w.join(timeout=wait_s)
            if w.is_alive():
                log.warning("output %s did not finish in time; abandoning it", w.spec.name)
                w.abort()
                continue
            if w.error is not None:
                on_error(f"output {w.spec.name}", w.error)
            try:
                w.sink.close()
            except StreamSRError as exc:
                log.error("closing %s failed: %s", w.spec.name, exc)
                on_error(f"output {w.spec.name}", exc)


class OutputLoop(threading.Thread):
    """The last thread of a run: stamps each composed frame with the output clock and hands it
    to every output (and the audio demuxed before it, file runs), to the preview window and
    to an iterating caller. Live, while no frame comes for ``stale_after_s``, it repeats the
    last one labelled STALE, at the input's rate but at most :data:`STALE_FPS`."""

    def __init__(
        self,
        inbox: queue.Queue[Any],
        *,
        fanout: Fanout,
        clock: OutputClock,
        metrics: Metrics,
        stop: threading.Event,
        rate: float,
        stale_after_s: float | None,
        audio: collections.deque[Any],
    ) -> None:
        super().__init__(name="streamsr-output", daemon=True)
        self.inbox, self.fanout, self.clock, self.metrics = inbox, fanout, clock, metrics
        self.stop, self.audio = stop, audio
        self.stale_after_s = stale_after_s
        self.input_age_s: Callable[[], float] = lambda: math.inf
        """Seconds since the input last delivered a frame: STALE means the input is gone, not
        that the pipeline is slow, so both this and the last output frame must be that old."""
        self.stale_every_s = 1.0 / min(rate, STALE_FPS)
        self.preview: Any = None
        self.iterated: queue.Queue[Any] | None = None
        self.error: BaseException | None = None
        self._latencies: list[float] = []
        self._audio_delay_s: float | None = None
        self._audio_clock = LiveAudioClock()
        self._audio_observed = 0  # packets at the head of self.audio already observed
        self._audio_last: dict[int, int] = {}

    def run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # kept for the caller, which re-raises it
            self.error = exc
            self.stop.set()

    def _loop(self) -> None:
        poll = min(POLL_S, self.stale_every_s / 2)
        last: Frame | None = None
        stale: Frame | None = None
        last_fresh = next_stale = time.monotonic()
        while not self.stop.is_set():
            try:
                w = self.inbox.get(timeout=poll)
            except queue.Empty:
                now = time.monotonic()
                if self.stale_after_s is None or last is None:
                    continue
                late = now - last_fresh >= self.stale_after_s
                if late and now >= next_stale and self.input_age_s() >= self.stale_after_s:
                    stale = stale or dataclasses.replace(last, rgb24=mark_stale(last.rgb24))
                    self._emit(stale, None)
                    self.metrics.frames_stale += 1
                    next_stale = now + self.stale_every_s
                continue
            if w is END:
                break
            last, stale = w.frame, None
            if len(w.crops):
                self.metrics.frames_with_faces += 1
            self._emit(w.frame, w.t_decoded)
            last_fresh = time.monotonic()
            next_stale = last_fresh + (self.stale_after_s or 0.0)
        if self.clock.live:
            if self._audio_delay_s is not None:
                self._live_audio(None)
        else:
            while self.audio:  # what the file had after its last frame
                self.fanout.offer_audio(self.audio.popleft())
        if self.iterated is not None:
            put(self.iterated, END, self.stop)

    def _live_audio(self, t_decoded: float | None) -> None:
        """Live audio onto the output timeline: each packet at its input moment
        (:class:`~streamsr.runtime._audio.LiveAudioClock`: by arrival, on the audio's own
        clock) plus ``delay``, the median end-to-end latency of the first
        :data:`AUDIO_DELAY_FRAMES` frames (until it is known the packets wait), so the sound
        keeps the picture's lip sync to within the latency's jitter. Packets that would land
        before the recording's start, or not after the previous packet of their stream, are
        left out (``audio_dropped``)."""
        if self._audio_delay_s is None:
            if t_decoded is not None:
                self._latencies.append(time.perf_counter() - t_decoded)
            if len(self._latencies) < AUDIO_DELAY_FRAMES:
                return
            self._audio_delay_s = sorted(self._latencies)[len(self._latencies) // 2]
        pending = []
        while self.audio:  # the decode thread appends meanwhile: take what is there
            pending.append(self.audio.popleft())
        clock = self._audio_clock
        for a in pending[self._audio_observed :]:
            clock.observe(a)
        now, t0 = time.monotonic(), self.clock.t0
        for i, a in enumerate(pending):
            if not clock.ready(a, now):
                self.audio.extendleft(reversed(pending[i:]))  # a new connection's burst: wait
                self._audio_observed = len(pending) - i
                return
            packet = a.packet
            out_s = clock.moment(a) + self._audio_delay_s - t0
            pts = round(out_s / packet.time_base)
            index = packet.stream_index
            if pts < 0 or pts <= self._audio_last.get(index, -1):
                self.metrics.audio_dropped += 1
                continue
            self._audio_last[index] = pts
            packet.pts = packet.dts = pts
            self.fanout.offer_audio(packet)
        self._audio_observed = 0

    def _emit(self, frame: Frame, t_decoded: float | None) -> None:
        index = self.metrics.frames_out if self.clock.live else frame.index
        out = Frame(frame.rgb24, self.clock.stamp(frame.pts), self.clock.time_base, index)
        self.fanout.offer_frame(out, time.perf_counter() if t_decoded is None else t_decoded)
        if self.clock.live:
            self._live_audio(t_decoded)
        else:
            while self.audio:
                self.fanout.offer_audio(self.audio.popleft())
        if self.preview is not None:
            self.preview.write(out)
        if self.iterated is not None:
            put(self.iterated, out, self.stop)
        self.metrics.frames_out += 1
        self.metrics.rate_out.tick()

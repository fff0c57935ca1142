"""Push frames to an RTSP server (``ANNOUNCE``/``RECORD``, as ``ffmpeg -f rtsp`` does).

Choices made on purpose:

* **Low latency.** libx264 with ``tune=zerolatency`` (no B-frames, no look-ahead, slice
  threads: a frame leaves the encoder as soon as it went in), preset ``ultrafast`` by default,
  a keyframe every ``gop_s`` seconds so that a viewer joining mid-stream waits at most that long,
  SPS/PPS repeated with each keyframe.
* **Timestamps.** Frames are encoded at their own ``pts`` rescaled to 90 kHz (RTP's video
  clock); a pts that does not increase is bumped by one tick. Give it the wall-clock stamps of
  live frames.
* **Colour.** RGB → yuv420p with the BT.709 matrix, limited range, tagged BT.709 (as
  :class:`~streamsr.sinks.FileSink`). Odd sizes are padded by one replicated row or column.
* **Server restarts.** The first connection is made in the constructor and an error there is
  raised (a wrong URL shows up at once). When a later write fails (the server went away), the
  connection is closed, the loss logged, and the sink reconnects on a later frame after
  ``reconnect_delay_s`` (doubling up to 30 s); frames meanwhile are dropped and counted in
  ``frames_dropped``. The caller never sees those errors: other outputs carry on.
* **Audio.** The input's audio streams (``audio_from``) are published beside the video,
  packet for packet, each packet at its own pts (the live output timeline the pipeline set);
  a codec RTSP cannot carry is left out with a warning. While the server is away audio packets
  are dropped (counted in ``audio_packets_dropped``) and resume with the video.
* **Credentials** in the URL never appear in logs or errors.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, Literal

import av
import av.error
from av.container import OutputContainer
from av.video.stream import VideoStream

from streamsr._av import copy_packet, error_message
from streamsr._check import is_int
from streamsr._closing import Closing
from streamsr._errors import ConfigError, SinkError
from streamsr._frame import Frame
from streamsr._url import redact_url, scrub_exception
from streamsr.sinks._file import X26X_PRESETS, Yuv420pConverter

log = logging.getLogger(__name__)

RTSP_TIME_BASE = Fraction(1, 90_000)
MAX_RECONNECT_DELAY_S = 30.0
DEFAULT_RTSP_CRF = 23


class RtspSink(Closing):
    """Encode frames with libx264 and publish them to ``rtsp://`` (or ``rtsps://``) ``url``.

    ``size_wh`` is the size of the frames that will be written; ``rate`` the nominal frame rate
    (for the encoder's rate control and the keyframe interval). ``transport``: ``"tcp"``
    (default) or ``"udp"``. ``timeout``: seconds allowed to connect and for each write.
    Use it as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        url: str,
        *,
        size_wh: tuple[int, int],
        rate: Fraction | float = 30,
        transport: Literal["tcp", "udp"] = "tcp",
        crf: int | None = None,
        preset: str | None = None,
        gop_s: float = 1.0,
        timeout: float = 5.0,
        reconnect_delay_s: float = 1.0,
        audio_from: Sequence[Any] = (),
    ) -> None:
        if not isinstance(url, str) or not url.lower().startswith(("rtsp://", "rtsps://")):
            raise ConfigError(
                f"an RTSP output must be an rtsp:// URL; got {redact_url(str(url))!r}"
            )
        if transport not in ("tcp", "udp"):
            raise ConfigError(f"transport must be tcp or udp; got {transport!r}")
        w, h = size_wh
        if not (isinstance(w, int) and isinstance(h, int) and 1 <= w <= 16384 and 1 <= h <= 16384):
            raise ConfigError(f"size_wh must be (width, height) ints in 1..16384; got {size_wh!r}")
        if isinstance(rate, bool) or not isinstance(rate, int | float | Fraction) or rate <= 0:
            raise ConfigError(f"rate must be a positive number; got {rate!r}")
        self.crf = DEFAULT_RTSP_CRF if crf is None else crf
        if not is_int(self.crf) or not 0 <= self.crf <= 51:
            raise ConfigError(f"crf for h264 must be an int in 0..51; got {crf!r}")
        self.preset = "ultrafast" if preset is None else str(preset)
        if self.preset not in X26X_PRESETS:
            raise ConfigError(
                f"preset for h264 must be one of {', '.join(X26X_PRESETS)}; got {preset!r}"
            )
        if not 0 < gop_s <= 60:
            raise ConfigError(f"gop_s must be in (0, 60] seconds; got {gop_s!r}")
        self.url = url
        self.name = redact_url(url)
        self.size_wh = (w, h)
        self.encoded_size_wh = (w + w % 2, h + h % 2)
        self._to_yuv = Yuv420pConverter(self.encoded_size_wh)
        self.rate = Fraction(rate).limit_denominator(1001)
        self.transport = transport
        self.gop = max(1, round(float(self.rate) * gop_s))
        self.timeout = float(timeout)
        self.reconnect_delay_s = float(reconnect_delay_s)

        self.frames_written = 0
        """Frames handed to the encoder."""
        self.frames_dropped = 0
        """Frames not sent because the server was unreachable."""
        self.reconnects = 0
        """Connections re-established after a loss."""
        self.audio_packets_written = 0
        self.audio_packets_dropped = 0
        """Audio packets not sent: server away, codec left out, or a dts not increasing."""
        self._audio_from = list(audio_from)
        self._audio_out: dict[int, Any] = {}
        self._audio_last: dict[int, int] = {}
        self._audio_warned = False

        self._closed = False
        self._last_pts: int | None = None
        self._failures = 0
        self._retry_at = 0.0
        self._container: OutputContainer | None = None
        self._video: VideoStream | None = None
        self._connect()

    # -- connection ---------------------------------------------------------------------------

    def _connect(self) -> None:
        try:
            container = av.open(
                self.url,
                "w",
                format="rtsp",
                options={"rtsp_transport": self.transport},
                timeout=(self.timeout, self.timeout),
            )
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            raise SinkError(
                f"cannot connect to {self.name}: {error_message(exc)}"
            ) from scrub_exception(exc)
        if not isinstance(container, OutputContainer):  # pragma: no cover - mode "w"
            container.close()
            raise SinkError(f"cannot open {self.name} for writing")
        try:
            video = container.add_stream(
                "libx264",
                rate=self.rate,
                options={
                    "preset": self.preset,
                    "tune": "zerolatency",
                    "crf": str(self.crf),
                    "g": str(self.gop),
                    "keyint_min": str(self.gop),
                    "x264-params": "repeat-headers=1:aud=1",
                },
            )
            if not isinstance(video, VideoStream):  # pragma: no cover - a video encoder
                raise SinkError("libx264 is not a video encoder")
            video.width, video.height = self.encoded_size_wh
            video.pix_fmt = "yuv420p"
            video.time_base = RTSP_TIME_BASE
            ctx = video.codec_context
            ctx.time_base = RTSP_TIME_BASE
            ctx.color_range = 1  # AVCOL_RANGE_MPEG (limited)
            ctx.colorspace = 1  # AVCOL_SPC_BT709
            ctx.color_primaries = 1  # AVCOL_PRI_BT709
            ctx.color_trc = 1  # AVCOL_TRC_BT709
            audio_out: dict[int, Any] = {}
            for stream in self._audio_from:
                try:
                    audio_out[stream.index] = container.add_stream_from_template(stream)
                except ValueError as exc:
                    if not self._audio_warned:
                        log.warning(
                            "%s: the input's audio (%s) cannot be sent over RTSP; publishing "
                            "video only (%s)",
                            self.name,
                            stream.codec_context.name,
                            exc,
                        )
                        self._audio_warned = True
            container.start_encoding()  # connects: ANNOUNCE, SETUP, RECORD
        except BaseException as exc:
            with contextlib.suppress(av.error.FFmpegError, OSError):
                container.close()
            if isinstance(exc, SinkError) or not isinstance(exc, Exception):
                raise
            raise SinkError(
                f"cannot publish to {self.name}: {error_message(exc)}"
            ) from scrub_exception(exc)
        self._container, self._video = container, video
        self._audio_out, self._audio_last = audio_out, {}
        self._last_pts = None
        log.info(
            "%s: publishing %dx%d, libx264 %s crf %d, keyframe every %d frames, over %s",
            self.name,
            *self.encoded_size_wh,
            self.preset,
            self.crf,
            self.gop,
            self.transport.upper(),
        )

    def _lose(self, exc: BaseException) -> None:
        self._failures += 1
        delay = min(self.reconnect_delay_s * 2 ** (self._failures - 1), MAX_RECONNECT_DELAY_S)
        self._retry_at = time.monotonic() + delay
        container, self._container, self._video = self._container, None, None
        if container is not None:
            with contextlib.suppress(av.error.FFmpegError, OSError):
                container.close()
        log.warning("%s: output lost (%s); reconnecting in %.1f s", self.name, exc, delay)

    @property
    def connected(self) -> bool:
        return self._container is not None

    # -- writing ------------------------------------------------------------------------------

    def write(self, frame: Frame) -> None:
        """Encode and send one frame; dropped (counted) while the server is unreachable."""
        if self._closed:
            raise SinkError(f"sink is closed: {self.name}")
        if frame.size_wh != self.size_wh:
            raise SinkError(
                f"{self.name}: frame {frame.index} is {frame.size_wh[0]}x{frame.size_wh[1]}, "
                f"the sink was opened for {self.size_wh[0]}x{self.size_wh[1]}"
            )
        if self._container is None:
            if time.monotonic() < self._retry_at:
                self.frames_dropped += 1
                return
            try:
                self._connect()
            except SinkError as exc:
                self.frames_dropped += 1
                self._lose(exc)
                return
            self.reconnects += 1
            self._failures = 0
            log.warning("%s: output reconnected", self.name)
        container, video = self._container, self._video
        assert container is not None and video is not None
        vf = self._to_yuv(frame.rgb24)
        vf.pts = self._pts_for(frame)
        vf.time_base = RTSP_TIME_BASE
        try:
            container.mux(video.encode(vf))
        except (av.error.FFmpegError, OSError) as exc:
            self.frames_dropped += 1
            self._lose(SinkError(error_message(exc)))
            return
        self._last_pts = vf.pts
        self.frames_written += 1

    def write_audio(self, packet: Any) -> None:
        """Send one audio packet (its pts on the output timeline); dropped and counted while
        the server is away or for a stream that is not published."""
        container = self._container
        index = packet.stream_index  # the input's (muxing sets the output's)
        out = self._audio_out.get(index)
        if container is None or out is None or packet.dts is None:
            self.audio_packets_dropped += 1
            return
        last = self._audio_last.get(index)
        if last is not None and packet.dts <= last:
            self.audio_packets_dropped += 1
            return
        dts = packet.dts
        own = copy_packet(packet)  # the other outputs read the packet: mux a copy
        own.stream = out
        try:
            container.mux(own)
        except (av.error.FFmpegError, OSError) as exc:
            self.audio_packets_dropped += 1
            self._lose(SinkError(error_message(exc)))
            return
        self._audio_last[index] = dts
        self.audio_packets_written += 1

    def _pts_for(self, frame: Frame) -> int:
        pts = frame.pts
        if pts is not None and frame.time_base is not None and frame.time_base != RTSP_TIME_BASE:
            pts = round(pts * frame.time_base / RTSP_TIME_BASE)
        last = self._last_pts
        if pts is None:
            return 0 if last is None else last + round(1 / (self.rate * RTSP_TIME_BASE))
        if last is not None and pts <= last:
            return last + 1
        return pts

    def close(self) -> None:
        """Flush the encoder and end the session (TEARDOWN). Idempotent; never raises for a
        server that is gone."""
        if self._closed:
            return
        self._closed = True
        container, video = self._container, self._video
        self._container = self._video = None
        if container is None or video is None:
            return
        try:
            container.mux(video.encode(None))
        except (av.error.FFmpegError, OSError) as exc:
            log.warning("%s: flushing the output failed: %s", self.name, error_message(exc))
        try:
            container.close()
        except (av.error.FFmpegError, OSError) as exc:
            log.warning("%s: closing the output failed: %s", self.name, error_message(exc))
        log.debug("%s: %d frames written", self.name, self.frames_written)

    def __repr__(self) -> str:
        w, h = self.encoded_size_wh
        return (
            f"RtspSink({self.name!r}, size_wh=({w}, {h}), connected={self.connected}, "
            f"frames_written={self.frames_written}, frames_dropped={self.frames_dropped})"
        )

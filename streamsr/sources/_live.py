"""Live inputs: network streams, cameras and real-time files, reopened after a loss.

:class:`LiveSource` wraps one :class:`~streamsr.sources.VideoSource` per connection and keeps the
frames coming across connections:

* **Which inputs.** ``rtsp://`` and ``rtsps://`` (TCP by default, UDP on request), ``http(s)://``
  (HLS playlists and other HTTP streams), ``rtmp://``, ``udp://``, cameras through FFmpeg's
  capture devices (see :func:`parse_camera`), and a video file played at its own frame rate
  (``realtime=True``) to stand in for a camera.
* **Timeouts.** Every connection is opened with PyAV's ``timeout=(open_s, read_s)``; RTSP also
  gets FFmpeg's socket ``timeout`` (microseconds), whose default of 0 lets a read block for ever.
  A camera that accepts the connection and then sends nothing raises
  :class:`~streamsr.StreamTimeoutError` after ``read_s``.
* **Reconnects.** The first connection is made in the constructor and an error there is raised
  at once (a wrong address or password shows up immediately). After that, a lost stream (end of
  stream, a read error, a stall past the read timeout) is reopened up to ``reconnect_attempts``
  times (``-1``: for ever), waiting ``reconnect_delay_s`` before the first attempt and twice as
  long before each next one, up to :data:`MAX_RECONNECT_DELAY_S`. Each loss, attempt and
  recovery is logged; the attempt count starts again once frames flow. A refused login (HTTP/RTSP
  401 or 403) is not retried. After the last attempt the error is raised.
* **Timestamps, on purpose.** Frames carry the wall clock of their arrival (``pts`` in
  :data:`LIVE_TIME_BASE`, 90 kHz, 0 at the first frame) and an ``index`` that keeps counting
  across connections, so that stages downstream see one continuous stream whatever the camera's
  own timestamps do on a reconnect.
* **Credentials** never reach a log line or an error message: everything goes through
  :func:`~streamsr.sources.redact_url`.

Audio is not read from live inputs.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, get_args

import av.error

from streamsr._check import is_int, is_number
from streamsr._closing import Closing
from streamsr._errors import ConfigError, SourceError, StreamSRError, StreamTimeoutError
from streamsr._frame import Frame
from streamsr._url import is_url, redact_url
from streamsr.sources._file import MAX_INPUT_PIXELS, MAX_SIDE_PX, VideoSource

log = logging.getLogger(__name__)

LIVE_TIME_BASE = Fraction(1, 90_000)
"""Time base of live frames' ``pts`` (RTP's video clock)."""

MAX_RECONNECT_DELAY_S = 30.0
CONNECT_POLL_S = 0.05  # how often a wait for a connection looks at Ctrl-C and the stop event
"""The back-off between reconnect attempts doubles up to this many seconds."""

DEFAULT_TIMEOUT_S = 5.0
"""Default open and read timeout (go2rtc uses 5 s, mediamtx 10 s)."""

LiveKind = Literal["rtsp", "http", "rtmp", "udp", "camera", "file"]
Transport = Literal["tcp", "udp"]
TRANSPORTS: tuple[str, ...] = get_args(Transport)

_SCHEMES: dict[str, LiveKind] = {
    "rtsp": "rtsp",
    "rtsps": "rtsp",
    "http": "http",
    "https": "http",
    "rtmp": "rtmp",
    "rtmps": "rtmp",
    "udp": "udp",
    "rtp": "udp",
}
# Capture devices FFmpeg reads, by the prefix a location may carry.
_DEVICE_FORMATS = ("v4l2", "avfoundation", "dshow")
_SIZE = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")


@dataclass(frozen=True, slots=True)
class InputSpec:
    """What FFmpeg is asked to open: ``av.open(location, format=format, options=options)``."""

    kind: LiveKind
    location: str
    format: str | None
    options: Mapping[str, str]

    def __repr__(self) -> str:
        return (
            f"InputSpec(kind={self.kind!r}, location={redact_url(self.location)!r}, "
            f"format={self.format!r}, options={dict(self.options)!r})"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraOptions:
    """Capture settings for camera inputs; None leaves the device's default.

    ``pixel_format`` is FFmpeg's name of what the camera sends: for ``v4l2`` it is the
    ``input_format`` option (``mjpeg``, ``yuyv422``, ``h264``...), for ``avfoundation`` and
    ``dshow`` the ``pixel_format`` option (``uyvy422``, ``nv12``, ``yuyv422``...).
    """

    size_wh: tuple[int, int] | None = None
    fps: float | None = None
    pixel_format: str | None = None

    def __post_init__(self) -> None:
        if self.size_wh is not None and not (
            isinstance(self.size_wh, tuple)
            and len(self.size_wh) == 2
            and all(is_int(v) and v > 0 for v in self.size_wh)
        ):
            raise ConfigError(f"camera size_wh must be (width, height) > 0, got {self.size_wh!r}")
        if self.fps is not None and (not is_number(self.fps) or not 0 < self.fps <= 1000):
            raise ConfigError(f"camera fps must be a number in (0, 1000], got {self.fps!r}")
        if self.pixel_format is not None and not re.fullmatch(r"[A-Za-z0-9_]+", self.pixel_format):
            raise ConfigError(
                f"camera pixel_format must be an FFmpeg pixel format name, got {self.pixel_format!r}"
            )


def parse_size(text: str) -> tuple[int, int]:
    """``"1280x720"`` → ``(1280, 720)``; ConfigError otherwise."""
    m = _SIZE.match(text)
    if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
        raise ConfigError(f"size must be WIDTHxHEIGHT, e.g. 1280x720; got {text!r}")
    return int(m.group(1)), int(m.group(2))


def is_camera(location: str | os.PathLike[str]) -> bool:
    """True for ``camera:N``, ``v4l2:…``, ``avfoundation:…``, ``dshow:…`` and ``/dev/video*``."""
    text = os.fspath(location)
    head = text.split(":", 1)[0].lower() if ":" in text else ""
    return head in ("camera", *_DEVICE_FORMATS) or re.fullmatch(r"/dev/video\d+", text) is not None


def is_live(location: str | os.PathLike[str]) -> bool:
    """True for the inputs that are live by nature: network streams and cameras.

    A local file is not live (``realtime=True`` makes it one).
    """
    text = os.fspath(location)
    if is_camera(text):
        return True
    if not is_url(text):
        return False
    return text.split("://", 1)[0].lower() in _SCHEMES


def parse_camera(location: str, camera: CameraOptions | None = None) -> InputSpec:
    """The FFmpeg capture device and options for a camera location.

    * ``camera:N`` (or ``camera:``, meaning 0): the platform's N-th camera: ``/dev/videoN``
      through ``v4l2`` on Linux, device ``N`` of ``avfoundation`` on macOS. On Windows ``dshow``
      opens cameras by name only: use ``dshow:video=NAME``.
    * ``v4l2:/dev/video0`` or just ``/dev/video0``; ``avfoundation:0`` or
      ``avfoundation:FaceTime HD Camera``; ``dshow:video=Integrated Camera``.
    """
    cam = camera or CameraOptions()
    text = location
    if re.fullmatch(r"/dev/video\d+", text):
        text = f"v4l2:{text}"
    head, _, rest = text.partition(":")
    head = head.lower()
    if head == "camera":
        index = rest or "0"
        if not index.isdigit():
            raise ConfigError(f"camera:N takes a device number, got {location!r}")
        if sys.platform.startswith("linux"):
            head, rest = "v4l2", f"/dev/video{index}"
        elif sys.platform == "darwin":
            head, rest = "avfoundation", index
        elif sys.platform == "win32":
            raise ConfigError(
                "on Windows cameras are opened by name: use dshow:video=NAME (list them with "
                "`ffmpeg -list_devices true -f dshow -i dummy`)"
            )
        else:
            raise ConfigError(f"no known camera capture format on {sys.platform}; use v4l2:PATH")
    if head not in _DEVICE_FORMATS or not rest:
        raise ConfigError(
            f"camera location must be camera:N, v4l2:/dev/videoN, avfoundation:N or "
            f"dshow:video=NAME; got {location!r}"
        )
    if head == "avfoundation" and ":" not in rest:
        rest = f"{rest}:none"  # video device only, no audio
    if head == "dshow" and not rest.startswith(("video=", "audio=")):
        rest = f"video={rest}"
    options: dict[str, str] = {}
    if cam.size_wh is not None:
        options["video_size"] = f"{cam.size_wh[0]}x{cam.size_wh[1]}"
    if cam.fps is not None:
        options["framerate"] = f"{cam.fps:g}"
    if cam.pixel_format is not None:
        options["input_format" if head == "v4l2" else "pixel_format"] = cam.pixel_format
    return InputSpec(kind="camera", location=rest, format=head, options=options)


def input_spec(
    location: str | os.PathLike[str],
    *,
    transport: Transport = "tcp",
    timeout_s: float = DEFAULT_TIMEOUT_S,
    camera: CameraOptions | None = None,
) -> InputSpec:
    """What to hand FFmpeg for ``location`` (see :class:`LiveSource` for the accepted forms)."""
    if transport not in TRANSPORTS:
        raise ConfigError(f"transport must be one of {', '.join(TRANSPORTS)}; got {transport!r}")
    text = os.fspath(location)
    if is_camera(text):
        return parse_camera(text, camera)
    if not is_url(text):
        return InputSpec(kind="file", location=text, format=None, options={})
    scheme = text.split("://", 1)[0].lower()
    kind = _SCHEMES.get(scheme)
    if kind is None:
        raise ConfigError(
            f"unsupported live input scheme {scheme}://; use rtsp, rtsps, http, https, rtmp, "
            f"udp or a camera (camera:N): {redact_url(text)}"
        )
    # Drop damaged frames rather than decoding garbage. (Not "nobuffer": it throws away the
    # packets read while probing the stream, the first keyframe among them.)
    options = {"fflags": "+discardcorrupt"}
    if kind == "rtsp":
        options["rtsp_transport"] = transport
        # FFmpeg's RTSP socket timeout (microseconds) defaults to 0: a read may block for ever.
        # A second longer than PyAV's own timeouts, which fire first and say what timed out.
        options["timeout"] = str(int((timeout_s + 1.0) * 1_000_000))
    elif kind == "udp":
        options["overrun_nonfatal"] = "1"
    return InputSpec(kind=kind, location=text, format=None, options=options)


@dataclass(frozen=True, slots=True)
class SourceEvent:
    """Something that happened to the connection, for logs and metrics.

    ``kind``: ``"connected"`` (first connection), ``"lost"`` (the stream stopped; ``reason``
    says why), ``"retry"`` (an attempt failed), ``"reconnected"``, ``"gave_up"`` or ``"ended"``
    (a real-time file reached its end). ``attempt`` counts attempts since the loss.
    """

    kind: Literal["connected", "lost", "retry", "reconnected", "gave_up", "ended"]
    reason: str = ""
    attempt: int = 0


@dataclass(frozen=True, slots=True)
class LiveAudio:
    """An audio packet of a live input: when it arrived (``arrival_mono``,
    ``time.monotonic()``), its own media time (``media_s``) and which connection it came on
    (``connection``, the reconnect count). The output loop places it on the output timeline
    (:meth:`~streamsr.runtime._outputs.OutputLoop`)."""

    packet: Any
    arrival_mono: float
    media_s: float
    connection: int


class LiveSource(Closing):
    """Frames from a live input, reconnecting after a loss (see the module docstring).

    ::

        with LiveSource("rtsp://user:pw@cam/stream", reconnect_attempts=-1) as src:
            for frame in src.frames():
                ...  # frame.rgb24: (H, W, 3) uint8 RGB; frame.pts: 90 kHz wall clock

    ``location``: ``rtsp(s)://``, ``http(s)://``, ``rtmp(s)://``, ``udp://``, a camera
    (``camera:N``, ``v4l2:/dev/videoN``, ``/dev/videoN``, ``avfoundation:N``,
    ``dshow:video=NAME``) or a video file (played as fast as it decodes unless ``realtime``).
    ``transport``: RTSP over ``"tcp"`` (default: no losses, passes firewalls) or ``"udp"``.
    ``timeout``: ``(open_s, read_s)``, or one number for both. ``camera``: capture size, rate
    and pixel format. ``stop``: an event that ends :meth:`frames` and cuts back-off waits short.
    ``on_event``: called with each :class:`SourceEvent` (from the reading thread).
    """

    def __init__(
        self,
        location: str | os.PathLike[str],
        *,
        transport: Transport = "tcp",
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT_S,
        reconnect_attempts: int = 5,
        reconnect_delay_s: float = 1.0,
        realtime: bool = False,
        camera: CameraOptions | None = None,
        max_side: int = MAX_SIDE_PX,
        max_pixels: int = MAX_INPUT_PIXELS,
        stop: threading.Event | None = None,
        on_event: Callable[[SourceEvent], None] | None = None,
        audio: bool = True,
        qp: bool = False,
    ) -> None:
        self.open_timeout_s, self.read_timeout_s = _check_timeouts(timeout)
        if not is_int(reconnect_attempts) or reconnect_attempts < -1:
            raise ConfigError(
                f"reconnect_attempts must be an int >= 0, or -1 for ever; got {reconnect_attempts!r}"
            )
        if not is_number(reconnect_delay_s) or not 0 <= reconnect_delay_s <= 3600:
            raise ConfigError(
                f"reconnect_delay_s must be a number of seconds in [0, 3600]; got "
                f"{reconnect_delay_s!r}"
            )
        self.spec = input_spec(
            location,
            transport=transport,
            timeout_s=max(self.open_timeout_s, self.read_timeout_s),
            camera=camera,
        )
        if self.spec.kind == "file" and not Path(self.spec.location).exists():
            raise SourceError(f"input not found: {self.spec.location}")
        self.name = redact_url(self.spec.location)
        """The input as it may appear in logs and errors (credentials redacted)."""
        self.reconnect_attempts = reconnect_attempts
        self.reconnect_delay_s = float(reconnect_delay_s)
        self.realtime = bool(realtime)
        self._max_side = max_side
        self._max_pixels = max_pixels
        self._audio = bool(audio) and self.spec.kind != "device"
        self._qp = bool(qp)
        self.audio_packets_read = 0
        """Audio packets yielded (as :class:`LiveAudio`)."""
        self._video_seen = False
        self.audio_packets_dropped = 0
        """Audio packets of a connection that came before its first video frame (no place on
        the output timeline yet)."""
        self.stop_event = stop or threading.Event()
        """Set it (from any thread) to end :meth:`frames` and cut back-off waits short."""
        self.on_event = on_event
        """Called with each :class:`SourceEvent`, from the reading thread."""
        self._closed = False

        self.reconnects = 0
        """Successful reconnections so far."""
        self.connected = False
        """True while a connection delivers frames."""
        self.frames_read = 0
        """Frames yielded so far (the next frame's ``index``)."""
        self.last_frame_time = 0.0
        """``time.monotonic()`` of the last frame yielded (0 before the first)."""
        self._t0: float | None = None  # monotonic time of the first frame: pts 0
        self._fresh = False  # set on a reconnect: the next frame is flagged as a discontinuity

        self._video: VideoSource | None = self._connect()
        self.connected = True
        self.size_wh: tuple[int, int] = self._video.size_wh
        """Frame size of the current connection (from its stream header)."""
        self.average_rate: Fraction | None = self._video.average_rate
        """Nominal frame rate of the current connection, or None when it does not say."""
        self._emit(SourceEvent("connected"))
        log.info("%s: connected (%s)", self.name, self._describe())

    # -- connections --------------------------------------------------------------------------

    def _connect(self) -> VideoSource:
        """Open a connection; a network open runs on a helper thread, so that Ctrl-C (in the
        main thread) and the stop event (set from any thread) end the wait at once instead of
        after FFmpeg's open timeout. An abandoned open closes what it opens when it returns."""
        if self.spec.kind == "file":
            return self._open()
        lock = threading.Lock()
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                video = self._open()
            except BaseException as exc:  # handed to the waiting thread
                box["error"] = exc
                return
            with lock:
                if box.get("abandoned"):
                    _close_quietly(video)
                else:
                    box["video"] = video

        worker = threading.Thread(target=work, name="streamsr-connect", daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                if self.stop_event.wait(CONNECT_POLL_S):
                    raise _Stopped
                worker.join(CONNECT_POLL_S)
        finally:
            with lock:
                if worker.is_alive():
                    box["abandoned"] = True
        if "error" in box:
            raise box["error"]
        video: VideoSource = box["video"]
        return video

    def _open(self) -> VideoSource:
        spec = self.spec
        t = time.monotonic()
        try:
            video = VideoSource(
                spec.location,
                format=spec.format,
                options=spec.options or None,
                timeout=None if spec.kind == "file" else (self.open_timeout_s, self.read_timeout_s),
                max_side=self._max_side,
                max_pixels=self._max_pixels,
                audio=self._audio,
                qp=self._qp,
            )
            # Slice threads only: frame threads hold (threads - 1) frames back in the decoder,
            # 67 ms at 30 fps on 2 cores, for nothing a live stream needs.
            video._video.thread_type = "SLICE"
            return video
        except SourceError as exc:
            # PyAV's timeout interrupts FFmpeg, which then often reports "invalid data" (RTSP)
            # rather than a timeout: an error that took the whole open timeout is the timeout.
            waited = time.monotonic() - t
            if spec.kind != "file" and waited >= 0.95 * self.open_timeout_s:
                raise StreamTimeoutError(
                    f"no answer from {self.name} within {self.open_timeout_s:g} s (the "
                    f"connection was accepted, or is still pending, but no stream came)"
                ) from exc
            raise

    def _describe(self) -> str:
        v = self._video
        if v is None:
            return "closed"
        w, h = v.size_wh
        rate = f"{float(v.average_rate):.3g} fps" if v.average_rate else "rate unknown"
        return f"{v.codec_name} {w}x{h}, {rate}"

    def _emit(self, event: SourceEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _drop_connection(self) -> None:
        self.connected = False
        video, self._video = self._video, None
        if video is not None:
            _close_quietly(video)  # the stream is gone anyway

    def _delay(self, attempt: int) -> float:
        return min(self.reconnect_delay_s * 2 ** (attempt - 1), MAX_RECONNECT_DELAY_S)

    def _reconnect(self, reason: str) -> bool:
        """Reopen after a loss; False when stopped meanwhile. Raises after the last attempt."""
        self._drop_connection()
        limit = self.reconnect_attempts
        if limit == 0:
            self._emit(SourceEvent("gave_up", reason))
            raise SourceError(f"{self.name}: input lost ({reason}); reconnecting is off")
        lost_at = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            delay = self._delay(attempt)
            of = "" if limit < 0 else f"/{limit}"
            log.warning(
                "%s: %s; reconnecting in %.1f s (attempt %d%s)",
                self.name,
                reason,
                delay,
                attempt,
                of,
            )
            if self.stop_event.wait(delay):
                return False
            try:
                video = self._connect()
            except _Stopped:
                return False
            except StreamSRError as exc:
                if _is_auth_error(exc):
                    self._emit(SourceEvent("gave_up", str(exc), attempt))
                    raise
                reason = f"attempt {attempt} failed: {exc}"
                self._emit(SourceEvent("retry", str(exc), attempt))
                if 0 <= limit <= attempt:
                    self._emit(SourceEvent("gave_up", str(exc), attempt))
                    raise SourceError(
                        f"{self.name}: input lost and {attempt} reconnect attempts failed; "
                        f"the last: {exc}"
                    ) from exc
                continue
            self._video = video
            self.connected = True
            self.reconnects += 1
            self._fresh = True  # the next frame starts a new picture: a discontinuity
            if video.size_wh != self.size_wh:
                log.warning(
                    "%s: frame size changed from %dx%d to %dx%d",
                    self.name,
                    *self.size_wh,
                    *video.size_wh,
                )
            self.size_wh, self.average_rate = video.size_wh, video.average_rate
            log.warning(
                "%s: reconnected after %.1f s (%s)",
                self.name,
                time.monotonic() - lost_at,
                self._describe(),
            )
            self._emit(SourceEvent("reconnected", attempt=attempt))
            return True

    # -- reading ------------------------------------------------------------------------------

    def frames(self) -> Iterator[Frame | LiveAudio]:
        """Yield frames until the input ends for good, ``stop`` is set, or reconnecting fails.

        A real-time file ends at its end; every other input is reopened after a loss (module
        docstring). Raises :class:`~streamsr.SourceError` or
        :class:`~streamsr.StreamTimeoutError` when the input is lost for good.
        """
        if self._closed:
            raise SourceError(f"source is closed: {self.name}")
        while not self.stop_event.is_set():
            video = self._video
            if video is None:
                return
            reason = "end of stream"
            try:
                yield from self._frames_of(video)
            except StreamTimeoutError:
                reason = f"no data for {self.read_timeout_s:g} s"
            except SourceError as exc:
                reason = str(exc)
            if self.stop_event.is_set():
                return
            if self.spec.kind == "file":
                self._drop_connection()
                self._emit(SourceEvent("ended"))
                log.info("%s: end of file", self.name)
                return
            self._emit(SourceEvent("lost", reason))
            if not self._reconnect(reason):
                return

    @property
    def audio_streams(self) -> list[Any]:
        """The current connection's copyable audio streams (empty without audio)."""
        return self._video.audio_streams if self._video is not None and self._audio else []

    def _frames_of(self, video: VideoSource) -> Iterator[Frame | LiveAudio]:
        pace_origin: tuple[float, float] | None = None  # (monotonic, media seconds) of frame 1
        self._video_seen = False
        for item in video.read():
            if self.stop_event.is_set():
                return
            if not isinstance(item, Frame):  # an audio packet
                if not self._video_seen or item.pts is None or item.time_base is None:
                    self.audio_packets_dropped += 1  # before the connection's first frame
                    continue
                self.audio_packets_read += 1
                yield LiveAudio(
                    item, time.monotonic(), float(item.pts * item.time_base), self.reconnects
                )
                continue
            if self.realtime and item.time_s is not None:
                if pace_origin is None:
                    pace_origin = (time.monotonic(), item.time_s)
                due = pace_origin[0] + (item.time_s - pace_origin[1])
                wait = due - time.monotonic()
                if wait > 0 and self.stop_event.wait(wait):
                    return
            now = time.monotonic()
            if self._t0 is None:
                self._t0 = now
            self._video_seen = True
            pts = round((now - self._t0) / LIVE_TIME_BASE)
            frame = Frame(
                item.rgb24,
                pts,
                LIVE_TIME_BASE,
                self.frames_read,
                self._fresh,
                qp=item.qp,
                qp_reader=item.qp_reader,  # still unread (Frame.quantisers)
            )
            self._fresh = False
            self.frames_read += 1
            self.last_frame_time = now
            yield frame

    # -- context manager ----------------------------------------------------------------------

    def close(self) -> None:
        """Close the current connection. Idempotent; call it from the thread that reads."""
        if not self._closed:
            self._closed = True
            self._drop_connection()

    def __repr__(self) -> str:
        return (
            f"LiveSource({self.name!r}, kind={self.spec.kind!r}, connected={self.connected}, "
            f"reconnects={self.reconnects}, frames_read={self.frames_read})"
        )


class _Stopped(Exception):
    """The stop event was set while a connection was being opened."""


def _close_quietly(video: VideoSource) -> None:
    try:
        video.close()
    except (av.error.FFmpegError, OSError) as exc:
        log.debug("closing a lost or abandoned connection: %s", redact_url(str(exc)))


def _is_auth_error(exc: BaseException) -> bool:
    """A refused login (HTTP/RTSP 401 or 403): retrying will not help."""
    cause = exc.__cause__
    if isinstance(cause, av.error.HTTPUnauthorizedError | av.error.HTTPForbiddenError):
        return True
    # The cause may be a credential-free stand-in of another class (scrub_exception).
    return re.search(r"\b40[13]\b|unauthori[sz]ed|forbidden", str(exc), re.IGNORECASE) is not None


def _check_timeouts(timeout: float | tuple[float, float]) -> tuple[float, float]:
    pair = timeout if isinstance(timeout, tuple) else (timeout, timeout)
    ok = len(pair) == 2 and all(is_number(v) and 0 < v <= 3600 for v in pair)
    if not ok:
        raise ConfigError(
            f"timeout must be a number of seconds in (0, 3600] or an (open_s, read_s) pair; "
            f"got {timeout!r}"
        )
    return float(pair[0]), float(pair[1])

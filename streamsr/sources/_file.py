"""Decode any container FFmpeg reads into :class:`~streamsr.Frame` objects, audio passed through.

Timestamps, on purpose:

* every yielded frame carries ``pts`` in units of :attr:`VideoSource.time_base` (the video
  stream's time base), strictly increasing;
* a frame the decoder hands out without a pts gets the previous pts plus one nominal frame
  duration (``1 / average_rate`` in time-base units, 1 tick when the rate is unknown) and is
  counted in ``generated_pts``;
* a frame whose pts is not after the previous one (a duplicate, or a small step back) is kept
  (offline, no frame is lost) with the pts one tick after the previous frame's, and counted in
  ``adjusted_pts``; a large step back (more than
  :data:`DISCONTINUITY_S` seconds, e.g. concatenated MPEG-TS with a clock reset) is a
  discontinuity: later frames are shifted to continue one nominal duration after the last one
  and the shift is logged;
* in formats whose timestamps may jump (MPEG-TS and others FFmpeg flags ``ts_discont``), a
  step forward of more than :data:`JUMP_S` seconds is a discontinuity too, as FFmpeg's own
  ``dts_delta_threshold`` treats it; elsewhere (MP4, Matroska) long gaps are kept as they are.
  This also absorbs one damaged pts far off the timeline.

Audio packets are yielded untouched, in demux order, for a sink to copy.

Rotation: a file whose video stream carries a display matrix (phones record portrait video as
landscape frames plus "rotate by 90") is read upright, as players show it: every frame is
turned by the matrix's multiple of 90 degrees and :attr:`VideoSource.size_wh` is the upright
size, so faces are detected upright and the output needs no rotation flag.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import struct
from collections.abc import Iterator, Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error
import numpy as np
from av.audio.stream import AudioStream
from av.container import InputContainer
from av.packet import Packet
from av.sidedata.sidedata import Type as SideDataType
from av.stream import Disposition
from av.video.frame import VideoFrame
from av.video.reformatter import Colorspace, VideoReformatter
from av.video.stream import VideoStream

from streamsr._av import error_message
from streamsr._check import is_int, is_number
from streamsr._closing import Closing
from streamsr._errors import ConfigError, SourceError, StreamTimeoutError
from streamsr._frame import Frame
from streamsr._url import is_url, redact_url, scrub_exception

log = logging.getLogger(__name__)

MAX_SIDE_PX = 8192
MAX_INPUT_PIXELS = 8192 * 8192
"""Default largest input frame (``max_pixels``); ``--max-input-pixels`` changes it."""
MAX_INPUT_FRAMES = 10_000_000
"""Default cap on a file's frames (about 92 hours at 30 fps); ``--max-input-frames``."""
"""Default cap on a frame side: larger inputs are refused before any pixel is decoded."""

DISCONTINUITY_S = 1.0
"""A pts step back longer than this (seconds) is treated as a timestamp reset, not a duplicate."""

JUMP_S = 10.0
"""In formats with timestamp discontinuities, a pts step forward longer than this (seconds) is
a discontinuity, not a gap (FFmpeg's ``dts_delta_threshold``)."""

MAX_CONSECUTIVE_READ_ERRORS = 100
"""Demuxer errors in a row after which the input is declared unreadable."""

_LOGGED_ERRORS = 5  # decode errors logged one by one; the rest are summed up at the end

# AVFormat flag of demuxers whose timestamps may jump (MPEG-TS...): av.format.Flags.ts_discont.
_AVFMT_TS_DISCONT = 0x0200
_PROBE_PACKETS = 300  # packets read at most to find the first frame's display matrix
# AVColorSpace value for "unspecified".
_AVCOL_SPC_UNSPECIFIED = 2


class VideoSource(Closing):
    """A video file (or any input FFmpeg opens) read as frames, plus its audio packets.

    Use it as a context manager; the input is opened at construction so its properties are
    available at once::

        with VideoSource("in.mp4") as src:
            for item in src.read():
                if isinstance(item, Frame):
                    ...  # item.rgb24 is (H, W, 3) uint8 RGB
                else:
                    sink.write_audio(item)  # an av.Packet of one of src.audio_streams

    ``options`` go to FFmpeg (``av.open(options=...)``, e.g. ``{"rtsp_transport": "tcp"}``);
    ``timeout`` is PyAV's ``(open_s, read_s)`` (or one number for both) and a stall past it
    raises :class:`~streamsr.StreamTimeoutError`. ``format`` forces a demuxer (``"lavfi"``,
    ``"v4l2"``). ``max_side`` refuses frames wider or taller than that many pixels, and
    ``max_pixels`` frames of more pixels than that, both from the stream header when it says
    (before anything is decoded) and again on every decoded frame;
    ``audio=False`` demuxes the video stream only. ``qp=True``: every frame carries the
    quantiser map its decoder exports (H.264: :attr:`Frame.qp <streamsr.Frame.qp>`; how
    compressed each part of the picture is, which ``variant="auto"`` reads).
    """

    def __init__(
        self,
        location: str | os.PathLike[str],
        *,
        format: str | None = None,
        options: Mapping[str, str] | None = None,
        timeout: float | tuple[float, float] | None = None,
        max_side: int = MAX_SIDE_PX,
        max_pixels: int = MAX_INPUT_PIXELS,
        max_frames: int = MAX_INPUT_FRAMES,
        audio: bool = True,
        qp: bool = False,
    ) -> None:
        if not is_int(max_side) or max_side < 1:
            raise ConfigError(f"max_side must be a positive int (pixels), got {max_side!r}")
        if not is_int(max_pixels) or max_pixels < 1:
            raise ConfigError(f"max_pixels must be a positive int, got {max_pixels!r}")
        self._max_pixels = max_pixels
        if not is_int(max_frames) or max_frames < 1:
            raise ConfigError(f"max_frames must be a positive int, got {max_frames!r}")
        self._max_frames = max_frames
        _check_timeout(timeout)
        self._url = is_url(location)
        raw = str(location) if self._url else os.fspath(location)
        self.name = redact_url(raw)
        """The input as it may appear in logs and errors (credentials redacted)."""
        self._timeout = timeout
        self._max_side = max_side
        self._with_audio = audio
        # a local file FFmpeg recognises by itself: not a stream, not a device (whose demuxer
        # is named); where rotation is probed, and where a lossless codec means the picture
        # is the one that was stored (a webcam's raw frames are no such truth)
        self._stored = not self._url and format is None
        if self._stored:
            _check_local_input(Path(raw), self.name)

        self._container = self._open(raw, format, options)
        try:
            self._video = self._pick_video_stream()
            self._check_frames()
        except BaseException:
            self._container.close()
            raise
        self._video.thread_type = "AUTO"  # frame + slice threads: ~2x decode speed on 2 cores
        self._qp = bool(qp)
        if self._qp:  # FFmpeg's H.264 decoder then exports each frame's macroblock quantisers
            ctx = self._video.codec_context
            ctx.options = {**dict(ctx.options), "export_side_data": "venc_params"}
        # One converter for the stream's life: ``VideoFrame.to_ndarray`` makes a new one per
        # frame, and each new swscale context starts (and then stops) a worker thread per core.
        # On one thread: the pipeline already runs its stages side by side (issue 13, session 14).
        self._reformatter = VideoReformatter()
        self._closed = False
        self.rotation = 0
        if self._stored:
            try:
                self.rotation = _probe_rotation(raw, self._video.index, self.name)
            except BaseException:
                self._container.close()
                raise
        """Counter-clockwise quarter turns (in degrees: 0, 90, 180 or 270) applied to every
        frame to show it upright (the stream's display matrix; local files only)."""

        self.decode_errors = 0
        """Packets the decoder or demuxer rejected (skipped, the stream goes on)."""
        self.adjusted_pts = 0
        """Frames whose pts was not after the previous frame's and was set one tick after it."""
        self.generated_pts = 0
        """Frames that came without a pts and got previous + nominal duration."""
        self.frames_read = 0
        """Frames yielded so far (the next frame's ``index``)."""

    # -- opening ----------------------------------------------------------------------------

    def _open(
        self, raw: str, format: str | None, options: Mapping[str, str] | None
    ) -> InputContainer:
        try:
            container = av.open(
                raw,
                "r",
                format=format,
                options=dict(options) if options else None,
                timeout=self._timeout,
            )
        except (av.error.ExitError, av.error.TimeoutError) as exc:
            raise StreamTimeoutError(
                f"timed out opening {self.name} (timeout={self._timeout!r})"
            ) from scrub_exception(exc)
        except av.error.FileNotFoundError as exc:
            raise SourceError(f"input not found: {self.name}") from scrub_exception(exc)
        except av.error.PermissionError as exc:
            raise SourceError(
                f"input not readable (permission denied): {self.name}"
            ) from scrub_exception(exc)
        except av.error.InvalidDataError as exc:
            raise SourceError(
                f"not a video file, or its container is unreadable: {self.name}"
            ) from scrub_exception(exc)
        except av.error.EOFError as exc:
            raise SourceError(f"input is empty or cut short: {self.name}") from scrub_exception(exc)
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            declared = _declared_size(raw)
            if declared is not None:  # FFmpeg refused it for its size (EBUSY, EINVAL...)
                self._check_size(*declared)
            raise SourceError(
                f"cannot open {self.name}: {error_message(exc)}"
            ) from scrub_exception(exc)
        if not isinstance(container, InputContainer):  # pragma: no cover - mode "r" is input
            container.close()
            raise SourceError(f"cannot open {self.name} for reading")
        return container

    def _pick_video_stream(self) -> VideoStream:
        streams = self._container.streams
        if not streams.video:
            found = ", ".join(_describe(s) for s in streams) or "none"
            raise SourceError(f"no video stream in {self.name} (streams: {found})")
        # The first video stream that is not a cover picture (music files carry those).
        videos = [s for s in streams.video if not s.disposition & Disposition.attached_pic]
        if not videos:
            raise SourceError(f"no video stream in {self.name}, only a cover picture")
        video = videos[0]
        ctx = video.codec_context
        if ctx is None:
            raise SourceError(
                f"unsupported video codec in {self.name}: this FFmpeg build has no decoder "
                f"for it ({_describe(video)})"
            )
        self._check_size(ctx.width, ctx.height)
        return video

    def _check_frames(self) -> None:
        """The frame count or duration the header states, against ``max_frames``."""
        hint = self.frame_count_hint
        if hint is not None and hint > self._max_frames:
            raise SourceError(
                f"{self.name} says it holds {hint:,} frames, over the limit of "
                f"{self._max_frames:,} (--max-input-frames)"
            )

    def _check_size(self, w: int, h: int) -> None:
        if w > self._max_side or h > self._max_side:
            raise SourceError(
                f"frame size {w}x{h} of {self.name} exceeds the limit of {self._max_side} px "
                "per side"
            )
        if w * h > self._max_pixels:
            raise SourceError(
                f"frame size {w}x{h} ({w * h:,} pixels) of {self.name} exceeds the limit of "
                f"{self._max_pixels:,} pixels (--max-input-pixels)"
            )

    # -- context manager ----------------------------------------------------------------------

    def close(self) -> None:
        """Close the input. Idempotent."""
        if not self._closed:
            self._closed = True
            self._container.close()

    def __repr__(self) -> str:
        w, h = self.size_wh
        return (
            f"VideoSource({self.name!r}, size_wh=({w}, {h}), codec={self.codec_name!r}, "
            f"time_base={self.time_base}, average_rate={self.average_rate})"
        )

    # -- properties ---------------------------------------------------------------------------

    @property
    def size_wh(self) -> tuple[int, int]:
        """Frame size as (width, height) from the stream header (0 when unknown), upright
        (see :attr:`rotation`)."""
        ctx = self._video.codec_context
        w, h = int(ctx.width), int(ctx.height)
        return (h, w) if self.rotation in (90, 270) else (w, h)

    @property
    def time_base(self) -> Fraction:
        """Unit of every yielded frame's ``pts`` (the video stream's time base)."""
        tb = self._video.time_base
        if tb is not None and tb > 0:
            return Fraction(tb)
        rate = self.average_rate
        return Fraction(1, 90_000) if rate is None else 1 / rate

    @property
    def average_rate(self) -> Fraction | None:
        """Nominal frame rate (the container's average, else FFmpeg's guess), or None."""
        for rate in (self._video.average_rate, self._video.guessed_rate):
            if rate is not None and rate > 0:
                return Fraction(rate)
        return None

    @property
    def codec_name(self) -> str:
        """FFmpeg decoder name of the video stream (``h264``, ``hevc``, ``av1``...)."""
        return str(self._video.codec_context.name)

    @property
    def frame_count_hint(self) -> int | None:
        """Frame count from the header, else estimated from duration × rate; None if unknown.

        A hint for progress bars: variable frame rate and damaged files make it approximate.
        """
        if self._video.frames and self._video.frames > 0:
            return int(self._video.frames)
        rate = self.average_rate
        if rate is None:
            return None
        duration_s: Fraction | None = None
        if self._video.duration is not None and self._video.duration > 0:
            duration_s = self._video.duration * self.time_base
        elif self._container.duration is not None and self._container.duration > 0:
            duration_s = Fraction(self._container.duration, av.time_base)
        if duration_s is None:
            return None
        return max(1, round(duration_s * rate))

    @property
    def audio_streams(self) -> list[AudioStream]:
        """The input's audio streams, for :class:`~streamsr.sinks.FileSink` ``audio_from``.

        Streams without a sample rate or channel layout (phantom streams that damaged
        MPEG-TS files announce) are left out, and so are their packets. Empty when the source
        was opened with ``audio=False``.
        """
        if not self._with_audio:
            return []
        return [s for s in self._container.streams.audio if _copyable(s)]

    # -- reading ------------------------------------------------------------------------------

    def read(self) -> Iterator[Frame | Packet]:
        """Yield decoded video frames as :class:`Frame` and audio packets untouched, in order.

        A single pass over the input: calling it again continues where the last call stopped.
        Audio packets belong to the open input: mux them before closing the source (PyAV
        crashes on ``packet.stream`` once its container is closed).
        Damaged packets are skipped and counted in ``decode_errors``; see the module docstring
        for how timestamps are made strictly increasing.
        """
        if self._closed:
            raise SourceError(f"source is closed: {self.name}")
        streams = [self._video, *self.audio_streams]
        audio_index = {s.index for s in streams[1:]}
        tb = self.time_base
        may_jump = bool(self._container.format.flags & _AVFMT_TS_DISCONT)
        fixer = PtsFixer(
            step=self._nominal_step(tb),
            reset_ticks=max(1, math.ceil(DISCONTINUITY_S / tb)),
            jump_ticks=max(1, math.ceil(JUMP_S / tb)) if may_jump else None,
            name=self.name,
        )
        errors_in_a_row = 0

        demux = self._container.demux(*streams)
        while True:
            try:
                packet = next(demux)
            except StopIteration:
                break
            except (av.error.ExitError, av.error.TimeoutError) as exc:
                raise StreamTimeoutError(
                    f"no data from {self.name} within the read timeout ({self._timeout!r})"
                ) from scrub_exception(exc)
            except av.error.InvalidDataError as exc:
                # The demuxer met damaged data; its generator is finished, but the input
                # position has moved on: start a new one and continue.
                errors_in_a_row += 1
                self._count_error("read", exc)
                if errors_in_a_row >= MAX_CONSECUTIVE_READ_ERRORS:
                    raise SourceError(
                        f"{self.name}: {errors_in_a_row} read errors in a row, giving up "
                        f"({error_message(exc)})"
                    ) from scrub_exception(exc)
                demux = self._container.demux(*streams)
                continue
            except (av.error.FFmpegError, OSError) as exc:
                raise SourceError(
                    f"read failed on {self.name}: {error_message(exc)}"
                ) from scrub_exception(exc)
            errors_in_a_row = 0

            # packet.stream, not packet.stream_index: the demuxer's final flush packets
            # carry index 0 whatever their stream.
            if packet.stream.index in audio_index:
                if packet.dts is not None:  # flush packets and undated packets cannot be muxed
                    yield packet
                continue

            for vf in self._decode(packet):
                raw = vf.pts
                if raw is not None and vf.time_base is not None and vf.time_base != tb:
                    raw = round(raw * vf.time_base / tb)
                pts = fixer.fix(raw)
                self.generated_pts, self.adjusted_pts = fixer.generated, fixer.adjusted
                rgb24 = self._to_rgb24(vf)
                if self.frames_read >= self._max_frames:
                    raise SourceError(
                        f"{self.name} holds more than {self._max_frames:,} frames, the limit "
                        "(--max-input-frames)"
                    )
                frame = Frame(
                    rgb24=rgb24,
                    pts=pts,
                    time_base=tb,
                    index=self.frames_read,
                    # read when asked (Frame.quantisers): reading makes a reference cycle
                    qp_reader=functools.partial(self._qp_map, vf) if self._qp else None,
                )
                self.frames_read += 1
                yield frame

        if self.decode_errors > _LOGGED_ERRORS:
            log.warning("%s: %d damaged packets skipped in all", self.name, self.decode_errors)

    def _decode(self, packet: Packet) -> list[VideoFrame]:
        try:
            return [f for f in packet.decode() if isinstance(f, VideoFrame)]
        except (av.error.ExitError, av.error.TimeoutError) as exc:  # pragma: no cover
            raise StreamTimeoutError(f"timed out decoding {self.name}") from scrub_exception(exc)
        except av.error.FFmpegError as exc:
            # InvalidDataError and friends: skip the packet, the decoder resyncs on later ones.
            self._count_error("decode", exc)
            return []

    def _count_error(self, what: str, exc: BaseException) -> None:
        self.decode_errors += 1
        if self.decode_errors <= _LOGGED_ERRORS:
            log.warning(
                "%s: %s error skipped near frame %d: %s",
                self.name,
                what,
                self.frames_read,
                error_message(exc),
            )
        elif self.decode_errors == _LOGGED_ERRORS + 1:
            log.warning("%s: more damaged packets; only their total is logged", self.name)

    def _qp_map(self, vf: VideoFrame) -> np.ndarray | None:
        """The frame's H.264 macroblock quantisers (see :attr:`Frame.qp`), upright like its
        pixels; zeros for a stored file of a codec that does not quantise
        (:data:`LOSSLESS_CODECS`); None when the decoder exported none (another codec, or raw
        frames from a device). Turned with a side that is not a multiple of
        16, the grid is off by the padding (under one macroblock), which a face's mean QP
        does not feel."""
        if self._stored and self.codec_name in LOSSLESS_CODECS:
            return np.zeros((-(-vf.height // 16), -(-vf.width // 16)), np.uint8)
        qp = qp_map(vf)
        if qp is not None and self.rotation:
            qp = np.ascontiguousarray(np.rot90(qp, self.rotation // 90))
        return qp

    def _to_rgb24(self, vf: VideoFrame) -> np.ndarray:
        self._check_size(vf.width, vf.height)
        if vf.colorspace == _AVCOL_SPC_UNSPECIFIED and (vf.height >= 720 or vf.width >= 1280):
            # Untagged HD: read it with BT.709, as players (FFmpeg, mpv, browsers) do.
            rgb: np.ndarray = self._reformatter.reformat(
                vf, format="rgb24", src_colorspace=Colorspace.ITU709, threads=1
            ).to_ndarray()
        else:
            rgb = self._reformatter.reformat(vf, format="rgb24", threads=1).to_ndarray()
        if self.rotation:
            rgb = np.ascontiguousarray(np.rot90(rgb, self.rotation // 90))
        return rgb

    def _nominal_step(self, tb: Fraction) -> int:
        rate = self.average_rate
        if rate is None:
            return 1
        return max(1, round(1 / (rate * tb)))


LOSSLESS_CODECS = frozenset(
    {"ffv1", "huffyuv", "ffvhuff", "utvideo", "magicyuv", "rawvideo", "png", "qtrle", "v210"}
)
"""Decoders of codecs that store the picture without loss: no quantiser, a map of zeros."""
_ENC_PARAMS_HEAD = struct.Struct("<I4xQQIi")  # nb_blocks, blocks_offset, block_size, type, qp
_ENC_PARAMS_H264 = 1  # AV_VIDEO_ENC_PARAMS_H264: qp and delta_qp are H.264 QPs (0-51)


def qp_map(vf: VideoFrame) -> np.ndarray | None:
    """The ``(ceil(H / 16), ceil(W / 16))`` uint8 map of an H.264 frame's macroblock QPs, from
    the ``AVVideoEncParams`` side data FFmpeg's decoder attaches with ``export_side_data
    venc_params`` (libavutil/video_enc_params.h: a header, then one ``AVVideoBlockParams``
    of int32 ``src_x, src_y, w, h, delta_qp`` per macroblock); None without it, for another
    codec's parameters, or when they do not add up."""
    try:
        sd = vf.side_data.get(SideDataType.VIDEO_ENC_PARAMS)  # type: ignore[call-overload]
    except (KeyError, ValueError):
        return None
    if sd is None:
        return None
    buf = memoryview(sd)
    if len(buf) < _ENC_PARAMS_HEAD.size:
        return None
    n, offset, size, kind, qp = _ENC_PARAMS_HEAD.unpack_from(buf)
    if kind != _ENC_PARAMS_H264 or n < 1 or size != 20 or offset + n * size > len(buf):
        return None
    blocks = np.frombuffer(buf, np.int32, count=n * 5, offset=offset).reshape(n, 5)
    rows, cols = -(-vf.height // 16), -(-vf.width // 16)
    y, x = blocks[:, 1] // 16, blocks[:, 0] // 16
    if y.min() < 0 or x.min() < 0 or y.max() >= rows or x.max() >= cols:
        return None
    out = np.full((rows, cols), qp, np.int32)
    out[y, x] = qp + blocks[:, 4]
    return np.clip(out, 0, 51).astype(np.uint8)


def _probe_rotation(raw: str, index: int, name: str) -> int:
    """The quarter turns (0, 90, 180, 270 degrees counter-clockwise) that show stream ``index``
    of ``raw`` upright, from its first frame's display matrix (PyAV reads it per frame, not per
    stream); 0 when there is none or the file cannot be probed (reading it reports that)."""
    angle: float | None = None
    try:
        with av.open(raw) as c:
            video = c.streams[index]
            for n, packet in enumerate(c.demux(video)):
                frames = packet.decode()
                if frames and isinstance(frames[0], VideoFrame):
                    angle = float(frames[0].rotation)
                    break
                if n >= _PROBE_PACKETS:
                    break
    except (av.error.FFmpegError, OSError, ValueError, IndexError):
        return 0
    if angle is None:
        return 0
    if not math.isfinite(angle):
        return 0
    turns = round(angle / 90) % 4
    if abs(angle - 90 * round(angle / 90)) > 1:
        log.warning(
            "%s: display rotation of %.1f degrees is not a multiple of 90; using %d",
            name,
            angle,
            turns * 90,
        )
    if turns:
        log.info("%s: rotated by %d degrees to show it upright (display matrix)", name, turns * 90)
    return turns * 90


class PtsFixer:
    """Turn decoder pts into strictly increasing pts (the rules are in the module docstring).

    ``fix(pts)`` returns the pts to use. ``step`` is the nominal
    frame duration, ``reset_ticks`` the step back and ``jump_ticks`` (None: never) the step
    forward beyond which timestamps are taken to have been reset, all in time-base ticks.
    """

    def __init__(
        self, *, step: int, reset_ticks: int, jump_ticks: int | None = None, name: str = "input"
    ) -> None:
        self.step = step
        self.reset_ticks = reset_ticks
        self.jump_ticks = jump_ticks
        self.name = name
        self.last: int | None = None
        self.offset = 0  # added to every pts after a timestamp reset
        self.generated = 0
        self.adjusted = 0
        self.resets = 0

    def fix(self, pts: int | None) -> int:
        last = self.last
        if pts is None:
            self.generated += 1
            pts = 0 if last is None else last + self.step
        else:
            pts += self.offset
            if last is not None and pts <= last:
                if last - pts <= self.reset_ticks:
                    self.adjusted += 1
                    log.debug(
                        "%s: frame with pts %d <= previous %d gets %d",
                        self.name,
                        pts,
                        last,
                        last + 1,
                    )
                    pts = last + 1
                else:
                    pts = self._continue(pts, last)
            elif last is not None and self.jump_ticks is not None and pts - last > self.jump_ticks:
                pts = self._continue(pts, last)
        self.last = pts
        return pts

    def _continue(self, pts: int, last: int) -> int:
        """Shift this and later frames so that this one comes one step after ``last``."""
        shift = last + self.step - pts
        self.offset += shift
        self.resets += 1
        log.warning(
            "%s: timestamps jump by %+d ticks; continuing them after the previous frame",
            self.name,
            pts - last,
        )
        return pts + shift


def _check_timeout(timeout: float | tuple[float, float] | None) -> None:
    values = timeout if isinstance(timeout, tuple) else (timeout,)
    ok = (not isinstance(timeout, tuple) or len(timeout) == 2) and all(
        v is None or (is_number(v) and v > 0) for v in values
    )
    if not ok:
        raise ConfigError(
            f"timeout must be None, a positive number of seconds or an (open_s, read_s) "
            f"tuple, got {timeout!r}"
        )


def _check_local_input(path: Path, name: str) -> None:
    if not path.exists():
        raise SourceError(f"input not found: {name}")
    if path.is_dir():
        raise SourceError(f"input is a directory, not a video file: {name}")
    if not os.access(path, os.R_OK):
        raise SourceError(f"input not readable (permission denied): {name}")


def _copyable(stream: AudioStream) -> bool:
    ctx = stream.codec_context
    return ctx is not None and (stream.sample_rate or 0) > 0 and (stream.channels or 0) > 0


def _describe(stream: Any) -> str:
    ctx = stream.codec_context
    codec = ctx.name if ctx is not None else "no decoder"
    return f"#{stream.index} {stream.type} {codec}"


def _declared_size(raw: str) -> tuple[int, int] | None:
    """The frame size a raw YUV4MPEG2 file's header declares (FFmpeg's demuxer refuses large
    ones with a bare errno), or None for anything else."""
    try:
        with open(raw, "rb") as f:
            head = f.read(256)
    except OSError:
        return None
    if not head.startswith(b"YUV4MPEG2 "):
        return None
    fields = head.split(b"\n", 1)[0].split()[1:]
    size = {t[:1]: t[1:] for t in fields if t[:1] in (b"W", b"H")}
    try:
        return int(size[b"W"]), int(size[b"H"])
    except (KeyError, ValueError):
        return None

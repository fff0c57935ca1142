"""Encode :class:`~streamsr.Frame` objects into a video file, audio copied packet for packet.

Choices made on purpose:

* **Timestamps.** Each frame is encoded with its own ``pts``, so give the sink the input's
  ``time_base`` and variable frame rate, gaps and the start offset survive. Frames in another
  time base are rescaled; a frame without pts gets the previous pts plus one nominal duration;
  a pts that would not increase is bumped to previous + 1 tick (``pts_adjusted``). MP4/MOV keep
  every time exactly (edit lists carry the start offset and AAC priming). Matroska stores
  milliseconds, and Matroska and MPEG-TS cannot store times below zero: when a stream starts
  below 0 (AAC priming, B-frame delay) the muxer shifts every stream by the same constant, so
  intervals and audio/video alignment are kept. MPEG-TS regroups audio frames into fewer PES
  packets.
* **Crash-safe files.** MP4/MOV are written fragmented
  (``movflags=+frag_keyframe+empty_moov+delay_moov+default_base_moof``, plus a fragment at least
  every :data:`FRAGMENT_S` seconds), Matroska in clusters of at most that long, and every muxed
  packet goes to the file at once (``flush_packets``): a killed process leaves a playable file
  that lacks at most the last fragment and the frames inside the encoder (:data:`FRAGMENT_S`);
  killed before its first fragment, an MP4 is still empty (0 bytes). ``delay_moov`` writes the header with the first
  fragment, which lets it carry edit lists: without it each track of a fragmented file starts
  at 0, which loses the start offset and the audio/video alignment.
* **Colour.** Frames are converted RGB → yuv420p with the BT.709 matrix, limited range, and the
  stream is tagged BT.709 so players show the colours that went in, at any size.
* **Odd sizes.** H.264 and HEVC in 4:2:0 need even sizes: an odd width or height is padded by
  one edge-replicated column or row (``encoded_size_wh``); AV1 keeps odd sizes as they are.
* **No debris.** If the output cannot be started (bad option, encoder refusing the size, audio
  the container cannot hold), nothing is left at ``path``.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, get_args

import av
import av.error
import cv2
import numpy as np
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.packet import Packet
from av.video.reformatter import ColorRange, Colorspace, VideoReformatter
from av.video.stream import VideoStream

from streamsr._av import copy_packet, error_message
from streamsr._check import is_int
from streamsr._closing import Closing
from streamsr._errors import ConfigError, SinkError
from streamsr._frame import Frame
from streamsr._url import is_url

log = logging.getLogger(__name__)

Codec = Literal["h264", "hevc", "av1"]
CODECS: tuple[str, ...] = get_args(Codec)

ENCODERS: dict[str, str] = {"h264": "libx264", "hevc": "libx265", "av1": "libsvtav1"}
DEFAULT_CRF: dict[str, int] = {"h264": 20, "hevc": 24, "av1": 30}
CRF_RANGE: dict[str, tuple[int, int]] = {"h264": (0, 51), "hevc": (0, 51), "av1": (1, 63)}
X26X_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
)
SVT_PRESETS = tuple(str(i) for i in range(14))  # 0 (slowest) .. 13 (fastest)
PRESETS: dict[str, tuple[str, ...]] = {
    "h264": X26X_PRESETS,
    "hevc": X26X_PRESETS,
    "av1": SVT_PRESETS,
}
# SVT-AV1 warns that presets >= 10 are for tooling; 8 is the fastest it recommends for viewing.
DEFAULT_PRESET: dict[str, str] = {"h264": "veryfast", "hevc": "veryfast", "av1": "8"}

FRAGMENT_S = 0.5
"""Longest fragment of MP4/MOV output (and Matroska cluster), in seconds of video: a killed
process loses at most that, plus the frames inside the encoder (its lookahead: about 15 at
libx264's veryfast). With 1 s, a close face enhanced at 1-2 fps on a CPU left a 0-byte MP4 when
killed in its first 40 frames; the header is written with the first fragment (``delay_moov``,
which keeps the start offsets, see above), so a kill before that still leaves an empty file."""

# File extension -> (FFmpeg muxer, fragmented MP4, video codecs the container takes).
MAX_AUDIO_JUMP_S = 60.0
"""An audio packet further than this from the video written (a damaged timestamp) is dropped."""

CONTAINERS: dict[str, tuple[str, bool, tuple[str, ...]]] = {
    ".mp4": ("mp4", True, CODECS),
    ".m4v": ("mp4", True, CODECS),
    ".mov": ("mov", True, CODECS),
    ".mkv": ("matroska", False, CODECS),
    ".webm": ("webm", False, ("av1",)),
    ".ts": ("mpegts", False, CODECS),
    ".m2ts": ("mpegts", False, CODECS),
}
_MOVFLAGS = "+frag_keyframe+empty_moov+delay_moov+default_base_moof"
MAX_SIDE_PX = 16384


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """True when ``a`` and ``b`` name the same file (links and relative paths resolved).

    For the caller to refuse writing the output over its own input. URLs compare as text.
    """
    if is_url(a) or is_url(b):
        return str(a) == str(b)
    pa, pb = Path(a), Path(b)
    with contextlib.suppress(OSError):
        if pa.exists() and pb.exists():
            return os.path.samefile(pa, pb)
    return os.path.normcase(pa.resolve()) == os.path.normcase(pb.resolve())


def _bt709_limited() -> np.ndarray:
    """``(3, 4)`` float32: RGB (0..255) to BT.709 limited-range Y, Cb, Cr, offsets included."""
    kr, kb = 0.2126, 0.0722
    kg = 1.0 - kr - kb
    m = np.array(
        [
            [kr, kg, kb],
            [-kr / (1 - kb) / 2, -kg / (1 - kb) / 2, 0.5],
            [0.5, -kg / (1 - kr) / 2, -kb / (1 - kr) / 2],
        ]
    ) * np.array([[219 / 255], [224 / 255], [224 / 255]])
    return np.hstack([m, [[16.0], [128.0], [128.0]]]).astype(np.float32)


BT709_LIMITED = _bt709_limited()


class Yuv420pConverter:
    """RGB frames to BT.709 limited-range yuv420p VideoFrames, padded (edge) to ``size_wh``.

    OpenCV converts: one affine transform per pixel (:data:`BT709_LIMITED`, rounded), then
    each chroma plane the mean of its 2 x 2 block (centred siting), into buffers kept between
    frames. swscale did the same conversion in about 6 ms per 820 x 824 frame (its default
    bicubic chroma filter; 2.3-3.1 ms with its cheaper filters), this in about 1.5 ms; they differ
    by at most one level of luma and two of chroma (0.05 / 0.25 on average, a real frame).
    Sizes that are not even (AV1 keeps them) go through swscale.
    """

    def __init__(self, size_wh: tuple[int, int]) -> None:
        self.size_wh = size_wh
        w, h = size_wh
        self._even = w % 2 == 0 and h % 2 == 0
        self._reformatter = VideoReformatter()
        self._ycc = np.empty((h, w, 3), np.uint8)
        self._sub = np.empty((h // 2, w // 2, 3), np.uint8)
        self._planes = np.empty((h * 3 // 2, w), np.uint8)

    def __call__(self, rgb24: np.ndarray) -> av.VideoFrame:
        h, w = rgb24.shape[:2]
        ew, eh = self.size_wh
        if (w, h) != (ew, eh):
            rgb24 = np.pad(rgb24, ((0, eh - h), (0, ew - w), (0, 0)), mode="edge")
        rgb24 = np.ascontiguousarray(rgb24)
        if not self._even:
            vf = av.VideoFrame.from_ndarray(rgb24, format="rgb24")
            return self._reformatter.reformat(
                vf,
                format="yuv420p",
                dst_colorspace=Colorspace.ITU709,
                dst_color_range=ColorRange.MPEG,
            )
        cv2.transform(rgb24, BT709_LIMITED, dst=self._ycc)
        cv2.extractChannel(self._ycc, 0, dst=self._planes[:eh])
        cv2.resize(self._ycc, (ew // 2, eh // 2), dst=self._sub, interpolation=cv2.INTER_AREA)
        q = (eh // 2) * (ew // 2)
        chroma = self._planes[eh:].reshape(-1)
        chroma[:q] = self._sub[..., 1].reshape(-1)
        chroma[q:] = self._sub[..., 2].reshape(-1)
        vf = av.VideoFrame.from_ndarray(self._planes, format="yuv420p")  # copies the planes
        vf.colorspace = Colorspace.ITU709
        vf.color_range = ColorRange.MPEG
        return vf


class FileSink(Closing):
    """Write frames to a video file; copy audio packets from the input.

    Use it as a context manager: leaving the block flushes the encoder and finishes the file,
    also when an exception (Ctrl-C included) leaves it::

        with VideoSource("in.mp4") as src, FileSink(
            "out.mp4", size_wh=(w, h), time_base=src.time_base, rate=src.average_rate,
            audio_from=src.audio_streams,
        ) as sink:
            for item in src.read():
                if isinstance(item, Frame):
                    sink.write(enhance(item))
                else:
                    sink.write_audio(item)

    The container follows the extension (``.mp4``, ``.m4v``, ``.mov``, ``.mkv``, ``.webm``,
    ``.ts``, ``.m2ts``). ``codec`` picks libx264, libx265 or libsvtav1; ``crf`` and ``preset``
    default per codec (:data:`DEFAULT_CRF`, :data:`DEFAULT_PRESET`). Every stream in
    ``audio_from`` is copied unchanged; audio packets of other streams are dropped and counted.
    The file is created, and the encoder opened, at construction: an error there leaves no file.
    ``low_delay`` (live outputs): H.264 with x264's slice threads, each frame encoded before the
    next is taken; otherwise its frame threads, which encode several frames at once (faster).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        size_wh: tuple[int, int],
        time_base: Fraction,
        rate: Fraction | int | None = None,
        codec: Codec = "h264",
        crf: int | None = None,
        preset: str | None = None,
        audio_from: Sequence[AudioStream] = (),
        audio_optional: bool = False,
        overwrite: bool = False,
        low_delay: bool = False,
    ) -> None:
        self.path = Path(path)
        self.low_delay = bool(low_delay)
        self.size_wh = _check_size(size_wh)
        self.time_base = _check_time_base(time_base)
        self.rate = _check_rate(rate)
        if codec not in CODECS:
            raise ConfigError(f"codec must be one of {', '.join(CODECS)}; got {codec!r}")
        self.codec: Codec = codec
        self.crf = _check_crf(codec, crf)
        self.preset = _check_preset(codec, preset)
        audio = _check_audio(audio_from)
        self._audio_optional = bool(audio_optional)
        muxer, fragmented, video_codecs = _container_for(self.path)
        if codec not in video_codecs:
            raise ConfigError(
                f"{self.path.suffix} output takes codec {' or '.join(video_codecs)}, not {codec!r}"
            )
        w, h = self.size_wh
        if codec in ("h264", "hevc"):
            self.encoded_size_wh: tuple[int, int] = (w + w % 2, h + h % 2)
            if self.encoded_size_wh != self.size_wh:
                log.info(
                    "%s: padding %dx%d to %dx%d (%s in 4:2:0 needs even sizes)",
                    self.path,
                    w,
                    h,
                    *self.encoded_size_wh,
                    codec,
                )
        else:
            self.encoded_size_wh = self.size_wh
        self._to_yuv = Yuv420pConverter(self.encoded_size_wh)

        self.frames_written = 0
        """Video frames handed to the encoder."""
        self.audio_packets_written = 0
        """Audio packets muxed."""
        self.audio_packets_dropped = 0
        """Audio packets not muxed: stream not in ``audio_from``, or a dts going back."""
        self.pts_adjusted = 0
        """Frames whose pts was missing or not increasing and was set by the sink."""

        self._last_pts: int | None = None
        self._closed = False
        self._container: OutputContainer | None = None
        self._audio_out: dict[int, AudioStream] = {}
        self._audio_last_dts: dict[int, int] = {}
        self._audio_bsf: dict[int, Any] = {}
        self._audio_transcode: dict[int, _AudioTranscoder] = {}

        self._prepare_path(overwrite)
        before = _stat_key(self.path)
        try:
            self._container, self._video = self._start(muxer, fragmented, audio)
        except BaseException as exc:
            self._discard(before)
            if isinstance(exc, ConfigError | SinkError) or not isinstance(exc, Exception):
                raise
            raise SinkError(f"cannot start writing {self.path}: {error_message(exc)}") from exc

    # -- start ------------------------------------------------------------------------------

    def _prepare_path(self, overwrite: bool) -> None:
        check_output_path(self.path, overwrite=overwrite)

    def _start(
        self, muxer: str, fragmented: bool, audio: Sequence[AudioStream]
    ) -> tuple[OutputContainer, VideoStream]:
        # Push every muxed packet to the file at once: the 32 KiB I/O buffer would otherwise
        # keep the last fragments of a small or slow stream in memory, lost on a kill.
        container_options: dict[str, str] = {"flush_packets": "1"}
        if fragmented:
            container_options["movflags"] = _MOVFLAGS
            container_options["frag_duration"] = str(int(FRAGMENT_S * 1_000_000))
        elif muxer in ("matroska", "webm"):
            container_options["cluster_time_limit"] = str(int(FRAGMENT_S * 1000))
        if self.codec == "av1":
            # SVT-AV1 prints its banner straight to stderr; keep errors only unless the user
            # asked otherwise. It reads the variable once, when the first encoder starts.
            os.environ.setdefault("SVT_LOG", "1")
        container = av.open(str(self.path), "w", format=muxer, container_options=container_options)
        if not isinstance(container, OutputContainer):  # pragma: no cover - mode "w"
            container.close()
            raise SinkError(f"cannot open {self.path} for writing")
        try:
            options = {"crf": str(self.crf), "preset": self.preset}
            if self.codec == "hevc":
                options["x265-params"] = "log-level=error"
            video = container.add_stream(
                ENCODERS[self.codec], rate=self.rate or _rate_guess(self.time_base), options=options
            )
            if not isinstance(video, VideoStream):  # pragma: no cover - video encoders
                raise SinkError(f"{ENCODERS[self.codec]} is not a video encoder")
            video.width, video.height = self.encoded_size_wh
            video.pix_fmt = "yuv420p"
            video.time_base = self.time_base
            ctx = video.codec_context
            ctx.time_base = self.time_base
            ctx.color_range = 1  # AVCOL_RANGE_MPEG (limited)
            ctx.colorspace = 1  # AVCOL_SPC_BT709
            ctx.color_primaries = 1  # AVCOL_PRI_BT709
            ctx.color_trc = 1  # AVCOL_TRC_BT709
            ctx.thread_count = 0  # encoder picks (all cores)
            if self.codec == "h264":
                # PyAV asks for slice threads by default: x264 then encodes each frame on all
                # its threads before the call returns, adding no frames in flight beyond its
                # B-frames (what a live output wants). A file is faster with frame threads,
                # several frames at once (bench_pipeline: plain transcode 17-20 % faster).
                ctx.thread_type = "SLICE" if self.low_delay else "FRAME"
            if self.codec == "hevc" and fragmented:
                ctx.codec_tag = "hvc1"  # FFmpeg's default "hev1" does not play on Apple devices
            for stream in audio:
                try:
                    out = container.add_stream_from_template(stream)
                except ValueError as exc:  # PyAV: "'webm' format does not support 'aac' codec"
                    if self._audio_optional:
                        self._add_transcoded(container, stream, exc)
                        continue
                    raise SinkError(
                        f"cannot copy audio stream #{stream.index} "
                        f"({stream.codec_context.name}) into {self.path.suffix} output: {exc}"
                    ) from exc
                self._audio_out[stream.index] = out
                if fragmented and _is_adts(stream):
                    # AAC from MPEG-TS (or raw .aac) carries ADTS headers, which MP4 refuses:
                    # strip them as FFmpeg's "-bsf:a aac_adtstoasc" does; the first filtered
                    # packet brings the AudioSpecificConfig the header needs.
                    self._audio_bsf[stream.index] = av.BitStreamFilterContext(
                        "aac_adtstoasc", stream
                    )
            try:
                # Opens the encoders, then the file, then writes the header.
                container.start_encoding()
            except OSError as exc:  # FileNotFoundError, PermissionError...: the file itself
                raise SinkError(f"cannot create {self.path}: {error_message(exc)}") from exc
            except (av.error.FFmpegError, ValueError) as exc:
                raise SinkError(
                    f"cannot start {ENCODERS[self.codec]} "
                    f"{self.encoded_size_wh[0]}x{self.encoded_size_wh[1]} "
                    f"crf={self.crf} preset={self.preset} into {self.path}: {error_message(exc)}"
                ) from exc
        except BaseException:
            container.close()
            raise
        return container, video

    def _discard(self, before: tuple[int, int, int] | None) -> None:
        """Remove what a failed start left at ``path`` (a new file, or a truncated old one)."""
        after = _stat_key(self.path)
        if after is not None and after != before:
            with contextlib.suppress(OSError):
                self.path.unlink()
                log.debug("removed %s after a failed start", self.path)

    # -- context manager ----------------------------------------------------------------------

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
            return
        # Already failing: finish the file as well as possible without hiding that exception.
        try:
            self.close()
        except Exception:
            log.exception("%s: closing after an error failed too", self.path)

    def __repr__(self) -> str:
        w, h = self.encoded_size_wh
        return (
            f"FileSink({str(self.path)!r}, codec={self.codec!r}, size_wh=({w}, {h}), "
            f"time_base={self.time_base}, frames_written={self.frames_written})"
        )

    # -- writing ------------------------------------------------------------------------------

    def write(self, frame: Frame) -> None:
        """Encode one frame at its own pts (rescaled when its time base differs) and mux it."""
        container = self._open_container()
        if frame.size_wh != self.size_wh:
            raise SinkError(
                f"{self.path}: frame {frame.index} is {frame.size_wh[0]}x{frame.size_wh[1]}, "
                f"the sink was opened for {self.size_wh[0]}x{self.size_wh[1]}"
            )
        pts = self._pts_for(frame)
        vf = self._to_yuv(frame.rgb24)
        vf.pts = pts
        vf.time_base = self.time_base
        try:
            container.mux(self._video.encode(vf))
        except (av.error.FFmpegError, OSError) as exc:
            raise SinkError(
                f"cannot write frame {frame.index} to {self.path}: {error_message(exc)}"
            ) from exc
        self._last_pts = pts
        self.frames_written += 1

    def write_audio(self, packet: Packet, *, pts: int | None = None) -> None:
        """Mux one audio packet from a stream in ``audio_from``; others are dropped and counted.
        ``pts`` (also the dts) replaces the packet's own timestamps. The packet itself is left
        as it is (other outputs read it): a copy is muxed."""
        container = self._open_container()
        # The packet's own stream_index (and time_base), never packet.stream: that points into
        # the input container and crashes PyAV if the input was closed meanwhile.
        index = packet.stream_index
        out = self._audio_out.get(index)
        dts = packet.dts if pts is None else pts  # in the input's time base
        if out is None or dts is None:
            self.audio_packets_dropped += 1
            return
        last = self._audio_last_dts.get(index)
        if last is not None and dts <= last:
            # Muxers refuse a dts that does not increase (e.g. after a timestamp reset).
            self.audio_packets_dropped += 1
            log.debug("%s: dropped an audio packet with dts %d <= %d", self.path, dts, last)
            return
        if self._audio_time_jumps(dts, packet.time_base, last):
            self.audio_packets_dropped += 1
            return
        own = copy_packet(packet, pts=pts)
        bsf = self._audio_bsf.get(index)
        transcode = self._audio_transcode.get(index)
        try:
            if transcode is not None:
                packets = transcode.encode(own)
            else:
                packets = bsf.filter(own) if bsf is not None else [own]
            for p in packets:
                p.stream = out
                container.mux(p)
        except (av.error.FFmpegError, OSError) as exc:
            raise SinkError(f"cannot write audio to {self.path}: {error_message(exc)}") from exc
        self._audio_last_dts[index] = dts
        self.audio_packets_written += 1

    def _audio_time_jumps(self, dts: int, tb: Fraction | None, last_dts: int | None) -> bool:
        """A damaged timestamp: the packet is more than :data:`MAX_AUDIO_JUMP_S` away from the
        video written so far (or, before any, from its stream's last packet). Muxing one makes
        FFmpeg's MP4 muxer abort the process when it finishes the file (fuzzing found it: an
        MPEG-TS timestamp that wrapped to 2^32)."""
        if tb is None:
            return True
        t = float(dts * tb)
        if self._last_pts is not None:
            ref = float(self._last_pts * self.time_base)
        elif last_dts is not None:
            ref = float(last_dts * tb)
        else:
            return False
        if abs(t - ref) <= MAX_AUDIO_JUMP_S:
            return False
        log.debug("%s: dropped an audio packet at %.1f s, %.1f s from the video", self.path, t, ref)
        return True

    def close(self) -> None:
        """Flush the encoder and finish the file. Idempotent."""
        if self._closed or self._container is None:
            self._closed = True
            return
        self._closed = True
        container, self._container = self._container, None
        try:
            container.mux(self._video.encode(None))
            for t in self._audio_transcode.values():
                container.mux(t.flush())
        except (av.error.FFmpegError, OSError) as exc:
            with contextlib.suppress(av.error.FFmpegError, OSError):
                container.close()
            raise SinkError(f"cannot finish {self.path}: {error_message(exc)}") from exc
        try:
            container.close()
        except (av.error.FFmpegError, OSError) as exc:
            raise SinkError(f"cannot finish {self.path}: {error_message(exc)}") from exc
        log.debug("%s: %d frames written", self.path, self.frames_written)

    def _add_transcoded(self, container: OutputContainer, stream: AudioStream, why: Any) -> None:
        """Live only: a camera's audio the container cannot hold as it is (G.711 in MP4 or
        Matroska) is re-encoded to AAC rather than lost; failing that, left out with a
        warning."""
        try:
            t = _AudioTranscoder(container, stream)
        except (av.error.FFmpegError, ValueError, OSError) as exc:
            log.warning(
                "%s: the camera's audio (%s) cannot go into %s (%s) nor be re-encoded (%s); "
                "recording without it",
                self.path,
                stream.codec_context.name,
                self.path.suffix,
                why,
                exc,
            )
            return
        log.info(
            "%s: the camera's audio (%s) is re-encoded to AAC (%s cannot hold it)",
            self.path,
            stream.codec_context.name,
            self.path.suffix,
        )
        self._audio_out[stream.index] = t.stream
        self._audio_transcode[stream.index] = t

    # -- helpers ------------------------------------------------------------------------------

    def _open_container(self) -> OutputContainer:
        if self._closed or self._container is None:
            raise SinkError(f"sink is closed: {self.path}")
        return self._container

    def _pts_for(self, frame: Frame) -> int:
        last = self._last_pts
        pts = frame.pts
        if frame.time_base != self.time_base:
            pts = round(pts * frame.time_base / self.time_base)
        if last is not None and pts <= last:
            self.pts_adjusted += 1
            if self.pts_adjusted == 1:
                log.warning(
                    "%s: frame %d has pts %d, not after %d; writing it 1 tick later",
                    self.path,
                    frame.index,
                    pts,
                    last,
                )
            return last + 1
        return pts


def check_output_path(path: Path, *, overwrite: bool) -> None:
    """A file output can be created at ``path``: SinkError naming what is in the way. Cheap: the
    pipeline calls it before anything slow is loaded."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise SinkError(f"output is a directory: {path}")
    if path.exists() and not overwrite:
        raise SinkError(f"output exists: {path} (use --overwrite)")
    if not parent.exists():
        raise SinkError(f"output directory does not exist: {parent}")
    if not parent.is_dir():
        raise SinkError(f"output directory is not a directory: {parent}")
    writable = os.access(path, os.W_OK) if path.exists() else os.access(parent, os.W_OK)
    if not writable:
        raise SinkError(f"output not writable (permission denied): {path}")


def _is_adts(stream: AudioStream) -> bool:
    """AAC whose packets carry ADTS headers: no AudioSpecificConfig in the stream's extradata."""
    return stream.codec_context.name == "aac" and not stream.codec_context.extradata


def _container_for(path: Path) -> tuple[str, bool, tuple[str, ...]]:
    ext = path.suffix.lower()
    if ext not in CONTAINERS:
        raise ConfigError(
            f"output extension must be one of {', '.join(CONTAINERS)}; got {ext or 'none'!r} "
            f"in {path}"
        )
    return CONTAINERS[ext]


def _check_size(size_wh: Any) -> tuple[int, int]:
    ok = (
        isinstance(size_wh, tuple | list)
        and len(size_wh) == 2
        and all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in size_wh)
        and all(1 <= int(v) <= MAX_SIDE_PX for v in size_wh)
    )
    if not ok:
        raise ConfigError(
            f"size_wh must be (width, height) ints in 1..{MAX_SIDE_PX}; got {size_wh!r}"
        )
    return int(size_wh[0]), int(size_wh[1])


def _check_time_base(time_base: Any) -> Fraction:
    if not isinstance(time_base, Fraction) or time_base <= 0:
        raise ConfigError(
            f"time_base must be a positive Fraction (use the source's); got {time_base!r}"
        )
    return time_base


def _check_rate(rate: Any) -> Fraction | None:
    if rate is None:
        return None
    if isinstance(rate, bool) or not isinstance(rate, Fraction | int) or rate <= 0:
        raise ConfigError(f"rate must be None or a positive Fraction or int; got {rate!r}")
    return Fraction(rate)


def _check_crf(codec: str, crf: Any) -> int:
    lo, hi = CRF_RANGE[codec]
    if crf is None:
        return DEFAULT_CRF[codec]
    if not is_int(crf) or not lo <= crf <= hi:
        raise ConfigError(f"crf for {codec} must be an int in {lo}..{hi}; got {crf!r}")
    return crf


def _check_preset(codec: str, preset: Any) -> str:
    if preset is None:
        return DEFAULT_PRESET[codec]
    allowed = PRESETS[codec]
    if str(preset) not in allowed or isinstance(preset, bool):
        raise ConfigError(f"preset for {codec} must be one of {', '.join(allowed)}; got {preset!r}")
    return str(preset)


class _AudioTranscoder:
    """One input audio stream decoded and re-encoded to AAC (mono or stereo, its own sample
    rate), each packet's timing kept: output pts in 1/sample_rate from the input packet's."""

    def __init__(self, container: OutputContainer, stream: AudioStream) -> None:
        ictx = stream.codec_context
        rate = int(stream.sample_rate or 8000)
        layout = "stereo" if (stream.channels or 1) >= 2 else "mono"
        decoder: Any = av.CodecContext.create(ictx.name, "r")  # an AudioCodecContext
        decoder.sample_rate = rate
        decoder.layout = layout
        if ictx.extradata:
            decoder.extradata = ictx.extradata
        self.decoder = decoder
        self.stream = container.add_stream("aac", rate=rate, layout=layout)
        self.stream.bit_rate = 32_000 if layout == "mono" else 64_000
        self.time_base = Fraction(1, rate)
        self.resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)

    def encode(self, packet: Packet) -> list[Packet]:
        if packet.pts is None or packet.time_base is None:
            return []
        start = round(packet.pts * packet.time_base / self.time_base)
        out: list[Packet] = []
        offset = 0
        for frame in self.decoder.decode(packet):
            for f in self.resampler.resample(frame):
                f.pts, f.time_base = start + offset, self.time_base
                offset += f.samples
                out.extend(self.stream.encode(f))
        return out

    def flush(self) -> list[Packet]:
        return list(self.stream.encode(None))


def _check_audio(audio_from: Any) -> list[AudioStream]:
    streams = list(audio_from)
    bad = [s for s in streams if not isinstance(s, AudioStream)]
    if bad:
        raise ConfigError(
            f"audio_from must hold av.audio.stream.AudioStream objects (an input's audio "
            f"streams); got {bad[0]!r}"
        )
    return streams


def _rate_guess(time_base: Fraction) -> Fraction:
    """A nominal rate for the encoder when none is given: 1/time_base if plausible, else 30."""
    rate = 1 / time_base
    return rate if 1 <= rate <= 240 else Fraction(30)


def _stat_key(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns

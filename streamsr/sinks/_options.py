"""Outputs: what each one is (:class:`OutputSpec`) and the sink that writes it (:func:`open_sink`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, Protocol

from streamsr._check import check_bool, check_choice, check_number
from streamsr._errors import ConfigError
from streamsr._frame import Frame
from streamsr._url import is_url, redact_url

OutputKind = Literal["file", "rtsp", "virtualcam", "preview"]
LIVE_ONLY_KINDS = ("rtsp", "virtualcam", "preview")
MAX_OUTPUT_PIXELS = 8192 * 4352
"""Largest output frame: what H.264, HEVC and AV1 level 6.2/6.3 decoders must accept (35.7 Mpx,
for example 8192x4352 or 5968x5968); players refuse larger pictures even where an encoder
writes them."""


class Sink(Protocol):
    """What every output is: frames go in with :meth:`write`, :meth:`close` finishes it (flushes
    the encoder, finalises the file). File sinks also take ``write_audio(packet)``."""

    frames_written: int

    def write(self, frame: Frame) -> None: ...

    def close(self) -> None: ...


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
    """One output of a pipeline.

    ``location``: a file path (``.mp4``, ``.mkv``, ``.mov``, ``.ts``...), ``rtsp://…`` (published
    with RTSP ANNOUNCE/RECORD), ``virtualcam`` or ``virtualcam:DEVICE``, or ``preview`` (a
    window); the last three need a live run. ``segment_seconds`` cuts a file output into files
    that long (live runs). ``codec``, ``crf`` and ``preset`` set the encoder (files: h264, hevc
    or av1; RTSP: h264 only). ``transport``: RTSP over tcp or udp. ``overwrite`` replaces an
    existing (unsegmented) file.
    """

    location: str
    segment_seconds: float | None = None
    codec: Literal["h264", "hevc", "av1"] = "h264"
    crf: int | None = None
    preset: str | None = None
    transport: Literal["tcp", "udp"] = "tcp"
    overwrite: bool = False

    def __post_init__(self) -> None:
        kind = output_kind(self.location)  # validates
        check_number("segment_seconds", self.segment_seconds, 1, 86_400, none=True)
        check_choice("codec", self.codec, ("h264", "hevc", "av1"))
        check_choice("transport", self.transport, ("tcp", "udp"))
        check_bool("overwrite", self.overwrite)
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


LIVE_PRESET = "ultrafast"
"""The x264/x265 preset of a live file output that names none (see :func:`open_sink`)."""


def open_sink(
    spec: OutputSpec,
    *,
    size_wh: tuple[int, int],
    time_base: Fraction,
    rate: Fraction | float | None,
    live: bool,
    audio_from: Sequence[Any] = (),
) -> Sink:
    """The sink that writes ``spec``: frames of ``size_wh`` at ``rate`` (None: unknown), stamped
    in ``time_base``.

    Live file outputs default to the ``ultrafast`` preset, as RTSP outputs do: a recording must
    keep up, and the encoder is most of a live camera's CPU. x264 at 1280x960, CRF 20, slice
    threads: 4.7 ms of CPU a frame against superfast's 10.8, for 16 % more bytes and 0.33 dB
    lower PSNR against its input; a four-camera ``serve`` on two cores went from 14.6 / 15.2 to
    19.3 / 19.2 fps per camera, p95 395 / 355 to 249 / 230 ms (README, Speed, fourteenth
    session). Offline ones take the codec's default.

    ``audio_from``: input audio streams a file output copies (live, one its container cannot
    hold is left out with a warning rather than failing the recording).
    """
    from streamsr.sinks._file import FileSink
    from streamsr.sinks._preview import PreviewSink
    from streamsr.sinks._rtsp import RtspSink
    from streamsr.sinks._segments import SegmentedFileSink
    from streamsr.sinks._virtualcam import VirtualCamSink

    fps = float(rate) if rate else 30.0
    if spec.kind == "preview":
        return PreviewSink(f"streamsr: {spec.name}")
    if spec.kind == "rtsp":
        return RtspSink(
            spec.location,
            size_wh=size_wh,
            rate=fps,
            transport=spec.transport,
            crf=spec.crf,
            preset=spec.preset,
            audio_from=audio_from,
        )
    if spec.kind == "virtualcam":
        _, _, device = spec.location.partition(":")
        return VirtualCamSink(size_wh=size_wh, fps=fps, device=device or None)
    preset = spec.preset
    if live and preset is None and spec.codec != "av1":
        preset = LIVE_PRESET
    if spec.segment_seconds is not None:
        return SegmentedFileSink(
            spec.location,
            segment_seconds=spec.segment_seconds,
            audio_from=audio_from,
            size_wh=size_wh,
            time_base=time_base,
            rate=round(fps),
            codec=spec.codec,
            crf=spec.crf,
            preset=preset,
        )
    return FileSink(
        spec.location,
        size_wh=size_wh,
        time_base=time_base,
        rate=round(fps) if live or not isinstance(rate, Fraction | int) else rate,
        codec=spec.codec,
        crf=spec.crf,
        preset=preset,
        audio_from=audio_from,
        audio_optional=live,
        overwrite=spec.overwrite,
        low_delay=live,
    )


def check_output_size(input_wh: tuple[int, int], output_wh: tuple[int, int], *, scale: int) -> None:
    """An output frame larger than :data:`MAX_OUTPUT_PIXELS` is refused before any frame is
    decoded, naming both sizes (a 614 KB file of 8000x8000 frames once took 6 GB at x2)."""
    ow, oh = output_wh
    if ow * oh > MAX_OUTPUT_PIXELS:
        iw, ih = input_wh
        raise ConfigError(
            f"output frames would be {ow}x{oh} ({ow * oh / 1e6:.1f} Mpx, input {iw}x{ih} x{scale}); "
            f"the limit is {MAX_OUTPUT_PIXELS / 1e6:.1f} Mpx (8192x4352), what H.264/HEVC/AV1 "
            "players decode: use a lower --scale or --output-size input"
        )


def output_specs(
    outputs: Sequence[str | os.PathLike[str] | OutputSpec],
    defaults: dict[str, Any],
    *,
    input: object,
    live: bool,
) -> list[OutputSpec]:
    """The outputs of a run as specs (``defaults`` apply to plain locations), checked: one
    preview at most, no file output that is the input, every file output creatable."""
    from streamsr.sinks._file import check_output_path, same_file

    specs = [
        o if isinstance(o, OutputSpec) else OutputSpec(location=os.fspath(o), **defaults)
        for o in outputs
    ]
    if sum(s.kind == "preview" for s in specs) > 1:
        raise ConfigError("one preview window at most")
    local = isinstance(input, str | os.PathLike)
    for spec in specs:
        if spec.kind != "file":
            continue
        if local and same_file(input, spec.location):  # type: ignore[arg-type]
            raise ConfigError(f"output is the input: {spec.location}")
        if spec.segment_seconds is None or not live:
            check_output_path(Path(spec.location), overwrite=spec.overwrite)
    return specs

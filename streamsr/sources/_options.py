"""Options of the source stage: how an input is opened, paced and reconnected."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from streamsr._check import check_bool, check_choice, check_int, check_number
from streamsr._errors import ConfigError
from streamsr.sources._file import MAX_INPUT_FRAMES, MAX_INPUT_PIXELS, VideoSource
from streamsr.sources._live import (
    DEFAULT_TIMEOUT_S,
    CameraOptions,
    LiveSource,
    Transport,
    is_camera,
    is_live,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceOptions:
    """``live``: run as a live stream (newest frame wins, drops counted) or offline (every
    frame, audio and timestamps kept). ``None`` decides by the input: network streams and
    cameras are live, files are offline unless ``realtime``. ``realtime``: play a file at its
    own frame rate, as a camera would deliver it (implies live). ``max_input_pixels``: larger
    input frames are refused from the stream header, before anything is decoded.
    ``max_input_frames``: a file that says (or turns out) to hold more frames is refused.

    Live inputs only: ``transport`` (RTSP over ``tcp`` or ``udp``), ``open_timeout_s`` and
    ``read_timeout_s`` (seconds to connect, and allowed between two packets),
    ``reconnect_attempts`` (-1: for ever), ``reconnect_delay_s`` (first back-off, doubling up to
    30 s), ``camera`` (capture size, rate and pixel format).
    """

    live: bool | None = None
    realtime: bool = False
    max_input_pixels: int = MAX_INPUT_PIXELS
    max_input_frames: int = MAX_INPUT_FRAMES
    transport: Transport = "tcp"
    open_timeout_s: float = DEFAULT_TIMEOUT_S
    read_timeout_s: float = DEFAULT_TIMEOUT_S
    reconnect_attempts: int = 5
    reconnect_delay_s: float = 1.0
    camera: CameraOptions = field(default_factory=CameraOptions)

    def __post_init__(self) -> None:
        if self.live is not None:
            check_bool("live", self.live)
        check_bool("realtime", self.realtime)
        check_int("max_input_pixels", self.max_input_pixels, 1, 1 << 31)
        check_int("max_input_frames", self.max_input_frames, 1, 1 << 40)
        check_choice("transport", self.transport, ("tcp", "udp"))
        check_number("open_timeout_s", self.open_timeout_s, 0.1, 3600)
        check_number("read_timeout_s", self.read_timeout_s, 0.1, 3600)
        check_int("reconnect_attempts", self.reconnect_attempts, -1, 1_000_000)
        check_number("reconnect_delay_s", self.reconnect_delay_s, 0, 3600)
        if not isinstance(self.camera, CameraOptions):
            raise ConfigError(f"camera must be CameraOptions, got {type(self.camera).__name__}")
        if self.live is False and self.realtime:
            raise ConfigError("realtime plays a file as a live stream: it cannot be live=False")

    def is_live_for(self, location: str | os.PathLike[str]) -> bool:
        """Whether ``location`` runs live with these options (see ``live``)."""
        if self.live is None:
            return is_live(location) or self.realtime
        if not self.live and is_camera(location):
            raise ConfigError("a camera is always live: live=False does not apply to it")
        return self.live

    def live_only_set(self) -> list[str]:
        """The live-only options set away from their defaults (an error for an offline run)."""
        default = SourceOptions()
        names = (
            "transport",
            "open_timeout_s",
            "read_timeout_s",
            "reconnect_attempts",
            "reconnect_delay_s",
            "camera",
        )
        return [n for n in names if getattr(self, n) != getattr(default, n)]

    def open(self, location: str | os.PathLike[str], *, live: bool, qp: bool = False) -> Any:
        """The source these options describe: a :class:`~streamsr.sources.LiveSource` for a
        live run, else a :class:`~streamsr.sources.VideoSource` (every frame, audio too);
        ``qp``: frames carry the decoder's quantiser map (:attr:`streamsr.Frame.qp`)."""
        if not live:
            return VideoSource(
                location,
                max_pixels=self.max_input_pixels,
                max_frames=self.max_input_frames,
                qp=qp,
            )
        return LiveSource(
            str(location),
            transport=self.transport,
            timeout=(self.open_timeout_s, self.read_timeout_s),
            reconnect_attempts=self.reconnect_attempts,
            reconnect_delay_s=self.reconnect_delay_s,
            realtime=self.realtime,
            camera=self.camera,
            max_pixels=self.max_input_pixels,
            qp=qp,
        )

"""PyAV at the boundary: its errors as one line fit for a log or a ``StreamSRError``; packets
copied for each output."""

from __future__ import annotations

from typing import Any

import av
import av.error

from streamsr._url import redact_url


def error_message(exc: BaseException) -> str:
    """One line, credentials redacted (a location may be a URL with a password).

    For FFmpeg errors only the reason (``strerror``): PyAV appends the failing call, its
    options and the URL it was given.
    """
    text = exc.strerror if isinstance(exc, av.error.FFmpegError) and exc.strerror else str(exc)
    return redact_url(" ".join(str(text).split()) or type(exc).__name__)


def copy_packet(packet: Any, *, pts: int | None = None) -> av.Packet:
    """A packet of its own for one output: muxing rebases a packet in place and a bitstream
    filter takes its data, so every output muxes a copy, never the packet the source gave
    (which the other outputs are reading). ``pts`` (also the dts) replaces the timestamps.
    Side data is not copied (audio packets carry none that a muxer needs)."""
    q = av.Packet(bytes(packet))
    q.pts = packet.pts if pts is None else pts
    q.dts = packet.dts if pts is None else pts
    q.time_base = packet.time_base
    q.duration = packet.duration
    q.is_keyframe = packet.is_keyframe
    return q

"""Record a live stream as a series of files of ``segment_seconds`` each, every one playable.

Each segment is its own :class:`~streamsr.sinks.FileSink`, so it is crash-safe as those are
(fragmented MP4, Matroska clusters, MPEG-TS) and starts with a keyframe (a new encoder per
file). A segment ends at the first frame ``segment_seconds`` or more after its first frame;
timestamps in each file start at 0.

File names come from ``path``:

* with ``{index}`` in it (``cam1_{index:05d}.mp4``): the segment number, from 0;
* with ``strftime`` codes (``cam1_%Y%m%d-%H%M%S.mp4``): the local time the segment started;
* otherwise the start time is appended to the stem: ``cam1.mp4`` → ``cam1_20261126-014512.mp4``.

A name that exists already (a restart within the same second) gets ``_1``, ``_2``... added; an
existing file is never overwritten.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from streamsr._check import is_number
from streamsr._closing import Closing
from streamsr._errors import ConfigError, SinkError
from streamsr._frame import Frame
from streamsr.sinks._file import CONTAINERS, Codec, FileSink

log = logging.getLogger(__name__)

DEFAULT_PATTERN = "_%Y%m%d-%H%M%S"


class SegmentedFileSink(Closing):
    """Write frames into consecutive files of ``segment_seconds`` (see the module docstring).

    The other options are :class:`~streamsr.sinks.FileSink`'s. Frames must carry ``pts``.
    ``files`` lists the segments written so far (the last one possibly still open).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        segment_seconds: float,
        size_wh: tuple[int, int],
        time_base: Fraction,
        rate: Fraction | int | None = None,
        codec: Codec = "h264",
        crf: int | None = None,
        preset: str | None = None,
        audio_from: Sequence[Any] = (),
    ) -> None:
        if not is_number(segment_seconds) or not 0.5 <= segment_seconds <= 86400:
            raise ConfigError(
                f"segment_seconds must be a number in [0.5, 86400]; got {segment_seconds!r}"
            )
        self.path = Path(path)
        if self.path.suffix.lower() not in CONTAINERS:
            raise ConfigError(
                f"output extension must be one of {', '.join(CONTAINERS)}; got "
                f"{self.path.suffix or 'none'!r} in {self.path}"
            )
        parent = self.path.parent if str(self.path.parent) else Path(".")
        if not parent.is_dir():
            raise SinkError(f"output directory does not exist: {parent}")
        self.segment_seconds = float(segment_seconds)
        # segments record live inputs: an encoder with one frame of delay (low_delay)
        self._kw = dict(
            size_wh=size_wh, time_base=time_base, rate=rate, codec=codec, crf=crf, preset=preset,
            audio_from=list(audio_from), audio_optional=True, low_delay=True,
        )  # fmt: skip
        self.audio_packets_written = 0
        self.size_wh = size_wh
        self.time_base = time_base
        self.files: list[Path] = []
        self.frames_written = 0
        self._index = 0
        self._sink: FileSink | None = None
        self._start_s: float | None = None  # time_s of the current segment's first frame
        self._start_pts = 0
        self._closed = False
        # Opened now so that a bad option or an unwritable folder shows up at once.
        self._open_next()

    def _name(self) -> Path:
        name = self.path.name
        now = time.localtime()
        if "{index" in name:
            try:
                name = name.format(index=self._index)
            except (KeyError, IndexError, ValueError) as exc:
                raise ConfigError(
                    f"bad segment file name pattern {self.path.name!r}: {exc}"
                ) from exc
        elif "%" in name:
            name = time.strftime(name, now)
        else:
            name = f"{self.path.stem}{time.strftime(DEFAULT_PATTERN, now)}{self.path.suffix}"
        candidate = self.path.with_name(name)
        n = 0
        while candidate.exists():
            n += 1
            candidate = self.path.with_name(f"{Path(name).stem}_{n}{Path(name).suffix}")
        return candidate

    def _open_next(self) -> None:
        path = self._name()
        self._sink = FileSink(path, overwrite=False, **self._kw)  # type: ignore[arg-type]
        self.files.append(path)
        self._index += 1
        self._start_s = None
        log.info("recording segment %s", path)

    def write(self, frame: Frame) -> None:
        """Write one frame; starts the next file when the current one is long enough."""
        if self._closed:
            raise SinkError(f"sink is closed: {self.path}")
        t = frame.time_s
        if t is None:
            raise SinkError(f"{self.path}: segmented recording needs frames with pts")
        if self._start_s is not None and t - self._start_s >= self.segment_seconds:
            self._finish_current()
            self._open_next()
        sink = self._sink
        assert sink is not None
        if self._start_s is None:
            self._start_s = t
            self._start_pts = frame.pts
        sink.write(Frame(frame.rgb24, frame.pts - self._start_pts, frame.time_base, frame.index))
        self.frames_written += 1

    def write_audio(self, packet: Any) -> None:
        """Mux one audio packet (pts on the recording's timeline) into the current segment,
        shifted as its video is; packets before the segment's first frame are left out."""
        sink = self._sink
        if sink is None or self._start_s is None or packet.pts is None:
            return
        shift = round(self._start_s / packet.time_base)
        if packet.pts < shift:
            return
        before = sink.audio_packets_written
        sink.write_audio(packet, pts=packet.pts - shift)
        self.audio_packets_written += sink.audio_packets_written - before

    def _finish_current(self) -> None:
        sink, self._sink = self._sink, None
        if sink is not None:
            sink.close()
            log.info("segment %s: %d frames", sink.path, sink.frames_written)

    def close(self) -> None:
        """Finish the current segment. Idempotent."""
        if not self._closed:
            self._closed = True
            self._finish_current()

    def __repr__(self) -> str:
        return (
            f"SegmentedFileSink({str(self.path)!r}, segment_seconds={self.segment_seconds:g}, "
            f"files={len(self.files)}, frames_written={self.frames_written})"
        )

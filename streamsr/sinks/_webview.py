"""The browser view's streams: one encode per camera and picture, shared by every viewer.

A :class:`WebStream` takes the frames of one picture of one camera (the enhanced output or
the original input) and, while at least one viewer is subscribed, encodes them once:

- ``fmp4``: H.264 (libx264, ultrafast, zerolatency, no B-frames, a keyframe every second) in
  fragmented MP4 with one fragment per frame, for Media Source Extensions. A viewer gets the
  init segment, then the fragments since the last keyframe (so the picture starts at once),
  then each new fragment.
- ``jpeg``: one JPEG per frame for the MJPEG fallback (browsers without MSE).

Every message is one binary WebSocket message (:func:`pack`): a 4-byte big-endian length, that
many bytes of JSON, then the media. The JSON of an init segment is ``{"type": "init", "mime":
...}``; of a frame, its time ``t`` (s, the fragment's own timestamp), when it left the decoder
(``decoded_ms``, Unix ms: the page computes glass-to-glass latency from it) and the enhanced
face boxes (fractions of the picture, for the marks). One message per frame, one wake-up of
each viewer's event loop: what a further viewer costs is a send, not an encode.

With no viewer, :meth:`WebStream.offer` returns at once and nothing is encoded. A viewer that
falls more than :data:`MAX_BEHIND` messages behind skips ahead to the next keyframe (and the
page's own catch-up keeps its buffer under a second behind the live edge); it never slows
the encode or another viewer. The encoder stops :data:`IDLE_STOP_S` after the last viewer
leaves; the next viewer starts a new encode (a new init segment).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

import av
import cv2
import numpy as np

log = logging.getLogger(__name__)

WebKind = Literal["fmp4", "jpeg"]
MAX_BEHIND = 90
"""Messages a viewer may have queued before it skips to the next keyframe (about 1.5 s)."""
IDLE_STOP_S = 5.0
"""Seconds the encoder runs on after its last viewer leaves (a page reload keeps it)."""
GOP_FRAMES = 30
"""Frames between keyframes: where a new viewer starts, and how far a late one skips."""
JPEG_QUALITY = 80
TIME_BASE = Fraction(1, 90_000)


@dataclass(frozen=True, slots=True)
class WebFrame:
    """One picture for the browser: ``rgb24`` pixels, ``decoded_ms`` (Unix ms when its input
    frame left the decoder) and ``boxes`` (enhanced regions as ``[x0, y0, x1, y1, track]``
    fractions of the picture)."""

    rgb24: np.ndarray
    decoded_ms: float
    boxes: tuple[tuple[float, float, float, float, int], ...] = ()


class Viewer:
    """One subscriber: an asyncio queue on the viewer's event loop, fed from the encoder
    thread. Items are ``str`` (JSON) or ``bytes`` (media); ``None`` ends the stream."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.skipped = 0
        self._lock = threading.Lock()
        self._pending = 0
        self._need_key = False

    def push(self, message: bytes, *, key: bool) -> None:
        with self._lock:
            if self._pending > MAX_BEHIND:
                self._need_key = True
            if self._need_key and not key:
                self.skipped += 1
                return
            self._need_key = False
            self._pending += 1
        self.loop.call_soon_threadsafe(self.queue.put_nowait, message)

    def end(self) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, None)

    async def get(self) -> bytes | None:
        item = await self.queue.get()
        if item is not None:
            with self._lock:
                self._pending -= 1
        return item


class _Capture(io.RawIOBase):
    """What the MP4 muxer writes, split into top-level boxes."""

    def __init__(self) -> None:
        super().__init__()
        self.buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self.buffer += bytes(b)
        return len(b)

    def boxes(self) -> list[tuple[bytes, bytes]]:
        """Complete top-level boxes written so far, as ``(type, bytes)``; removed from the
        buffer."""
        out = []
        buf = self.buffer
        while len(buf) >= 8:
            size = int.from_bytes(buf[:4], "big")
            if size < 8 or len(buf) < size:
                break
            out.append((bytes(buf[4:8]), bytes(buf[:size])))
            del buf[:size]
        return out


def avc_codec_string(extradata: bytes | None) -> str:
    """The RFC 6381 ``avc1.PPCCLL`` string MSE asks for, from the encoder's SPS (Annex B or
    avcC extradata); ``avc1.42E01F`` (Constrained Baseline 3.1) when there is none."""
    if extradata:
        if extradata[0] == 1 and len(extradata) >= 4:  # avcC
            return "avc1." + extradata[1:4].hex().upper()
        i = extradata.find(b"\x00\x00\x01")
        while 0 <= i < len(extradata) - 6:
            nal = extradata[i + 3]
            if nal & 0x1F == 7:  # SPS
                return "avc1." + extradata[i + 4 : i + 7].hex().upper()
            i = extradata.find(b"\x00\x00\x01", i + 3)
    return "avc1.42E01F"


class _Fmp4Encoder:
    """H.264 in fragmented MP4, one fragment per frame (written when the next frame is
    muxed: one frame of delay)."""

    def __init__(self, size_wh: tuple[int, int]) -> None:
        self.capture = _Capture()
        self.container = av.open(
            self.capture,
            "w",
            format="mp4",
            options={"movflags": "empty_moov+default_base_moof+frag_every_frame+skip_trailer"},
        )
        st = self.container.add_stream("libx264", rate=30)
        st.width, st.height = size_wh
        st.pix_fmt = "yuv420p"
        st.codec_context.time_base = TIME_BASE
        st.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "g": str(GOP_FRAMES),
            "bf": "0",
            "crf": "23",
        }
        self.stream = st
        self.init: bytes | None = None
        self.mime = ""
        self._pending: list[tuple[bool, dict[str, Any]]] = []  # (keyframe, meta) per muxed packet
        self._t0: float | None = None
        self._last_pts = -1

    def encode(
        self, wf: WebFrame, meta: dict[str, Any]
    ) -> list[tuple[bool, dict[str, Any], bytes]]:
        """Encode one picture; the fragments now complete, as ``(keyframe, meta,
        moof+mdat bytes)``."""
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = now
        pts = max(self._last_pts + 1, round((now - self._t0) / TIME_BASE))
        self._last_pts = pts
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(wf.rgb24), format="rgb24")
        frame.pts, frame.time_base = pts, TIME_BASE
        meta = {**meta, "t": float(pts * TIME_BASE)}
        for packet in self.stream.encode(frame):
            self._pending.append((bool(packet.is_keyframe), meta))
            self.container.mux(packet)
        return self._collect()

    def _collect(self) -> list[tuple[bool, dict[str, Any], bytes]]:
        out = []
        moof = b""
        for kind, data in self.capture.boxes():
            if kind in (b"ftyp", b"moov"):
                self.init = (self.init or b"") + data
                if kind == b"moov":
                    codec = avc_codec_string(self.stream.codec_context.extradata)
                    self.mime = f'video/mp4; codecs="{codec}"'
            elif kind == b"moof":
                moof = data
            elif kind == b"mdat" and moof and self._pending:
                key, meta = self._pending.pop(0)
                out.append((key, meta, moof + data))
                moof = b""
        return out

    def close(self) -> None:
        try:
            self.container.close()
        except (av.FFmpegError, OSError, ValueError) as exc:
            log.debug("web stream encoder close: %s", exc)


class WebStream:
    """One picture of one camera, encoded once while anyone watches (see the module doc)."""

    def __init__(self, name: str, kind: WebKind) -> None:
        self.name, self.kind = name, kind
        self._lock = threading.Lock()
        self._cv = threading.Condition(self._lock)
        self._viewers: list[Viewer] = []
        self._frame: WebFrame | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self._idle_since: float | None = None
        self._encoder: _Fmp4Encoder | None = None
        self._gop: list[bytes] = []  # the messages since the last keyframe: a new viewer's start
        self.size_wh: tuple[int, int] | None = None
        self.frames_encoded = 0
        self.encode_s = 0.0

    @property
    def viewers(self) -> int:
        return len(self._viewers)

    def offer(self, wf: WebFrame) -> None:
        """The newest picture (called by the pipeline; returns at once). An older one not yet
        encoded is replaced: the view is live."""
        if not self._viewers:
            return
        with self._cv:
            self._frame = wf
            self._cv.notify()

    def subscribe(self, loop: asyncio.AbstractEventLoop) -> Viewer:
        v = Viewer(loop)
        with self._cv:
            if self._closed:
                v.end()
                return v
            enc = self._encoder
            if self.kind == "fmp4" and enc is not None and enc.init is not None:
                v.push(pack({"type": "init", "mime": enc.mime}, enc.init), key=True)
                for message in self._gop:
                    v.push(message, key=False)
            self._viewers.append(v)
            self._idle_since = None
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"streamsr-web-{self.name}-{self.kind}", daemon=True
                )
                self._thread.start()
        return v

    def unsubscribe(self, v: Viewer) -> None:
        with self._cv:
            if v in self._viewers:
                self._viewers.remove(v)
            if not self._viewers:
                self._idle_since = time.monotonic()
            self._cv.notify()

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify()
            viewers, self._viewers = self._viewers, []
            thread = self._thread
        for v in viewers:
            v.end()
        if thread is not None:
            thread.join(timeout=5.0)

    def _next(self) -> WebFrame | None:
        """The next picture to encode; ``None`` when closed or idle for
        :data:`IDLE_STOP_S` (this thread then ends and gives up its encoder)."""
        with self._cv:
            while True:
                idle = self._idle_since
                if self._closed or (
                    not self._viewers
                    and idle is not None
                    and time.monotonic() - idle >= IDLE_STOP_S
                ):
                    self._thread = None  # a later viewer starts a new thread and encoder
                    enc, self._encoder, self._gop = self._encoder, None, []
                    if enc is not None:
                        enc.close()
                    return None
                if self._frame is not None:
                    wf, self._frame = self._frame, None
                    return wf
                self._cv.wait(timeout=0.5)

    def _run(self) -> None:
        try:
            while (wf := self._next()) is not None:
                t = time.perf_counter()
                self._encode(wf)
                self.frames_encoded += 1
                self.encode_s += 0.1 * (time.perf_counter() - t - self.encode_s)
        except Exception as exc:  # the view fails alone; the camera's pipeline goes on
            log.error("web view %s/%s: %s", self.name, self.kind, exc)
            with self._cv:
                viewers, self._viewers, self._thread = self._viewers, [], None
                enc, self._encoder, self._gop = self._encoder, None, []
            if enc is not None:
                enc.close()
            for v in viewers:
                v.end()

    def _broadcast(self, message: bytes, key: bool) -> None:
        with self._lock:
            viewers = list(self._viewers)
        for v in viewers:
            v.push(message, key=key)

    def _encode(self, wf: WebFrame) -> None:
        h, w = wf.rgb24.shape[:2]
        meta = {"type": "frame", "decoded_ms": wf.decoded_ms, "boxes": [list(b) for b in wf.boxes]}
        if self.kind == "jpeg":
            ok, jpg = cv2.imencode(
                ".jpg",
                cv2.cvtColor(wf.rgb24, cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY],
            )
            if ok:
                self.size_wh = (w, h)
                self._broadcast(pack(meta, jpg.tobytes()), key=True)
            return
        even = (w - w % 2, h - h % 2)  # yuv420p
        enc = self._encoder
        if enc is not None and self.size_wh != even:  # the picture changed size: start over
            enc.close()
            enc = self._encoder = None
        if enc is None:
            self.size_wh = even
            enc = self._encoder = _Fmp4Encoder(even)
            self._gop = []
        pic = wf if (w, h) == even else WebFrame(wf.rgb24[: even[1], : even[0]], wf.decoded_ms)
        had_init = enc.init is not None
        fragments = enc.encode(pic, meta)
        with self._lock:  # the GOP and the viewers change together: none misses or repeats one
            sends: list[tuple[bytes, bool]] = []
            if not had_init and enc.init is not None:
                sends.append((pack({"type": "init", "mime": enc.mime}, enc.init), True))
            for key, frame_meta, data in fragments:
                if key:
                    self._gop = []
                message = pack(frame_meta, data)
                self._gop.append(message)
                sends.append((message, key))
            viewers = list(self._viewers)
        for message, key in sends:
            for v in viewers:
                v.push(message, key=key)


def pack(meta: dict[str, Any], payload: bytes) -> bytes:
    """One message: the JSON's length (4 bytes, big-endian), the JSON, the payload."""
    head = json.dumps(meta, separators=(",", ":")).encode()
    return len(head).to_bytes(4, "big") + head + payload


def unpack(message: bytes) -> tuple[dict[str, Any], bytes]:
    r"""The JSON and the payload of a :func:`pack`\ ed message."""
    n = int.from_bytes(message[:4], "big")
    return json.loads(message[4 : 4 + n]), message[4 + n :]


def boxes_fractions(
    crop_xyxy: np.ndarray, track_ids: Sequence[int], size_wh: tuple[int, int]
) -> tuple[tuple[float, float, float, float, int], ...]:
    """Crop boxes in the picture's own pixels as fractions of its size, with their tracks."""
    w, h = size_wh
    return tuple(
        (
            round(x0 / w, 4),
            round(y0 / h, 4),
            round(x1 / w, 4),
            round(y1 / h, 4),
            int(t),
        )
        for (x0, y0, x1, y1), t in zip(np.asarray(crop_xyxy).tolist(), track_ids, strict=True)
    )

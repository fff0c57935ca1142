"""The browser view's streams: fragmented MP4 that plays from any viewer's first fragment, one
encode shared by every viewer, nothing encoded without a viewer."""

from __future__ import annotations

import asyncio
import io
import itertools
import threading
import time

import av
import cv2
import numpy as np
import pytest

from streamsr.sinks._webview import (
    GOP_FRAMES,
    WebFrame,
    WebStream,
    avc_codec_string,
    boxes_fractions,
    unpack,
)


def _picture(i: int) -> np.ndarray:
    """A moving pattern (so the encoder makes real P-frames), 160x120."""
    y, x = np.mgrid[0:120, 0:160]
    g = ((x + 3 * i) % 40 < 20) ^ ((y + i) % 30 < 15)
    rgb = np.stack([g * 200, (x * 255 // 160), np.full_like(x, i % 256)], axis=2)
    return rgb.astype(np.uint8)


def _feed(stream: WebStream, n: int, stop: threading.Event) -> threading.Thread:
    def run() -> None:
        for i in range(n):
            if stop.is_set():
                return
            stream.offer(WebFrame(_picture(i), 1000.0 * i, ((0.1, 0.2, 0.3, 0.4, 7),)))
            time.sleep(1 / 60)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


async def _collect(stream: WebStream, fragments: int, timeout_s: float = 60.0) -> list[object]:
    viewer = stream.subscribe(asyncio.get_running_loop())
    items: list[object] = []
    got = 0
    try:
        async with asyncio.timeout(timeout_s):
            while got < fragments:
                message = await viewer.get()
                assert message is not None
                meta, media = unpack(message)
                items.append((meta, media))
                if meta["type"] == "frame":
                    assert media[4:8] == b"moof"
                    got += 1
    finally:
        stream.unsubscribe(viewer)
    return items


def _decode(items: list[object]) -> tuple[dict[str, object], list[dict[str, object]], int]:
    """The init message, the frame messages, and how many frames the bytes decode to."""
    media = b"".join(m for _, m in items)
    init = next(t for t, _ in items if t["type"] == "init")
    frames = [t for t, _ in items if t["type"] == "frame"]
    with av.open(io.BytesIO(media)) as c:
        decoded = sum(1 for _ in c.decode(video=0))
    return init, frames, decoded


def test_fragments_play_from_the_start_and_from_a_late_viewers_first_fragment() -> None:
    stream = WebStream("test", "fmp4")
    stop = threading.Event()
    try:

        async def main() -> tuple[list[object], list[object]]:
            first = asyncio.create_task(_collect(stream, 2 * GOP_FRAMES + 10))
            await asyncio.sleep(0.2)
            feeder = _feed(stream, 600, stop)
            while stream.frames_encoded < GOP_FRAMES + GOP_FRAMES // 2:  # mid-GOP
                await asyncio.sleep(0.01)
            late = await _collect(stream, 20)
            a = await first
            stop.set()
            feeder.join()
            return a, late

        items, late = asyncio.run(main())
    finally:
        stop.set()
        stream.close()
    init, frames, decoded = _decode(items)
    assert init["mime"].startswith('video/mp4; codecs="avc1.')
    assert items[0][1][4:8] == b"ftyp"  # the init segment comes first
    n_fragments = sum(1 for _, m in items if m[4:8] == b"moof")
    assert decoded == n_fragments == len(frames)  # every fragment is one playable frame
    times = [f["t"] for f in frames]
    assert all(b > a for a, b in itertools.pairwise(times))
    assert frames[0]["boxes"] == [[0.1, 0.2, 0.3, 0.4, 7]]
    # the late viewer starts with the init segment and the GOP so far: it decodes from its
    # first fragment (a keyframe), and its frames are those the first viewer got
    l_init, l_frames, l_decoded = _decode(late)
    assert l_init["mime"] == init["mime"]
    assert l_decoded == len(l_frames) >= 20
    assert next(f["t"] for f in l_frames) in times


def test_nothing_is_encoded_without_a_viewer_and_the_encoder_stops_after_the_last() -> None:
    stream = WebStream("idle", "fmp4")
    try:
        for i in range(10):
            stream.offer(WebFrame(_picture(i), 0.0))
        time.sleep(0.3)
        assert stream.frames_encoded == 0 and stream.viewers == 0
    finally:
        stream.close()


def test_the_mjpeg_stream_is_one_jpeg_per_message() -> None:
    stream = WebStream("j", "jpeg")
    stop = threading.Event()
    try:

        async def main() -> list[object]:
            task = asyncio.create_task(_collect_jpegs(stream, 5))
            await asyncio.sleep(0.2)
            feeder = _feed(stream, 300, stop)
            out = await task
            stop.set()
            feeder.join()
            return out

        items = asyncio.run(main())
    finally:
        stop.set()
        stream.close()
    jpegs = [unpack(i)[1] for i in items if isinstance(i, bytes)]
    assert len(jpegs) >= 5
    for j in jpegs:
        img = cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR)
        assert img is not None and img.shape == (120, 160, 3)


async def _collect_jpegs(stream: WebStream, n: int) -> list[object]:
    viewer = stream.subscribe(asyncio.get_running_loop())
    items: list[object] = []
    try:
        async with asyncio.timeout(60):
            while len(items) < n:
                items.append(await viewer.get())
    finally:
        stream.unsubscribe(viewer)
    return items


@pytest.mark.parametrize(
    "extradata, codec",
    [
        (bytes.fromhex("000000016742c01e"), "avc1.42C01E"),
        (bytes.fromhex("0164001fffe1"), "avc1.64001F"),
        (None, "avc1.42E01F"),
    ],
)
def test_the_codec_string_comes_from_the_sps(extradata: bytes | None, codec: str) -> None:
    assert avc_codec_string(extradata) == codec


def test_boxes_are_fractions_of_the_picture() -> None:
    got = boxes_fractions(np.array([[10, 20, 50, 60]]), [3], (100, 200))
    assert got == ((0.1, 0.1, 0.5, 0.3, 3),)

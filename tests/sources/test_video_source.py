"""VideoSource: frames, timestamps, audio packets, damaged and wrong inputs, redaction."""

from __future__ import annotations

import random
import socket
import threading
import traceback
from collections.abc import Iterator
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import av
import numpy as np
import pytest
from _media import make_clip, phone_clip, shared

from streamsr import Frame, SourceError, StreamSRError, StreamTimeoutError
from streamsr.sources import VideoSource, redact_url
from streamsr.sources._file import PtsFixer


def read_all(src: VideoSource) -> tuple[list[Frame], list[av.Packet]]:
    frames: list[Frame] = []
    packets: list[av.Packet] = []
    for item in src.read():
        if isinstance(item, Frame):
            frames.append(item)
        else:
            packets.append(item)
    return frames, packets


# -- a good input ---------------------------------------------------------------------------


def test_properties(clip: Path) -> None:
    with VideoSource(clip) as src:
        assert src.size_wh == (160, 120)
        assert isinstance(src.time_base, Fraction)
        assert src.average_rate == 30
        assert src.codec_name == "h264"
        assert src.frame_count_hint == 30
        assert [s.codec_context.name for s in src.audio_streams] == ["aac"]
        assert "160, 120" in repr(src)


def test_read_yields_frames_and_audio(clip: Path) -> None:
    with VideoSource(clip) as src:
        frames, packets = read_all(src)
        assert src.decode_errors == src.adjusted_pts == src.generated_pts == 0
        # Audio comes as untouched packets of the input's audio stream, all dated. (A packet
        # refers to its open input: PyAV crashes on packet.stream once the input is closed.)
        assert len(packets) > 0
        assert all(p.stream.type == "audio" and p.dts is not None for p in packets)
    assert [f.index for f in frames] == list(range(30))
    assert all(f.rgb24.shape == (120, 160, 3) and f.rgb24.dtype == np.uint8 for f in frames)
    assert all(f.time_base == src.time_base for f in frames)
    pts = [f.pts for f in frames]
    assert all(b > a for a, b in pairwise(pts))  # type: ignore[operator]
    with av.open(str(clip)) as c:
        expected = [p.pts for p in c.demux(audio=0) if p.dts is not None]
    assert [p.pts for p in packets] == expected
    # Pixels are RGB in the order PyAV gives them: the clip's red channel ramps with x.
    f0 = frames[0].rgb24.astype(int)
    assert f0[60, 100, 0] > f0[60, 20, 0]


def test_audio_false_yields_video_only(clip: Path) -> None:
    with VideoSource(clip, audio=False) as src:
        frames, packets = read_all(src)
        assert src.audio_streams == []
    assert len(frames) == 30 and packets == []


def test_variable_frame_rate_pts_kept(tmp_path: Path) -> None:
    pts_ms = [120, 160, 190, 270, 280, 420, 430, 440, 620, 1120, 1153, 1186]
    clip = make_clip(tmp_path / "vfr.mkv", frames=len(pts_ms), pts_ms=pts_ms)
    with VideoSource(clip) as src:
        frames, _ = read_all(src)
    assert [f.pts * f.time_base for f in frames] == [Fraction(p, 1000) for p in pts_ms]  # type: ignore[operator]


def test_closed_source_refuses_read(clip: Path) -> None:
    src = VideoSource(clip)
    src.close()
    src.close()  # idempotent
    with pytest.raises(SourceError, match="closed"):
        next(src.read())


@pytest.mark.parametrize("size_wh", [(320, 240), (1280, 720)])
def test_untagged_colours_read_as_players_do(tmp_path: Path, size_wh: tuple[int, int]) -> None:
    """An untagged file is BT.601 below 720 lines and BT.709 from 720 up (FFmpeg's guess)."""
    w, h = size_wh
    colour = np.array([200, 40, 40], np.uint8)
    matrix = "ITU709" if h >= 720 else "ITU601"
    path = tmp_path / "untagged.mkv"
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=30, options={"crf": "5", "preset": "ultrafast"})
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        vf = av.VideoFrame.from_ndarray(np.full((h, w, 3), colour), format="rgb24")
        vf = vf.reformat(format="yuv420p", dst_colorspace=matrix, dst_color_range="MPEG")
        vf.colorspace = 2  # AVCOL_SPC_UNSPECIFIED: no tag in the stream
        out.mux(s.encode(vf))
        out.mux(s.encode(None))
    with VideoSource(path) as src:
        frames, _ = read_all(src)
    assert np.abs(frames[0].rgb24[h // 2, w // 2].astype(int) - colour).max() <= 3


# -- timestamps made strictly increasing ----------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected", "adjusted", "generated"),
    [
        ([0, 10, 20, 30], [0, 10, 20, 30], 0, 0),
        ([0, None, 20], [0, 10, 20], 0, 1),  # missing pts: previous + nominal step
        ([None, None, 25], [0, 10, 25], 0, 2),
        ([0, 10, 10, 20], [0, 10, 11, 20], 1, 0),  # duplicate kept, one tick later
        ([0, 10, 5, 20], [0, 10, 11, 20], 1, 0),  # small step back kept, one tick later
        ([0, 10, 20, 30, 900, 910], [0, 10, 20, 30, 900, 910], 0, 0),  # a gap is kept
        # A reset further back than reset_ticks continues after the last frame.
        ([1000, 1010, 1020, 0, 10], [1000, 1010, 1020, 1030, 1040], 0, 0),
    ],
)
def test_pts_fixer(
    raw: list[int | None], expected: list[int], adjusted: int, generated: int
) -> None:
    fixer = PtsFixer(step=10, reset_ticks=100)
    out = [p for p in (fixer.fix(r) for r in raw) if p is not None]
    assert out == expected
    assert (fixer.adjusted, fixer.generated) == (adjusted, generated)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ([0, 10, 20, 5000, 5010], [0, 10, 20, 30, 40]),  # a jump forward (MPEG-TS clock jump)
        ([0, 10, 20, 90000, 30, 40], [0, 10, 20, 30, 40, 50]),  # one damaged pts far ahead
        ([0, 10, 20, 30, 900], [0, 10, 20, 30, 900]),  # a gap under jump_ticks is kept
    ],
)
def test_pts_fixer_forward_jumps(raw: list[int], expected: list[int]) -> None:
    fixer = PtsFixer(step=10, reset_ticks=100, jump_ticks=1000)
    assert [fixer.fix(r) for r in raw] == expected


# -- bad inputs -----------------------------------------------------------------------------


def _text_mp4(tmp: Path) -> Path:
    p = tmp / "notes.mp4"
    p.write_text("this is not a video\n" * 20)
    return p


def _audio_only(tmp: Path) -> Path:
    p = tmp / "voice.m4a"
    with av.open(str(p), "w") as out:
        s = out.add_stream("aac", rate=48000)
        for k in range(0, 48000, 1024):
            af = av.AudioFrame.from_ndarray(
                np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
            )
            af.sample_rate, af.pts = 48000, k
            out.mux(s.encode(af))
        out.mux(s.encode(None))
    return p


def _empty_mkv(tmp: Path) -> Path:
    p = tmp / "empty.mkv"
    with av.open(str(p), "w") as out:
        s = out.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        out.start_encoding()
    return p


def _unknown_codec(tmp: Path) -> Path:
    """An AVI whose video FourCC no decoder knows (an MJPEG AVI with its tag rewritten)."""
    p = tmp / "mjpeg.avi"
    with av.open(str(p), "w") as out:
        s = out.add_stream("mjpeg", rate=10)
        s.width, s.height, s.pix_fmt = 64, 48, "yuvj420p"
        for _ in range(3):
            vf = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            out.mux(s.encode(vf))
        out.mux(s.encode(None))
    q = tmp / "unknown.avi"
    q.write_bytes(p.read_bytes().replace(b"MJPG", b"QQQQ"))
    return q


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp / "missing.mp4", "input not found: {path}"),
        (lambda tmp: tmp, "input is a directory"),
        (_text_mp4, "not a video file, or its container is unreadable: {path}"),
        (_audio_only, "no video stream in {path} (streams: #0 audio aac)"),
        (_unknown_codec, "unsupported video codec in {path}"),
        (_empty_mkv, "input is empty or cut short: {path}"),
    ],
    ids=["missing", "directory", "text-named-mp4", "audio-only", "unknown-codec", "empty"],
)
def test_bad_input_is_one_clear_source_error(make: object, message: str, tmp_path: Path) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(SourceError) as info:
        VideoSource(path)
    text = str(info.value)
    assert message.format(path=path) in text
    assert "\n" not in text
    assert isinstance(info.value, OSError) and isinstance(info.value, StreamSRError)


def test_frame_size_cap_refuses_before_decoding(clip: Path) -> None:
    with pytest.raises(SourceError, match=r"frame size 160x120 .* exceeds the limit of 100 px"):
        VideoSource(clip, max_side=100)


@pytest.mark.parametrize("timeout", [0, -1, (1, 2, 3), "5", (1, float("inf"))])
def test_bad_timeout_is_config_error(clip: Path, timeout: object) -> None:
    with pytest.raises(ValueError, match="timeout must be"):
        VideoSource(clip, timeout=timeout)  # type: ignore[arg-type]


# -- damaged inputs -------------------------------------------------------------------------


def _damage(src: Path, dst: Path, *, keep: float, every: int, seed: int = 0) -> Path:
    """Cut ``src`` to ``keep`` of its length and overwrite every ``every``-th byte after the
    first quarter with random ones."""
    data = bytearray(src.read_bytes())
    data = data[: int(len(data) * keep)]
    rng = random.Random(seed)
    for i in range(len(data) // 4, len(data) - 2000, every):
        data[i] = rng.randrange(256)
    dst.write_bytes(bytes(data))
    return dst


def test_truncated_and_corrupted_mpegts_keeps_going(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "c.ts", frames=60, audio=True, container_format="mpegts")
    bad = _damage(clip, tmp_path / "bad.ts", keep=2 / 3, every=11)
    with VideoSource(bad) as src:
        frames, packets = read_all(src)
        errors = src.decode_errors
    assert 0 < len(frames) < 60
    assert errors >= 1  # damaged packets were counted and skipped, not raised
    assert len(packets) > 0
    pts = [f.pts for f in frames]
    assert all(b > a for a, b in pairwise(pts))  # type: ignore[operator]
    # Damaged timestamps far off the timeline are absorbed: the 2 s clip stays seconds long.
    assert (frames[-1].pts - frames[0].pts) * src.time_base < 10  # type: ignore[operator]


def test_truncated_matroska_keeps_going(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "c.mkv", frames=60, audio=True)
    bad = _damage(clip, tmp_path / "bad.mkv", keep=1 / 2, every=97)
    with VideoSource(bad) as src:
        frames, _ = read_all(src)
    assert 0 < len(frames) < 60


# -- URLs: redaction and timeouts -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rtsp://admin:secret@10.0.0.7:554/live", "rtsp://***@10.0.0.7:554/live"),
        ("rtsp://admin:p@ss@cam/live", "rtsp://***@cam/live"),
        ("rtsp://viewer@cam/live", "rtsp://***@cam/live"),
        (
            "http://cam/snap.cgi?user=a&password=xyz&ch=1",
            "http://cam/snap.cgi?user=a&password=***&ch=1",
        ),
        ("https://h/s.m3u8?token=abc", "https://h/s.m3u8?token=***"),
        (
            "Connection refused: 'rtsp://u:pw@h/x'",
            "Connection refused: 'rtsp://***@h/x'",
        ),
        ("rtsp://cam:554/live", "rtsp://cam:554/live"),
        ("/videos/me@home.mp4", "/videos/me@home.mp4"),
    ],
)
def test_redact_url(text: str, expected: str) -> None:
    assert redact_url(text) == expected


@pytest.mark.network
def test_errors_never_carry_the_password() -> None:
    # Nothing listens on port 1 of the loopback: refused at once.
    password = "s3cret"
    url = f"rtsp://user:{password}@127.0.0.1:1/live"  # the traceback quotes this line
    with pytest.raises(SourceError) as info:
        VideoSource(url, timeout=2)
    assert "rtsp://***@127.0.0.1:1/live" in str(info.value)
    printed = "".join(traceback.format_exception(info.value))  # chained causes included
    assert password not in printed


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that accepts connections and never sends a byte."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    conns: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conns.append(srv.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield srv.getsockname()[1]
    srv.close()
    for c in conns:
        c.close()


@pytest.mark.network
def test_stalled_input_times_out(silent_server: int) -> None:
    with pytest.raises(StreamTimeoutError, match=r"timed out opening tcp://\*\*\*@127\.0\.0\.1"):
        VideoSource(f"tcp://u:pw@127.0.0.1:{silent_server}", timeout=(0.5, 0.5))


# -- real clips -----------------------------------------------------------------------------


@pytest.mark.parametrize("rel", ["talking_heads/closeup.mp4", "webcam_small_faces/again.mkv"])
def test_real_clip_decodes_every_frame(rel: str) -> None:
    path = shared("video", *rel.split("/"))
    with av.open(str(path)) as c:
        expected = [f.pts for f in c.decode(video=0)]
    with VideoSource(path) as src:
        frames, _ = read_all(src)
        assert src.decode_errors == 0
        w, h = src.size_wh
    assert [f.pts for f in frames] == expected
    assert frames[0].rgb24.shape == (h, w, 3)


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_rotated_phone_video_is_read_upright(tmp_path: Path, degrees: int) -> None:
    upright = np.full((96, 64, 3), 40, np.uint8)  # portrait, 64 wide
    upright[:16, :16] = (250, 30, 30)  # a red square in the top-left corner
    clip = phone_clip(tmp_path / "phone.mp4", [upright] * 5, degrees)
    with VideoSource(clip) as src:
        assert src.rotation == degrees
        assert src.size_wh == (64, 96)
        frames, _ = read_all(src)
    assert len(frames) == 5
    f = frames[0].rgb24
    assert f.shape == (96, 64, 3) and frames[0].size_wh == (64, 96)
    assert f[4:12, 4:12, 0].mean() > 200 and f[-12:-4, -12:-4, 0].mean() < 80


def test_unrotated_video_has_rotation_zero(clip: Path) -> None:
    with VideoSource(clip) as src:
        assert src.rotation == 0


def test_a_file_saying_it_holds_too_many_frames_is_refused_at_open(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "c.mp4", frames=30)
    with pytest.raises(SourceError, match=r"says it holds 30 frames, over the limit of 10"):
        VideoSource(src, max_frames=10)
    with VideoSource(src, max_frames=30) as s:  # at the limit: fine
        assert len(read_all(s)[0]) == 30


def test_frames_past_the_limit_stop_a_file_whose_header_says_nothing(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "c.h264", frames=30, container_format="h264")
    with VideoSource(src, max_frames=12) as s:
        assert s.frame_count_hint is None or s.frame_count_hint > 12
        got = 0
        with pytest.raises(SourceError, match="more than 12 frames"):
            for item in s.read():
                got += isinstance(item, Frame)
        assert got == 12


def _qp_clip(path: Path, qp: int, codec: str = "libx264") -> Path:
    """A 100x52 clip (not a multiple of 16: the map rounds up) at a constant H.264 QP."""
    with av.open(str(path), "w") as out:
        opts = {"qp": str(qp), "preset": "ultrafast", "aq-mode": "0"} if codec == "libx264" else {}
        vs = out.add_stream(codec, rate=25, options=opts)
        vs.width, vs.height, vs.pix_fmt = 100, 52, "yuv420p"
        rng = np.random.default_rng(0)
        for i in range(6):
            img = rng.integers(0, 255, (52, 100, 3), dtype=np.uint8)
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            vf.pts = i
            out.mux(vs.encode(vf))
        out.mux(vs.encode(None))
    return path


@pytest.mark.parametrize("qp", [12, 33])
def test_qp_maps_give_the_h264_quantiser_of_every_macroblock(tmp_path: Path, qp: int) -> None:
    path = _qp_clip(tmp_path / "q.mp4", qp)
    with VideoSource(path, qp=True) as src:
        frames, _ = read_all(src)
    assert len(frames) == 6
    for f in frames:
        assert f.quantisers() is not None and f.qp.shape == (4, 7) and f.qp.dtype == np.uint8
        # constant QP, no adaptive quantisation: P frames sit a step or two off the I frame's
        assert np.all(np.abs(f.qp.astype(int) - qp) <= 3), f.qp
        assert f.face_qp((10, 10, 40, 40)) == pytest.approx(float(f.qp[0:3, 0:3].mean()))
    with VideoSource(path) as src:  # not asked for: no map
        assert all(not f.has_qp and f.quantisers() is None for f in read_all(src)[0])


@pytest.mark.parametrize("codec, expected", [("mpeg4", None), ("ffv1", 0)])
def test_qp_maps_of_other_codecs(tmp_path: Path, codec: str, expected: int | None) -> None:
    """MPEG-4 part 2 exports no H.264 QPs: no map. FFV1 stores the picture without loss: a map
    of zeros (it quantises nothing)."""
    path = _qp_clip(tmp_path / "q.mkv", 0, codec=codec)
    with VideoSource(path, qp=True) as src:
        frames, _ = read_all(src)
    assert len(frames) == 6
    for f in frames:
        if expected is None:
            assert f.quantisers() is None and f.face_qp((0, 0, 10, 10)) is None
        else:
            assert f.quantisers() is not None and f.qp.shape == (4, 7) and not f.qp.any()


def test_a_named_demuxer_is_no_stored_file_so_lossless_gives_no_zero_map(tmp_path: Path) -> None:
    """Devices are opened with their demuxer named (v4l2, avfoundation, dshow) and deliver raw
    frames: those are not a stored picture, so no QP 0 is claimed for them (the pixels decide)."""
    path = _qp_clip(tmp_path / "q.mkv", 0, codec="ffv1")
    with VideoSource(path, qp=True, format="matroska") as src:
        frames, _ = read_all(src)
    assert len(frames) == 6 and all(f.quantisers() is None for f in frames)


def _video_frames_left_to_the_collector() -> int:
    """How many PyAV frames only the cyclic garbage collector would free now."""
    import gc

    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        return sum(isinstance(o, av.VideoFrame) for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def test_quantisers_are_read_when_asked_so_unread_frames_are_freed_at_once(tmp_path: Path) -> None:
    """Reading PyAV's side data ties the decoder's frame into a reference cycle, which only the
    garbage collector frees (holding the GIL while it frees the pictures): the source defers the
    read to :meth:`Frame.quantisers`, so frames whose quantisers nobody asks for are freed as
    soon as they are dropped, and the ones read still give their map."""
    import gc

    path = _qp_clip(tmp_path / "q.mp4", 20)
    gc.collect()
    gc.disable()
    try:
        with VideoSource(path, qp=True) as src:
            frames, _ = read_all(src)
        assert len(frames) == 6 and all(f.has_qp and f.qp is None for f in frames)
        del frames
        assert _video_frames_left_to_the_collector() == 0
        with VideoSource(path, qp=True) as src:
            frames, _ = read_all(src)
        maps = [f.quantisers() for f in frames[:2]]
        assert all(m is not None and m.shape == (4, 7) for m in maps)
        assert frames[0].qp is maps[0] and frames[0].qp_reader is None  # read once
        del frames
        assert _video_frames_left_to_the_collector() == 2  # the two that were read
    finally:
        gc.enable()

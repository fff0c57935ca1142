"""FileSink: timestamps and audio through source → sink, codecs, options, failures, kills."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import av
import numpy as np
import pytest
from _media import make_clip, shared

from streamsr import ConfigError, Frame, SinkError, StreamSRError
from streamsr.sinks import FileSink, same_file
from streamsr.sources import VideoSource

TB = Fraction(1, 30)


def transcode(
    src_path: Path,
    out: Path,
    edit_audio: Callable[[int, av.Packet], None] | None = None,
    **sink_options: object,
) -> FileSink:
    """Copy ``src_path`` to ``out`` through VideoSource and FileSink, audio passed through
    (``edit_audio(n, packet)`` may change the n-th audio packet first, counting from 1)."""
    n_audio = 0
    with (
        VideoSource(src_path) as src,
        FileSink(
            out,
            size_wh=src.size_wh,
            time_base=src.time_base,
            rate=src.average_rate,
            audio_from=src.audio_streams,
            **sink_options,  # type: ignore[arg-type]
        ) as sink,
    ):
        for item in src.read():
            if isinstance(item, Frame):
                sink.write(item)
                continue
            n_audio += 1
            if edit_audio is not None:
                edit_audio(n_audio, item)
            sink.write_audio(item)
    return sink


def seconds(pts: int | None, time_base: Fraction | None) -> Fraction:
    assert pts is not None and time_base is not None
    return pts * time_base


def video_times(path: Path) -> list[Fraction]:
    """Presentation times (seconds, exact) of every decoded frame, in output order."""
    with av.open(str(path)) as c:
        return [seconds(f.pts, f.time_base) for f in c.decode(video=0)]


def audio_times(path: Path) -> list[Fraction]:
    with av.open(str(path)) as c:
        return [seconds(p.pts, p.time_base) for p in c.demux(audio=0) if p.dts is not None]


def close_ms(a: list[Fraction], b: list[Fraction]) -> bool:
    """Equal to the millisecond (Matroska's timestamp unit)."""
    return len(a) == len(b) and all(
        abs(x - y) <= Fraction(1, 1000) for x, y in zip(a, b, strict=True)
    )


def gradient(size_wh: tuple[int, int], i: int) -> np.ndarray:
    w, h = size_wh
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([(xx * 2 + i * 4) % 256, (yy * 2) % 256, np.full_like(xx, (i * 8) % 256)], -1)
    return img.astype(np.uint8)


# -- timestamps and audio survive the round trip --------------------------------------------


@pytest.mark.parametrize("ext", [".mp4", ".mov", ".mkv", ".ts"])
def test_frames_and_pts_preserved(clip: Path, tmp_path: Path, ext: str) -> None:
    out = tmp_path / f"out{ext}"
    sink = transcode(clip, out)
    assert sink.frames_written == 30
    t_in, t_out = video_times(clip), video_times(out)
    assert len(t_out) == 30
    if ext in (".mp4", ".mov"):  # edit lists keep absolute times
        assert t_out == t_in
    elif ext == ".ts":  # shifts every stream by one constant when one starts below 0
        assert [t - t_out[0] for t in t_out] == [t - t_in[0] for t in t_in]
    else:  # Matroska too, and it stores milliseconds: 1/30 s steps are rounded
        assert close_ms([t - t_out[0] for t in t_out], [t - t_in[0] for t in t_in])


@pytest.mark.parametrize(
    ("source_ext", "ext"),
    # .ts -> .mp4: AAC in MPEG-TS has ADTS headers, which MP4 refuses (aac_adtstoasc)
    [(".mp4", ".mp4"), (".mp4", ".mkv"), (".mkv", ".mp4"), (".ts", ".mp4"), (".ts", ".mkv")],
)
def test_audio_packets_copied(tmp_path: Path, source_ext: str, ext: str) -> None:
    # .mkv -> .mp4 changes the audio time base from 1/1000 to 1/48000, and back the other way.
    clip = make_clip(tmp_path / f"in{source_ext}", frames=60, audio=True)
    out = tmp_path / f"out{ext}"
    sink = transcode(clip, out)
    a_in, a_out = audio_times(clip), audio_times(out)
    assert sink.audio_packets_written == len(a_in) > 0
    assert sink.audio_packets_dropped == 0
    assert len(a_out) == len(a_in)
    v_in, v_out = video_times(clip), video_times(out)
    if ext == ".mp4":
        assert close_ms(a_out, a_in)
        assert close_ms(v_out, v_in)
        if source_ext == ".mp4":
            assert (a_out, v_out) == (a_in, v_in)
    else:  # one constant shift for every stream, in milliseconds: A/V alignment kept
        shift = a_out[0] - a_in[0]
        assert close_ms([t - shift for t in a_out], a_in)
        assert close_ms([t - shift for t in v_out], v_in)
    with av.open(str(out)) as c:
        assert c.streams.audio[0].codec_context.name == "aac"


def test_an_audio_timestamp_far_from_the_video_is_dropped(tmp_path: Path) -> None:
    """A damaged MPEG-TS timestamp (wrapped to 2^32 ticks) muxed into MP4 made FFmpeg abort the
    process when the file was finished (found by benchmarks/fuzz.py): such a packet is dropped
    and counted, the file finishes and plays."""
    clip = make_clip(tmp_path / "in.ts", frames=30, audio=True)
    out = tmp_path / "out.mp4"

    def jump(n: int, packet: av.Packet) -> None:
        if n == 5:  # one packet's timestamp jumps by 2^32 ticks (13 hours at 90 kHz)
            packet.pts = packet.dts = packet.dts + 2**32

    sink = transcode(clip, out, jump)
    n_audio = len(audio_times(clip))
    assert sink.audio_packets_dropped == 1
    assert sink.audio_packets_written == n_audio - 1
    assert video_times(out) and len(audio_times(out)) == n_audio - 1


@pytest.mark.parametrize("ext", [".mp4", ".mkv"])
def test_variable_frame_rate_intervals_preserved(tmp_path: Path, ext: str) -> None:
    pts_ms = [120, 160, 190, 270, 280, 420, 430, 440, 620, 1120] + [
        1120 + 33 * i for i in range(1, 11)
    ]
    clip = make_clip(tmp_path / "vfr.mkv", frames=len(pts_ms), pts_ms=pts_ms)
    assert video_times(clip) == [Fraction(p, 1000) for p in pts_ms]  # the input really is VFR
    out = tmp_path / f"out{ext}"
    transcode(clip, out)
    t_out = video_times(out)
    deltas_in = [Fraction(b - a, 1000) for a, b in pairwise(pts_ms)]
    assert [b - a for a, b in pairwise(t_out)] == deltas_in
    if ext == ".mp4":
        assert t_out[0] == Fraction(120, 1000)  # the start offset too


def test_real_clip_round_trip(tmp_path: Path) -> None:
    path = shared("video", "talking_heads", "closeup.mp4")
    out = tmp_path / "closeup.mp4"
    sink = transcode(path, out, preset="ultrafast")
    assert video_times(out) == video_times(path)
    assert audio_times(out) == audio_times(path)
    assert sink.frames_written == len(video_times(path))


# -- codecs, sizes, colour ------------------------------------------------------------------


@pytest.mark.parametrize(("codec", "ext"), [("hevc", ".mp4"), ("av1", ".mp4"), ("av1", ".mkv")])
def test_other_codecs(clip: Path, tmp_path: Path, codec: str, ext: str) -> None:
    out = tmp_path / f"out{ext}"
    transcode(clip, out, codec=codec)
    t_in, t_out = video_times(clip), video_times(out)
    if ext == ".mp4":
        assert t_out == t_in
    else:
        assert close_ms([t - t_out[0] for t in t_out], [t - t_in[0] for t in t_in])
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.codec.id == av.Codec(codec, "r").id
        if codec == "hevc":
            assert c.streams.video[0].codec_tag == "hvc1"  # what Apple players require


@pytest.mark.parametrize("codec", ["h264", "hevc", "av1"])
def test_odd_size(tmp_path: Path, codec: str) -> None:
    size = (161, 121)
    out = tmp_path / "odd.mkv"
    with FileSink(out, size_wh=size, time_base=TB, codec=codec) as sink:  # type: ignore[arg-type]
        for i in range(3):
            sink.write(Frame(rgb24=gradient(size, i), pts=i, time_base=TB, index=i))
    expected = size if codec == "av1" else (162, 122)  # 4:2:0 H.264/HEVC need even sizes
    assert sink.encoded_size_wh == expected
    with VideoSource(out) as src:
        frames = [f for f in src.read() if isinstance(f, Frame)]
    assert len(frames) == 3 and frames[0].size_wh == expected
    if codec != "av1":  # the padding repeats the edge column
        col = frames[0].rgb24[:, -2:].astype(int)
        assert np.abs(col[:, 0] - col[:, 1]).mean() < 4


def test_colours_survive_and_are_tagged_bt709(tmp_path: Path) -> None:
    colours = np.array(
        [[200, 40, 40], [40, 200, 40], [40, 40, 200], [230, 200, 20], [128, 128, 128]], np.uint8
    )
    w, h = 1280, 720  # HD: where an untagged file would be read with another matrix
    img = np.zeros((h, w, 3), np.uint8)
    for i, c in enumerate(colours):
        img[:, i * w // 5 : (i + 1) * w // 5] = c
    out = tmp_path / "colours.mp4"
    with FileSink(out, size_wh=(w, h), time_base=TB, crf=10, preset="ultrafast") as sink:
        sink.write(Frame(rgb24=img, pts=0, time_base=TB, index=0))
    with av.open(str(out)) as c:
        vf = next(c.decode(video=0))
        assert (vf.colorspace, vf.color_range) == (1, 1)  # BT.709, limited range
    with VideoSource(out) as src:
        back = next(f for f in src.read() if isinstance(f, Frame)).rgb24
    for i, c in enumerate(colours):
        assert np.abs(back[h // 2, i * w // 5 + w // 10].astype(int) - c).max() <= 3


def _x264_setting(path: Path, key: str) -> int:
    """A number from the encoder settings x264 writes into the stream (its SEI text)."""
    data = path.read_bytes()
    start = data.index(b"x264 - core")
    settings = data[start : data.index(b"\x00", start)].decode("ascii", "replace")
    return int(settings.split(f" {key}=", 1)[1].split()[0])


@pytest.mark.parametrize("low_delay", [True, False])
def test_h264_threads_are_slices_for_live_outputs_and_frames_for_files(
    tmp_path: Path, low_delay: bool
) -> None:
    size = (320, 240)
    out = tmp_path / "t.mkv"
    with FileSink(out, size_wh=size, time_base=TB, low_delay=low_delay) as sink:
        for i in range(5):
            sink.write(Frame(rgb24=gradient(size, i), pts=i, time_base=TB, index=i))
    threads = _x264_setting(out, "threads")
    sliced = _x264_setting(out, "sliced_threads")
    # one thread (a 1-core machine) leaves x264 nothing to choose
    assert sliced == (1 if low_delay and threads > 1 else 0)
    with VideoSource(out) as src:
        assert sum(isinstance(f, Frame) for f in src.read()) == 5


@pytest.mark.parametrize(
    ("live", "preset", "subme"),
    [(True, None, 0), (False, None, 2), (True, "superfast", 1)],
    ids=["live-default-ultrafast", "file-default-veryfast", "live-named-preset"],
)
def test_live_recordings_default_to_the_cheapest_preset(
    tmp_path: Path, live: bool, preset: str | None, subme: int
) -> None:
    from streamsr.sinks import OutputSpec
    from streamsr.sinks._options import open_sink

    out = tmp_path / "rec.mkv"
    size = (320, 240)
    sink = open_sink(
        OutputSpec(location=str(out), preset=preset), size_wh=size, time_base=TB, rate=30, live=live
    )
    with sink:
        for i in range(5):
            sink.write(Frame(rgb24=gradient(size, i), pts=i, time_base=TB, index=i))
    assert _x264_setting(out, "subme") == subme  # x264: ultrafast 0, superfast 1, veryfast 2
    with VideoSource(out) as src:
        assert sum(isinstance(f, Frame) for f in src.read()) == 5


def test_frames_need_a_pts() -> None:
    with pytest.raises(ValueError, match="pts must be an integer"):
        Frame(rgb24=gradient((64, 48), 0), pts=None, time_base=Fraction(1, 1000), index=0)  # type: ignore[arg-type]


def test_frames_with_repeated_pts(tmp_path: Path) -> None:
    out = tmp_path / "out.mkv"
    size = (64, 48)
    with FileSink(out, size_wh=size, time_base=Fraction(1, 1000), rate=25) as sink:
        for i, pts in enumerate([0, 40, 80, 80, 200]):
            sink.write(
                Frame(rgb24=gradient(size, i), pts=pts, time_base=Fraction(1, 1000), index=i)
            )
        # A frame in another time base is rescaled.
        sink.write(Frame(rgb24=gradient(size, 5), pts=9, time_base=Fraction(1, 30), index=5))
    assert sink.pts_adjusted == 1
    assert video_times(out) == [Fraction(p, 1000) for p in (0, 40, 80, 81, 200, 300)]


def test_wrong_frame_size_is_refused(tmp_path: Path) -> None:
    with (
        FileSink(tmp_path / "out.mkv", size_wh=(64, 48), time_base=TB) as sink,
        pytest.raises(SinkError, match="frame 0 is 32x32, the sink was opened for 64x48"),
    ):
        sink.write(Frame(rgb24=np.zeros((32, 32, 3), np.uint8), pts=0, time_base=TB, index=0))


def test_close_is_idempotent_and_final(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "out.mkv", size_wh=(64, 48), time_base=TB)
    sink.write(Frame(rgb24=gradient((64, 48), 0), pts=0, time_base=TB, index=0))
    sink.close()
    sink.close()
    with pytest.raises(SinkError, match="closed"):
        sink.write(Frame(rgb24=gradient((64, 48), 1), pts=1, time_base=TB, index=1))
    assert len(video_times(tmp_path / "out.mkv")) == 1


def test_exception_in_block_still_finishes_file(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    with pytest.raises(KeyError), FileSink(out, size_wh=(64, 48), time_base=TB) as sink:
        for i in range(10):
            sink.write(Frame(rgb24=gradient((64, 48), i), pts=i, time_base=TB, index=i))
        raise KeyError("stage failed")
    assert len(video_times(out)) == 10  # flushed: no frame left in the encoder


# -- options are checked at construction ----------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"codec": "vp9"}, "codec must be one of h264, hevc, av1"),
        ({"crf": 70}, r"crf for h264 must be an int in 0\.\.51"),
        ({"codec": "av1", "crf": 0}, r"crf for av1 must be an int in 1\.\.63"),
        ({"preset": "turbo"}, "preset for h264 must be one of ultrafast, superfast, veryfast"),
        ({"codec": "av1", "preset": "veryfast"}, "preset for av1 must be one of 0, 1, 2"),
        ({"time_base": 1 / 30}, "time_base must be a positive Fraction"),
        ({"size_wh": (0, 48)}, r"size_wh must be \(width, height\) ints"),
        ({"rate": -1}, "rate must be None or a positive"),
        ({"audio_from": ["aac"]}, "audio_from must hold av.audio.stream.AudioStream"),
        ({"path": "out.avi"}, "output extension must be one of .mp4, .m4v, .mov, .mkv"),
        ({"path": "out.webm"}, "webm output takes codec av1, not 'h264'"),
    ],
)
def test_bad_options_are_config_errors(tmp_path: Path, options: dict, message: str) -> None:
    kwargs: dict = {"size_wh": (64, 48), "time_base": TB, **options}
    path = tmp_path / kwargs.pop("path", "out.mp4")
    with pytest.raises(ConfigError, match=message) as info:
        FileSink(path, **kwargs)
    assert isinstance(info.value, ValueError)
    assert not path.exists()


# -- refusing to write, and leaving nothing behind ------------------------------------------


def test_existing_output_needs_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    out.write_bytes(b"precious")
    with pytest.raises(SinkError, match=r"output exists: .*out\.mp4 \(use --overwrite\)"):
        FileSink(out, size_wh=(64, 48), time_base=TB)
    assert out.read_bytes() == b"precious"
    with FileSink(out, size_wh=(64, 48), time_base=TB, overwrite=True) as sink:
        sink.write(Frame(rgb24=gradient((64, 48), 0), pts=0, time_base=TB, index=0))
    assert len(video_times(out)) == 1


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/proc/forbidden/out.mp4", "output directory does not exist: /proc/forbidden"),
        # The directory exists but takes no files.
        ("/proc/out.mp4", "cannot create /proc/out.mp4: No such file or directory"),
        ("/sys/out.mp4", "cannot create /sys/out.mp4: Permission denied"),
    ],
)
def test_unwritable_path(path: str, message: str) -> None:
    with pytest.raises(SinkError, match=message) as info:
        FileSink(path, size_wh=(64, 48), time_base=TB)
    assert isinstance(info.value, OSError) and isinstance(info.value, StreamSRError)
    assert "\n" not in str(info.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_directory(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(SinkError, match="permission denied"):
            FileSink(ro / "out.mp4", size_wh=(64, 48), time_base=TB)
    finally:
        ro.chmod(0o755)


def test_directory_as_output(tmp_path: Path) -> None:
    (tmp_path / "out.mp4").mkdir()
    with pytest.raises(SinkError, match="output is a directory"):
        FileSink(tmp_path / "out.mp4", size_wh=(64, 48), time_base=TB, overwrite=True)


@pytest.mark.parametrize("existing", [False, True])
def test_failed_start_leaves_no_file(tmp_path: Path, existing: bool) -> None:
    out = tmp_path / "out.mp4"
    if existing:
        out.write_bytes(b"old")
    # libx264 refuses 16384x16384 when it opens.
    with pytest.raises(SinkError, match=r"cannot start libx264 16384x16384 .*out\.mp4"):
        FileSink(out, size_wh=(16384, 16384), time_base=TB, overwrite=existing)
    assert os.listdir(tmp_path) == (["out.mp4"] if existing else [])
    if existing:  # untouched: the encoder failed before the file was opened
        assert out.read_bytes() == b"old"


def test_same_file(tmp_path: Path) -> None:
    a = tmp_path / "a.mp4"
    a.write_bytes(b"x")
    (tmp_path / "link.mp4").symlink_to(a)
    assert same_file(a, tmp_path / "link.mp4")
    assert same_file(a, tmp_path / "sub" / ".." / "a.mp4")
    assert not same_file(a, tmp_path / "b.mp4")
    assert same_file(tmp_path / "new.mp4", tmp_path / "." / "new.mp4")  # neither exists yet


# -- a killed writer leaves a playable file -------------------------------------------------

_WRITER = textwrap.dedent(
    """
    import sys, time
    from streamsr import Frame
    from streamsr.sinks import FileSink
    from streamsr.sources import VideoSource

    with (
        VideoSource(sys.argv[1]) as src,
        FileSink(
            sys.argv[2], size_wh=src.size_wh, time_base=src.time_base, rate=src.average_rate,
            audio_from=src.audio_streams, preset="ultrafast",
        ) as sink,
    ):
        for item in src.read():
            if isinstance(item, Frame):
                sink.write(item)
                print(item.index, flush=True)
                time.sleep(0.002)
            else:
                sink.write_audio(item)
    """
)


@pytest.mark.parametrize("ext", [".mp4", ".mkv"])
def test_killed_writer_leaves_playable_file(tmp_path: Path, ext: str) -> None:
    clip = make_clip(tmp_path / "in.mkv", frames=300, audio=True)  # 10 s, audio interleaved
    out = tmp_path / f"killed{ext}"
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, str(script), str(clip), str(out)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # 4 s of video written: past several 1 s fragments
            if int(line) >= 120:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    v_out, a_out = video_times(out), audio_times(out)
    # At most the fragment being written (1 s) is lost, video and audio alike.
    assert len(v_out) >= 90
    assert close_ms(v_out, video_times(clip)[: len(v_out)])
    assert a_out[-1] >= v_out[-1] - 1
    assert close_ms(a_out, audio_times(clip)[: len(a_out)])


@pytest.mark.parametrize("size_wh", [(64, 48), (63, 47)])
def test_yuv_conversion_is_bt709_limited_yuv420p(size_wh: tuple[int, int]) -> None:
    """The encoder's input is BT.709 limited-range yuv420p, tagged so: at even sizes (OpenCV's
    conversion) within a level of the float conversion with 2 x 2 chroma means, and of
    swscale's on a smooth picture (luma; swscale's chroma filter is wider); odd sizes (AV1)
    go through swscale."""
    import cv2
    from av.video.reformatter import ColorRange, Colorspace, VideoReformatter

    from streamsr.sinks._file import Yuv420pConverter

    w, h = size_wh
    rng = np.random.default_rng(7)
    rgb = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (0, 0), 1.2)
    rgb[h // 3 : h // 2, :, 0] = 250  # a saturated red band: the chroma matrix matters there
    vf = Yuv420pConverter((w, h))(rgb)
    assert (vf.width, vf.height, vf.format.name) == (w, h, "yuv420p")
    assert (vf.colorspace, vf.color_range) == (Colorspace.ITU709, ColorRange.MPEG)
    if w % 2 or h % 2:
        return
    x = rgb.astype(np.float64)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = 16 + 219 / 255 * (0.2126 * r + 0.7152 * g + 0.0722 * b)
    cb = 128 + 224 / 255 * (b - (y - 16) * 255 / 219) / 1.8556
    cr = 128 + 224 / 255 * (r - (y - 16) * 255 / 219) / 1.5748

    def means(c: np.ndarray) -> np.ndarray:
        return c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))

    got = vf.to_ndarray().astype(np.float64)
    q = (h // 2) * (w // 2)
    chroma = got[h:].reshape(-1)
    assert np.abs(got[:h] - y).max() <= 1.0
    assert np.abs(chroma[:q].reshape(h // 2, w // 2) - means(cb)).max() <= 1.5
    assert np.abs(chroma[q:].reshape(h // 2, w // 2) - means(cr)).max() <= 1.5
    smooth = cv2.GaussianBlur(rgb, (0, 0), 3.0)
    ref = VideoReformatter().reformat(
        av.VideoFrame.from_ndarray(smooth, format="rgb24"),
        format="yuv420p",
        dst_colorspace=Colorspace.ITU709,
        dst_color_range=ColorRange.MPEG,
    )
    mine = Yuv420pConverter((w, h))(smooth).to_ndarray().astype(int)
    theirs = ref.to_ndarray().astype(int)
    assert np.abs(mine[:h] - theirs[:h]).max() <= 1
    assert np.abs(mine[h:] - theirs[h:]).mean() <= 0.5

"""The live pipeline on a real-time file (no network): pacing, latency budget, outputs."""

from __future__ import annotations

import itertools
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from streamsr import ConfigError, Frame, MissingExtraError, SinkError, SourceError
from streamsr.compose import mark_stale
from streamsr.enhance import default_arch
from streamsr.enhance._srcnn import LOWRES_ARCHS
from streamsr.enhance._weights import shipped_weights_path
from streamsr.runtime import LivePipeline, Pipeline
from streamsr.sinks import OutputSpec, PreviewSink, SegmentedFileSink, VirtualCamSink, output_kind
from streamsr.sources import LIVE_TIME_BASE, LiveSource

QUIET = dict(status_every_s=0, realtime=True)


def test_realtime_file_is_paced_and_every_output_written(
    face_clip: Path, enhancer: Any, tmp_path: Path
) -> None:
    outs = [tmp_path / "a.mp4", tmp_path / "b.mkv"]
    t = time.monotonic()
    with Pipeline(face_clip, outs, enhancer=enhancer, **QUIET) as p:
        st = p.run()
    elapsed = time.monotonic() - t
    assert elapsed > 2.3  # a 2.9 s clip played at its own rate, not as fast as it decodes
    with av.open(str(face_clip)) as c:
        assert st.frames_in == sum(1 for _ in c.decode(video=0))
    assert st.frames_out + st.frames_dropped == st.frames_in
    assert st.faces_enhanced > 0 and st.enhance_skips == 0
    for out in outs:
        with av.open(str(out)) as c:
            frames = [f for f in c.decode(video=0)]
        # An output that falls behind drops its oldest queued frame (counted); none is lost
        # unaccounted, and none is written twice.
        counters = st.outputs[str(out)]
        assert len(frames) == counters["frames_written"]
        assert counters["frames_written"] + counters["queue_dropped"] == st.frames_out
        assert (frames[0].width, frames[0].height) == (1280, 960)
        times = [f.time for f in frames]
        assert all(b > a for a, b in itertools.pairwise(times))
    assert set(st.outputs) == {str(o) for o in outs}


def test_latency_budget_skips_faces_but_frames_go_out(
    face_clip: Path, enhancer: Any, tmp_path: Path
) -> None:
    with Pipeline(
        face_clip, [tmp_path / "out.mkv"], enhancer=enhancer, max_latency_ms=1, **QUIET
    ) as p:
        st = p.run()
    assert st.enhance_skips > 0
    assert st.faces_enhanced < st.enhance_skips
    assert st.frames_out > 0
    assert st.frames_out + st.frames_dropped == st.frames_in


def test_live_default_network_is_the_cheap_one(face_clip: Path, tmp_path: Path) -> None:
    with Pipeline(face_clip, [tmp_path / "out.mkv"], **QUIET) as p:
        assert p.enhancer.arch == default_arch(2, live=True)
        assert p.enhancer.arch in LOWRES_ARCHS  # x2: computes at the low resolution
    with Pipeline(face_clip, [tmp_path / "out3.mkv"], scale=3, **QUIET) as p:
        assert p.enhancer.arch == default_arch(3, live=True) == "fsrcnn-s"
    w = str(shipped_weights_path("srcnn-955", 3, "video"))
    with Pipeline(face_clip, [tmp_path / "o.mkv"], scale=3, weights=w, **QUIET) as p:
        assert p.enhancer.arch == "srcnn-955"  # the arch a weights file names


def test_output_size_input_keeps_the_input_size(
    face_clip: Path, enhancer: Any, tmp_path: Path
) -> None:
    out = tmp_path / "out.mp4"
    with Pipeline(face_clip, [out], enhancer=enhancer, output_size="input", **QUIET) as p:
        p.run(duration_s=1.0)
    with av.open(str(out)) as c:
        s = c.streams.video[0]
        assert (s.width, s.height) == (640, 480)


def test_segmented_recording_every_file_playable(tmp_path: Path) -> None:
    pattern = tmp_path / "rec_{index:03d}.mp4"
    img = np.zeros((120, 160, 3), np.uint8)
    with SegmentedFileSink(
        pattern, segment_seconds=1.0, size_wh=(160, 120), time_base=LIVE_TIME_BASE, rate=30
    ) as sink:
        for i in range(105):  # 3.5 s at 30 fps
            img[:] = (i * 7) % 256
            sink.write(Frame(img, round(i * 3000 + 12345), LIVE_TIME_BASE, i))
    assert [p.name for p in sink.files] == [
        "rec_000.mp4",
        "rec_001.mp4",
        "rec_002.mp4",
        "rec_003.mp4",
    ]
    counts = []
    for path in sink.files:
        with av.open(str(path)) as c:
            frames = list(c.decode(video=0))
        assert frames[0].time == pytest.approx(0.0, abs=0.04)  # each file starts at 0
        counts.append(len(frames))
    assert counts == [30, 30, 30, 15]


def test_segment_names_from_time_never_overwrite(tmp_path: Path) -> None:
    kw: dict[str, Any] = dict(segment_seconds=1.0, size_wh=(64, 48), time_base=LIVE_TIME_BASE)
    a = SegmentedFileSink(tmp_path / "cam.mkv", **kw)
    b = SegmentedFileSink(tmp_path / "cam.mkv", **kw)  # same second: gets a _1 suffix
    a.close()
    b.close()
    assert a.files[0] != b.files[0]
    assert a.files[0].name.startswith("cam_") and a.files[0].suffix == ".mkv"


def test_mark_stale_labels_a_copy() -> None:
    img = np.full((480, 640, 3), 90, np.uint8)
    out = mark_stale(img)
    assert out.shape == img.shape and (img == 90).all()
    assert (out[:20, :60] != 90).any() and (out[-50:, -50:] == 90).all()


@pytest.mark.parametrize(
    ("location", "kind"),
    [
        ("out.mp4", "file"),
        ("rtsp://127.0.0.1:8554/x", "rtsp"),
        ("RTSPS://host/x", "rtsp"),
        ("virtualcam", "virtualcam"),
        ("virtualcam:/dev/video10", "virtualcam"),
        ("preview", "preview"),
    ],
)
def test_output_kind(location: str, kind: str) -> None:
    assert output_kind(location) == kind


def test_output_spec_checks() -> None:
    with pytest.raises(ConfigError, match="unsupported output"):
        OutputSpec(location="rtmp://host/live")
    with pytest.raises(ConfigError, match="segment_seconds applies to file outputs"):
        OutputSpec(location="rtsp://h/x", segment_seconds=10)
    with pytest.raises(ConfigError, match="h264"):
        OutputSpec(location="rtsp://h/x", codec="hevc")


def test_live_options_are_checked(face_clip: Path, enhancer: Any) -> None:
    with pytest.raises(ConfigError, match="queue_frames"):
        Pipeline(face_clip, ["x.mp4"], enhancer=enhancer, live=True, queue_frames=0)
    with pytest.raises(ConfigError, match="max_latency_ms"):
        Pipeline(face_clip, ["x.mp4"], enhancer=enhancer, live=True, max_latency_ms=-5)
    with pytest.raises(ConfigError, match="unknown pipeline option 'no_such_option'"):
        Pipeline(face_clip, ["x.mp4"], enhancer=enhancer, live=True, no_such_option=1)


def test_live_pipeline_is_the_one_pipeline_run_live(
    face_clip: Path, enhancer: Any, tmp_path: Path
) -> None:
    with pytest.warns(DeprecationWarning, match="LivePipeline is deprecated"):
        p = LivePipeline(face_clip, [tmp_path / "o.mkv"], enhancer=enhancer, status_every_s=0)
    with p:
        assert isinstance(p, Pipeline) and p.live


def test_missing_file_input_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found"):
        LiveSource(tmp_path / "nope.mp4", realtime=True)


# -- virtual camera and preview: tested up to the device / display boundary ---------------------


def test_virtualcam_without_the_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyvirtualcam", None)
    with pytest.raises(MissingExtraError, match=r"streamsr\[virtualcam\]"):
        VirtualCamSink(size_wh=(640, 480), fps=30)


def test_virtualcam_without_a_device_says_what_to_load() -> None:
    pytest.importorskip("pyvirtualcam", reason="the virtualcam extra is not installed")
    if sys.platform.startswith("linux") and list(Path("/dev").glob("video*")):
        pytest.skip("a video device exists here: the boundary test needs a machine without one")
    if not sys.platform.startswith("linux"):
        pytest.skip("the no-device message is checked on Linux (v4l2loopback)")
    with pytest.raises(SinkError, match="v4l2loopback") as info:
        VirtualCamSink(size_wh=(640, 480), fps=30)
    assert "modprobe v4l2loopback" in str(info.value)


def test_virtualcam_sends_frames_where_a_device_exists() -> None:
    pytest.importorskip("pyvirtualcam", reason="the virtualcam extra is not installed")
    try:
        cam = VirtualCamSink(size_wh=(320, 240), fps=30)
    except SinkError as exc:
        pytest.skip(f"no virtual camera device here: {exc}")
    with cam:
        for i in range(10):
            cam.write(Frame(np.full((240, 320, 3), i * 20, np.uint8), i, Fraction(1, 30), i))
    assert cam.frames_written == 10


def test_pipeline_with_virtualcam_fails_cleanly_without_device(
    face_clip: Path, enhancer: Any, tmp_path: Path
) -> None:
    pytest.importorskip("pyvirtualcam", reason="the virtualcam extra is not installed")
    if list(Path("/dev").glob("video*")):
        pytest.skip("a video device exists here")
    with pytest.raises(SinkError, match="virtual camera"):
        Pipeline(face_clip, [tmp_path / "rec.mkv", "virtualcam"], enhancer=enhancer, **QUIET)


def test_preview_without_display_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("display detection is checked on Linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(SinkError, match="no display"):
        PreviewSink()

"""Pipeline files, command-line glue, input locations and metrics (no network)."""

from __future__ import annotations

import argparse
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from streamsr import ConfigError, MissingExtraError, SourceError
from streamsr.runtime import LiveMetrics, MetricsServer, load_pipeline
from streamsr.runtime._live_cli import (
    add_live_arguments,
    add_run_parser,
    live_options_from_args,
    wants_live,
)
from streamsr.sources import CameraOptions, LiveSource, is_live
from streamsr.sources._live import input_spec, parse_camera

ROOT = Path(__file__).resolve().parents[2]
PIPELINES = sorted((ROOT / "pipelines").glob("*.toml"))


# -- pipeline files -------------------------------------------------------------------------------


def test_the_three_pipelines_are_shipped() -> None:
    assert {p.stem for p in PIPELINES} >= {"surveillance", "videoconf", "transcode"}


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: p.stem)
def test_every_pipeline_file_loads_and_validates(path: Path) -> None:
    cfg = load_pipeline(path)
    assert cfg.name == path.stem and cfg.outputs
    if cfg.mode == "live":
        assert cfg.live_options()["scale"] in (2, 3, 4)
        assert cfg.output_specs()
    else:
        assert cfg.offline_options()["scale"] in (2, 3, 4)


def test_pipeline_choices() -> None:
    s = load_pipeline(ROOT / "pipelines" / "surveillance.toml")
    kinds = [spec.kind for spec in s.output_specs()]
    assert kinds == ["rtsp", "file"] and s.output_specs()[1].segment_seconds
    assert s.enhance.mark and s.input.reconnect_attempts == -1
    v = load_pipeline(ROOT / "pipelines" / "videoconf.toml")
    assert v.output_specs()[0].kind == "virtualcam" and v.enhance.output_size == "input"
    assert v.live.max_latency_ms is not None and v.live.max_latency_ms <= 100
    t = load_pipeline(ROOT / "pipelines" / "transcode.toml")
    assert t.mode == "offline"


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "p.toml"
    p.write_text(text)
    return p


MINIMAL = '[input]\nlocation = "rtsp://cam/x"\n\n[[output]]\nlocation = "out.mp4"\n'


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (MINIMAL + "\n[enhance]\nsclae = 2\n", r"unknown key 'sclae' in \[enhance\]"),
        (
            MINIMAL.replace("[input]\n", "[input]\nretries = 3\n"),
            r"unknown key 'retries' in \[input\]",
        ),
        ("colour = 1\n" + MINIMAL, r"unknown key 'colour' in the top level"),
        (
            MINIMAL + '\n[enhance]\nscale = "2"\n',
            r"\[enhance\] scale must be an integer, got a string",
        ),
        (MINIMAL + "\n[enhance]\nmark = 1\n", r"\[enhance\] mark must be true or false"),
        (
            MINIMAL + '\n[live]\nmax_latency_ms = "fast"\n',
            r"\[live\] max_latency_ms must be a number",
        ),
        (MINIMAL + "\n[live]\nqueue_frames = 0\n", r"queue_frames must be an integer in \[1, 64\]"),
        (MINIMAL + '\n[enhance]\nvariant = "sharp"\n', r"variant must be one of 'clean', 'video'"),
        (MINIMAL.replace("out.mp4", "rtmp://x/y"), r"unsupported output"),
        ('[[output]]\nlocation = "o.mp4"\n', r"\[input\] table is missing"),
        ('[input]\nlocation = "a.mp4"\n', r"no \[\[output\]\] table"),
        ("mode = 'batch'\n" + MINIMAL, r"mode must be 'live' or 'offline'"),
        ("mode = 'offline'\n" + MINIMAL, r"is live; mode = 'offline' reads files"),
        ("[input\n", r"not valid TOML"),
    ],
)
def test_bad_pipeline_files_name_the_file_and_key(tmp_path: Path, text: str, pattern: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=pattern) as info:
        load_pipeline(path)
    assert str(path) in str(info.value)


def test_location_reads_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, MINIMAL.replace("rtsp://cam/x", "rtsp://admin:${CAM_PW}@cam/x"))
    monkeypatch.setenv("CAM_PW", "s3cret")
    assert load_pipeline(path).input.location == "rtsp://admin:s3cret@cam/x"
    monkeypatch.delenv("CAM_PW")
    with pytest.raises(ConfigError, match=r"\$\{CAM_PW\}, which is not set"):
        load_pipeline(path)


def test_overrides_replace_outputs_of_the_same_kind() -> None:
    cfg = load_pipeline(ROOT / "pipelines" / "surveillance.toml").with_overrides(
        input="rtsp://10.0.0.5/stream",
        outputs=["rtsp://127.0.0.1:9000/out", "/rec/cam1.mkv", "preview"],
    )
    assert cfg.input.location == "rtsp://10.0.0.5/stream"
    specs = cfg.output_specs()
    assert [s.location for s in specs] == ["rtsp://127.0.0.1:9000/out", "/rec/cam1.mkv", "preview"]
    assert specs[1].segment_seconds == 60  # the file's other settings are kept


def test_offline_overrides_are_validated() -> None:
    cfg = load_pipeline(ROOT / "pipelines" / "transcode.toml")
    with pytest.raises(ConfigError, match="exactly one file"):
        cfg.with_overrides(outputs=["rtsp://127.0.0.1:9000/out"])


# -- command line -------------------------------------------------------------------------------


def _enhance_like_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    p.add_argument("input", nargs="?")
    p.add_argument("-o", "--output")
    p.add_argument("--scale", type=int, default=2)
    add_live_arguments(p)
    return p


@pytest.mark.parametrize(
    ("argv", "live"),
    [
        (["in.mp4", "-o", "out.mp4"], False),
        (["rtsp://cam/x", "-o", "out.mp4"], True),
        (["camera:0", "-o", "virtualcam"], True),
        (["in.mp4", "-o", "out.mp4", "--realtime"], True),
        (["in.mp4", "-o", "rtsp://127.0.0.1:8554/x"], True),
        (["in.mp4", "-o", "out.mp4", "--max-latency-ms", "100"], True),
        (["in.mp4", "-o", "out.mp4", "--tee", "preview"], True),
    ],
)
def test_wants_live(argv: list[str], live: bool) -> None:
    assert wants_live(_enhance_like_parser().parse_args(argv)) is live


def test_live_arguments_become_options() -> None:
    args = _enhance_like_parser().parse_args(
        [
            "camera:0",
            "-o",
            "virtualcam",
            "--camera-size",
            "1280x720",
            "--camera-fps",
            "30",
            "--camera-pixel-format",
            "mjpeg",
            "--timeout",
            "3",
            "--reconnect-attempts",
            "-1",
            "--max-latency-ms",
            "80",
            "--output-size",
            "input",
        ]
    )
    o = live_options_from_args(args)
    assert o["camera"] == CameraOptions(size_wh=(1280, 720), fps=30.0, pixel_format="mjpeg")
    assert (o["open_timeout_s"], o["read_timeout_s"], o["reconnect_attempts"]) == (3.0, 3.0, -1)
    assert o["max_latency_ms"] == 80 and o["output_size"] == "input"


def test_live_arguments_fit_the_real_enhance_parser() -> None:
    """No option clashes with ``streamsr enhance``'s own, so the hook cannot break it."""
    from streamsr.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    enhance = sub.choices["enhance"]
    if any("--realtime" in a.option_strings for a in enhance._actions):
        return  # already hooked in
    add_live_arguments(enhance)
    if "run" not in sub.choices:
        add_run_parser(sub)
    args = parser.parse_args(["enhance", "rtsp://cam/x", "-o", "o.mp4", "--max-latency-ms", "50"])
    assert wants_live(args)


def test_run_check_validates(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_run_parser(parser.add_subparsers(dest="command"))
    for path in PIPELINES:
        args = parser.parse_args(["run", str(path), "--check"])
        assert args.func(args) == 0
    assert capsys.readouterr().out.count(": ok") == len(PIPELINES)


def test_run_a_live_pipeline_file_end_to_end(
    tmp_path: Path, face_clip: Path, enhancer: Any
) -> None:
    out = tmp_path / "out.mkv"
    path = _write(
        tmp_path,
        f"""name = "t"
[input]
location = "ignored.mp4"
realtime = true
[enhance]
weights = "{enhancer.meta["path"]}"
[live]
status_every_s = 0
[[output]]
location = "ignored.mkv"
""",
    )
    parser = argparse.ArgumentParser()
    add_run_parser(parser.add_subparsers(dest="command"))
    stats = tmp_path / "stats.json"
    args = parser.parse_args(
        [
            "run",
            str(path),
            "-i",
            str(face_clip),
            "-o",
            str(out),
            "--duration",
            "1.5",
            "--stats-json",
            str(stats),
        ]
    )
    assert args.func(args) == 0
    assert out.stat().st_size > 0 and '"frames_out"' in stats.read_text()


def test_run_the_transcode_pipeline_offline(tmp_path: Path, clip: Path, enhancer: Any) -> None:
    text = (ROOT / "pipelines" / "transcode.toml").read_text()
    text = text.replace("[enhance]\n", f'[enhance]\nweights = "{enhancer.meta["path"]}"\n', 1)
    path = _write(tmp_path, text.replace('preset = "slow"', 'preset = "ultrafast"'))
    out = tmp_path / "out.mp4"
    parser = argparse.ArgumentParser()
    add_run_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["run", str(path), "--input", str(clip), "--output", str(out)])
    assert args.func(args) == 0
    import av

    with av.open(str(out)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 30  # nothing dropped


# -- input locations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "live"),
    [
        ("rtsp://cam/x", True),
        ("rtsps://cam/x", True),
        ("https://host/live.m3u8", True),
        ("rtmp://host/app/key", True),
        ("udp://127.0.0.1:5000", True),
        ("camera:0", True),
        ("/dev/video2", True),
        ("dshow:video=Integrated Camera", True),
        ("clip.mp4", False),
        ("/data/clip.mkv", False),
    ],
)
def test_is_live(location: str, live: bool) -> None:
    assert is_live(location) is live


@pytest.mark.parametrize(
    ("location", "platform", "fmt", "device", "pixel_key"),
    [
        ("camera:1", "linux", "v4l2", "/dev/video1", "input_format"),
        ("/dev/video3", "linux", "v4l2", "/dev/video3", "input_format"),
        ("v4l2:/dev/video0", "darwin", "v4l2", "/dev/video0", "input_format"),
        ("camera:0", "darwin", "avfoundation", "0:none", "pixel_format"),
        (
            "avfoundation:FaceTime HD Camera",
            "darwin",
            "avfoundation",
            "FaceTime HD Camera:none",
            "pixel_format",
        ),
        ("dshow:Integrated Camera", "win32", "dshow", "video=Integrated Camera", "pixel_format"),
    ],
)
def test_camera_locations(
    monkeypatch: pytest.MonkeyPatch,
    location: str,
    platform: str,
    fmt: str,
    device: str,
    pixel_key: str,
) -> None:
    monkeypatch.setattr(sys, "platform", platform)
    spec = parse_camera(location, CameraOptions(size_wh=(1280, 720), fps=30, pixel_format="nv12"))
    assert (spec.format, spec.location) == (fmt, device)
    assert spec.options == {"video_size": "1280x720", "framerate": "30", pixel_key: "nv12"}


def test_camera_on_windows_needs_a_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    with pytest.raises(ConfigError, match="dshow:video=NAME"):
        parse_camera("camera:0")


def test_missing_camera_is_a_clear_error() -> None:
    if not sys.platform.startswith("linux") or Path("/dev/video9").exists():
        pytest.skip("needs Linux without /dev/video9")
    with pytest.raises(SourceError, match="/dev/video9"):
        LiveSource("camera:9", timeout=2.0)


def test_rtsp_input_options() -> None:
    spec = input_spec("rtsp://u:p@cam/x", transport="udp", timeout_s=4.0)
    assert spec.options["rtsp_transport"] == "udp"
    assert spec.options["timeout"] == "5000000"  # µs, a second past PyAV's own timeout
    assert "p@" not in repr(spec)
    with pytest.raises(ConfigError, match="transport"):
        input_spec("rtsp://cam/x", transport="quic")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unsupported live input scheme"):
        input_spec("srt://cam:9000")


# -- metrics --------------------------------------------------------------------------------------


def test_status_line_and_prometheus_endpoint() -> None:
    m = LiveMetrics(queue_depths=lambda: {"decoded": 1})
    for i in range(10):
        m.rate_in.tick(100.0 + i / 30)
        m.latency["end_to_end"].add(0.040 + i / 1000)
    m.frames_dropped, m.enhance_skips, m.reconnects = 3, 2, 1
    line = m.status_line()
    pytest.importorskip("prometheus_client", reason="the metrics extra is not installed")
    assert "e2e 44/49" in line and "dropped 3 in" in line and "skips 2" in line
    assert "reconnects 1" in line and "decoded=1" in line
    server = MetricsServer(m, port=0)
    try:
        assert server.host == "127.0.0.1"
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=5) as r:
            text = r.read().decode()
    finally:
        server.close()
    assert "streamsr_frames_dropped_total 3.0" in text
    assert "streamsr_enhance_skips_total 2.0" in text
    assert 'streamsr_latency_seconds{quantile="0.5",stage="end_to_end"} 0.0445' in text


def test_metrics_without_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    with pytest.raises(MissingExtraError, match=r"streamsr\[metrics\]"):
        MetricsServer(LiveMetrics(), port=0)

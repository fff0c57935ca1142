"""Pipeline files, command-line glue, input locations and metrics (no network)."""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from streamsr import ConfigError, MissingExtraError, SourceError
from streamsr.cli import build_parser
from streamsr.faces import CROP_ENLARGE
from streamsr.runtime import Metrics, MetricsServer, load_pipeline
from streamsr.sources import CameraOptions, LiveSource, is_live
from streamsr.sources._live import input_spec, parse_camera

ROOT = Path(__file__).resolve().parents[2]
SITES = {"site"}  # site files of streamsr serve (tests/runtime/test_serve.py loads them)
PIPELINES = sorted(p for p in (ROOT / "pipelines").glob("*.toml") if p.stem not in SITES)


# -- pipeline files -------------------------------------------------------------------------------


def test_the_three_pipelines_are_shipped() -> None:
    assert {p.stem for p in PIPELINES} >= {"surveillance", "videoconf", "transcode"}


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: p.stem)
def test_every_pipeline_file_loads_and_validates(path: Path) -> None:
    cfg = load_pipeline(path)
    assert cfg.name == path.stem and cfg.outputs
    assert cfg.options.enhance.scale in (2, 3, 4)
    assert cfg.options.source.live is (cfg.mode == "live")


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: p.stem)
def test_shipped_pipeline_files_use_the_stage_tables(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    load_pipeline(path)
    assert "belongs in" not in caplog.text


def test_old_enhance_keys_still_read_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = load_pipeline(_write(tmp_path, MINIMAL + "\n[enhance]\ndetect_every = 2\nmark = true\n"))
    assert cfg.options.faces.detect_every == 2 and cfg.options.compose.mark
    assert "detect_every belongs in [faces]" in caplog.text
    assert "mark belongs in [compose]" in caplog.text


def test_toml_keys_are_the_stage_option_fields() -> None:
    """A TOML key, a Python keyword and a flag cannot drift apart: the tables are built from
    the option classes' own fields."""
    import dataclasses

    from streamsr.compose import ComposeOptions
    from streamsr.enhance._options import EnhanceOptions
    from streamsr.faces import FaceOptions

    text = MINIMAL + "\n".join(
        f"[{table}]\n"
        + "\n".join(
            f"{f.name} = {_toml(f.default)}"
            for f in dataclasses.fields(cls)
            if f.default not in (None, dataclasses.MISSING)
        )
        for table, cls in (
            ("enhance", EnhanceOptions),
            ("faces", FaceOptions),
            ("compose", ComposeOptions),
        )
    )
    cfg = load_pipeline(_write_named(text))
    assert cfg.options.enhance == EnhanceOptions()
    assert cfg.options.faces == FaceOptions() and cfg.options.compose == ComposeOptions()


def _toml(v: Any) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else repr(v).replace("'", '"')


def _write_named(text: str) -> Path:
    import tempfile

    d = Path(tempfile.mkdtemp())
    return _write(d, text)


def test_pipeline_choices() -> None:
    s = load_pipeline(ROOT / "pipelines" / "surveillance.toml")
    kinds = [spec.kind for spec in s.outputs]
    assert kinds == ["rtsp", "file"] and s.outputs[1].segment_seconds
    assert s.options.compose.mark and s.options.source.reconnect_attempts == -1
    v = load_pipeline(ROOT / "pipelines" / "videoconf.toml")
    assert v.outputs[0].kind == "virtualcam" and v.options.compose.output_size == "input"
    ms = v.options.runtime.max_latency_ms
    assert ms is not None and ms <= 100
    assert v.options.faces.crop_enlarge < s.options.faces.crop_enlarge == CROP_ENLARGE
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
        (MINIMAL + "\n[compose]\nmark = 1\n", r"\[compose\] mark must be true or false"),
        (MINIMAL + "\n[faces]\ndetect_every = 0\n", r"detect_every must be an integer in"),
        (
            MINIMAL + "\n[faces]\ncrop_enlarge = 0.8\n",
            r"crop_enlarge must be a number in \[1, 3\]",
        ),
        (MINIMAL + '\n[enhance]\nbackend = "gpu"\n', r"backend must be one of 'auto'"),
        (
            MINIMAL + '\n[live]\nmax_latency_ms = "fast"\n',
            r"\[live\] max_latency_ms must be a number",
        ),
        (MINIMAL + "\n[live]\nqueue_frames = 0\n", r"queue_frames must be an integer in \[1, 64\]"),
        (
            MINIMAL + '\n[enhance]\nvariant = "sharp"\n',
            r"variant must be one of 'auto', 'clean', 'video'",
        ),
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
    assert load_pipeline(path).location == "rtsp://admin:s3cret@cam/x"
    monkeypatch.delenv("CAM_PW")
    with pytest.raises(ConfigError, match=r"\$\{CAM_PW\}, which is not set"):
        load_pipeline(path)


def test_overrides_replace_outputs_of_the_same_kind() -> None:
    cfg = load_pipeline(ROOT / "pipelines" / "surveillance.toml").with_overrides(
        input="rtsp://10.0.0.5/stream",
        outputs=["rtsp://127.0.0.1:9000/out", "/rec/cam1.mkv", "preview"],
    )
    assert cfg.location == "rtsp://10.0.0.5/stream"
    specs = cfg.outputs
    assert [s.location for s in specs] == ["rtsp://127.0.0.1:9000/out", "/rec/cam1.mkv", "preview"]
    assert specs[1].segment_seconds == 60  # the file's other settings are kept


def test_offline_overrides_are_validated() -> None:
    cfg = load_pipeline(ROOT / "pipelines" / "transcode.toml")
    with pytest.raises(ConfigError, match="rtsp output: for live runs only"):
        cfg.with_overrides(outputs=["rtsp://127.0.0.1:9000/out"])


# -- command line -------------------------------------------------------------------------------


def test_run_check_validates(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
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
    parser = build_parser()
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
    parser = build_parser()
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
    m = Metrics(queue_depths=lambda: {"decoded": 1})
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
        MetricsServer(Metrics(), port=0)

"""``streamsr serve``: the site file's validation, cameras sharing one network, the HTTP API.

Cameras here are real encoded files played in real time (``realtime = true``, as a camera would
deliver them); the RTSP cameras and a server killed mid-run are in tests/live/test_serve_rtsp.py.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import av
import pytest
from _media import make_clip

from streamsr._errors import ConfigError
from streamsr.runtime._serve import Site, load_site
from streamsr.runtime._shared import SharedEnhancer

DEMO = Path(__file__).resolve().parents[2] / "streamsr" / "demo" / "webcam_sister.mkv"


def _site(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "site.toml"
    p.write_text(body)
    return p


def _camera(name: str, src: Path, out: Path, extra: str = "") -> str:
    return (
        f'[[camera]]\nname = "{name}"\n{extra}[camera.input]\nlocation = "{src}"\n'
        f'realtime = true\n[[camera.output]]\nlocation = "{out}"\n'
    )


@pytest.mark.parametrize(
    "body, message",
    [
        ("[servr]\nport = 1\n", "servr"),
        (
            '[[camera]]\nname = "a"\ncolour = 1\n[camera.input]\nlocation = "x.mp4"\n'
            '[[camera.output]]\nlocation = "o.mp4"\n',
            "colour",
        ),
        ('[[camera]]\n[camera.input]\nlocation = "x.mp4"\n', "needs name"),
        ('[server]\nport = "80"\n', "port"),
    ],
)
def test_a_bad_site_file_is_one_error_naming_the_key_and_file(
    tmp_path: Path, body: str, message: str
) -> None:
    p = _site(tmp_path, body)
    with pytest.raises(ConfigError, match=message) as err:
        load_site(p)
    assert str(p) in str(err.value)


def test_the_shipped_site_file_loads() -> None:
    site = load_site(Path(__file__).resolve().parents[2] / "pipelines" / "site.toml")
    assert [n for n, _ in site.cameras] == ["door", "lobby"]
    lobby = dict(site.cameras)["lobby"]
    assert lobby.options.faces.detect_every == 2  # the camera's own table wins
    assert lobby.options.enhance.variant == "auto"  # the site's default
    assert site.server.host == "127.0.0.1"


def test_a_camera_naming_its_network_replaces_the_sites_quality(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "c.mp4", frames=5)
    body = (
        '[enhance]\nquality = "fast"\n'
        + _camera("a", src, tmp_path / "a.mp4")
        + _camera("b", src, tmp_path / "b.mp4", extra='[camera.enhance]\narch = "srcnn-955"\n')
        + _camera("c", src, tmp_path / "c.mp4", extra='[camera.enhance]\nquality = "best"\n')
    )
    cams = dict(load_site(_site(tmp_path, body)).cameras)
    assert (cams["a"].options.enhance.quality, cams["a"].options.enhance.arch) == ("fast", None)
    assert (cams["b"].options.enhance.quality, cams["b"].options.enhance.arch) == (
        None,
        "srcnn-955",
    )
    assert cams["c"].options.enhance.quality == "best"
    bad = '[enhance]\nquality = "turbo"\n' + _camera("a", src, tmp_path / "a.mp4")
    with pytest.raises(ConfigError, match="quality must be one of 'fast', 'balanced', 'best'"):
        load_site(_site(tmp_path, bad))


def test_duplicate_names_and_shared_recordings_are_refused(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "c.mp4", frames=5)
    two = _camera("a", src, tmp_path / "a.mp4") + _camera("a", src, tmp_path / "b.mp4")
    with pytest.raises(ConfigError, match="two cameras are named 'a'"):
        load_site(_site(tmp_path, two))
    same = _camera("a", src, tmp_path / "o.mp4") + _camera("b", src, tmp_path / "o.mp4")
    with pytest.raises(ConfigError, match="both record to"):
        load_site(_site(tmp_path, same))
    bad = _camera("a", src, tmp_path / "o.mp4", extra="[camera.faces]\ndetect_every = 0\n")
    with pytest.raises(ConfigError, match="detect_every"):
        load_site(_site(tmp_path, bad))


def _get(base: str, path: str, token: str | None = None) -> Any:
    req = urllib.request.Request(base + path)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as r:
        body = r.read().decode()
    return json.loads(body) if path != "/metrics" else body


def _call(base: str, method: str, path: str, body: Any = None, token: str | None = None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def _frames(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def test_cameras_share_one_network_and_the_api_adds_and_removes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREAMSR_TOKEN", "s3cret")
    site_file = _site(
        tmp_path,
        "[server]\nport = 0\n[enhance]\nscale = 2\n"
        + _camera("a", DEMO, tmp_path / "a.mkv")
        + _camera("b", DEMO, tmp_path / "b.mkv"),
    )
    site = Site(load_site(site_file))
    base = f"http://127.0.0.1:{site.port}"
    try:
        assert len(site._shared) == 1  # one network for both cameras
        assert _get(base, "/healthz") == {"ok": True, "cameras": 2}  # no token needed
        assert _call(base, "GET", "/api/cameras") == 401
        assert _call(base, "GET", "/api/cameras", token="wrong") == 401
        added = {
            "name": "c",
            "input": {"location": str(DEMO), "realtime": True},
            "output": [{"location": str(tmp_path / "c.mkv")}],
        }
        assert _call(base, "POST", "/api/cameras", added, token="s3cret") == 201
        assert _call(base, "POST", "/api/cameras", added, token="s3cret") == 422  # same name
        assert _call(base, "POST", "/api/cameras", {"name": "d"}, token="s3cret") == 422
        assert _call(base, "DELETE", "/api/cameras/nobody", token="s3cret") == 404
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # the clip is 2.9 s: each camera ends on its own
            states = {s["name"]: s["state"] for s in _get(base, "/api/cameras", "s3cret")}
            if all(v in ("stopped", "failed") for v in states.values()):
                break
            time.sleep(0.5)
        status = {s["name"]: s for s in _get(base, "/api/cameras", "s3cret")}
        assert {n: s["state"] for n, s in status.items()} == dict.fromkeys("abc", "stopped")
        metrics = _get(base, "/metrics", "s3cret")
        assert 'streamsr_frames_out_total{camera="c"}' in metrics
        assert "streamsr_latency_p95_ms" in metrics
        # the demo clip is H.264: each camera's status and metrics say how coarsely it is coded
        for cam in "abc":
            assert 1.0 < status[cam]["face_qp"] <= 51.0, status[cam]
            assert f'streamsr_face_qp{{camera="{cam}"}} {status[cam]["face_qp"]}' in metrics
        # the histogram: cumulative buckets ending in +Inf == count, per camera
        for cam in "abc":
            rows = [
                ln
                for ln in metrics.splitlines()
                if ln.startswith("streamsr_latency_seconds") and f'camera="{cam}"' in ln
            ]
            buckets = [int(ln.rsplit(" ", 1)[1]) for ln in rows if "_bucket" in ln]
            count = next(int(ln.rsplit(" ", 1)[1]) for ln in rows if "_count" in ln)
            assert buckets == sorted(buckets) and buckets[-1] == count > 0
            assert 'le="+Inf"' in [ln for ln in rows if "_bucket" in ln][-1]
        assert all(s["latency_p50_ms"] <= s["latency_p95_ms"] for s in status.values())
        assert _call(base, "POST", "/api/cameras/a/restart", token="s3cret") == 200
        assert _call(base, "DELETE", "/api/cameras/b", token="s3cret") == 200
        assert "b" not in {s["name"] for s in _get(base, "/api/cameras", "s3cret")}
    finally:
        site.close()
    shared: SharedEnhancer = next(iter(site._shared.values()))
    faces = sum(s.get("faces_enhanced", 0) for s in status.values())
    assert shared.crops >= faces > 0  # every enhanced face went through the one network
    for s in status.values():  # accounting, per camera
        assert s["frames_in"] == s["frames_out"] - s["frames_stale"] + s["frames_dropped"]
    for name in "bc":  # (a was restarted: its file is being rewritten)
        assert 0 < _frames(tmp_path / f"{name}.mkv") <= status[name]["frames_out"]


def test_an_unreachable_camera_reconnects_alone_and_its_password_stays_hidden(
    tmp_path: Path,
) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = (
        '[[camera]]\nname = "dead"\n[camera.input]\n'
        f'location = "rtsp://admin:hunter2@127.0.0.1:{port}/x"\n'
        "reconnect_attempts = -1\nreconnect_delay_s = 0.2\nopen_timeout_s = 1.0\n"
        f'[[camera.output]]\nlocation = "{tmp_path / "dead.mkv"}"\n'
    )
    once = (
        dead.replace('name = "dead"', 'name = "once"')
        .replace("reconnect_attempts = -1", "reconnect_attempts = 0")
        .replace("dead.mkv", "once.mkv")
    )
    body = "[server]\nport = 0\n" + dead + once + _camera("ok", DEMO, tmp_path / "ok.mkv")
    site = Site(load_site(_site(tmp_path, body)))
    base = f"http://127.0.0.1:{site.port}"
    try:

        def states() -> dict[str, Any]:
            return {s["name"]: s for s in _get(base, "/api/cameras")}

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            st = states()
            if st["dead"]["state"] == "reconnecting" and st["once"]["state"] == "failed":
                break
            time.sleep(0.2)
        st = states()
        assert st["dead"]["state"] == "reconnecting" and "Connection refused" in st["dead"]["error"]
        assert st["once"]["state"] == "failed"
        deadline = time.monotonic() + 60
        while states()["ok"].get("frames_in", 0) < 10 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert states()["ok"]["frames_in"] >= 10  # the others run meanwhile
        text = json.dumps(states()) + _get(base, "/metrics")
        assert "hunter2" not in text and "admin" not in text
    finally:
        site.close()

"""``streamsr serve`` with real RTSP cameras on 127.0.0.1: one camera's server killed and
restarted while the other camera goes on, both recording."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
from _live_servers import RtspServer, require_gst

from streamsr.runtime._serve import Site, load_site


def _wait(cond: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _status(site: Site) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in site.status()}


def test_one_camera_lost_and_back_while_the_other_goes_on(face_clip: Path, tmp_path: Path) -> None:
    require_gst()
    with (
        RtspServer("--loop", f"in={face_clip}@320x240") as s1,
        RtspServer("--loop", f"in={face_clip}@320x240") as s2,
    ):
        body = "[server]\nport = 0\n[enhance]\nscale = 2\n"
        for name, srv in (("a", s1), ("b", s2)):
            body += (
                f'[[camera]]\nname = "{name}"\n[camera.input]\nlocation = "{srv.url("in")}"\n'
                "reconnect_attempts = -1\nreconnect_delay_s = 0.2\nread_timeout_s = 2.0\n"
                f'[[camera.output]]\nlocation = "{tmp_path / name}.mkv"\n'
            )
        (tmp_path / "site.toml").write_text(body)
        site = Site(load_site(tmp_path / "site.toml"))
        try:
            _wait(
                lambda: all(s.get("frames_in", 0) > 15 for s in _status(site).values()),
                120,
                "both cameras to deliver frames",
            )
            s1.stop()
            _wait(lambda: _status(site)["a"]["state"] == "reconnecting", 60, "a to be lost")
            b_at_loss = _status(site)["b"]["frames_in"]
            _wait(
                lambda: _status(site)["b"]["frames_in"] > b_at_loss + 10,
                60,
                "b to go on while a is away",
            )
            assert _status(site)["a"]["state"] == "reconnecting"
            s1.start()
            _wait(lambda: _status(site)["a"].get("reconnects", 0) >= 1, 120, "a to reconnect")
            a_back = _status(site)["a"]["frames_in"]
            _wait(lambda: _status(site)["a"]["frames_in"] > a_back + 5, 60, "a's fresh frames")
            final = _status(site)
        finally:
            site.close()
    assert final["b"]["reconnects"] == 0 and final["b"]["state"] == "live"
    for name in "ab":
        s = final[name]
        # in = out - stale + dropped, plus the frames in flight when the status was read
        assert s["frames_in"] >= s["frames_out"] - s["frames_stale"] + s["frames_dropped"]
        with av.open(str(tmp_path / f"{name}.mkv")) as c:
            assert sum(1 for _ in c.decode(video=0)) > 0

"""``streamsr serve`` with real RTSP cameras on 127.0.0.1: one camera's server killed and
restarted while the other camera goes on, both recording."""

from __future__ import annotations

from pathlib import Path

import av
from _live_servers import RtspServer, by_name, require_gst, site_file, wait_for

from streamsr.runtime._serve import Site, load_site


def test_one_camera_lost_and_back_while_the_other_goes_on(face_clip: Path, tmp_path: Path) -> None:
    require_gst()
    with (
        RtspServer("--loop", f"in={face_clip}@320x240") as s1,
        RtspServer("--loop", f"in={face_clip}@320x240") as s2,
    ):
        site = Site(load_site(site_file(tmp_path, {"a": s1, "b": s2})))
        try:
            wait_for(
                lambda: all(s.get("frames_in", 0) > 15 for s in by_name(site).values()),
                120,
                "both cameras to deliver frames",
            )
            s1.stop()
            wait_for(lambda: by_name(site)["a"]["state"] == "reconnecting", 60, "a to be lost")
            b_at_loss = by_name(site)["b"]["frames_in"]
            wait_for(
                lambda: by_name(site)["b"]["frames_in"] > b_at_loss + 10,
                60,
                "b to go on while a is away",
            )
            assert by_name(site)["a"]["state"] == "reconnecting"
            s1.start()
            wait_for(lambda: by_name(site)["a"].get("reconnects", 0) >= 1, 120, "a to reconnect")
            a_back = by_name(site)["a"]["frames_in"]
            wait_for(lambda: by_name(site)["a"]["frames_in"] > a_back + 5, 60, "a's fresh frames")
            final = by_name(site)
        finally:
            site.close()
    assert final["b"]["reconnects"] == 0 and final["b"]["state"] == "live"
    for name in "ab":
        s = final[name]
        # in = out - stale + dropped, plus the frames in flight when the status was read
        assert s["frames_in"] >= s["frames_out"] - s["frames_stale"] + s["frames_dropped"]
        with av.open(str(tmp_path / f"{name}.mkv")) as c:
            assert sum(1 for _ in c.decode(video=0)) > 0

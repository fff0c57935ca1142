"""The operator's web view in a real headless Chromium, against ``streamsr serve`` reading two
cameras from the RTSP test server on 127.0.0.1: sign in, the grid plays both cameras at the
enhanced size, the camera page plays the original beside the enhanced, the gallery shows a
tracked face, a camera lost and back turns its tile to "reconnecting" and back to "live", and
the MJPEG fallback shows pictures. Screenshots go to the test's temporary folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _browser import chromium, playing, require_browser
from _live_servers import RtspServer, by_name, require_gst, site_file, wait_for

from streamsr.runtime._serve import Site, load_site

TOKEN = "browser-test-token"


def _tile_state(driver: Any, name: str) -> str:
    return str(
        driver.execute_script(
            "const t = document.querySelector(`article[data-camera='${arguments[0]}'] .state`);"
            "return t ? t.textContent : '';",
            name,
        )
    )


def test_the_web_view_in_chromium(
    face_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_gst()
    require_browser()
    monkeypatch.setenv("STREAMSR_TOKEN", TOKEN)
    with (
        RtspServer("--loop", f"in={face_clip}@320x240") as s1,
        RtspServer("--loop", f"in={face_clip}@320x240") as s2,
    ):
        head = "[enhance]\nscale = 2\n[compose]\nmark = true\n"
        site = Site(load_site(site_file(tmp_path, {"door": s1, "lobby": s2}, head=head)))
        base = f"http://127.0.0.1:{site.port}"
        driver = chromium()
        try:
            # signing in through the form (the page has no token before)
            driver.get(base + "/")
            assert "access token" in driver.page_source
            driver.get(base + "/login?next=/")
            driver.find_element("id", "token").send_keys(TOKEN)
            driver.find_element("css selector", "button[type=submit]").click()
            wait_for(lambda: driver.current_url == base + "/", 30, "the grid after sign-in")
            driver.get_log("browser")  # (the 401 of the page before; from here on, none)

            wait_for(
                lambda: len(driver.find_elements("css selector", "article.tile")) == 2,
                60,
                "two tiles",
            )
            st = wait_for(
                lambda: all(s.get("size_wh") for s in site.status()) and by_name(site),
                120,
                "both cameras live",
            )
            width = st["door"]["size_wh"][0]
            assert width == 2 * st["door"]["input_size_wh"][0] == 640
            wait_for(
                lambda: playing(driver, "article.tile video", width),
                60,
                "both tiles playing enhanced video",
            )
            assert _tile_state(driver, "door") == "live" == _tile_state(driver, "lobby")
            driver.save_screenshot(str(tmp_path / "grid.png"))

            # glass-to-glass latency samples exist (the page read each frame's decode time)
            lat = driver.execute_script(
                "return window.streamsr.players.map(p => p.latencies.length)"
            )
            assert all(n > 0 for n in lat), lat

            # one camera lost and back: its tile says so; the other goes on playing
            s1.stop()
            wait_for(
                lambda: _tile_state(driver, "door") == "reconnecting",
                60,
                "door's tile to say reconnecting",
            )
            assert _tile_state(driver, "lobby") == "live"
            wait_for(
                lambda: playing(driver, "article[data-camera='lobby'] video", width),
                60,
                "lobby playing on while door is away",
            )
            s1.start()
            wait_for(
                lambda: _tile_state(driver, "door") == "live", 120, "door's tile to be live again"
            )
            wait_for(
                lambda: playing(driver, "article[data-camera='door'] video", width),
                60,
                "door playing again",
            )

            # the camera page: original beside enhanced
            driver.get(base + "/camera/door")
            wait_for(
                lambda: playing(driver, "#player-original video", width // 2),
                60,
                "the original playing at the input size",
            )
            wait_for(
                lambda: playing(driver, "#player-enhanced video", width),
                60,
                "the enhanced playing at the output size",
            )
            marks = driver.find_element("id", "marks")
            assert marks.is_selected()
            driver.save_screenshot(str(tmp_path / "camera.png"))

            # the gallery: a tracked face, bicubic beside enhanced
            driver.get(base + "/gallery")
            wait_for(
                lambda: driver.execute_script(
                    "return [...document.querySelectorAll('.face img')]"
                    ".filter(i => i.complete && i.naturalWidth > 0).length"
                ),
                60,
                "a gallery image",
            )
            driver.save_screenshot(str(tmp_path / "gallery.png"))

            # the MJPEG fallback (as for a browser without MSE)
            driver.get(base + "/?mjpeg=1")
            wait_for(
                lambda: driver.execute_script(
                    "return [...document.querySelectorAll('article.tile img')]"
                    ".filter(i => i.naturalWidth === arguments[0]).length === 2",
                    width,
                ),
                60,
                "both MJPEG tiles showing pictures",
            )
            severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
            assert not severe, severe
        finally:
            driver.quit()
            site.close()
    for shot in ("grid", "camera", "gallery"):
        assert (tmp_path / f"{shot}.png").stat().st_size > 10_000
    # the browser's viewing did not stop the recordings
    for name in ("door", "lobby"):
        assert (tmp_path / f"{name}.mkv").stat().st_size > 0

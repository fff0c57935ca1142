"""The web view's HTTP side without a browser: the token on pages, API and WebSocket; the
security headers; downloads confined to the recordings; the gallery's PNGs and what their
metadata says; bad requests answered with a clear error and nothing changed."""

from __future__ import annotations

import io
import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from streamsr._errors import ConfigError
from streamsr.runtime._serve import Site, load_site
from streamsr.runtime._webapp import is_loopback

DEMO = Path(__file__).resolve().parents[2] / "streamsr" / "demo" / "webcam_sister.mkv"
TOKEN = "t0ken-for-tests"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _req(
    base: str,
    path: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(base + path, data=body, method=method, headers=headers or {})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=60) as r:
            return int(r.status), dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return int(e.code), dict(e.headers), e.read()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One camera playing the bundled clip in real time (it ends after 2.9 s and stays listed),
    with a token."""
    tmp = tmp_path_factory.mktemp("web")
    os.environ["STREAMSR_TOKEN"] = TOKEN
    try:
        (tmp / "site.toml").write_text(
            "[server]\nport = 0\n[enhance]\nscale = 2\n"
            f'[[camera]]\nname = "a"\n[camera.input]\nlocation = "{DEMO}"\nrealtime = true\n'
            f'[[camera.output]]\nlocation = "{tmp / "rec" / "a.mkv"}"\n'
        )
        (tmp / "rec").mkdir()
        s = Site(load_site(tmp / "site.toml"))
    finally:
        del os.environ["STREAMSR_TOKEN"]
    s.tmp = tmp
    s.base = f"http://127.0.0.1:{s.port}"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # the clip plays to its end
        st = json.loads(_req(s.base, "/api/cameras/a", headers=auth)[2])
        if st["state"] in ("stopped", "failed"):
            break
        time.sleep(0.3)
    assert st["state"] == "stopped", st
    yield s
    s.close()


AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize(
    "path", ["/", "/gallery", "/camera/a", "/api/cameras", "/api/tracks", "/metrics"]
)
def test_every_page_and_api_needs_the_token(site: Any, path: str) -> None:
    code, headers, _body = _req(site.base, path, headers={"Accept": "text/html"})
    assert code == 401
    assert "script-src 'self'" in headers["content-security-policy"]
    code, _, _ = _req(site.base, path, headers={"Authorization": "Bearer wrong"})
    assert code == 401
    code, headers, _ = _req(site.base, path, headers=AUTH)
    assert code == 200
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"


def test_health_login_and_static_files_need_no_token(site: Any) -> None:
    assert _req(site.base, "/healthz")[0] == 200
    assert _req(site.base, "/login")[0] == 200
    code, _headers, body = _req(site.base, "/static/app.js")
    assert code == 200 and b"MediaSource" in body


def test_signing_in_sets_a_strict_http_only_cookie_that_opens_the_api(site: Any) -> None:
    code, _, _ = _req(site.base, "/login", method="POST", body=b"token=nope&next=/")
    assert code == 401
    code, headers, _ = _req(
        site.base, "/login", method="POST", body=f"token={TOKEN}&next=/gallery".encode()
    )
    assert code == 303 and headers["location"] == "/gallery"
    cookie = headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    jar = cookie.split(";", 1)[0]
    assert _req(site.base, "/api/cameras", headers={"Cookie": jar})[0] == 200
    assert _req(site.base, "/api/cameras", headers={"Cookie": "streamsr_token=x"})[0] == 401
    # an offsite "next" is not followed
    _, headers, _ = _req(
        site.base, "/login", method="POST", body=f"token={TOKEN}&next=//evil.example".encode()
    )
    assert headers["location"] == "/"


def test_the_websocket_is_refused_without_the_token_and_accepted_with_it(site: Any) -> None:
    url = f"ws://127.0.0.1:{site.port}/api/cameras/a/live/enhanced"
    with pytest.raises(InvalidStatus) as err:
        connect(url, open_timeout=30).close()
    assert err.value.response.status_code == 403
    with pytest.raises(InvalidStatus):
        connect(url, additional_headers={"Authorization": "Bearer wrong"}, open_timeout=30)
    with connect(url, additional_headers=AUTH, open_timeout=30) as ws:
        assert ws.protocol.state.name == "OPEN"
    with pytest.raises(InvalidStatus):  # no such camera
        connect(url.replace("/a/", "/nobody/"), additional_headers=AUTH, open_timeout=30)


def test_recordings_download_and_nothing_outside_them(site: Any) -> None:
    rec = site.tmp / "rec"
    (rec / "a_evil.mkv").symlink_to("/etc/passwd")  # a link in the folder is not served
    (site.tmp / "a_outside.mkv").write_bytes(b"secret")
    code, _, body = _req(site.base, "/api/cameras/a/recordings", headers=AUTH)
    names = [r["name"] for r in json.loads(body)]
    assert names == ["a.mkv"]
    code, _, body = _req(site.base, "/api/cameras/a/recordings/a.mkv", headers=AUTH)
    assert code == 200 and body == (rec / "a.mkv").read_bytes()
    for bad in (
        "a_evil.mkv",
        "..%2Fa_outside.mkv",
        "%2Fetc%2Fpasswd",
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "../a_outside.mkv",
    ):
        code, _, body = _req(site.base, f"/api/cameras/a/recordings/{bad}", headers=AUTH)
        assert code == 404, bad
        assert b"secret" not in body and b"root:" not in body


def test_the_gallery_png_says_it_was_enhanced_and_by_what(site: Any) -> None:
    code, _, body = _req(site.base, "/api/cameras/a/tracks", headers=AUTH)
    tracks = [t for t in json.loads(body) if t["has_image"]]
    assert code == 200 and tracks, "the clip's face was tracked and kept"
    t = tracks[0]
    assert t["camera"] == "a" and t["first_seen"] <= t["last_seen"]
    base = f"/api/cameras/a/tracks/{t['track']}"
    code, headers, body = _req(site.base, f"{base}/enhanced.png?download=1", headers=AUTH)
    assert code == 200 and "attachment" in headers["content-disposition"]
    img = Image.open(io.BytesIO(body))
    assert img.text["streamsr:enhanced"] == "yes"
    assert img.text["streamsr:model"] and img.text["streamsr:scale"] == "2"
    assert any(k.startswith("streamsr:weights_") for k in img.text)
    _, _, bic = _req(site.base, f"{base}/bicubic.png", headers=AUTH)
    b = Image.open(io.BytesIO(bic))
    assert b.text["streamsr:enhanced"] == "no" and b.size == img.size
    _, _, pair = _req(site.base, f"{base}/pair.png", headers=AUTH)
    assert Image.open(io.BytesIO(pair)).size[0] == 2 * img.size[0] + 4
    assert _req(site.base, f"{base}/other.png", headers=AUTH)[0] == 404
    assert _req(site.base, "/api/cameras/a/tracks/99999/pair.png", headers=AUTH)[0] == 404
    assert _req(site.base, "/api/cameras/a/tracks/x/pair.png", headers=AUTH)[0] == 404


@pytest.mark.parametrize(
    "method, path, body, code",
    [
        ("POST", "/api/cameras", b"{not json", 422),
        ("POST", "/api/cameras", b"[1, 2]", 422),
        ("POST", "/api/cameras", b'{"name": "b", "colour": 1}', 422),
        ("POST", "/api/cameras", b'{"name": "a", "input": {"location": "x.mp4"}}', 422),
        ("GET", "/api/cameras/nobody", None, 404),
        ("GET", "/api/cameras/nobody/tracks", None, 404),
        ("DELETE", "/api/cameras/nobody", None, 404),
        ("POST", "/api/cameras/nobody/restart", None, 404),
        ("GET", "/api/cameras/a/restart", None, 405),  # no state change on GET
        ("GET", "/no/such/page", None, 404),
    ],
)
def test_bad_requests_are_a_clear_error_and_change_nothing(
    site: Any, method: str, path: str, body: bytes | None, code: int
) -> None:
    before = json.loads(_req(site.base, "/api/cameras", headers=AUTH)[2])
    got, _, answer = _req(site.base, path, method=method, body=body, headers=AUTH)
    assert got == code
    assert json.loads(answer)["error"]
    after = json.loads(_req(site.base, "/api/cameras", headers=AUTH)[2])
    assert [c["name"] for c in after] == [c["name"] for c in before] == ["a"]
    assert _req(site.base, "/healthz")[0] == 200  # and it goes on serving


def test_binding_beyond_loopback_needs_a_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STREAMSR_TOKEN", raising=False)
    (tmp_path / "site.toml").write_text('[server]\nhost = "0.0.0.0"\nport = 0\n')
    with pytest.raises(ConfigError, match="needs an access token"):
        Site(load_site(tmp_path / "site.toml"))
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("")

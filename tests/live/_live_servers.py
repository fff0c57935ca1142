"""Servers on 127.0.0.1 for the live tests: GStreamer's RTSP server in a subprocess, and a
TCP server that accepts and never answers.

Imported as ``from _live_servers import ...`` (pytest puts the test folder on ``sys.path``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SERVER_SCRIPT = Path(__file__).with_name("rtsp_server.py")
GST_PYTHON = os.environ.get("STREAMSR_GST_PYTHON", "/usr/bin/python3")
DEBIAN_PACKAGES = (
    "gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-base gstreamer1.0-plugins-good "
    "gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad gstreamer1.0-libav"
)
_PROBE = """
import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gst, GstRtspServer
Gst.init(None)
missing = [e for e in ("x264enc", "intervideosrc", "rtph264pay", "rtph264depay", "h264parse",
                       "appsrc", "appsink", "decodebin", "videotestsrc")
           if Gst.ElementFactory.find(e) is None]
print(" ".join(missing))
"""


@functools.cache
def gst_unavailable() -> str | None:
    """Why GStreamer's RTSP server cannot run here, or None when it can."""
    if not Path(GST_PYTHON).exists():
        return f"{GST_PYTHON} not found (the GStreamer RTSP server runs under Debian's Python)"
    try:
        out = subprocess.run(
            [GST_PYTHON, "-c", _PROBE], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run {GST_PYTHON}: {exc}"
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["?"])[-1]
        return f"GStreamer RTSP server not importable ({last}); apt-get install {DEBIAN_PACKAGES}"
    if out.stdout.strip():
        return (
            f"GStreamer elements missing: {out.stdout.strip()}; apt-get install {DEBIAN_PACKAGES}"
        )
    return None


def require_gst() -> None:
    reason = gst_unavailable()
    if reason is not None:
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RtspServer:
    """``tests/live/rtsp_server.py`` on a free port; stop, restart, pause and resume it."""

    def __init__(self, *args: str, port: int | None = None) -> None:
        self.args = list(args)
        self.port = port or free_port()
        self.proc: subprocess.Popen[str] | None = None

    def url(self, path: str, *, user: str | None = None, password: str | None = None) -> str:
        auth = f"{user}:{password}@" if user is not None else ""
        return f"rtsp://{auth}127.0.0.1:{self.port}/{path}"

    def start(self, timeout_s: float = 20.0) -> RtspServer:
        for _ in range(3):  # the port may linger for a moment after a stop
            self.proc = subprocess.Popen(
                [GST_PYTHON, str(SERVER_SCRIPT), "--port", str(self.port), *self.args],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            line = _readline(self.proc, timeout_s)
            if line.startswith("READY"):
                return self
            err = self._kill()
            if "cannot listen" not in err:
                raise RuntimeError(f"RTSP test server did not start: {line!r} {err[-2000:]}")
            time.sleep(0.5)
        raise RuntimeError(f"RTSP test server cannot listen on 127.0.0.1:{self.port}")

    def _kill(self) -> str:
        proc, self.proc = self.proc, None
        if proc is None:
            return ""
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGCONT)
            proc.terminate()
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        return err or ""

    def stop(self) -> None:
        self._kill()

    def pause(self) -> None:
        """Freeze the server: connections stay open, nothing is sent (a stalled camera)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def __enter__(self) -> RtspServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _readline(proc: subprocess.Popen[str], timeout_s: float) -> str:
    result: list[str] = []
    t = threading.Thread(
        target=lambda: result.append(proc.stdout.readline() if proc.stdout else "")
    )
    t.daemon = True
    t.start()
    t.join(timeout_s)
    return result[0].strip() if result else ""


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never sends a byte (the classic camera hang)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = int(self.sock.getsockname()[1])
        self.accepted = 0
        self._conns: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            self._conns.append(conn)

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for c in self._conns:
            c.close()
        self.sock.close()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd")) if sys.platform.startswith("linux") else 0


def wait_for(cond: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Poll ``cond`` until it returns something true (returned), or fail naming ``what``."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what} (last: {last!r})")


def site_file(
    tmp_path: Path, cameras: dict[str, RtspServer], *, head: str = "[enhance]\nscale = 2\n"
) -> Path:
    """A ``streamsr serve`` site file: each camera reads ``/in`` of its server, reconnects for
    ever, fast, and records to ``tmp_path/NAME.mkv``; the API on a free port."""
    body = "[server]\nport = 0\n" + head
    for name, srv in cameras.items():
        body += (
            f'[[camera]]\nname = "{name}"\n[camera.input]\nlocation = "{srv.url("in")}"\n'
            "reconnect_attempts = -1\nreconnect_delay_s = 0.2\nread_timeout_s = 2.0\n"
            f'[[camera.output]]\nlocation = "{tmp_path / name}.mkv"\n'
        )
    path = tmp_path / "site.toml"
    path.write_text(body)
    return path


def by_name(site: Any) -> dict[str, dict[str, Any]]:
    """A running site's camera statuses by camera name."""
    return {s["name"]: s for s in site.status()}

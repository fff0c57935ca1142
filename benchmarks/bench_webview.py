"""The web view's glass-to-glass latency and the server's CPU per viewer.

One camera (the webcam clip with one face, looped live by the RTSP test server on 127.0.0.1 at
``--size``), served by ``streamsr serve`` in its own process (x2, recording to a file), watched
for ``--seconds`` per row by 0, 1, 2 and 4 viewers. The first viewer is a real headless
Chromium on the grid page: for every frame it presents it takes ``performance.timeOrigin +
presentationTime`` from ``requestVideoFrameCallback`` minus the Unix time at which the frame
left streamsr's decoder (sent beside each fragment): that is glass-to-glass inside this machine
(decode, detect, enhance, compose, the web encode, the WebSocket, MSE, the browser's decode
and presentation; the camera's own encode and the RTSP hop are before it). The other viewers
are WebSocket clients that read every message (what a browser costs the server, without the
browser's CPU on this machine's two cores). Server CPU is the ``serve`` process's user+system
time per wall second (100 % = one core).

    python benchmarks/bench_webview.py [--size 640x480] [--close-face] [--viewers 0 1 2 4]
        [--seconds 20] [--json] [--screenshots DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "live"))
VIDEO = ROOT.parent / "shared" / "data" / "video"
CLIP = VIDEO / "webcam_small_faces" / "sister.mkv"
CLOSE_FACE = VIDEO / "talking_heads" / "closeup.mp4"


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


class WsViewer(threading.Thread):
    """A viewer that reads every message of the live stream and throws it away."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.stop, self.bytes = url, threading.Event(), 0

    def run(self) -> None:
        from websockets.sync.client import connect

        with connect(self.url, open_timeout=30, max_size=None) as ws:
            while not self.stop.is_set():
                try:
                    msg = ws.recv(timeout=1.0)
                except TimeoutError:
                    continue
                self.bytes += len(msg)


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))] if xs else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--size", default="640x480", help="camera picture size (default 640x480)")
    ap.add_argument(
        "--close-face",
        action="store_true",
        help="the close-up talking head (a face of 250-400 px, the expensive case) as the camera",
    )
    ap.add_argument("--viewers", type=int, nargs="+", default=[0, 1, 2, 4])
    ap.add_argument("--seconds", type=float, default=20.0, help="measured seconds per row")
    ap.add_argument("--warmup", type=float, default=8.0, help="seconds before each row")
    ap.add_argument("--json", action="store_true", help="one JSON object per row")
    ap.add_argument("--screenshots", type=Path, help="save the grid, a camera page, the gallery")
    args = ap.parse_args()

    from _browser import browser_unavailable, chromium
    from _live_servers import RtspServer, free_port, gst_unavailable, wait_for

    for why in (gst_unavailable(), browser_unavailable()):
        if why:
            print(f"cannot run: {why}", file=sys.stderr)
            return 2
    clip = CLOSE_FACE if args.close_face else CLIP
    if not clip.is_file():
        print(f"cannot run: {clip} is missing (the shared data)", file=sys.stderr)
        return 2
    rows: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory() as tmp_s,
        RtspServer("--loop", f"in={clip}@{args.size}") as cam,
    ):
        tmp = Path(tmp_s)
        port = free_port()
        (tmp / "site.toml").write_text(
            f"[server]\nport = {port}\n[enhance]\nscale = 2\n[compose]\nmark = true\n"
            f'[[camera]]\nname = "cam"\n[camera.input]\nlocation = "{cam.url("in")}"\n'
            "reconnect_attempts = -1\n"
            f'[[camera.output]]\nlocation = "{tmp / "cam.mkv"}"\n'
        )
        server = subprocess.Popen(
            [sys.executable, "-m", "streamsr", "-q", "serve", str(tmp / "site.toml")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        base = f"http://127.0.0.1:{port}"
        driver = None
        ws_viewers: list[WsViewer] = []
        try:

            def live() -> bool:
                try:
                    return _get(base + "/api/cameras")[0]["state"] == "live"
                except (OSError, ValueError, IndexError):
                    return False

            wait_for(live, 120, "the camera to be live")
            for n in sorted(args.viewers):
                if n >= 1 and driver is None:
                    driver = chromium()
                    driver.get(base + "/")
                while len(ws_viewers) < max(0, n - 1):
                    v = WsViewer(f"ws://127.0.0.1:{port}/api/cameras/cam/live/enhanced")
                    v.start()
                    ws_viewers.append(v)
                time.sleep(args.warmup)
                if driver is not None:
                    driver.execute_script("window.streamsr.players.forEach(p => p.latencies = [])")
                st0 = _get(base + "/api/cameras")[0]
                c0, t0 = _cpu_s(server.pid), time.monotonic()
                time.sleep(args.seconds)
                cpu = (_cpu_s(server.pid) - c0) / (time.monotonic() - t0)
                st1 = _get(base + "/api/cameras")[0]
                lat: list[float] = []
                if driver is not None:
                    lat = driver.execute_script("return window.streamsr.players[0].latencies")
                frames = st1["frames_out"] - st0["frames_out"]
                rows.append(
                    {
                        "size": args.size,
                        "clip": clip.stem,
                        "viewers": n,
                        "server_cpu_pct": round(100 * cpu, 1),
                        "fps_out": round(frames / args.seconds, 1),
                        "dropped": st1["frames_dropped"] - st0["frames_dropped"],
                        "presented_fps": round(len(lat) / args.seconds, 1),
                        "g2g_p50_ms": round(statistics.median(lat), 1) if lat else None,
                        "g2g_p95_ms": round(_pct(lat, 0.95), 1) if lat else None,
                    }
                )
                if args.json:
                    print(json.dumps(rows[-1]), flush=True)
            if args.screenshots and driver is not None:
                args.screenshots.mkdir(parents=True, exist_ok=True)
                driver.set_window_size(1000, 640)
                for page, name in (
                    ("/", "grid"),
                    ("/camera/cam", "camera"),
                    ("/gallery", "gallery"),
                ):
                    driver.get(base + page)
                    time.sleep(6)
                    driver.save_screenshot(str(args.screenshots / f"{name}.png"))
        finally:
            for v in ws_viewers:
                v.stop.set()
            if driver is not None:
                driver.quit()
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
    if not args.json:
        base_cpu = next((r["server_cpu_pct"] for r in rows if r["viewers"] == 0), None)
        one = next((r["server_cpu_pct"] for r in rows if r["viewers"] == 1), None)
        print(
            "| size | viewers | server CPU % | CPU of the viewers, % | fps out | dropped | "
            "presented fps | glass-to-glass p50 / p95 ms |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for r in rows:
            extra = "" if base_cpu is None else f"{r['server_cpu_pct'] - base_cpu:+.1f}"
            g2g = "-" if r["g2g_p50_ms"] is None else f"{r['g2g_p50_ms']} / {r['g2g_p95_ms']}"
            print(
                f"| {r['size']} | {r['viewers']} | {r['server_cpu_pct']} | {extra} | "
                f"{r['fps_out']} | {r['dropped']} | {r['presented_fps']} | {g2g} |"
            )
        two = next((r["server_cpu_pct"] for r in rows if r["viewers"] == 2), None)
        if None not in (base_cpu, one, two) and one > base_cpu:  # type: ignore[operator]
            first, second = one - base_cpu, two - one  # type: ignore[operator]
            print(
                f"\nfirst viewer +{first:.1f} % CPU, second +{second:.1f} % "
                f"({100 * second / first:.0f} % of the first's)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

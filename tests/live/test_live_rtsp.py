"""Live streams against a real RTSP server on 127.0.0.1 (GStreamer's, in a subprocess).

Every test here is marked ``network`` and skips, saying why, when GStreamer's RTSP server
cannot run (see ``_live_servers.DEBIAN_PACKAGES``).
"""

from __future__ import annotations

import importlib.util
import itertools
import logging
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from _live_servers import RtspServer, SilentServer, free_port, open_fds, require_gst

from streamsr import Frame, SourceError, StreamTimeoutError
from streamsr.runtime import Pipeline
from streamsr.sinks import RtspSink
from streamsr.sources import LIVE_TIME_BASE, LiveSource

pytestmark = pytest.mark.network

FAST = dict(status_every_s=0, open_timeout_s=2.0, read_timeout_s=2.0, reconnect_delay_s=0.3)


def _read_rtsp(url: str, n: int, out: dict[str, Any], *, timeout_s: float = 15.0) -> None:
    """Read ``n`` frames of ``url`` (PyAV, TCP) into ``out["sizes"]``; errors into ``out``."""
    try:
        with av.open(url, options={"rtsp_transport": "tcp"}, timeout=(timeout_s, 5.0)) as c:
            sizes = []
            for f in c.decode(video=0):
                sizes.append((f.width, f.height))
                if len(sizes) >= n:
                    break
            out["sizes"] = sizes
    except Exception as exc:  # reported by the test
        out["error"] = exc


def _file_times(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.array([f.time for f in c.decode(video=0)], np.float64)


def test_rtsp_in_enhanced_rtsp_out_read_back(rtsp_server: RtspServer, enhancer: Any) -> None:
    """Read the live stream, enhance x2, publish to /push; another PyAV client reads /view."""
    viewer: dict[str, Any] = {}
    metrics: dict[str, str] = {}
    with_metrics = importlib.util.find_spec("prometheus_client") is not None
    with Pipeline(
        rtsp_server.url("in"),
        [rtsp_server.url("push")],
        enhancer=enhancer,
        metrics_port=0 if with_metrics else None,
        **FAST,
    ) as p:

        def client() -> None:
            _read_rtsp(rtsp_server.url("view"), 30, viewer)
            if with_metrics:
                url = f"http://127.0.0.1:{p.metrics_port}/metrics"
                with urllib.request.urlopen(url, timeout=5) as r:
                    metrics["text"] = r.read().decode()

        t = threading.Thread(target=client, daemon=True)
        t.start()
        st = p.run(duration_s=7)
    t.join(timeout=20)
    assert "error" not in viewer, viewer.get("error")
    assert viewer["sizes"] == [(640, 480)] * 30  # 320x240 in, x2 out
    assert st.frames_out > 0 and st.frames_in >= st.frames_out
    assert st.faces_enhanced > 0
    assert st.reconnects == 0 and st.frames_stale == 0
    if not with_metrics:
        return
    text = metrics["text"]
    for name in ("streamsr_fps_in", "streamsr_frames_dropped_total", "streamsr_reconnects_total"):
        assert name in text
    assert 'streamsr_latency_seconds{quantile="0.95",stage="end_to_end"}' in text
    assert re.search(r'streamsr_queue_depth\{queue="decoded"\} \d', text)


def test_server_restart_reconnects_and_output_carries_on(
    rtsp_server: RtspServer, enhancer: Any, tmp_path: Path
) -> None:
    out = tmp_path / "out.mkv"
    counts: dict[str, int] = {}
    p = Pipeline(rtsp_server.url("in"), [out], enhancer=enhancer, **FAST)

    def chaos() -> None:
        time.sleep(3)
        rtsp_server.stop()
        counts["in_at_stop"] = p.metrics.frames_in
        time.sleep(3)
        rtsp_server.start()
        counts["in_at_restart"] = p.metrics.frames_in

    t = threading.Thread(target=chaos, daemon=True)
    with p:
        t.start()
        st = p.run(duration_s=13)
    t.join(timeout=20)
    assert st.reconnects >= 1
    assert st.frames_stale > 0
    assert st.frames_in > counts["in_at_restart"]  # fresh frames after the restart
    times = _file_times(out)
    written = st.outputs[str(out)]
    assert len(times) == written["frames_written"]
    assert written["frames_written"] + written["queue_dropped"] == st.frames_out
    # Continuous output: stale repeats fill the 3 s outage, so no hole comes near its length
    # (the stale delay is 1 s; the rest is slack for a busy machine).
    assert np.diff(times).max() < 2.5
    assert times[-1] - times[0] > 10


def test_stalled_server_read_timeout_then_recovery(
    rtsp_server: RtspServer, enhancer: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A server that stops sending (SIGSTOP) trips the read timeout; once it resumes, the
    pipeline reconnects by itself."""
    p = Pipeline(
        rtsp_server.url("in"),
        [tmp_path / "out.mkv"],
        enhancer=enhancer,
        **dict(FAST, read_timeout_s=1.5, open_timeout_s=1.5),
    )

    def chaos() -> None:
        time.sleep(2.5)
        rtsp_server.pause()
        time.sleep(4)
        rtsp_server.resume()

    t = threading.Thread(target=chaos, daemon=True)
    with caplog.at_level(logging.WARNING, logger="streamsr"), p:
        t.start()
        st = p.run(duration_s=13)
    t.join(timeout=20)
    assert st.reconnects >= 1, caplog.text
    assert st.frames_stale > 0
    assert "no data for 1.5 s" in caplog.text
    assert "reconnected after" in caplog.text


def test_silent_server_times_out_opening() -> None:
    """A server that accepts the connection and never answers: StreamTimeoutError in time."""
    with SilentServer() as srv:
        t = time.monotonic()
        with pytest.raises(StreamTimeoutError, match=r"no answer from rtsp://\*\*\*@127\.0\.0\.1"):
            LiveSource(f"rtsp://admin:hunter2@127.0.0.1:{srv.port}/cam", timeout=(1.0, 1.0))
        assert time.monotonic() - t < 4.0
        assert srv.accepted >= 1


def test_unreachable_url_clear_error_within_timeout() -> None:
    port = free_port()  # nothing listens there
    t = time.monotonic()
    with pytest.raises(SourceError) as info:
        LiveSource(f"rtsp://admin:hunter2@127.0.0.1:{port}/cam", timeout=(3.0, 3.0))
    assert time.monotonic() - t < 3.0
    msg = str(info.value)
    assert "Connection refused" in msg and "hunter2" not in msg and "\n" not in msg
    assert "hunter2" not in repr(info.value.__cause__)


def test_wrong_credentials_one_line_error(caplog: pytest.LogCaptureFixture) -> None:
    require_gst()
    with RtspServer("--testsrc", "cam=160x120:15", "--auth", "viewer:s3cret") as srv:
        with pytest.raises(SourceError) as info:
            LiveSource(srv.url("cam", user="viewer", password="wrong-pw"), timeout=(3.0, 3.0))
        msg = str(info.value)
        assert "401" in msg and "\n" not in msg
        assert "wrong-pw" not in msg and "wrong-pw" not in repr(info.value.__cause__)
        # The right password works, also across a reconnect (each stream ends after 15
        # frames), and no log line shows it.
        url = srv.url("cam", user="viewer", password="s3cret")
        with caplog.at_level(logging.DEBUG), LiveSource(url, timeout=3.0) as src:
            sizes = set()
            for frame in src.frames():
                sizes.add(frame.size_wh)
                if src.reconnects >= 1:
                    break
        assert sizes == {(160, 120)}
        assert "reconnected" in caplog.text and "s3cret" not in caplog.text


def test_stream_without_video_one_line_error(tmp_path: Path) -> None:
    require_gst()
    with RtspServer("--audio", "tone") as srv:
        with pytest.raises(SourceError, match="no video stream"):
            LiveSource(srv.url("tone"), timeout=(3.0, 3.0))
        out = tmp_path / "out.mp4"
        r = subprocess.run(
            [sys.executable, "-m", "streamsr", "enhance", srv.url("tone"), "-o", str(out)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert r.returncode != 0
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("streamsr: error")]
    assert len(errors) == 1 and "no video stream" in errors[0], r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    assert not out.exists()  # nothing half-written on a failed start


def test_udp_transport_reads_frames() -> None:
    require_gst()
    with (
        RtspServer("--testsrc", "cam=160x120") as srv,
        LiveSource(srv.url("cam"), transport="udp", timeout=3.0) as src,
    ):
        frames = []
        for f in src.frames():
            frames.append(f)
            if len(frames) == 10:
                break
    assert [f.index for f in frames] == list(range(10))
    assert all(f.time_base == LIVE_TIME_BASE for f in frames)
    assert all(b.pts > a.pts for a, b in itertools.pairwise(frames))


def test_gives_up_after_last_attempt_and_closes_outputs(
    rtsp_server: RtspServer, enhancer: Any, tmp_path: Path
) -> None:
    out = tmp_path / "out.mp4"
    p = Pipeline(
        rtsp_server.url("in"),
        [out],
        enhancer=enhancer,
        **dict(FAST, reconnect_attempts=2, reconnect_delay_s=0.2),
    )
    threading.Timer(2.5, rtsp_server.stop).start()
    t = time.monotonic()
    with pytest.raises(SourceError, match="2 reconnect attempts failed"), p:
        p.run(duration_s=30)
    assert time.monotonic() - t < 60  # gave up: no hang (2 short attempts, then the error)
    times = _file_times(out)  # closed cleanly: the file plays to its last frame
    written = p.stats.outputs[str(out)]
    assert len(times) == written["frames_written"] > 0
    assert written["frames_written"] + written["queue_dropped"] == p.stats.frames_out


def test_many_reconnects_leak_no_fds_or_threads() -> None:
    """Each connection to /short ends after 10 frames: reconnect again and again."""
    require_gst()
    with RtspServer("--testsrc", "short=160x120:10") as srv:
        src = LiveSource(srv.url("short"), timeout=3.0, reconnect_attempts=-1, reconnect_delay_s=0)
        marks: dict[int, tuple[int, int, float]] = {}
        with src:
            for _ in src.frames():
                marks.setdefault(src.reconnects, (open_fds(), threading.active_count(), _rss_mib()))
                if src.reconnects >= 12:
                    break
    fds_early, threads_early, rss_early = marks[3]
    fds_late, threads_late, rss_late = marks[12]
    assert fds_late <= fds_early + 1, marks
    assert threads_late <= threads_early, marks
    # Memory: flat here (277.3 MiB from the 4th connection to the 40th, measured); a leaked
    # decoder or socket buffer per connection would add up over nine reconnects.
    assert rss_late - rss_early < 8.0, marks


def _rss_mib() -> float:
    """Resident memory of this process, MiB (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_rtsp_sink_frames_arrive_intact(face_clip: Path) -> None:
    """Published through the server's relay and read back, frames match what was sent."""
    require_gst()
    with av.open(str(face_clip)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)][:30]
    got: list[np.ndarray] = []
    with RtspServer("--relay", "push=view") as srv:

        def viewer() -> None:
            with av.open(srv.url("view"), options={"rtsp_transport": "tcp"}, timeout=(10, 5)) as c:
                for f in c.decode(video=0):
                    got.append(f.to_ndarray(format="rgb24"))
                    if len(got) >= 40:
                        return

        t = threading.Thread(target=viewer, daemon=True)
        t.start()
        with RtspSink(srv.url("push"), size_wh=(640, 480), rate=30) as sink:
            t0 = time.monotonic()
            for i in range(150):
                pts = round((time.monotonic() - t0) / LIVE_TIME_BASE)
                sink.write(Frame(frames[i % len(frames)], pts, LIVE_TIME_BASE, i))
                time.sleep(1 / 30)
                if not t.is_alive():
                    break
        t.join(timeout=10)
    assert len(got) >= 40
    for img in got[5:]:
        best = min(np.abs(img.astype(np.int16) - f).mean() for f in frames)
        assert best < 6.0  # the same picture, up to compression


def test_rtsp_sink_over_udp_reaches_a_viewer() -> None:
    """Publishing with RTP over UDP (transport="udp"), read back over TCP from the relay."""
    require_gst()
    got: list[tuple[int, int]] = []
    deadline = time.monotonic() + 40.0  # a generous bound for a busy machine, not a speed

    with RtspServer("--relay", "push=view") as srv:

        def viewer() -> None:
            # the viewer may ask before the publisher's stream is there (or, on a busy
            # machine, before its first UDP packets reached the relay): ask again
            while time.monotonic() < deadline:
                try:
                    with av.open(
                        srv.url("view"), options={"rtsp_transport": "tcp"}, timeout=(10, 5)
                    ) as c:
                        for f in c.decode(video=0):
                            got.append((f.width, f.height))
                            if len(got) >= 30:
                                return
                except av.error.FFmpegError:
                    time.sleep(0.2)

        t = threading.Thread(target=viewer, daemon=True)
        t.start()
        with RtspSink(srv.url("push"), size_wh=(320, 240), rate=30, transport="udp") as sink:
            t0 = time.monotonic()
            i = 0
            while t.is_alive() and time.monotonic() < deadline:
                img = np.full((240, 320, 3), (i * 2) % 256, np.uint8)
                pts = round((time.monotonic() - t0) / LIVE_TIME_BASE)
                sink.write(Frame(img, pts, LIVE_TIME_BASE, i))
                i += 1
                time.sleep(1 / 30)
            assert sink.frames_dropped == 0
        t.join(timeout=5)
    assert len(got) == 30 and set(got) == {(320, 240)}


def test_rtsp_sink_survives_server_restart() -> None:
    require_gst()
    srv = RtspServer("--relay", "push=view").start()
    try:
        sink = RtspSink(srv.url("push"), size_wh=(160, 120), rate=30, reconnect_delay_s=0.3)
        img = np.zeros((120, 160, 3), np.uint8)
        t0 = time.monotonic()
        i = 0

        def write_for(seconds: float) -> None:
            nonlocal i
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                img[:] = i % 256
                pts = round((time.monotonic() - t0) / LIVE_TIME_BASE)
                sink.write(Frame(img, pts, LIVE_TIME_BASE, i))
                i += 1
                time.sleep(1 / 30)

        write_for(1.0)
        written = sink.frames_written
        srv.stop()
        write_for(1.5)  # never raises: frames are dropped and counted
        assert sink.frames_dropped > 0
        srv.start()
        write_for(3.0)
        assert sink.reconnects >= 1
        assert sink.frames_written > written + 20
        sink.close()
    finally:
        srv.stop()


def test_hls_over_http(tmp_path: Path) -> None:
    """An HLS playlist served over HTTP on 127.0.0.1 (PyAV writes it; no GStreamer needed)."""
    import functools
    import http.server

    from _media import make_clip

    clip = make_clip(tmp_path / "clip.mp4", frames=60, size_wh=(160, 120))
    hls = tmp_path / "hls"
    hls.mkdir()
    with (
        av.open(str(clip)) as src,
        av.open(
            str(hls / "index.m3u8"),
            "w",
            format="hls",
            options={"hls_time": "1", "hls_list_size": "0"},
        ) as out,
    ):
        in_stream = src.streams.video[0]
        out_stream = out.add_stream_from_template(in_stream)
        for packet in src.demux(in_stream):
            if packet.dts is None:
                continue
            packet.stream = out_stream
            out.mux(packet)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(hls))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/index.m3u8"
        with LiveSource(url, timeout=5.0, reconnect_attempts=0) as src:
            assert src.spec.kind == "http"
            frames = []
            for f in src.frames():
                frames.append(f)
                if len(frames) == 45:
                    break
        assert frames[-1].size_wh == (160, 120)
    finally:
        server.shutdown()
        server.server_close()


def test_mjpeg_camera_over_http_in_order_and_live(tmp_path: Path) -> None:
    """An IP or USB-bridge camera's MJPEG over HTTP (``multipart/x-mixed-replace``, each JPEG
    with its length), served on 127.0.0.1 in real time: every frame read whole, in order, on
    the live clock, and the pipeline records it."""
    import http.server

    import cv2

    def picture(k: int) -> bytes:
        img = np.full((120, 160, 3), 30 + 4 * k, np.uint8)  # frame k: its level, JPEG-proof
        return cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()

    jpegs = [picture(k) for k in range(50)]

    class Camera(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.end_headers()
            t0 = time.monotonic()
            try:
                for k, jpg in enumerate(jpegs):
                    time.sleep(max(0.0, t0 + k / 30 - time.monotonic()))
                    head = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
                    self.wfile.write(head % len(jpg) + jpg + b"\r\n")
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Camera)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/video"
    try:
        with LiveSource(url, timeout=5.0, reconnect_attempts=0) as src:
            assert src.spec.kind == "http"
            frames = []
            for f in src.frames():
                frames.append(f)
                if len(frames) == 30:
                    break
        levels = [float(f.rgb24.mean()) for f in frames]
        ks = [(v - 30) / 4 for v in levels]
        assert all(abs(k - round(k)) < 0.3 for k in ks), levels  # each a whole picture
        assert all(b > a for a, b in itertools.pairwise(ks)), levels  # in order
        assert all(f.size_wh == (160, 120) and f.time_base == LIVE_TIME_BASE for f in frames)
        assert all(b.pts > a.pts for a, b in itertools.pairwise(frames))
        span = (frames[-1].pts - frames[0].pts) * float(LIVE_TIME_BASE)
        assert span > 0.5 * (round(ks[-1]) - round(ks[0])) / 30  # paced: the live clock
        out = tmp_path / "camera.mp4"
        with Pipeline(url, [out], scale=2, device="cpu", **FAST) as p:
            st = p.run(duration_s=3)
        assert st.frames_out > 0
        with av.open(str(out)) as c:
            decoded = [f for f in c.decode(video=0)]
        written = st.to_dict()["outputs"][str(out)]["frames_written"]
        assert len(decoded) == written > 0 and decoded[0].width == 320
    finally:
        server.shutdown()
        server.server_close()


def test_auto_reads_the_quantisers_of_an_rtsp_camera(
    rtsp_server: RtspServer, tmp_path: Path
) -> None:
    """``variant="auto"`` (the default) over RTSP: the live decoder exports the H.264 macroblock
    QPs and the chooser reads them over the faces (a camera's stream is never lossless)."""
    with Pipeline(
        rtsp_server.url("in"), [tmp_path / "out.mp4"], scale=2, device="cpu", **FAST
    ) as p:
        st = p.run(duration_s=6)
    assert st.frames_out > 0 and st.faces_enhanced > 0
    assert st.degradation["crops"] > 0, st.degradation
    qp = st.degradation["qp"]
    assert qp is not None and 1.0 < qp <= 51.0, st.degradation

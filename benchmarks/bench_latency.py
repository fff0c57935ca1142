"""Added latency of live enhancement: RTSP in -> streamsr -> RTSP out, on loopback.

For each case (resolution x number of faces) it:

1. builds a test clip from the shared webcam clips (faces 30-70 px, as a webcam or a
   surveillance camera sees them): one clip, or two side by side (each centre-cropped to half
   the width) for two faces; scaled to the height and padded to the width. A 12-bit frame number
   (+ 4-bit check) is stamped as black/white blocks along the bottom edge of every frame;
2. serves it live and looped with GStreamer's RTSP server (``tests/live/rtsp_server.py``, under
   Debian's ``/usr/bin/python3``) at ``/in``, and relays what is published to ``/push`` at ``/view``;
3. runs a :class:`~streamsr.Pipeline` (live) from ``/in`` to ``/push`` (x2 by default);
4. reads ``/in`` and ``/view`` at once with two PyAV viewers, each its own process, and, for every frame number seen
   on both, takes the difference of the times (CLOCK_MONOTONIC) at which its last packet first
   arrived.

``--input camera`` measures instead the path of a video call, a webcam into a virtual camera:
the clip is served as a USB or IP camera sends it, MJPEG over HTTP (``multipart/x-mixed-replace``,
each JPEG whole, with its length: no parser waits for the next frame), by a separate process that
paces it in real time and notes when each frame's last byte was written; the pipeline iterates
its output frames, which is where a virtual camera sink takes them, and the added latency is the
time from a frame's last byte sent to its enhanced frame coming out (the v4l2loopback write
itself, about a millisecond, is left out). No encode, no RTSP, no H.264 parser on either side.

With RTSP (the default), that difference is the **added latency**: decode, detect, enhance, compose, encode, publishing
and the server's relay, minus what a viewer of the camera itself would see. It includes one frame
that FFmpeg's H.264 parser at the viewer holds until the next frame begins (the camera's viewer
holds one too, and so does streamsr's input: those cancel). It prints p50/p95 of it, the output
frame rate seen by the viewer, the frames the pipeline dropped (newest frame wins) and the
pipeline's own per-stage latencies over the measured seconds.

    python benchmarks/bench_latency.py [--resolutions 640x480,1280x720] [--faces 1,2]
        [--seconds 10] [--warmup 3] [--max-latency-ms MS] [--output-size scaled|input]
        [--arch A] [--weights PATH] [--close-face] [--pipeline pipelines/videoconf.toml]
        [--input rtsp|camera] [--json]

Numbers depend on everything else the machine runs: say what it ran when you report them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "tests" / "live" / "rtsp_server.py"
GST_PYTHON = os.environ.get("STREAMSR_GST_PYTHON", "/usr/bin/python3")
SHARED = Path(os.environ.get("STREAMSR_SHARED_DATA", ROOT.parent / "shared" / "data"))
CLIPS = ("sister.mkv", "milk.mkv")
CLOSE_CLIPS = ("talking_heads/closeup.mp4", "talking_heads/portrait_d0.mp4")
"""``--close-face``: faces of 250-400 px, as in a video call (the slow case of SR)."""

BITS = 16  # 12 bits of frame number, 4 bits of check
STRIP = 1 / 18  # height of the code strip, as a share of the frame height


def _check(code: int) -> int:
    return (code * 7 + 3) % 16


def stamp(rgb24: np.ndarray, code: int) -> None:
    """Write ``code`` (0..4095) into the bottom strip of ``rgb24``, in place."""
    h, w = rgb24.shape[:2]
    word = (code & 0xFFF) << 4 | _check(code & 0xFFF)
    y0 = h - max(8, round(h * STRIP))
    for b in range(BITS):
        x0, x1 = b * w // BITS, (b + 1) * w // BITS
        rgb24[y0:, x0:x1] = 255 if word >> (BITS - 1 - b) & 1 else 0


def read_stamp(gray: np.ndarray) -> int | None:
    """The frame number stamped in a luma plane of any size, or None when unreadable."""
    h, w = gray.shape[:2]
    y = h - max(4, round(h * STRIP)) // 2
    word = 0
    for b in range(BITS):
        x = (2 * b + 1) * w // (2 * BITS)
        v = int(gray[y, x])
        if 60 < v < 195:
            return None  # no clear black or white: not a stamped frame
        word = word << 1 | (v >= 128)
    code = word >> 4
    return code if word & 0xF == _check(code) else None


def _fit(rgb24: np.ndarray, size_wh: tuple[int, int], *, crop: bool) -> np.ndarray:
    """Scale to the target height; centre-crop (``crop``) or pad with black to the width."""
    w, h = size_wh
    sh, sw = rgb24.shape[:2]
    nw = round(sw * h / sh)
    img = cv2.resize(rgb24, (nw, h), interpolation=cv2.INTER_AREA if h < sh else cv2.INTER_CUBIC)
    if nw >= w:
        x = (nw - w) // 2
        return img[:, x : x + w] if crop or nw > w else img
    out = np.zeros((h, w, 3), np.uint8)
    out[:, (w - nw) // 2 : (w - nw) // 2 + nw] = img
    return out


def make_clip(
    path: Path,
    size_wh: tuple[int, int],
    faces: int,
    min_seconds: float = 8.0,
    *,
    close: bool = False,
) -> None:
    """The stamped test clip (see the module docstring), ping-ponged to ``min_seconds``;
    ``close``: from the close-up talking heads instead of the small-face webcam clips."""
    sources = []
    names = CLOSE_CLIPS if close else tuple(f"webcam_small_faces/{n}" for n in CLIPS)
    for name in names[:faces]:
        with av.open(str(SHARED / "video" / name)) as c:
            sources.append([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])
    n = min(len(s) for s in sources)
    order = list(range(n)) + list(range(n - 2, 0, -1))  # forward, then back: no jump
    w, h = size_wh
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=30, options={"preset": "veryfast", "crf": "18"})
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        k = 0
        while k < min_seconds * 30:
            for i in order:
                if faces == 1:
                    img = _fit(sources[0][i], (w, h), crop=False)
                else:
                    half = w // 2
                    img = np.concatenate(
                        [
                            _fit(sources[0][i], (half, h), crop=True),
                            _fit(sources[1][i], (w - half, h), crop=True),
                        ],
                        axis=1,
                    )
                img = np.ascontiguousarray(img)
                stamp(img, k)
                out.mux(vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
                k += 1
        out.mux(vs.encode(None))


def camera(clip: str, port: int) -> None:
    """Camera process (``--input camera``): serve ``clip`` looped as MJPEG over HTTP to one
    client at a time, paced at 30 fps, and print ``S code t`` when each frame's last byte was
    written (CLOCK_MONOTONIC). JPEGs are encoded before ``READY``, as a camera's encoder would
    be done with them."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    with av.open(clip) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    jpegs = [
        cv2.imencode(".jpg", cv2.cvtColor(f, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])[
            1
        ].tobytes()
        for f in frames
    ]
    codes = [read_stamp(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY)) for f in frames]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.end_headers()
            t0, i = _now(), 0
            try:
                while True:
                    wait = t0 + i / 30.0 - _now()
                    if wait > 0:
                        time.sleep(wait)
                    k = i % len(jpegs)
                    head = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
                    self.wfile.write(head % len(jpegs[k]) + jpegs[k] + b"\r\n")
                    self.wfile.flush()
                    print(f"S {codes[k]} {_now():.6f}", flush=True)
                    i += 1
            except (BrokenPipeError, ConnectionResetError):
                return

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("READY", flush=True)
    server.serve_forever()


class CameraFeed(threading.Thread):
    """The camera process of ``--input camera`` and when it sent each frame number."""

    def __init__(self, clip: Path, port: int) -> None:
        super().__init__(daemon=True)
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--camera", str(clip), str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("READY"):
            self.proc.kill()
            raise RuntimeError(f"camera process did not start: {line!r}")
        self.times: dict[int, list[float]] = defaultdict(list)
        self.start()

    def run(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            _, code, t = line.split()
            if code != "None":
                self.times[int(code)].append(float(t))

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def viewer(url: str) -> None:
    """Viewer process: read ``url`` and print ``F t`` for every frame and ``C code t`` for every
    new stamped frame number, where t is when the frame's last packet arrived (CLOCK_MONOTONIC
    seconds, the same clock in every process).

    One thread demuxes and notes arrival times, another decodes: a decoder that falls behind
    (large frames, a busy machine) delays nothing but itself. The stamp is read from the luma
    plane as decoded (no colour conversion).
    """
    import queue

    packets: queue.Queue[Any] = queue.Queue()
    arrived: dict[int, float] = {}
    lock = threading.Lock()
    # A short probe: at a low frame rate FFmpeg's default (5 s) would hold the first seconds of
    # frames back and deliver them at once.
    options = {"rtsp_transport": "tcp", "analyzeduration": "500000"}

    def decode(stream: Any) -> None:
        last: int | None = None
        while (packet := packets.get()) is not None:
            for f in stream.codec_context.decode(packet):
                with lock:
                    t = arrived.pop(f.pts, None) if f.pts is not None else None
                if t is None:
                    continue
                plane = f.planes[0]
                luma = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[:, : f.width]
                code = read_stamp(luma)
                if code is not None and code != last:
                    print(f"C {code} {t:.6f}", flush=True)
                    last = code
                else:
                    print(f"F {t:.6f}", flush=True)

    try:
        with av.open(url, options=options, timeout=(30, 10)) as c:
            stream = c.streams.video[0]
            stream.thread_type = "SLICE"  # frame threads would hold frames back
            decoder = threading.Thread(target=decode, args=(stream,), daemon=True)
            decoder.start()
            for packet in c.demux(stream):
                now = time.clock_gettime(time.CLOCK_MONOTONIC)
                if packet.pts is not None:
                    with lock:
                        arrived[packet.pts] = now
                        if len(arrived) > 300:  # frames the decoder never returned
                            arrived.clear()
                packets.put(packet)
            packets.put(None)
            decoder.join()
    except Exception as exc:
        print(f"E {type(exc).__name__}: {exc}", flush=True)


class Arrivals(threading.Thread):
    """When each stamped frame number first arrived at a viewer of an RTSP URL.

    The viewer is a separate process (:func:`viewer`), as a real one would be: in this process
    it would share the pipeline's interpreter lock, and its clock readings would wait for it.
    """

    def __init__(self, url: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.url, self.stop = url, stop
        self.times: dict[int, list[float]] = defaultdict(list)
        self.frames = 0
        self.first_frame_at: float | None = None
        self.error: str | None = None

    def run(self) -> None:
        proc = subprocess.Popen(
            [sys.executable, __file__, "--viewer", self.url],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                if self.stop.is_set():
                    return
                kind, *rest = line.split()
                if kind == "E":
                    self.error = line[2:].strip()
                    return
                now = float(rest[-1])
                self.frames += 1
                if self.first_frame_at is None:
                    self.first_frame_at = now
                if kind == "C":
                    self.times[int(rest[0])].append(now)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def latencies(direct: Arrivals, view: Arrivals, since: float) -> list[float]:
    """For each arrival on the view after ``since``, the time since the same frame number
    last arrived on the direct stream (seconds)."""
    out = []
    for code, times in view.times.items():
        ins = direct.times.get(code, [])
        for t in times:
            if t < since:
                continue
            before = [x for x in ins if x <= t]
            if before:
                out.append(t - before[-1])
    return out


class Iterated(threading.Thread):
    """``--input camera``'s viewer: iterates the pipeline (where a virtual camera sink takes its
    frames) and notes when each stamped frame number came out, as :class:`Arrivals` does."""

    def __init__(self, pipeline: Any, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.pipeline, self.stop = pipeline, stop
        self.times: dict[int, list[float]] = defaultdict(list)
        self.frames = 0
        self.first_frame_at: float | None = None
        self.error: str | None = None

    def run(self) -> None:
        last: int | None = None
        try:
            for frame in self.pipeline:
                t = _now()
                self.frames += 1
                if self.first_frame_at is None:
                    self.first_frame_at = t
                code = read_stamp(frame.rgb24[..., 1])  # black/white blocks: any channel reads
                if code is not None and code != last:
                    self.times[code].append(t)
                    last = code
                if self.stop.is_set():
                    return
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"


def run_case(
    size_wh: tuple[int, int], faces: int, args: argparse.Namespace, enhancer: Any, tmp: Path
) -> dict[str, Any]:
    from streamsr.runtime import Pipeline

    w, h = size_wh
    clip = tmp / f"clip_{w}x{h}_{faces}.mp4"
    make_clip(clip, size_wh, faces, close=args.close_face)
    port = _free_port()
    server: Any = None
    feed: CameraFeed | None = None
    if args.input == "camera":
        feed = CameraFeed(clip, port)
        location, outputs = f"http://127.0.0.1:{port}/", None
    else:
        server = subprocess.Popen(
            [
                GST_PYTHON,
                str(SERVER),
                "--port",
                str(port),
                "--loop",
                f"in={clip}",
                "--relay",
                "push=view",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        location, outputs = f"rtsp://127.0.0.1:{port}/in", [f"rtsp://127.0.0.1:{port}/push"]
    try:
        if server is not None:
            line = server.stdout.readline() if server.stdout else ""
            if not line.startswith("READY"):
                raise RuntimeError(f"RTSP server did not start: {line!r}")
        stop = threading.Event()
        if args.pipeline_options is not None:
            pipeline = Pipeline(location, outputs, enhancer=enhancer, options=args.pipeline_options)
        else:
            options: dict[str, Any] = dict(status_every_s=0, output_size=args.output_size)
            if args.max_latency_ms is not None:
                options["max_latency_ms"] = args.max_latency_ms
            pipeline = Pipeline(location, outputs, enhancer=enhancer, **options)
        errors: list[BaseException] = []
        direct: Any
        view: Any
        if feed is not None:
            direct, view = feed, Iterated(pipeline, stop)
            runner: threading.Thread = view
            view.start()
        else:
            base = f"rtsp://127.0.0.1:{port}"
            direct, view = Arrivals(f"{base}/in", stop), Arrivals(f"{base}/view", stop)

            def run() -> None:
                try:
                    pipeline.run()  # until closed below
                except Exception as exc:
                    errors.append(exc)

            runner = threading.Thread(target=run, daemon=True)
            runner.start()
            direct.start()
            view.start()
        deadline = _now() + 60
        while view.first_frame_at is None and _now() < deadline:
            if view.error is not None or not runner.is_alive():
                break
            time.sleep(0.1)
        time.sleep(args.warmup)  # after the viewer's first frame: its start-up burst is over
        t0 = _now()
        for window in pipeline.metrics.latency.values():
            window.clear()  # the stage latencies of the measured seconds only
        view_frames0, faces0 = view.frames, pipeline.metrics.faces_enhanced
        reused0, skips0 = pipeline.metrics.faces_reused, pipeline.metrics.enhance_skips
        in0, out0, drop0 = (
            pipeline.metrics.frames_in,
            pipeline.metrics.frames_out,
            pipeline.metrics.frames_dropped,
        )
        time.sleep(args.seconds)
        t1 = _now()
        m = pipeline.metrics
        frames_in, frames_out = m.frames_in - in0, m.frames_out - out0
        dropped, faces_done = m.frames_dropped - drop0, m.faces_enhanced - faces0
        view_frames = view.frames - view_frames0
        skips, reused = m.enhance_skips - skips0, m.faces_reused - reused0
        stages = {
            name: [round(v, 1) for v in pct]
            for name, window in m.latency.items()
            if (pct := window.percentiles_ms()) is not None
        }
        lat = np.array(latencies(direct, view, t0), np.float64) * 1000
        stop.set()
        pipeline.close()
        runner.join(timeout=30)
        if errors:
            raise RuntimeError(f"pipeline: {errors[0]}")
        if feed is None:
            for r in (direct, view):
                if r.error is not None:
                    raise RuntimeError(f"reader {r.url}: {r.error}")
        elif view.error is not None:
            raise RuntimeError(f"pipeline: {view.error}")
        if len(lat) == 0:
            raise RuntimeError("no frame number was seen on both streams")
        return {
            "resolution": f"{w}x{h}",
            "faces": faces,
            "p50_ms": round(float(np.percentile(lat, 50)), 1),
            "p95_ms": round(float(np.percentile(lat, 95)), 1),
            "fps_out": round(view_frames / (t1 - t0), 1),
            "dropped": int(dropped),
            "frames_in": int(frames_in),
            "frames_out": int(frames_out),
            "faces_per_frame": round(faces_done / max(1, frames_out), 2),
            "reused_per_frame": round(reused / max(1, frames_out), 2),
            "enhance_skips": int(skips),
            "matched": len(lat),
            "stages_ms": stages,
        }
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        if feed is not None:
            feed.close()


def _now() -> float:
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--viewer":  # before importing torch (via streamsr)
        viewer(sys.argv[2])
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "--camera":
        camera(sys.argv[2], int(sys.argv[3]))
        return 0
    from streamsr.enhance._srcnn import ARCHS

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--resolutions", default="640x480,1280x720")
    ap.add_argument("--faces", default="1,2")
    ap.add_argument("--scale", type=int, default=2)
    ap.add_argument("--variant", default="video")
    ap.add_argument(
        "--arch", choices=ARCHS, help="default: the live default network (--quality balanced)"
    )
    ap.add_argument("--weights", help="weights file instead of the shipped ones")
    ap.add_argument("--seconds", type=float, default=10.0, help="measured seconds per case")
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    ap.add_argument("--max-latency-ms", type=float)
    ap.add_argument(
        "--output-size",
        choices=("scaled", "input"),
        default="scaled",
        help="input: enhanced and area-averaged back to the input size (the videoconf pipeline)",
    )
    ap.add_argument(
        "--close-face",
        action="store_true",
        help="close-up talking heads (faces of 250-400 px) instead of the small webcam faces",
    )
    ap.add_argument(
        "--pipeline",
        type=Path,
        help="take the faces, enhance, compose and live settings of a pipeline file (for "
        "example pipelines/videoconf.toml); its input and outputs are replaced by the RTSP test",
    )
    ap.add_argument(
        "--input",
        choices=("rtsp", "camera"),
        default="rtsp",
        help="camera: MJPEG over HTTP in, the iterated frames out (a webcam into a virtual "
        "camera: no encoder, no H.264 parser); rtsp: RTSP in and out",
    )
    ap.add_argument("--json", action="store_true", help="print a JSON list of results")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")

    from streamsr.enhance._options import EnhanceOptions
    from streamsr.sources._live import parse_size

    if args.input == "rtsp" and (not SERVER.exists() or not Path(GST_PYTHON).exists()):
        print(f"needs {GST_PYTHON} with GStreamer's RTSP server (see {SERVER})", file=sys.stderr)
        return 2
    args.pipeline_options = None
    if args.pipeline is not None:
        import dataclasses

        from streamsr.runtime import load_pipeline
        from streamsr.sources._options import SourceOptions

        opts = load_pipeline(args.pipeline).options
        args.pipeline_options = dataclasses.replace(
            opts,
            source=SourceOptions(),
            runtime=dataclasses.replace(opts.runtime, status_every_s=0),
        )
        options = opts.enhance
        args.output_size = opts.compose.output_size
    else:
        options = EnhanceOptions(
            scale=args.scale, arch=args.arch, variant=args.variant, weights=args.weights
        )
    enhancer = options.load(live=True)  # the live default network unless told otherwise
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for res in args.resolutions.split(","):
            for faces in (int(f) for f in args.faces.split(",")):
                r = run_case(parse_size(res), faces, args, enhancer, Path(tmp))
                r["scale"] = args.scale
                r["arch"] = enhancer.arch
                r["output_size"] = args.output_size
                r["close_face"] = args.close_face
                r["pipeline"] = str(args.pipeline) if args.pipeline else None
                r["input"] = args.input
                results.append(r)
                if not args.json:
                    print(
                        f"{r['resolution']:>9} faces {faces}: added latency p50 {r['p50_ms']:.0f} ms, "
                        f"p95 {r['p95_ms']:.0f} ms; out {r['fps_out']:.1f} fps; dropped "
                        f"{r['dropped']} of {r['frames_in']}; {r['faces_per_frame']} faces enhanced "
                        f"per frame ({r['reused_per_frame']} carried over), "
                        f"{r['enhance_skips']} left bicubic",
                        flush=True,
                    )
                    print(
                        "           in the pipeline (p50/p95 ms): "
                        + ", ".join(f"{k} {a:.0f}/{b:.0f}" for k, (a, b) in r["stages_ms"].items()),
                        flush=True,
                    )
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

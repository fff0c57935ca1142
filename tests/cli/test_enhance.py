"""``streamsr enhance``: the mode comes from the input or --live/--realtime, never from other
flags; every pipeline option has its flag; empty work is an error."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import subprocess
import sys
from pathlib import Path

import av
import pytest

from streamsr.cli import build_parser
from streamsr.cli._enhance import FLAGS
from streamsr.runtime._options import STAGE_OPTIONS, keyword_owner


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streamsr", *args], capture_output=True, text=True, timeout=timeout
    )


def _errors(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith("streamsr: error")]


def _counts(path: Path) -> tuple[int, int, tuple[int, int]]:
    """(video frames, audio packets, frame size) of a file."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        size = (v.codec_context.width, v.codec_context.height)
        audio = sum(1 for p in c.demux(audio=0) if p.dts is not None) if c.streams.audio else 0
    with av.open(str(path)) as c:
        frames = sum(1 for _ in c.decode(video=0))
    return frames, audio, size


def test_output_size_input_on_a_file_keeps_every_frame_and_the_audio(
    clip: Path, tmp_path: Path
) -> None:
    """The inferred-live bug: --output-size input once made a file run live (frames dropped,
    audio lost, exit 0). It is a compose option; the file stays an offline run."""
    out, stats = tmp_path / "out.mp4", tmp_path / "stats.json"
    r = _cli(
        "enhance", str(clip), "-o", str(out), "--output-size", "input", "--no-progress",
        "--stats-json", str(stats),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    frames_in, audio_in, size_in = _counts(clip)
    frames_out, audio_out, size_out = _counts(out)
    assert frames_out == frames_in == 30
    assert audio_out == audio_in > 0
    assert size_out == size_in  # the input's size, faces enhanced in place
    st = json.loads(stats.read_text())
    assert st["live"] is False and st["frames_dropped"] == 0
    assert st["frames_in"] == st["frames_out"] == 30


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--max-latency-ms", "100"], "--max-latency-ms"),
        (["--timeout", "3"], "--timeout"),
        (["--reconnect-attempts", "2"], "--reconnect-attempts"),
        (["--queue-frames", "2"], "--queue-frames"),
        (["--segment-seconds", "5"], "--segment-seconds"),
        (["--camera-size", "640x480"], "--camera-size"),
        (["--tee", "rtsp://127.0.0.1:9/x"], "rtsp output"),
        (["--preview"], "preview output"),
        (["--duration", "2"], "--duration"),
    ],
)
def test_live_only_flags_for_a_file_are_an_error_naming_them(
    clip: Path, tmp_path: Path, extra: list[str], named: str
) -> None:
    out = tmp_path / "out.mp4"
    r = _cli("enhance", str(clip), "-o", str(out), *extra, timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    errs = _errors(r.stderr)
    assert len(errs) == 1 and named in errs[0] and "for live runs only" in errs[0], r.stderr
    assert not out.exists()


def test_live_flag_runs_a_file_live(clip: Path, tmp_path: Path) -> None:
    out, stats = tmp_path / "out.mkv", tmp_path / "stats.json"
    r = _cli(
        "enhance", str(clip), "-o", str(out), "--realtime", "--max-latency-ms", "500",
        "--status-every", "0", "--stats-json", str(stats),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    st = json.loads(stats.read_text())
    assert st["live"] is True
    assert st["frames_out"] - st["frames_stale"] + st["frames_dropped"] == st["frames_in"] == 30
    written = st["outputs"][str(out)]
    assert written["frames_written"] + written["queue_dropped"] == st["frames_out"]
    assert _counts(out)[0] == written["frames_written"]
    # the file's sound comes along, live too: all of it but what fell before the first frame
    assert _counts(out)[1] == written["audio_packets_written"]
    assert written["audio_packets_written"] == st["audio_in"] - st["audio_dropped"] > 0


def test_no_decodable_frame_is_an_error_and_leaves_no_file(clip: Path, tmp_path: Path) -> None:
    """A file whose container opens but whose frames do not decode: no "done: 0 frames" with
    exit 0, no 0-frame output."""
    bad = tmp_path / "bad.mkv"
    with av.open(str(clip)) as src, av.open(str(bad), "w") as dst:
        s_in = src.streams.video[0]
        s_out = dst.add_stream_from_template(s_in)
        for p in src.demux(s_in):
            if p.dts is None:
                continue
            data = bytes(len(bytes(p)))  # every packet's payload zeroed
            q = av.Packet(data)
            q.pts, q.dts, q.time_base, q.stream = p.pts, p.dts, p.time_base, s_out
            dst.mux(q)
    out = tmp_path / "out.mp4"
    r = _cli("enhance", str(bad), "-o", str(out), "--no-progress")
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    errs = _errors(r.stderr)
    assert len(errs) == 1 and "no frame could be decoded" in errs[0], r.stderr[-2000:]
    assert not out.exists()


def test_every_pipeline_option_has_its_flag() -> None:
    """A flag, a TOML key and a Python keyword cannot drift apart: every keyword of the stage
    options has an entry in FLAGS, and that flag exists on ``streamsr enhance``."""
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    enhance = sub.choices["enhance"]  # type: ignore[attr-defined]
    flags = {s for a in enhance._actions for s in a.option_strings}
    assert set(FLAGS) == set(keyword_owner())
    for keyword, flag in FLAGS.items():
        assert flag in flags, (keyword, flag)
    names = [f.name for cls in STAGE_OPTIONS.values() for f in dataclasses.fields(cls)]
    assert len(names) == len(set(names)), "a keyword belongs to two stages"


@pytest.mark.parametrize("case", ["missing_input", "output_exists", "output_dir_missing"])
def test_input_and_output_errors_are_the_only_line(clip: Path, tmp_path: Path, case: str) -> None:
    """Checked before the network and the detector load: nothing but the one error line."""
    src, out = clip, tmp_path / "out.mp4"
    if case == "missing_input":
        src = tmp_path / "nope.mp4"
    elif case == "output_exists":
        out.write_bytes(b"keep me")
    else:
        out = tmp_path / "no" / "such" / "dir" / "out.mp4"
    r = _cli("enhance", str(src), "-o", str(out), "--no-progress", timeout=120)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("streamsr: error:"), r.stderr[-2000:]
    if case == "output_exists":
        assert out.read_bytes() == b"keep me"


NATIVE_BANNER = (
    "XNNPACK",
    "Sparsity tensors",
    "DestroyAccelerator",
    "compiled_model.cc",
    "InitGoogle",
    "litert",
)


def test_a_run_prints_no_native_banner(clip: Path, tmp_path: Path) -> None:
    r = _cli("-q", "enhance", str(clip), "-o", str(tmp_path / "out.mp4"), "--no-progress")
    assert r.returncode == 0, r.stderr[-2000:]
    assert not [ln for ln in r.stderr.splitlines() if any(b in ln for b in NATIVE_BANNER)], (
        r.stderr[-3000:]
    )


def test_a_huge_frame_is_refused_before_decoding(tmp_path: Path) -> None:
    """A 600 KB file of 8000x8000 PNG frames once became a 16000x16000 output at 6 GB resident:
    it is refused from its header, naming both sizes, with the process staying small."""
    import numpy as np

    big = tmp_path / "big.avi"
    with av.open(str(big), "w") as c:
        s = c.add_stream("png", rate=10)
        s.width = s.height = 8000
        s.pix_fmt = "rgb24"
        for i in range(2):
            f = av.VideoFrame.from_ndarray(np.zeros((8000, 8000, 3), np.uint8), format="rgb24")
            f.pts = i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    out, peak_file = tmp_path / "out.mp4", tmp_path / "peak_kib.txt"
    # The peak is the child's own VmHWM, written at its exit. Not wait4's ru_maxrss: a process
    # started from this (large) pytest process inherits the parent's peak through fork/exec, so
    # late in a full run it read 2,161 MiB for a child whose own peak is about 450 MiB.
    wrapper = (
        "import atexit, runpy, sys\n"
        "def peak():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmHWM'):\n"
        f"            open({str(peak_file)!r}, 'w').write(line.split()[1])\n"
        "atexit.register(peak)\n"
        "sys.argv = ['streamsr', *sys.argv[1:]]\n"
        "runpy.run_module('streamsr', run_name='__main__', alter_sys=True)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", wrapper, "enhance", str(big), "-o", str(out), "--no-progress"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    stderr = proc.stderr
    assert proc.returncode == 1 and "Traceback" not in stderr
    errs = _errors(stderr)
    assert len(errs) == 1 and "16000x16000" in errs[0] and "8000x8000" in errs[0], stderr
    assert not out.exists()
    peak_mib = int(peak_file.read_text()) / 1024
    assert peak_mib < 2048, f"peak {peak_mib:.0f} MiB"


def test_a_y4m_claiming_16384_squared_is_refused_naming_the_size(tmp_path: Path) -> None:
    """FFmpeg's Y4M demuxer refuses such a header with a bare errno ("Device or resource
    busy"); the error names the declared size and the limit instead."""
    src = tmp_path / "big.y4m"
    src.write_bytes(b"YUV4MPEG2 W16384 H16384 F25:1 Ip A1:1 C420jpeg\nFRAME\n" + b"\x80" * 1000)
    out = tmp_path / "out.mp4"
    r = _cli("enhance", str(src), "-o", str(out), "--no-progress")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    errs = _errors(r.stderr)
    assert len(errs) == 1 and "16384x16384" in errs[0] and "8192" in errs[0], r.stderr
    assert not out.exists()


def test_ctrl_c_while_connecting_to_a_silent_server_exits_130_at_once(tmp_path: Path) -> None:
    """A server that accepts and never answers, reconnects for ever, a 300 s open timeout:
    Ctrl-C ends the run long before that timeout, with exit status 130 and no traceback."""
    import signal
    import socket
    import threading
    import time

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    held: list[socket.socket] = []
    accepted = threading.Event()

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = server.accept()
                held.append(conn)  # accepted, never answered
                accepted.set()

    threading.Thread(target=accept, daemon=True).start()
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "streamsr", "enhance", f"rtsp://127.0.0.1:{port}/x",
            "-o", str(tmp_path / "out.mkv"), "--timeout", "300", "--reconnect-attempts", "-1",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert accepted.wait(120), "streamsr never connected"
        time.sleep(0.5)  # inside the open, waiting for an answer
        t = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=240)
        waited = time.monotonic() - t
    finally:
        proc.kill()
        server.close()
        for c in held:
            c.close()
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    # Not a speed bound: the old code waited out the whole 300 s open timeout.
    assert waited < 200, f"{waited:.1f} s: still waiting for the open timeout"


def test_a_killed_run_leaves_a_playable_file(tmp_path: Path) -> None:
    """SIGKILL as soon as the output has its first fragment: what is there plays, in order."""
    import signal
    import time

    out = tmp_path / "out.mp4"
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamsr", "enhance", "--demo", "-o", str(out), "--no-progress"],
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if out.exists() and out.stat().st_size > 0:
                break
            time.sleep(0.02)
        killed = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert out.stat().st_size > 0
    with av.open(str(out)) as c:
        times = [f.time for f in c.decode(video=0)]
    assert len(times) >= 1 and all(b > a for a, b in itertools.pairwise(times))
    if killed:
        assert len(times) < 87  # it was cut short: the bundled clip has 87 frames


def test_a_still_image_is_a_one_frame_video(tmp_path: Path) -> None:
    import cv2
    import numpy as np

    img = tmp_path / "photo.png"
    cv2.imwrite(str(img), np.full((90, 120, 3), 128, np.uint8))
    out = tmp_path / "photo.mp4"
    r = _cli("enhance", str(img), "-o", str(out), "--no-progress")
    assert r.returncode == 0, r.stderr[-2000:]
    assert _counts(out)[0] == 1 and _counts(out)[2] == (240, 180)


def test_max_input_pixels_refuses_larger_frames_from_the_header(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    r = _cli("enhance", str(clip), "-o", str(out), "--max-input-pixels", "10000")
    assert r.returncode == 1
    errs = _errors(r.stderr)
    assert len(errs) == 1 and "160x120 (19,200 pixels)" in errs[0] and "10,000" in errs[0], r.stderr
    assert not out.exists()


def test_quality_picks_the_network_and_bad_values_are_one_line(clip: Path, tmp_path: Path) -> None:
    from streamsr.enhance._enhancer import quality_arch

    out = tmp_path / "fast.mp4"
    r = _cli("enhance", str(clip), "-o", str(out), "--quality", "fast")
    assert r.returncode == 0, r.stderr
    assert f"enhancer: {quality_arch(2, 'fast')} x2" in r.stderr
    assert _counts(out)[0] == 30
    r = _cli("enhance", str(clip), "-o", str(tmp_path / "t.mp4"), "--quality", "turbo")
    assert r.returncode == 2 and "invalid choice: 'turbo'" in r.stderr
    assert "'fast', 'balanced', 'best'" in r.stderr
    r = _cli(
        "enhance",
        str(clip),
        "-o",
        str(tmp_path / "b.mp4"),
        "--quality",
        "fast",
        "--arch",
        "srcnn-955",
    )
    assert r.returncode != 0 and not (tmp_path / "b.mp4").exists()
    assert _errors(r.stderr) == [
        "streamsr: error: quality picks among the shipped networks and arch names one: "
        "give one of them, not both"
    ]
    assert "Traceback" not in r.stderr

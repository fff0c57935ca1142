import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import torch
from _media import make_clip, phone_clip, shared

from streamsr import ConfigError, Pipeline, PipelineError, SourceError
from streamsr.training._metrics import psnr_y


def _video_pts(path: Path) -> list[int]:
    with av.open(str(path)) as c:
        return [f.pts for f in c.decode(video=0)]


def _audio_packets(path: Path) -> list[tuple[int, int]]:
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return []
        return [(p.pts, p.size) for p in c.demux(audio=0) if p.dts is not None]


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def test_frames_timestamps_and_audio_are_preserved(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    with Pipeline(clip, out, scale=2, device="cpu") as p:
        frames = list(p)
    st = p.stats
    assert st.frames_in == st.frames_out == len(frames) == 30
    assert st.frames_dropped == 0
    assert [f.index for f in frames] == list(range(30))  # input order
    assert frames[0].rgb24.shape == (240, 320, 3)
    tb_in = av.open(str(clip)).streams.video[0].time_base
    tb_out = av.open(str(out)).streams.video[0].time_base
    assert [p * tb_in for p in _video_pts(clip)] == [p * tb_out for p in _video_pts(out)]
    assert _audio_packets(out) == _audio_packets(clip) and len(_audio_packets(clip)) > 10


def _audio_times(path: Path) -> list[float]:
    with av.open(str(path)) as c:
        return [float(p.pts * p.time_base) for p in c.demux(audio=0) if p.dts is not None]


def test_every_output_gets_all_the_audio(tmp_path: Path) -> None:
    """Outputs share the source's packets: none may change them for the others (muxing
    rebases a packet in place, the ADTS filter MP4 needs takes its data). Each of three
    outputs had only part of the sound before each muxed a copy."""
    src = make_clip(tmp_path / "in.ts", frames=60, audio=True)  # AAC with ADTS headers
    outs = [tmp_path / "a.mp4", tmp_path / "b.mkv", tmp_path / "c.mp4"]
    with Pipeline(src, outs, scale=2, device="cpu") as p:
        st = p.run()
    want = _audio_times(src)
    assert len(want) > 50
    for out in outs:
        assert st.outputs[str(out)]["audio_packets_written"] == len(want)
        got = _audio_times(out)
        assert len(got) == len(want)
        shift = got[0] - want[0]  # (.mkv and .mp4 may start the streams at their own 0)
        assert max(abs(g - shift - w) for g, w in zip(got, want, strict=True)) < 0.002


def test_variable_frame_rate_stays_variable(tmp_path: Path) -> None:
    from fractions import Fraction

    pts = [0, 33, 66, 150, 183, 300, 333, 366, 500, 533]
    src = make_clip(tmp_path / "vfr.mkv", frames=len(pts), pts_ms=pts)
    out = tmp_path / "out.mkv"
    with Pipeline(src, out, scale=2, device="cpu") as p:
        p.run()
    itb = av.open(str(src)).streams.video[0].time_base
    otb = av.open(str(out)).streams.video[0].time_base
    in_t = [x * itb for x in _video_pts(src)]
    out_t = [x * otb for x in _video_pts(out)]
    assert len(out_t) == len(in_t) == len(pts)  # the encoder's duplicate pts cost no frame
    gaps = np.diff([float(t) for t in out_t])
    assert gaps.max() > 3 * gaps.min() > 0  # still variable
    for a, b in zip(in_t, out_t, strict=True):  # one tick (1 ms) may separate duplicates
        assert abs(a - b) <= Fraction(1, 1000)


def test_a_failing_stage_raises_and_does_not_hang(clip: Path, tmp_path: Path) -> None:
    p = Pipeline(clip, tmp_path / "out.mp4", scale=2, device="cpu")

    def boom(item):  # type: ignore[no-untyped-def]
        raise RuntimeError("enhancer exploded")

    p.enhance.enhance = p.enhance.enhance_many = boom  # type: ignore[method-assign]
    t = time.monotonic()
    with (
        pytest.raises(
            PipelineError, match="enhance stage failed: RuntimeError: enhancer exploded"
        ) as ei,
        p,
    ):
        p.run()
    assert isinstance(ei.value.__cause__, RuntimeError)
    assert time.monotonic() - t < 120  # no hang (a wide bound: CI machines may be busy)
    assert not any(s.is_alive() for s in p._stages)


def test_bad_options_and_output_equal_to_input(clip: Path) -> None:
    with pytest.raises(ConfigError, match="scale"):
        Pipeline(clip, None, scale=5)
    with pytest.raises(ConfigError, match="detect_every"):
        Pipeline(clip, None, detect_every=0)
    with pytest.raises(ConfigError, match="output is the input"):
        Pipeline(clip, clip)
    with pytest.raises(SourceError):
        Pipeline(clip.parent / "missing.mp4", None)


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streamsr", *args], capture_output=True, text=True, timeout=timeout
    )


def _error_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith("streamsr: error")]


@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("missing", "not found"),
        ("not_video", "not a video"),
        ("audio_only", "no video stream"),
        ("exists", "exists"),
        ("unwritable", "output"),
        ("same", "output is the input"),
    ],
)
def test_bad_input_gives_one_line_and_non_zero_exit(
    clip: Path, tmp_path: Path, case: str, match: str
) -> None:
    out = tmp_path / "out.mp4"
    src = clip
    extra: list[str] = []
    if case == "missing":
        src = tmp_path / "missing.mp4"
    elif case == "not_video":
        src = tmp_path / "notes.mp4"
        src.write_text("this is not a video\n" * 100)
    elif case == "audio_only":
        src = tmp_path / "audio.m4a"
        with av.open(str(src), "w") as c:
            s = c.add_stream("aac", rate=48000)
            for k in range(10):
                f = av.AudioFrame.from_ndarray(
                    np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
                )
                f.sample_rate, f.pts = 48000, k * 1024
                for pkt in s.encode(f):
                    c.mux(pkt)
            for pkt in s.encode(None):
                c.mux(pkt)
    elif case == "exists":
        out.write_bytes(b"keep me")
    elif case == "unwritable":
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        out = ro / "out.mp4"
        if os.access(ro, os.W_OK):  # root ignores permissions: use a path under a file instead
            out = clip / "out.mp4"
    elif case == "same":
        out = clip
    r = _cli("enhance", str(src), "-o", str(out), *extra, "--no-progress")
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    errs = _error_lines(r.stderr)
    assert len(errs) == 1 and match in errs[0], r.stderr[-2000:]
    if case == "exists":
        assert out.read_bytes() == b"keep me"
    elif case not in ("same", "unwritable"):
        assert not out.exists()


@pytest.mark.parametrize(("sig", "ext"), [(signal.SIGINT, ".mp4"), (signal.SIGTERM, ".mkv")])
def test_ctrl_c_or_sigterm_leaves_a_playable_file(
    tmp_path: Path, sig: signal.Signals, ext: str
) -> None:
    # 1,800 frames: about 15 s of work on a quiet 2-core machine, so that the signal lands mid-run
    # even on a loaded one (with 600, a run beside two others once finished before it arrived)
    frames = 1800
    src = make_clip(tmp_path / "long.mp4", frames=frames, size_wh=(320, 240), audio=True)
    out = tmp_path / f"out{ext}"
    cmd = ["enhance", str(src), "-o", str(out), "--no-progress", "--device", "cpu", "--crf", "30"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamsr", *cmd], stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 50_000):
        time.sleep(0.2)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted" in err and "Traceback" not in err
    n = len(_video_pts(out))
    assert 0 < n < frames
    assert _audio_packets(out)  # the audio processed so far is in too


def test_talking_head_faces_found_with_one_stable_track(tmp_path: Path) -> None:
    src = shared("video", "talking_heads", "news_1.mp4")
    with Pipeline(src, None, scale=2, device="cpu") as p:
        for _ in p:
            if p.stats.frames_out >= 30:
                break
    assert p.stats.frames_with_faces >= 29
    assert p.faces.tracks <= 2


def test_phone_video_rotated_upright_faces_found(tmp_path: Path) -> None:
    """A portrait phone clip (frames stored sideways, display matrix "turn 90") comes out
    upright, with its faces found."""
    with av.open(str(shared("video", "webcam_small_faces", "sister.mkv"))) as c:
        upright = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)][:30]
    h, w = upright[0].shape[:2]
    clip = phone_clip(tmp_path / "phone.mp4", upright, 270)
    out = tmp_path / "out.mp4"
    with Pipeline(clip, out, scale=2, device="cpu") as p:
        p.run()
    assert p.stats.frames_out == 30
    assert p.stats.frames_with_faces >= 24
    with av.open(str(out)) as c:
        s = c.streams.video[0]
        assert (s.width, s.height) == (2 * w, 2 * h)
        first = next(c.decode(s)).to_ndarray(format="rgb24")
    ref = cv2.resize(upright[0], (2 * w, 2 * h), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    assert np.abs(first.astype(np.float32) - ref).mean() < 12  # upright, not turned


@pytest.mark.parametrize("name", ["sister.mkv", "thanks.mkv", "walk.mkv"])
def test_small_faces_in_webcam_clips_are_found(name: str) -> None:
    src = shared("video", "webcam_small_faces", name)
    with Pipeline(src, None, scale=2, device="cpu") as p:
        p.run()
    assert p.stats.frames_out == p.stats.frames_in > 0
    assert p.stats.frames_with_faces >= 0.8 * p.stats.frames_out


@pytest.mark.parametrize("name", ["closeup.mp4", "news_3.mp4"])
def test_enhanced_faces_are_closer_to_the_truth_than_bicubic(tmp_path: Path, name: str) -> None:
    """Downscale a talking head x2, enhance it back, compare face regions with the original.

    Clips that were themselves upscaled before publication (news_2, portrait_d11) hold no detail
    beyond bicubic; there the x2 network loses a few tenths of a dB (see README, Quality).
    """
    import cv2

    from streamsr.compose import upscale_frame
    from streamsr.faces import FaceDetector

    src = shared("video", "talking_heads", name)
    hr_frames = _frames(src)[:30]
    h, w = hr_frames[0].shape[:2]
    h, w = h // 4 * 4, w // 4 * 4
    hr_frames = [np.ascontiguousarray(f[:h, :w]) for f in hr_frames]
    lr_path = tmp_path / "lr.mkv"
    with av.open(str(lr_path), "w") as c:
        s = c.add_stream("libx264", rate=25, options={"crf": "12"})
        s.width, s.height, s.pix_fmt = w // 2, h // 2, "yuv420p"
        lr_frames = []
        for f in hr_frames:
            lr = cv2.resize(f, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
            lr_frames.append(lr)
            for pkt in s.encode(av.VideoFrame.from_ndarray(lr, format="rgb24")):
                c.mux(pkt)
        for pkt in s.encode(None):
            c.mux(pkt)
    with Pipeline(lr_path, None, scale=2, device="cpu") as p:
        out = [f.rgb24 for f in p]
    dec_lr = _frames(lr_path)
    assert len(out) == len(hr_frames)
    with FaceDetector() as det:
        box = det.detect(hr_frames[0], 0).xyxy[0].astype(int)
    x0, y0, x1, y1 = box.tolist()
    gain = []
    for hr, lr, sr in zip(hr_frames, dec_lr, out, strict=True):
        bic = upscale_frame(lr, 2)
        sl = (slice(y0, y1), slice(x0, x1))
        gain.append(psnr_y(sr[sl], hr[sl], shave=0) - psnr_y(bic[sl], hr[sl], shave=0))
    assert np.mean(gain) > 0.3, gain


def test_the_pipeline_gives_its_network_the_threads_beside_its_other_stages(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("onnxruntime")
    from streamsr.runtime import _pipeline

    n = torch.get_num_threads() + 1  # not what the backend would take by itself
    monkeypatch.setattr(_pipeline, "network_threads", lambda: n)
    with Pipeline(
        clip, tmp_path / "out.mp4", scale=2, device="cpu", arch="espcn-s", backend="onnxruntime"
    ) as p:
        session = p.enhancer.backend._session
        assert session.get_session_options().intra_op_num_threads == n
        stats = p.run()
    assert stats.frames_out == stats.frames_in > 0

"""Test helpers: the shared data folder (skip cleanly when absent) and generated clips.

Imported as ``from _media import shared, make_clip`` (pytest puts ``tests/`` on ``sys.path``).
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(
    os.environ.get(
        "STREAMSR_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
    )
).resolve()


def shared(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test saying what is missing."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(
            f"shared data not found: {p} (set STREAMSR_SHARED_DATA or place ../shared/data)"
        )
    return p


def make_clip(
    path: Path,
    *,
    frames: int = 30,
    size_wh: tuple[int, int] = (160, 120),
    rate: int = 30,
    codec: str = "libx264",
    audio: bool = False,
    container_format: str | None = None,
    pts_ms: list[int] | None = None,
) -> Path:
    """Encode a short synthetic clip with PyAV: a moving gradient at ``rate`` fps, or at the
    given millisecond pts (variable frame rate), with an optional AAC sine interleaved."""
    import av  # here, not at the top: the GPU tests run where PyAV is absent

    w, h = size_wh
    tb = Fraction(1, 1000) if pts_ms is not None else Fraction(1, rate)
    with av.open(str(path), "w", format=container_format) as out:
        vs = out.add_stream(
            codec, rate=rate, options={"preset": "ultrafast"} if codec == "libx264" else {}
        )
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.codec_context.time_base = tb
        aus = out.add_stream("aac", rate=48000) if audio else None
        yy, xx = np.mgrid[0:h, 0:w]
        samples = 0
        for i in range(frames):
            img = np.stack(
                [(xx * 2 + i * 4) % 256, (yy * 2) % 256, np.full_like(xx, i * 8 % 256)], -1
            )
            vf = av.VideoFrame.from_ndarray(img.astype(np.uint8), format="rgb24")
            vf.pts, vf.time_base = (pts_ms[i] if pts_ms is not None else i), tb
            out.mux(vs.encode(vf))
            while aus is not None and samples < 48000 * (i + 1) / rate:  # interleaved with video
                t = (samples + np.arange(1024)) / 48000
                tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
                af = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
                af.sample_rate, af.pts = 48000, samples
                out.mux(aus.encode(af))
                samples += 1024
        out.mux(vs.encode(None))
        if aus is not None:
            out.mux(aus.encode(None))
    return path


def phone_clip(path: Path, upright: list[np.ndarray], ccw_degrees: int) -> Path:
    """Store ``upright`` frames turned the other way and flag the stream to be turned back by
    ``ccw_degrees`` on display, as phones record portrait video."""
    import av  # here, not at the top: the GPU tests run where PyAV is absent

    k = ccw_degrees // 90
    stored = [np.ascontiguousarray(np.rot90(f, -k)) for f in upright]
    h, w = stored[0].shape[:2]
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=30, options={"preset": "ultrafast", "crf": "12"})
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.set_display_rotation(ccw_degrees)
        for i, img in enumerate(stored):
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            vf.pts = i
            out.mux(vs.encode(vf))
        out.mux(vs.encode(None))
    return path

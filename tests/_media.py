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
    audio: bool = False,
    codec: str = "libx264",
    container_format: str | None = None,
    pts_list: list[int] | None = None,
    time_base: Fraction | None = None,
) -> Path:
    """Encode a short synthetic clip with PyAV (moving gradient, optional sine audio)."""
    import av

    w, h = size_wh
    with av.open(str(path), "w", format=container_format) as out:
        vs = out.add_stream(codec, rate=rate)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        if time_base is not None:
            vs.time_base = time_base
        as_ = out.add_stream("aac", rate=48000) if audio else None
        yy, xx = np.mgrid[0:h, 0:w]
        for i in range(frames):
            img = np.stack(
                [(xx * 2 + i * 4) % 256, (yy * 2) % 256, np.full_like(xx, (i * 8) % 256)], -1
            )
            vf = av.VideoFrame.from_ndarray(img.astype(np.uint8), format="rgb24")
            if pts_list is not None:
                vf.pts = pts_list[i]
                vf.time_base = time_base
            for pkt in vs.encode(vf):
                out.mux(pkt)
        for pkt in vs.encode(None):
            out.mux(pkt)
        if as_ is not None:
            n = int(48000 * frames / rate)
            t = np.arange(n) / 48000
            samples = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
            for k in range(0, n, 1024):
                af = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(samples[:, k : k + 1024]), format="fltp", layout="mono"
                )
                af.sample_rate = 48000
                af.pts = k
                for pkt in as_.encode(af):
                    out.mux(pkt)
            for pkt in as_.encode(None):
                out.mux(pkt)
    return path

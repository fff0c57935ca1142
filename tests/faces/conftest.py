"""Real faces for the faces tests: frames decoded once per session, skipped without shared data."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(
    os.environ.get(
        "STREAMSR_SHARED_DATA", Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
    )
).resolve()


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test saying what is missing."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(
            f"shared data not found: {p} (set STREAMSR_SHARED_DATA or place ../shared/data)"
        )
    return p


def decode_rgb24(path: Path, max_frames: int) -> list[np.ndarray]:
    """The first ``max_frames`` frames of ``path`` as (H, W, 3) uint8 RGB arrays (PyAV's order)."""
    import av

    with av.open(str(path)) as container:
        frames = []
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) >= max_frames:
                break
    return frames


@pytest.fixture(scope="session")
def clip_frames() -> Callable[[str, str, int], list[np.ndarray]]:
    """``clip_frames(folder, name, n)``: decoded frames of a shared clip, cached per session."""
    cache: dict[tuple[str, str, int], list[np.ndarray]] = {}

    def get(folder: str, name: str, n: int) -> list[np.ndarray]:
        key = (folder, name, n)
        if key not in cache:
            cache[key] = decode_rgb24(shared_path("video", folder, name), n)
        return cache[key]

    return get

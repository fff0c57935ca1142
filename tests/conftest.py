"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _media import make_clip, shared

from streamsr import WeightsError

# The enhancer (OpenCV) is imported by the fixtures that need it: tests/enhance/test_gpu.py runs
# on a bare GPU image with torch and numpy alone.


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """A 1 s 160x120 30 fps H.264 MP4 with AAC audio."""
    return make_clip(tmp_path / "clip.mp4", audio=True)


@pytest.fixture(scope="session")
def enhancer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The shipped x2 enhancer live mode uses by default (video weights, else clean); where
    neither exists yet, a stand-in: the shipped x4 clean weights relabelled x2 (these tests
    check the plumbing, not the quality)."""
    from streamsr.enhance import default_arch, load_enhancer

    for variant in ("video", "clean"):
        try:
            return load_enhancer(2, arch=default_arch(2, live=True), variant=variant)
        except WeightsError:
            pass
    from streamsr.enhance._weights import WEIGHTS_DIR, load_weights_file, save_weights

    src = WEIGHTS_DIR / "srcnn-955_x4_clean.pt"
    if not src.is_file():
        pytest.skip("no shipped weights to build a test enhancer from")
    state, meta = load_weights_file(src)
    path = tmp_path_factory.mktemp("weights") / "srcnn-955_x2_standin.pt"
    save_weights(path, state, dict(meta, scale=2, note="test stand-in"))
    return load_enhancer(2, weights=path)


@pytest.fixture(scope="session")
def face_clip() -> Path:
    """A real webcam clip (640x480, 30 fps, 2.9 s, one face about 40 px wide)."""
    return shared("video", "webcam_small_faces", "sister.mkv")

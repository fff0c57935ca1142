"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from _media import make_clip


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """A 1 s 160x120 30 fps H.264 MP4 with AAC audio."""
    return make_clip(tmp_path / "clip.mp4", audio=True)

"""Fixtures of the live tests: RTSP servers on 127.0.0.1 (the enhancer and the face clip are
in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _live_servers import RtspServer, require_gst


@pytest.fixture
def rtsp_server(face_clip: Path) -> Iterator[RtspServer]:
    """A GStreamer RTSP server on 127.0.0.1: ``/in`` the face clip looped live at 320x240,
    ``/push`` → ``/view`` a relay for published streams. Skips when GStreamer is missing."""
    require_gst()
    server = RtspServer("--loop", f"in={face_clip}@320x240", "--relay", "push=view")
    with server:
        yield server

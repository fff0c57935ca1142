"""Sources: where frames come from (video files and other inputs FFmpeg reads)."""

from streamsr._url import redact_url
from streamsr.sources._file import MAX_SIDE_PX, VideoSource
from streamsr.sources._live import (
    LIVE_TIME_BASE,
    CameraOptions,
    LiveSource,
    SourceEvent,
    is_camera,
    is_live,
)

__all__ = [
    "LIVE_TIME_BASE",
    "MAX_SIDE_PX",
    "CameraOptions",
    "LiveSource",
    "SourceEvent",
    "VideoSource",
    "is_camera",
    "is_live",
    "redact_url",
]

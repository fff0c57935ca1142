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
from streamsr.sources._options import SourceOptions

__all__ = [
    "LIVE_TIME_BASE",
    "MAX_SIDE_PX",
    "CameraOptions",
    "LiveSource",
    "SourceEvent",
    "SourceOptions",
    "VideoSource",
    "is_camera",
    "is_live",
    "redact_url",
]

"""Sources: where frames come from (video files and other inputs FFmpeg reads)."""

from streamsr.sources._file import MAX_SIDE_PX, VideoSource
from streamsr.sources._url import redact_url

__all__ = ["MAX_SIDE_PX", "VideoSource", "redact_url"]

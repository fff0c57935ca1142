"""PyAV at the boundary: its errors as one line fit for a log or a ``StreamSRError``."""

from __future__ import annotations

import av.error

from streamsr._url import redact_url


def error_message(exc: BaseException) -> str:
    """One line, credentials redacted (a location may be a URL with a password).

    For FFmpeg errors only the reason (``strerror``): PyAV appends the failing call, its
    options and the URL it was given.
    """
    text = exc.strerror if isinstance(exc, av.error.FFmpegError) and exc.strerror else str(exc)
    return redact_url(" ".join(str(text).split()) or type(exc).__name__)

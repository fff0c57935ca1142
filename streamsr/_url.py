"""Locations: tell URLs from paths, and keep credentials out of logs and errors.

Shared by sources, sinks and the runtime (inputs and outputs may both be URLs).

PyAV's exception messages carry the full URL it was given, password included, so every
message that may contain a URL goes through :func:`redact_url` before it is logged or raised.
"""

from __future__ import annotations

import os
import re

# scheme://userinfo@ : greedy up to the last "@" of the authority, as FFmpeg's URL parser reads
# a password that contains an unescaped "@".
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)[^\s/?#]*@")
# Query parameters that cameras and streaming services use for secrets.
_SECRET_PARAM = re.compile(
    r"(?P<key>[?&;](?:password|passwd|pass|pwd|secret|token|access_token|auth|key|apikey"
    r"|api_key|signature|sig)=)[^&;#\s'\"]*",
    re.IGNORECASE,
)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")

REDACTED = "***"


def redact_url(url: str) -> str:
    """Return ``url`` with credentials replaced by ``***``.

    Works on a bare URL or on any text containing URLs (an exception message, a log line):
    ``rtsp://admin:secret@cam/live?token=abc`` becomes ``rtsp://***@cam/live?token=***``.
    Text without credentials comes back unchanged.
    """
    text = _USERINFO.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", url)
    return _SECRET_PARAM.sub(lambda m: f"{m.group('key')}{REDACTED}", text)


def is_url(location: str | os.PathLike[str]) -> bool:
    """True for ``scheme://...`` locations (rtsp, http, file, ...), False for plain paths."""
    return isinstance(location, str) and _SCHEME.match(location) is not None


def scrub_exception(exc: BaseException) -> BaseException:
    """``exc``, or a copy with credentials redacted, fit to chain with ``raise ... from``.

    A chained cause is printed in full in tracebacks, and PyAV's errors carry the URL with its
    password (``filename`` is read-only on them), so an error that would leak one is replaced
    by an equivalent of the same class, with the same errno and the original traceback.
    """
    if redact_url(str(exc)) == str(exc):
        return exc
    clean: BaseException
    try:
        if isinstance(exc, OSError) and exc.errno is not None:
            filename = exc.filename if isinstance(exc.filename, str) else None
            clean = type(exc)(exc.errno, exc.strerror, filename and redact_url(filename))
        else:
            clean = type(exc)(redact_url(str(exc)))
    except Exception:  # an exception class with another constructor
        clean = RuntimeError(f"{type(exc).__name__}: {redact_url(str(exc))}")
    if redact_url(str(clean)) != str(clean):  # pragma: no cover - defensive
        clean = RuntimeError(f"{type(exc).__name__}: {redact_url(str(exc))}")
    return clean.with_traceback(exc.__traceback__)

"""Keep native libraries' start-up banners off the terminal.

MediaPipe's LiteRT runtime writes its banner (XNNPACK delegate, "Sparsity tensors", accelerator
set-up and tear-down) from C++ straight to file descriptor 2, where Python's logging cannot
filter it, and it has no setting to turn it off. :func:`quiet_native_stderr` points fd 2 at a
temporary file for the length of a block and hands what was written there to ``logging``: at
DEBUG level (``streamsr -v`` shows it), or WARNING if the block raised. ``STREAMSR_NATIVE_LOGS=1``
leaves stderr alone.

Use it only where no other thread is expected to write to stderr (start-up and shutdown of a
component): what another thread writes meanwhile goes to the log at DEBUG level too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Iterator

log = logging.getLogger("streamsr.native")

_LOCK = threading.Lock()


@contextlib.contextmanager
def quiet_native_stderr(what: str) -> Iterator[None]:
    """Capture fd 2 while the block runs (``what`` names the block in the log)."""
    if os.environ.get("STREAMSR_NATIVE_LOGS") or not _LOCK.acquire(blocking=False):
        yield  # asked to show it, or another block is already capturing
        return
    failed = False
    try:
        with tempfile.TemporaryFile() as tmp:
            sys.stderr.flush()
            saved = os.dup(2)
            os.dup2(tmp.fileno(), 2)
            try:
                yield
            except BaseException:
                failed = True
                raise
            finally:
                with contextlib.suppress(Exception):
                    sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                tmp.seek(0)
                text = tmp.read().decode("utf-8", "replace").strip()
                if text:
                    level = logging.WARNING if failed else logging.DEBUG
                    log.log(level, "%s wrote to stderr:\n%s", what, text)
    finally:
        _LOCK.release()

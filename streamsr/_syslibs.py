"""The system libraries the Python wheels need: named in one line when one is missing.

OpenCV's contrib build (the one MediaPipe requires) links ``libGL.so.1`` and GLib; a minimal
Debian or Ubuntu lacks them, and the import then fails deep inside ``cv2`` with a loader
message. :func:`check_opencv` imports ``cv2`` first and turns that into one sentence that says
what to install; run as the ``streamsr`` command it prints that line and exits 1 (no
traceback), imported as a library it raises :class:`ImportError` with the same sentence.
"""

from __future__ import annotations

import os
import sys

DEBIAN_PACKAGES = {"libGL.so": "libgl1", "libgthread": "libglib2.0-0", "libglib": "libglib2.0-0"}


def check_opencv() -> None:
    """Import ``cv2`` and name the missing system package if that fails for one. Where OpenCV
    is not installed at all nothing is checked: the parts that need it fail on import as
    usual, and the network and its backends (torch only) still load."""
    import importlib.util

    if importlib.util.find_spec("cv2") is None:
        return
    try:
        import cv2  # noqa: F401
    except ImportError as exc:
        text = str(exc)
        packages = sorted({pkg for lib, pkg in DEBIAN_PACKAGES.items() if lib in text})
        if not packages:
            raise
        lib = text.split(":", 1)[0].rsplit("/", 1)[-1]
        message = (
            f"OpenCV (the build MediaPipe requires) cannot load the system library {lib}: "
            f"install it with 'sudo apt-get install {' '.join(packages)}' (Debian/Ubuntu)"
        )
        if os.path.basename(sys.argv[0] if sys.argv else "") == "streamsr":
            print(f"streamsr: error: {message}", file=sys.stderr)
            raise SystemExit(1) from None
        raise ImportError(message) from None

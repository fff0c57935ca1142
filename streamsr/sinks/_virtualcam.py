"""Send frames to a virtual camera (video-conferencing apps see it as a webcam).

Through `pyvirtualcam <https://github.com/letmaik/pyvirtualcam>`_, an optional extra
(``pip install 'streamsr[virtualcam]'``), imported only when a virtual camera is opened. Its
backends: v4l2loopback on Linux (a kernel module: ``sudo apt install v4l2loopback-dkms`` then
``sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=streamsr``), the OBS Studio
virtual camera on Windows and macOS, and Unity Capture on Windows.

A virtual camera has no timestamps: frames are shown when they are sent, so the pipeline's own
pacing is the camera's frame rate. ``fps`` is what the device announces to the apps.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import numpy as np

from streamsr._check import is_number
from streamsr._closing import Closing
from streamsr._errors import ConfigError, MissingExtraError, SinkError
from streamsr._frame import Frame

log = logging.getLogger(__name__)

EXTRA = "streamsr[virtualcam]"


def _import_pyvirtualcam() -> Any:
    try:
        import pyvirtualcam
    except ImportError as exc:
        raise MissingExtraError(
            f"the virtual camera output needs pyvirtualcam: pip install '{EXTRA}' ({exc})"
        ) from exc
    return pyvirtualcam


def _no_device_hint() -> str:
    if sys.platform.startswith("linux"):
        return (
            "install and load v4l2loopback: `sudo apt install v4l2loopback-dkms` then "
            "`sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=streamsr`"
        )
    return "install OBS Studio and start its virtual camera once (or Unity Capture on Windows)"


class VirtualCamSink(Closing):
    """Frames of ``size_wh`` to a virtual camera announced at ``fps``.

    ``device``: the device to use (``/dev/video10`` on Linux), or None for the first free one.
    ``backend``: a pyvirtualcam backend name (``v4l2loopback``, ``obs``, ``unitycapture``), or
    None for the platform's default. Raises :class:`~streamsr.MissingExtraError` when
    pyvirtualcam is not installed and :class:`~streamsr.SinkError` when there is no device.
    """

    def __init__(
        self,
        *,
        size_wh: tuple[int, int],
        fps: float = 30.0,
        device: str | None = None,
        backend: str | None = None,
    ) -> None:
        w, h = size_wh
        if not (isinstance(w, int) and isinstance(h, int) and 1 <= w <= 8192 and 1 <= h <= 8192):
            raise ConfigError(f"size_wh must be (width, height) ints in 1..8192; got {size_wh!r}")
        if not is_number(fps) or not 0 < fps <= 240:
            raise ConfigError(f"fps must be a number in (0, 240]; got {fps!r}")
        self.size_wh = (w, h)
        self.fps = float(fps)
        self.frames_written = 0
        pyvirtualcam = _import_pyvirtualcam()
        where = device or "the first free device"
        try:
            self._camera = pyvirtualcam.Camera(
                width=w,
                height=h,
                fps=self.fps,
                fmt=pyvirtualcam.PixelFormat.RGB,
                device=device,
                backend=backend,
            )
        except RuntimeError as exc:
            text = " ".join(str(exc).split())
            if "no " in text.lower() and ("device" in text.lower() or "found" in text.lower()):
                raise SinkError(
                    f"no virtual camera device ({where}): {_no_device_hint()}. "
                    f"pyvirtualcam said: {text}"
                ) from exc
            raise SinkError(f"cannot open the virtual camera ({where}): {text}") from exc
        except ValueError as exc:  # unknown backend, size refused
            raise ConfigError(f"virtual camera: {exc}") from exc
        self.device = str(getattr(self._camera, "device", device))
        self._closed = False
        log.info("virtual camera %s: %dx%d at %g fps", self.device, w, h, self.fps)

    def write(self, frame: Frame) -> None:
        """Show one frame (RGB, ``size_wh``) on the virtual camera."""
        if self._closed:
            raise SinkError(f"virtual camera {self.device} is closed")
        if frame.size_wh != self.size_wh:
            raise SinkError(
                f"virtual camera {self.device}: frame {frame.index} is "
                f"{frame.size_wh[0]}x{frame.size_wh[1]}, opened for "
                f"{self.size_wh[0]}x{self.size_wh[1]}"
            )
        try:
            self._camera.send(np.ascontiguousarray(frame.rgb24))
        except (RuntimeError, ValueError, OSError) as exc:
            raise SinkError(f"virtual camera {self.device}: {exc}") from exc
        self.frames_written += 1

    def close(self) -> None:
        """Release the device. Idempotent."""
        if not self._closed:
            self._closed = True
            self._camera.close()

    def __repr__(self) -> str:
        return (
            f"VirtualCamSink(device={self.device!r}, size_wh={self.size_wh}, fps={self.fps:g}, "
            f"frames_written={self.frames_written})"
        )

"""One network for many cameras: a scheduler that batches every camera's pending crops.

Each camera's enhance stage calls its :class:`CameraEnhancer` (a
:class:`~streamsr.runtime._stages.CropEnhancer`), which queues the frame's crops and waits.
The scheduler thread takes, per tick, every request waiting at that moment (each camera has
at most one: its enhance stage waits for the answer), runs them through the network in one
``enhance_many`` call per weight set, and hands each camera its crops back. A camera with six
faces therefore shares a tick with a camera with one, never queues ahead of it; the latency
budget of each camera still chooses, before queueing, which of its faces are enhanced.

With ``variant="auto"`` every camera has its own :class:`~streamsr.enhance._auto.VariantChooser`
(cameras differ), and the scheduler holds both weight sets of the one network.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from streamsr.enhance._auto import VariantChooser
from streamsr.enhance._enhancer import Residual, enhance_per_frame

log = logging.getLogger(__name__)


@dataclass
class _Request:
    variant: str
    crops: list[np.ndarray]
    residual: Residual
    done: threading.Event = field(default_factory=threading.Event)
    result: list[np.ndarray] | None = None
    error: BaseException | None = None


class SharedEnhancer:
    """The scheduler. ``enhancers``: one :class:`~streamsr.Enhancer` per weight set
    (``{"video": e}``, or ``{"clean": e1, "video": e2}`` for ``auto``)."""

    def __init__(self, enhancers: dict[str, Any], *, auto: bool) -> None:
        first = next(iter(enhancers.values()))
        self.enhancers = enhancers
        self.auto = auto
        self.scale = int(first.scale)
        self.arch = str(first.arch)
        self._pending: list[_Request] = []
        self._cv = threading.Condition()
        self._closed = False
        self.ticks = 0
        self.crops = 0
        self.requests = 0
        self.busy_s = 0.0
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="shared-enhancer", daemon=True)
        self._thread.start()

    def camera(self, name: str) -> CameraEnhancer:
        return CameraEnhancer(self, name)

    def submit(
        self, variant: str, crops: Sequence[np.ndarray], *, residual: Residual = False
    ) -> list[np.ndarray]:
        req = _Request(variant, list(crops), residual)
        with self._cv:
            if self._closed:
                raise RuntimeError("the shared enhancer is closed")
            self._pending.append(req)
            self._cv.notify()
        req.done.wait()
        if req.error is not None:
            raise req.error
        assert req.result is not None
        return req.result

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self._pending and not self._closed:
                    self._cv.wait()
                if self._closed and not self._pending:
                    return
                batch, self._pending = self._pending, []
            t = time.perf_counter()
            for variant, residual in {(r.variant, r.residual) for r in batch}:
                group = [r for r in batch if (r.variant, r.residual) == (variant, residual)]
                try:
                    outs = self.enhancers[variant].enhance_many(
                        [r.crops for r in group], residual=residual
                    )
                    for r, o in zip(group, outs, strict=True):
                        r.result = o
                except BaseException as exc:  # the cameras see it; the scheduler goes on
                    for r in group:
                        r.error = exc
                for r in group:
                    r.done.set()
            self.busy_s += time.perf_counter() - t
            self.ticks += 1
            self.requests += len(batch)
            self.crops += sum(len(r.crops) for r in batch)

    def stats(self) -> dict[str, float]:
        wall = max(1e-9, time.monotonic() - self.started)
        return {
            "ticks": self.ticks,
            "crops": self.crops,
            "requests_per_tick": round(self.requests / self.ticks, 3) if self.ticks else 0.0,
            "crops_per_tick": round(self.crops / self.ticks, 3) if self.ticks else 0.0,
            "utilisation": round(self.busy_s / wall, 3),
        }

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        self._thread.join(timeout=10)


class CameraEnhancer:
    """One camera's door to a :class:`SharedEnhancer` (what its pipeline is given)."""

    def __init__(self, shared: SharedEnhancer, name: str) -> None:
        self.shared = shared
        self.name = name
        self.scale = shared.scale
        self.arch = shared.arch
        self.chooser = VariantChooser() if shared.auto else None
        self.fixed = next(iter(shared.enhancers))

    @property
    def variant(self) -> str:
        return self.chooser.variant if self.chooser is not None else self.fixed

    def observe(
        self,
        crops: Sequence[np.ndarray],
        origins: Sequence[tuple[int, int]] | None,
        qps: Sequence[float | None] | None = None,
    ) -> None:
        if self.chooser is not None:
            self.chooser.observe(crops, origins, qps)

    gives_residuals = True

    def enhance(
        self, crops: Sequence[np.ndarray], *, residual: Residual = False
    ) -> list[np.ndarray]:
        if not len(crops):
            return []
        return self.shared.submit(self.variant, crops, residual=residual)

    def enhance_many(
        self, crops_per_frame: Sequence[Sequence[np.ndarray]], *, residual: Residual = False
    ) -> list[list[np.ndarray]]:
        return enhance_per_frame(self.enhance, crops_per_frame, residual)

    def reset(self) -> None:
        if self.chooser is not None:
            self.chooser = VariantChooser()

    def stats(self) -> dict[str, Any]:
        if self.chooser is None:
            return {"variant": self.fixed}
        return self.chooser.stats()

    def __repr__(self) -> str:
        return f"CameraEnhancer({self.name!r}, shared {self.arch} x{self.scale})"

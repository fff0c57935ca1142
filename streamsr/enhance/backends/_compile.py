"""``torch.compile`` (Inductor) inference: uint8 planes in, uint8 planes out, in one graph.

The conversion to and from [0, 1] floats is compiled together with the network, so Inductor
fuses it into the first and last kernels. The first call of each new shape class compiles
(seconds); later calls reuse it.

On the CPU the graph is compiled once for dynamic shapes, fp32 and channels_last, with
Inductor's *freezing* (weights folded as constants, so oneDNN can pre-pack them and fuse the
ReLUs into the convolutions). On CUDA it runs fp16 and is compiled per shape: the enhancer
feeds it square size buckets, and the backend pads each batch up to a batch bucket, so at most
``len(BUCKET_SIDES) * len(BATCH_BUCKETS)`` graphs are compiled (each new batch size would
otherwise recompile, and past Dynamo's recompile limit it falls back to eager without an
error). Shapes outside the buckets run the fp16 network eagerly.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import torch

from streamsr.enhance._srcnn import Network
from streamsr.enhance.backends._base import (
    BATCH_BUCKETS,
    BUCKET_SIDES,
    batch_bucket,
    check_luma,
    luma_to_tensor,
    tensor_to_luma,
)

log = logging.getLogger(__name__)

# Shapes one compiled function may specialise for before Dynamo gives up and runs eager: every
# size bucket at every batch bucket, with room to spare.
RECOMPILE_LIMIT = len(BUCKET_SIDES) * len(BATCH_BUCKETS) + 16


class CompileBackend:
    """``torch.compile`` of the SRCNN and its uint8 conversions on ``device``."""

    name = "compile"

    def __init__(self, model: Network, *, device: torch.device) -> None:
        import torch._dynamo

        self.device = device
        self.fixed_shapes = device.type == "cuda"
        self._dtype = torch.float16 if device.type == "cuda" else torch.float32
        self._model = (
            model.to(device, self._dtype).eval().to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        )
        cfg: Any = torch._dynamo.config
        # ``recompile_limit`` since torch 2.6; ``cache_size_limit`` before.
        for name in ("recompile_limit", "cache_size_limit"):
            if hasattr(cfg, name):
                setattr(cfg, name, max(int(getattr(cfg, name)), RECOMPILE_LIMIT))
        if device.type == "cuda":
            self._fn = torch.compile(self._step, dynamic=False)
        else:
            self._fn = torch.compile(self._step, dynamic=True, options={"freezing": True})
        self._compiled_once = False

    def _step(self, y_up: torch.Tensor) -> torch.Tensor:
        x = luma_to_tensor(y_up, self._dtype, channels_last=True)
        return tensor_to_luma(self._model(x))

    @torch.no_grad()
    def infer_luma(self, y_up: np.ndarray) -> np.ndarray:
        check_luma(y_up)
        x = torch.from_numpy(y_up).to(self.device, non_blocking=True)
        n, h, w = y_up.shape
        if self.fixed_shapes:
            if h != w or h not in BUCKET_SIDES:
                return self._step(x).cpu().numpy()  # eager: not worth a compile per shape
            top = BATCH_BUCKETS[-1]
            parts = [self._padded(x[k : k + top]) for k in range(0, n, top)]
            return torch.cat(parts).cpu().numpy()
        t0 = time.perf_counter()
        y = self._fn(x).cpu().numpy()
        if not self._compiled_once:
            self._compiled_once = True
            log.info("torch.compile: first call (compiles) took %.1f s", time.perf_counter() - t0)
        return y

    def _padded(self, x: torch.Tensor) -> torch.Tensor:
        """Run a batch padded up to its batch bucket (the padding rows are dropped)."""
        n = x.shape[0]
        b = batch_bucket(n)
        if b > n:
            x = torch.cat([x, x.new_zeros((b - n, *x.shape[1:]))])
        return self._fn(x)[:n]

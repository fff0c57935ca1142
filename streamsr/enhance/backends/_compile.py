"""``torch.compile`` (Inductor) inference: uint8 planes in, uint8 planes out, in one graph.

The conversion to and from [0, 1] floats is compiled together with the network, so Inductor
fuses it into the first and last kernels. The first call of each new shape class compiles
(seconds); later calls reuse it.

On the CPU the graph is compiled once for dynamic shapes, fp32 and channels_last, with
Inductor's *freezing* (weights folded as constants, so oneDNN can pre-pack them and fuse the
ReLUs into the convolutions). On CUDA it runs fp16 and is compiled per shape, so the enhancer
feeds it fixed buckets.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import torch

from streamsr.enhance._srcnn import Network
from streamsr.enhance.backends._base import check_luma, luma_to_tensor, tensor_to_luma

log = logging.getLogger(__name__)

# Shapes one compiled function may specialise for before Dynamo gives up and runs eager:
# 11 buckets, each at a few batch sizes.
RECOMPILE_LIMIT = 64


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
        cfg.recompile_limit = max(int(cfg.recompile_limit), RECOMPILE_LIMIT)
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
        t0 = time.perf_counter()
        y = self._fn(x).cpu().numpy()
        if not self._compiled_once:
            self._compiled_once = True
            log.info("torch.compile: first call (compiles) took %.1f s", time.perf_counter() - t0)
        return y

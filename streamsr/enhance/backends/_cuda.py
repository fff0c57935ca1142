"""CUDA inference: fp16, channels_last, one CUDA graph per (size bucket, batch bucket).

A CUDA graph replays the recorded kernels of one exact shape with no Python or launch
overhead, which is most of the cost of a small network on small crops. Each graph owns a
static uint8 input and output buffer: a call copies its planes into the input, replays, and
copies the output back. Batches are padded up to the next batch bucket (the padding rows hold
stale data and are not read back). Shapes outside the buckets run the same fp16 network
eagerly, without a graph.

The uint8 -> fp16 conversion and back are inside the graph, so the host <-> device copies move
one byte per pixel. Not thread-safe: call it from one thread (the pipeline's enhance stage).
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass

import numpy as np
import torch

from streamsr.enhance._srcnn import Network
from streamsr.enhance.backends._base import (
    BATCH_BUCKETS,
    BUCKET_SIDES,
    batch_bucket,
    check_luma,
    indexed_device,
    luma_to_tensor,
    tensor_to_luma,
)

log = logging.getLogger(__name__)

WARMUP_RUNS = 3  # eager runs on a side stream before capture (cuDNN picks its algorithms)


@dataclass(slots=True)
class _Graph:
    graph: torch.cuda.CUDAGraph
    static_in: torch.Tensor  # (B, H, W) uint8, on the device
    static_out: torch.Tensor  # (B, H, W) uint8, on the device
    host_in: torch.Tensor  # pinned staging buffers
    host_out: torch.Tensor


def fp16_model(model: Network, device: torch.device) -> Network:
    """An fp16 channels_last copy of ``model`` on ``device`` (``model`` is left as it is)."""
    model = copy.deepcopy(model).to(device, torch.float16).eval()
    return model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]


class CudaGraphBackend:
    """fp16 SRCNN on a CUDA ``device``, replayed from CUDA graphs for bucketed shapes."""

    name = "cuda"
    fixed_shapes = True

    def __init__(
        self,
        model: Network,
        *,
        device: torch.device,
        sides: tuple[int, ...] = BUCKET_SIDES,
        batch_sizes: tuple[int, ...] = BATCH_BUCKETS,
    ) -> None:
        if device.type != "cuda":
            raise ValueError(f"the cuda backend needs a CUDA device, got {device}")
        self.device = device = indexed_device(device)
        self._sides = frozenset(sides)
        self._batch_sizes = batch_sizes
        self._model = fp16_model(model, device)
        self._graphs: dict[tuple[int, int, int], _Graph] = {}
        # One memory pool for all graphs: they never replay concurrently, and each output is
        # copied out right after its own replay, so sharing intermediates is safe.
        with torch.cuda.device(device):
            self._pool = torch.cuda.graph_pool_handle()
        # Shapes are fixed, so let cuDNN time its algorithms once per shape (in the warm-up
        # before capture). This is process-wide, as cuDNN's setting is.
        torch.backends.cudnn.benchmark = True

    def _step(self, y_up: torch.Tensor) -> torch.Tensor:
        return tensor_to_luma(self._model(luma_to_tensor(y_up, torch.float16, channels_last=True)))

    def _capture(self, b: int, h: int, w: int) -> _Graph:
        # Graphs, streams and the memory pool belong to one device: capture on ours, whatever
        # the caller's current device is.
        with torch.cuda.device(self.device):
            return self._capture_here(b, h, w)

    def _capture_here(self, b: int, h: int, w: int) -> _Graph:
        static_in = torch.zeros((b, h, w), dtype=torch.uint8, device=self.device)
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            for _ in range(WARMUP_RUNS):
                self._step(static_in)
        torch.cuda.current_stream(self.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=self._pool):
            static_out = self._step(static_in)
        log.debug("cuda: captured a graph for batch %d of %dx%d", b, h, w)
        return _Graph(
            graph,
            static_in,
            static_out,
            torch.empty((b, h, w), dtype=torch.uint8).pin_memory(),
            torch.empty((b, h, w), dtype=torch.uint8).pin_memory(),
        )

    def _replay(self, y_up: np.ndarray) -> np.ndarray:
        n, h, w = y_up.shape
        b = batch_bucket(n, self._batch_sizes)
        g = self._graphs.get((b, h, w))
        if g is None:
            g = self._graphs[(b, h, w)] = self._capture(b, h, w)
        g.host_in[:n].numpy()[...] = y_up
        g.static_in[:n].copy_(g.host_in[:n], non_blocking=True)
        g.graph.replay()
        g.host_out[:n].copy_(g.static_out[:n], non_blocking=True)
        torch.cuda.current_stream(self.device).synchronize()
        return g.host_out[:n].numpy().copy()

    @torch.no_grad()
    def infer_luma(self, y_up: np.ndarray) -> np.ndarray:
        check_luma(y_up)
        n, h, w = y_up.shape
        with torch.cuda.device(self.device):
            if h != w or h not in self._sides:
                x = torch.from_numpy(y_up).to(self.device)
                return self._step(x).cpu().numpy()
            top = self._batch_sizes[-1]
            parts = [self._replay(y_up[k : k + top]) for k in range(0, n, top)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

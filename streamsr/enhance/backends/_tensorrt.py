"""TensorRT inference through Torch-TensorRT's dynamo (``torch.export``) path, fp16.

One engine per square size bucket, each with a dynamic batch of 1 to ``MAX_BATCH`` (optimised
for ``OPT_BATCH``). Engines are built on first use of their bucket (tens of seconds) and kept
on disk with ``torch_tensorrt.save`` as exported programs, so later runs load them in a
second. A cache entry is keyed by everything an engine depends on: the GPU and its compute
capability, the torch, Torch-TensorRT and TensorRT versions, the arch, scale and a hash of
the weights, the bucket and the batch range. Shapes outside the buckets run the fp16 network
eagerly in PyTorch.

The cache is the folder ``$STREAMSR_TRT_CACHE``, by default ``~/.cache/streamsr/trt``;
``streamsr export --backend tensorrt --out DIR`` fills such a folder ahead of time (point
``STREAMSR_TRT_CACHE`` at it on a machine with the same GPU and versions).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from streamsr.enhance._srcnn import Network
from streamsr.enhance.backends._base import (
    BUCKET_SIDES,
    MAX_BATCH,
    check_luma,
    indexed_device,
    luma_to_tensor,
    missing_extra,
    tensor_to_luma,
)
from streamsr.enhance.backends._cuda import fp16_model

log = logging.getLogger(__name__)

OPT_BATCH = 8


def import_torch_tensorrt() -> Any:
    """``torch_tensorrt``, or :class:`MissingExtraError` naming the ``tensorrt`` extra.

    Importing it loads the TensorRT libraries (``libnvinfer``), which fail with ``OSError``
    or ``ImportError`` where they are missing or do not fit the driver.
    """
    try:
        import torch_tensorrt
    except (ImportError, OSError) as exc:
        raise missing_extra("TensorRT", "tensorrt", exc) from exc
    return torch_tensorrt


def cache_dir() -> Path:
    """``$STREAMSR_TRT_CACHE``, else ``$XDG_CACHE_HOME/streamsr/trt`` (``~/.cache/...``)."""
    if folder := os.environ.get("STREAMSR_TRT_CACHE"):
        return Path(folder)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "streamsr" / "trt"


def weights_digest(model: Network) -> str:
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def engine_key(
    device: torch.device, *, arch: str, scale: int, digest: str, side: int, max_batch: int
) -> dict[str, Any]:
    """Everything a compiled engine depends on; its hash names the cache file."""
    import tensorrt
    import torch_tensorrt

    major, minor = torch.cuda.get_device_capability(device)
    return {
        "gpu": torch.cuda.get_device_name(device),
        "compute_capability": f"{major}.{minor}",
        "torch": torch.__version__,
        "torch_tensorrt": torch_tensorrt.__version__,
        "tensorrt": tensorrt.__version__,
        "arch": arch,
        "scale": scale,
        "weights": digest,
        "precision": "fp16",
        "shape": [1, side, side],
        "batch": [1, OPT_BATCH, max_batch],
    }


def engine_path(folder: Path, key: dict[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    side = key["shape"][1]
    return folder / f"{key['arch']}_x{key['scale']}_{side}px_{digest}.ep"


def build_engine(
    model_fp16: Network, side: int, device: torch.device, max_batch: int = MAX_BATCH
) -> tuple[Any, list[Any], Any]:
    """Compile one bucket; returns the module, its example inputs and dynamic shapes."""
    torch_tensorrt = import_torch_tensorrt()
    inputs = [
        torch_tensorrt.Input(
            min_shape=(1, model_fp16.channels, side, side),
            opt_shape=(min(OPT_BATCH, max_batch), model_fp16.channels, side, side),
            max_shape=(max_batch, model_fp16.channels, side, side),
            dtype=torch.float16,
        )
    ]
    module = torch_tensorrt.compile(
        model_fp16, ir="dynamo", inputs=inputs, device=device, **fp16_options(torch_tensorrt)
    )
    example = [torch.rand((2, model_fp16.channels, side, side), device=device).half()]
    dynamic = {"x": {0: torch.export.Dim("batch", min=1, max=max_batch)}}
    return module, example, dynamic


def fp16_options(torch_tensorrt: Any) -> dict[str, Any]:
    """Compile options that make TensorRT keep the fp16 model in fp16, by release.

    The model and inputs are already fp16. Releases with ``use_explicit_typing`` (default
    True from about 2.9) follow those types when it is on; older ones build in the precisions
    listed in ``enabled_precisions``; the newest have neither and are always strongly typed.
    """
    params = inspect.signature(torch_tensorrt.dynamo.compile).parameters
    if "use_explicit_typing" in params:
        return {"use_explicit_typing": True}
    if "enabled_precisions" in params:
        return {"enabled_precisions": {torch.float16}}
    return {}


def save_engine(module: Any, path: Path, example: list[Any], dynamic: Any, key: dict) -> None:
    torch_tensorrt = import_torch_tensorrt()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    torch_tensorrt.save(
        module,
        str(tmp),
        output_format="exported_program",
        arg_inputs=example,
        dynamic_shapes=dynamic,
        retrace=True,
    )
    tmp.replace(path)
    path.with_suffix(".json").write_text(json.dumps(key, indent=2) + "\n")


class TensorRTBackend:
    """Torch-TensorRT fp16 engines per size bucket, cached on disk."""

    name = "tensorrt"
    fixed_shapes = True

    def __init__(
        self,
        model: Network,
        *,
        device: torch.device,
        arch: str,
        scale: int,
        sides: tuple[int, ...] = BUCKET_SIDES,
        max_batch: int = MAX_BATCH,
        folder: Path | None = None,
    ) -> None:
        import_torch_tensorrt()
        if device.type != "cuda":
            raise ValueError(f"the tensorrt backend needs a CUDA device, got {device}")
        self.device = device = indexed_device(device)  # an engine records its gpu_id
        self._model = fp16_model(model, device)
        self._sides = frozenset(sides)
        self._max_batch = max_batch
        self._folder = folder or cache_dir()
        self._arch, self._scale, self._digest = arch, scale, weights_digest(model)
        self._engines: dict[int, Any] = {}

    def _engine(self, side: int) -> Any:
        if side in self._engines:
            return self._engines[side]
        torch_tensorrt = import_torch_tensorrt()
        key = engine_key(
            self.device,
            arch=self._arch,
            scale=self._scale,
            digest=self._digest,
            side=side,
            max_batch=self._max_batch,
        )
        path = engine_path(self._folder, key)
        engine = None
        if path.is_file():
            try:
                engine = torch_tensorrt.load(str(path)).module()
                log.info("tensorrt: loaded the %dpx engine from %s", side, path)
            except (RuntimeError, OSError, ValueError) as exc:
                log.warning("tensorrt: cannot load %s (%s); rebuilding it", path, exc)
        if engine is None:
            t0 = time.perf_counter()
            engine, example, dynamic = build_engine(self._model, side, self.device, self._max_batch)
            log.info("tensorrt: built the %dpx engine in %.0f s", side, time.perf_counter() - t0)
            try:
                save_engine(engine, path, example, dynamic, key)
            except (RuntimeError, OSError, ValueError, TypeError) as exc:
                log.warning("tensorrt: engine not cached (%s: %s)", type(exc).__name__, exc)
        self._engines[side] = engine
        return engine

    @torch.no_grad()
    def infer_luma(self, y_up: np.ndarray) -> np.ndarray:
        check_luma(y_up)
        n, h, w = y_up.shape
        x = luma_to_tensor(torch.from_numpy(y_up).to(self.device), torch.float16)
        if h != w or h not in self._sides:
            return (
                tensor_to_luma(self._model(x.contiguous(memory_format=torch.channels_last)))
                .cpu()
                .numpy()
            )
        engine = self._engine(h)
        parts = [
            tensor_to_luma(engine(x[k : k + self._max_batch])) for k in range(0, n, self._max_batch)
        ]
        return torch.cat(parts).cpu().numpy()

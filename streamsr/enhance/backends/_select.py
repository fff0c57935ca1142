"""Backend names, what ``"auto"`` picks, and building a backend by name.

``auto`` on CUDA prefers TensorRT when Torch-TensorRT imports, else CUDA graphs. On the CPU
it takes the first importable entry of :data:`CPU_PREFERENCE`: ONNX Runtime, then eager
PyTorch (``benchmarks/bench_enhancers.py``, 2-core machine shared with a training job,
srcnn-955 x4, one 128 px output crop): with torch's default 2 threads ONNX Runtime took
31 ms, eager channels_last 104 ms, ``torch.compile`` 98 ms, eager NCHW 144 ms; with 1 thread
all three were within 15 % (21-24 ms). PyTorch's OpenMP threads wait on each other whenever
another process or pipeline stage holds a core; ONNX Runtime's pool does not. Size buckets
stay off on the CPU: for 8 crops of mixed sizes they were 0-30 % slower with ONNX Runtime
and within 10 % either way with eager PyTorch, since padding costs what batching saves.
"""

from __future__ import annotations

import copy
import importlib.util
import logging
from typing import Literal, get_args

import torch

from streamsr._errors import ConfigError
from streamsr.enhance._srcnn import Network
from streamsr.enhance.backends._base import Backend, indexed_device

log = logging.getLogger(__name__)

BackendName = Literal["auto", "tensorrt", "cuda", "compile", "onnxruntime", "cpu"]
BACKENDS: tuple[str, ...] = get_args(BackendName)
CPU_PREFERENCE: tuple[str, ...] = ("onnxruntime", "cpu")
CUDA_ONLY = ("tensorrt", "cuda")


def check_backend_name(backend: str) -> None:
    if backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}")


def importable(backend: str) -> bool:
    """Whether the packages ``backend`` needs import here (without importing them)."""
    if backend == "onnxruntime":
        return all(importlib.util.find_spec(m) is not None for m in ("onnx", "onnxruntime"))
    if backend == "tensorrt":
        if importlib.util.find_spec("torch_tensorrt") is None:
            return False
        from streamsr._errors import MissingExtraError
        from streamsr.enhance.backends._tensorrt import import_torch_tensorrt

        try:
            import_torch_tensorrt()
        except MissingExtraError as exc:
            log.info("tensorrt not usable here: %s", exc)
            return False
    return True


def ort_has_cuda() -> bool:
    """Whether the installed onnxruntime has the CUDA execution provider (onnxruntime-gpu)."""
    if not importable("onnxruntime"):
        return False
    import onnxruntime

    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


def resolve_backend(backend: str, device: str) -> tuple[str, torch.device]:
    """The concrete backend and device for the ``backend`` and ``device`` options.

    ``device`` is ``"auto"``, ``"cpu"`` or ``"cuda"`` (already validated). Raises
    :class:`ConfigError` for contradicting options and :class:`MissingExtraError` for a
    backend whose extra is not installed.
    """
    check_backend_name(backend)
    has_cuda = torch.cuda.is_available()
    if backend == "tensorrt":
        from streamsr.enhance.backends._tensorrt import import_torch_tensorrt

        import_torch_tensorrt()
    if backend in CUDA_ONLY:
        if device == "cpu":
            raise ConfigError(f"backend {backend!r} runs on CUDA, but device='cpu' was asked for")
        if not has_cuda:
            raise ConfigError(f"backend {backend!r} needs CUDA, but torch sees no CUDA device")
        return backend, torch.device("cuda")
    if backend == "cpu":
        if device == "cuda":
            raise ConfigError("backend 'cpu' runs on the CPU, but device='cuda' was asked for")
        return backend, torch.device("cpu")
    dev = torch.device("cuda" if device == "cuda" or (device == "auto" and has_cuda) else "cpu")
    if backend == "onnxruntime" and device == "auto" and has_cuda and not ort_has_cuda():
        dev = torch.device("cpu")  # a CPU-only onnxruntime on a GPU machine
    if backend != "auto":
        return backend, dev
    if dev.type == "cuda":
        return ("tensorrt" if importable("tensorrt") else "cuda"), dev
    return next(b for b in CPU_PREFERENCE if importable(b)), dev


def make_backend(
    backend: str,
    model: Network,
    device: torch.device,
    *,
    arch: str,
    scale: int,
    threads: int | None = None,
) -> Backend:
    """Build the named (concrete, not ``auto``) backend around a copy of ``model``.

    ``threads``: ONNX Runtime's intra-op threads on the CPU (None: ``torch.get_num_threads()``);
    eager PyTorch has one process-wide pool, and the GPU backends need none."""
    device = indexed_device(device)
    model = copy.deepcopy(model)  # backends convert their model in place (device, dtype, layout)
    if backend == "cpu":
        from streamsr.enhance.backends._eager import EagerBackend

        return EagerBackend(model, device=device)
    if backend == "onnxruntime":
        from streamsr.enhance.backends._onnx import OnnxRuntimeBackend

        return OnnxRuntimeBackend(model, device=device, threads=threads)
    if backend == "compile":
        from streamsr.enhance.backends._compile import CompileBackend

        return CompileBackend(model, device=device)
    if backend == "cuda":
        from streamsr.enhance.backends._cuda import CudaGraphBackend

        return CudaGraphBackend(model, device=device)
    if backend == "tensorrt":
        from streamsr.enhance.backends._tensorrt import TensorRTBackend

        return TensorRTBackend(model, device=device, arch=arch, scale=scale)
    raise ConfigError(f"backend must be one of {', '.join(BACKENDS[1:])}; got {backend!r}")

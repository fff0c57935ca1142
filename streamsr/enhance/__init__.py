"""Enhance: the SRCNN, FSRCNN and ESPCN, their weights, backends and ``load_enhancer`` (inference
only).

Training and evaluation live in :mod:`streamsr.training`, which imports this package. The
enhancer (OpenCV) is imported on first use: the networks and backends need only torch.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streamsr.enhance._enhancer import Enhancer, default_arch, load_enhancer
    from streamsr.enhance._export import EXPORT_BACKENDS, ExportBackend, export_model

_LAZY = {
    "Enhancer": "streamsr.enhance._enhancer",
    "default_arch": "streamsr.enhance._enhancer",
    "load_enhancer": "streamsr.enhance._enhancer",
    "EXPORT_BACKENDS": "streamsr.enhance._export",
    "ExportBackend": "streamsr.enhance._export",
    "export_model": "streamsr.enhance._export",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'streamsr.enhance' has no attribute {name!r}")


__all__ = [
    "EXPORT_BACKENDS",
    "Enhancer",
    "ExportBackend",
    "default_arch",
    "export_model",
    "load_enhancer",
]

"""Enhance: the SRCNN, FSRCNN and ESPCN, their weights, backends and ``load_enhancer`` (inference
only).

Training and evaluation live in :mod:`streamsr.training`, which imports this package. The
enhancer (OpenCV) is imported on first use: the networks and backends need only torch.
"""

from typing import TYPE_CHECKING

from streamsr._lazy import lazy_getattr

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


__getattr__ = lazy_getattr("streamsr.enhance", _LAZY, globals())


__all__ = [
    "EXPORT_BACKENDS",
    "Enhancer",
    "ExportBackend",
    "default_arch",
    "export_model",
    "load_enhancer",
]

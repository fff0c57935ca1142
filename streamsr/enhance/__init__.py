"""Enhance: the SRCNN and FSRCNN, their weights, backends and ``load_enhancer`` (inference only).

Training and evaluation live in :mod:`streamsr.training`, which imports this package.
"""

from streamsr.enhance._enhancer import Enhancer, default_arch, load_enhancer
from streamsr.enhance._export import EXPORT_BACKENDS, ExportBackend, export_model

__all__ = [
    "EXPORT_BACKENDS",
    "Enhancer",
    "ExportBackend",
    "default_arch",
    "export_model",
    "load_enhancer",
]

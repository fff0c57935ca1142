"""Enhance: the SRCNN, its weights, its backends and ``load_enhancer`` (inference only).

Training and evaluation live in :mod:`streamsr.training`, which imports this package.
"""

from streamsr.enhance._enhancer import Enhancer, default_arch, load_enhancer

__all__ = ["Enhancer", "default_arch", "load_enhancer"]

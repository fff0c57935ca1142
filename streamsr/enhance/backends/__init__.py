"""Inference backends behind one protocol; optional ones are imported only when asked for."""

from streamsr.enhance.backends._base import Backend
from streamsr.enhance.backends._eager import EagerBackend

__all__ = ["Backend", "EagerBackend"]

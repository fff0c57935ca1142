"""Enhance: the SRCNN, its weights, training and evaluation."""

from streamsr.enhance._enhancer import Enhancer, default_arch, load_enhancer

__all__ = ["Enhancer", "default_arch", "load_enhancer"]

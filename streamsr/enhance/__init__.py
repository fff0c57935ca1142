"""Enhance: the SRCNN, its weights, training and evaluation."""

from streamsr.enhance._enhancer import Enhancer, load_enhancer

__all__ = ["Enhancer", "load_enhancer"]

"""Compose: the upscaled frame with its enhanced faces blended back in."""

from streamsr.compose._blend import (
    compose,
    feather_mask,
    mark,
    paste,
    paste_downscaled,
    upscale_frame,
)
from streamsr.compose._temporal import ResidualSmoother

__all__ = [
    "ResidualSmoother",
    "compose",
    "feather_mask",
    "mark",
    "paste",
    "paste_downscaled",
    "upscale_frame",
]

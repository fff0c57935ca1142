"""Compose: the upscaled frame with its enhanced faces blended back in."""

from streamsr.compose._blend import (
    compose,
    feather_mask,
    mark,
    paste,
    paste_downscaled,
    upscale_frame,
)
from streamsr.compose._options import ComposeOptions, OutputSize
from streamsr.compose._stale import mark_stale
from streamsr.compose._temporal import ResidualSmoother

__all__ = [
    "ComposeOptions",
    "OutputSize",
    "ResidualSmoother",
    "compose",
    "feather_mask",
    "mark",
    "mark_stale",
    "paste",
    "paste_downscaled",
    "upscale_frame",
]

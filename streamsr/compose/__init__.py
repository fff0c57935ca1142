"""Compose: the upscaled frame with its enhanced faces blended back in."""

from streamsr.compose._blend import compose, feather_mask, mark, paste, upscale_frame

__all__ = ["compose", "feather_mask", "mark", "paste", "upscale_frame"]

"""ESPCN-style sub-pixel network (Shi et al., 2016), computing at the low resolution.

ESPCN is the plainest network that works on the low-resolution grid: a few convolutions, then
a sub-pixel convolution whose ``scale**2`` output planes ``PixelShuffle`` rearranges into the
high-resolution plane. Without FSRCNN's shrinking and expanding 1 x 1 layers it has fewer,
wider steps, which on a CPU costs less than the same multiply-adds spread over more layers.
streamsr's variant shares everything else with :class:`~streamsr.enhance._fsrcnn.FSRCNN`
(:class:`~streamsr.enhance._fsrcnn.LowResNet`): the bicubic-upscaled luma plane in,
``pixel_unshuffle`` to the low resolution, ReLU (the paper's tanh is not fused into the
convolution by ONNX Runtime), residual over the bicubic plane, padded once and unpadded
convolutions, the scale part of the network's shape.

``espcn-s``: 5 x 5 to 16 planes, 3 x 3 to 8, 3 x 3 to ``scale**2``; about 760 multiply-adds
per output pixel at x2 (fsrcnn-s about 1,200, srcnn-915s about 3,500) and the receptive field
of fsrcnn-s (9 low-resolution pixels). In a probe (x2, ONNX Runtime, 2 threads, untrained,
one run on the otherwise quiet 2-core machine), per 228 / 780 px output crop: espcn-s
0.59 / 7.07 ms, fsrcnn-s 1.08 / 11.7, srcnn-915s 2.85 / 33.6; (16, 16) with a 3 x 3 first
layer 0.57 / 6.74, (8, 8) 0.47 / 5.20 (padding, the shuffles and the uint8 conversions are a
floor of a few milliseconds at 780 px).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from torch import nn

from streamsr.enhance._fsrcnn import LowResNet

EspcnName = Literal["espcn-s", "espcn"]
ESPCN_ARCHS: tuple[str, ...] = get_args(EspcnName)


@dataclass(frozen=True, slots=True)
class EspcnSpec:
    """``f1`` planes after the first (``k1`` x ``k1``) convolution, ``f2`` after the second
    (``k2`` x ``k2``); the sub-pixel convolution is ``k3`` x ``k3``."""

    f1: int
    f2: int
    k1: int = 5
    k2: int = 3
    k3: int = 3


ESPCN_SPECS: dict[str, EspcnSpec] = {
    "espcn-s": EspcnSpec(f1=16, f2=8),
    # The paper's widths (64, 32): about 6,500 multiply-adds per output pixel at x2, 3,000 at x4.
    "espcn": EspcnSpec(f1=64, f2=32),
}


class ESPCN(LowResNet):
    """Residual ESPCN-style network for one ``scale`` on ``channels`` planes (1 = luma)."""

    def __init__(self, spec: EspcnSpec, *, scale: int, channels: int = 1) -> None:
        super().__init__()
        if scale < 2:
            raise ValueError(f"ESPCN needs a scale of at least 2, got {scale}")
        self.spec = spec
        self.scale = scale
        self.channels = channels
        lr_planes = channels * scale * scale
        self.extract = nn.Conv2d(lr_planes, spec.f1, spec.k1)
        self.mapping = nn.Conv2d(spec.f1, spec.f2, spec.k2)
        self.upsample = nn.Conv2d(spec.f2, lr_planes, spec.k3)
        self._init_head(self.upsample)

    def layers(self) -> list[tuple[str, nn.Conv2d, bool]]:
        return [
            ("extract", self.extract, True),
            ("mapping", self.mapping, True),
            ("upsample", self.upsample, False),
        ]


def build_espcn(arch: str, *, scale: int, channels: int = 1) -> ESPCN:
    """An untrained ESPCN-style network by name, for ``scale``."""
    return ESPCN(ESPCN_SPECS[arch], scale=scale, channels=channels)

"""SRCNN (Dong et al., 2014): the network alone, built by name.

Pre-upsampling: the caller upscales the low-resolution image with bicubic interpolation;
three convolutions refine it (patch extraction and representation, non-linear mapping,
reconstruction), ReLU after the first two. streamsr's variant is *residual*: the network
predicts the difference between the high-resolution Y channel and its bicubic upscale, so
``forward`` returns ``x + residual``. The input is padded once by replicating its border, so
that the output has the input's size (face crops are pasted back whole), and the convolutions
themselves are unpadded, exactly as in training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import torch
from torch import nn
from torch.nn import functional as F

from streamsr.enhance._espcn import ESPCN_ARCHS, build_espcn
from streamsr.enhance._fsrcnn import FSRCNN_ARCHS, LowResNet, build_fsrcnn

SrcnnName = Literal["srcnn-955", "srcnn-915", "srcnn-915s", "srcnn-315"]
SRCNN_ARCHS: tuple[str, ...] = get_args(SrcnnName)
LOWRES_ARCHS: tuple[str, ...] = FSRCNN_ARCHS + ESPCN_ARCHS
"""The networks that compute at the low resolution (one scale each)."""
ARCHS: tuple[str, ...] = SRCNN_ARCHS + LOWRES_ARCHS
"""Every network buildable by name: the SRCNNs (scale-agnostic), the FSRCNNs of
:mod:`streamsr.enhance._fsrcnn` and the ESPCN of :mod:`streamsr.enhance._espcn` (one scale
each, computing at the low resolution)."""


@dataclass(frozen=True, slots=True)
class ArchSpec:
    kernels: tuple[int, int, int]
    filters: tuple[int, int] = (64, 32)


ARCH_SPECS: dict[str, ArchSpec] = {
    "srcnn-955": ArchSpec((9, 5, 5)),
    "srcnn-915": ArchSpec((9, 1, 5)),
    # 9-1-5 with half the filters (32, 16): about half the cost of srcnn-915 in ONNX Runtime
    # (10.6 vs 20.5 ms of CPU per 228 px output, 2 threads); the live pipelines' network.
    "srcnn-915s": ArchSpec((9, 1, 5), (32, 16)),
    "srcnn-315": ArchSpec((3, 1, 5)),
}


class SRCNN(nn.Module):
    """Residual SRCNN on ``channels`` input planes (1 = luma)."""

    def __init__(self, spec: ArchSpec, channels: int = 1) -> None:
        super().__init__()
        k1, k2, k3 = spec.kernels
        f1, f2 = spec.filters
        self.spec = spec
        self.channels = channels
        self.extract = nn.Conv2d(channels, f1, k1)
        self.mapping = nn.Conv2d(f1, f2, k2)
        self.reconstruct = nn.Conv2d(f2, channels, k3)
        self.act = nn.ReLU(inplace=True)
        # The residual starts near zero, so the untrained network is the bicubic baseline.
        nn.init.normal_(self.reconstruct.weight, std=1e-3)
        assert self.reconstruct.bias is not None
        nn.init.zeros_(self.reconstruct.bias)

    @property
    def receptive_field(self) -> int:
        return sum(self.spec.kernels) - 2

    @property
    def valid_crop(self) -> int:
        """Pixels per side that :meth:`forward_valid` loses."""
        return (self.receptive_field - 1) // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Same-size output: the input is padded once by replicating its border, then the
        unpadded convolutions run as in training. (Padding every layer instead costs 1.6x more
        on the CPU, measured at 128 px: 13.1 vs 8.2 ms.)"""
        c = self.valid_crop
        return self.forward_valid(F.pad(x, (c, c, c, c), mode="replicate"))

    def forward_valid(self, x: torch.Tensor) -> torch.Tensor:
        """Unpadded convolutions, as the SRCNN paper trains: the output is the centre of the
        input, ``valid_crop`` pixels smaller per side, and costs about a third less."""
        r = self.act(self.extract(x))
        r = self.act(self.mapping(r))
        r = self.reconstruct(r)
        c = self.valid_crop
        return x[..., c:-c, c:-c] + r


Network = SRCNN | LowResNet
"""What :func:`build_srcnn` builds: all take and return the bicubic-upscaled plane(s)."""


def is_scale_bound(arch: str) -> bool:
    """Whether the network's shape depends on the scale (its weights serve that scale only)."""
    return arch in LOWRES_ARCHS


def build_srcnn(arch: str, channels: int = 1, *, scale: int | None = None) -> Network:
    """Build an untrained network by name; raise ``ConfigError`` naming the allowed archs.

    ``scale`` is needed by the low-resolution networks (FSRCNN, ESPCN), whose shape depends on
    it, and ignored by the SRCNNs.
    """
    from streamsr._errors import ConfigError

    if arch in LOWRES_ARCHS:
        if scale is None:
            raise ConfigError(f"arch {arch!r} is built for one scale: give scale=2, 3 or 4")
        if arch in ESPCN_ARCHS:
            return build_espcn(arch, scale=scale, channels=channels)
        return build_fsrcnn(arch, scale=scale, channels=channels)
    try:
        spec = ARCH_SPECS[arch]
    except KeyError:
        raise ConfigError(f"unknown arch {arch!r}; choose one of {', '.join(ARCHS)}") from None
    return SRCNN(spec, channels)


def multiply_adds(model: Network) -> float:
    """Multiply-adds per *output* pixel: the SRCNNs run every layer at the output resolution,
    the low-resolution networks on ``1 / scale**2`` of the pixels."""
    convs = (
        [c for _n, c, _r in model.layers()]
        if isinstance(model, LowResNet)
        else [model.extract, model.mapping, model.reconstruct]
    )
    total = sum(c.in_channels * c.out_channels * c.kernel_size[0] * c.kernel_size[1] for c in convs)
    return total / model.scale**2 if isinstance(model, LowResNet) else float(total)

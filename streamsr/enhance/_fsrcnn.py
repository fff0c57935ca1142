"""FSRCNN (Dong, Loy and Tang, 2016), computing at the low resolution: the network alone.

SRCNN runs every convolution at the *output* resolution. FSRCNN runs them on the
low-resolution grid and up-samples at the end: feature extraction, shrinking, mapping,
expanding, then a learned up-sampling. streamsr's variant keeps the enhancer's contract (the
bicubic-upscaled luma plane in, the refined plane of the same size out) and is residual like
its SRCNN:

1. the upscaled plane ``x`` (``H`` x ``W``, replicate-padded up to a multiple of the scale) is
   rearranged into ``scale**2`` planes at the low resolution (``pixel_unshuffle``), so that
   every convolution runs on ``1 / scale**2`` of the pixels;
2. feature extraction (``k`` x ``k``, ``d`` filters), shrinking (1 x 1 to ``s``), ``m``
   mapping layers (3 x 3, ``s``), expanding (1 x 1 back to ``d``), each followed by a ReLU
   (the paper's PReLU is not fused into the convolution by ONNX Runtime: measured, fsrcnn-s
   x2 at a 228 px output took 4.5 ms with PReLU against 2.6 ms with ReLU, 2 threads);
3. the up-sampling is a sub-pixel convolution (3 x 3 to ``scale**2`` planes, then
   ``PixelShuffle``; Shi et al. 2016) in place of the paper's transposed convolution: the same
   function class, with no checkerboard overlap and a clean ONNX export (``DepthToSpace``);
4. the result is the residual: ``out = x + residual``, cropped back to ``H`` x ``W``.

As in :mod:`streamsr.enhance._srcnn`, the input is padded once (by replicating its border) and
the convolutions are unpadded, exactly as in training. Unlike SRCNN the network is *not*
scale-agnostic: the scale is part of its shape (``scale**2`` input and output planes), is
stored in the weights' metadata and checked on load.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import torch
from torch import nn
from torch.nn import functional as F

FsrcnnName = Literal["fsrcnn-s", "fsrcnn"]
FSRCNN_ARCHS: tuple[str, ...] = get_args(FsrcnnName)


@dataclass(frozen=True, slots=True)
class FsrcnnSpec:
    """``d`` feature planes, ``s`` shrunk planes, ``m`` mapping layers, ``k`` the kernel of the
    feature extraction (all at the low resolution)."""

    d: int
    s: int
    m: int
    k: int = 5


FSRCNN_SPECS: dict[str, FsrcnnSpec] = {
    # The paper's FSRCNN-s and FSRCNN (d, s, m); the first kernel is 5 x 5 on the LR grid as
    # there (its 9 x 9 transposed convolution is a 3 x 3 sub-pixel convolution here). x2, one
    # 228 px output, ONNX Runtime, 2 threads, against srcnn-915s at 6.6 ms (one probe run, the
    # machine shared with a test run): (32, 5, 1) 1.7 ms; (32, 8, 2) 2.4 ms. (56, 12, 4): 5.5 ms
    # in another run, where srcnn-915s took 8.1 ms.
    "fsrcnn-s": FsrcnnSpec(d=32, s=5, m=1),
    "fsrcnn": FsrcnnSpec(d=56, s=12, m=4),
}

MAPPING_KERNEL = 3
UPSAMPLE_KERNEL = 3


class LowResNet(nn.Module):
    """A residual network computing on the low-resolution grid, for one ``scale``.

    Subclasses define the convolutions (:meth:`layers`, in order, each with whether a ReLU
    follows; the first is named ``extract`` and takes ``channels * scale**2`` planes, the last
    ``upsample`` and gives as many). Padding, ``pixel_unshuffle``, ``PixelShuffle`` and the
    residual are shared, and so are every backend's export of them.
    """

    scale: int
    channels: int

    def _init_head(self, head: nn.Conv2d) -> None:
        # The residual starts near zero, so the untrained network is the bicubic baseline.
        nn.init.normal_(head.weight, std=1e-4)
        assert head.bias is not None
        nn.init.zeros_(head.bias)

    def layers(self) -> list[tuple[str, nn.Conv2d, bool]]:
        raise NotImplementedError

    @property
    def lr_crop(self) -> int:
        """Low-resolution pixels per side that the unpadded convolutions lose."""
        return sum((int(conv.kernel_size[0]) - 1) // 2 for _n, conv, _r in self.layers())

    @property
    def valid_crop(self) -> int:
        """Output pixels per side that :meth:`forward_valid` loses."""
        return self.lr_crop * self.scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Same-size output for any ``H`` x ``W``: pad once by replicating the border (to a
        multiple of the scale, plus what the unpadded convolutions lose), crop back."""
        h, w = x.shape[-2], x.shape[-1]
        s = self.scale
        c = self.valid_crop
        xp = F.pad(x, (c, c + (-w) % s, c, c + (-h) % s), mode="replicate")
        return self.forward_valid(xp)[..., :h, :w]

    def forward_valid(self, x: torch.Tensor) -> torch.Tensor:
        """Unpadded convolutions, as in training. ``H`` and ``W`` must be multiples of the
        scale; the output is the centre of the input, :attr:`valid_crop` pixels smaller per
        side."""
        s = self.scale
        if x.shape[-2] % s or x.shape[-1] % s:
            raise ValueError(
                f"{type(self).__name__} x{s}: forward_valid needs H and W divisible by {s}, "
                f"got {tuple(x.shape)}"
            )
        r = F.pixel_unshuffle(x, s)
        for _name, conv, relu in self.layers():
            r = conv(r)
            if relu:
                r = F.relu(r, inplace=True)
        r = F.pixel_shuffle(r, s)
        c = self.valid_crop
        return x[..., c:-c, c:-c] + r


class FSRCNN(LowResNet):
    """Residual FSRCNN for one ``scale`` on ``channels`` input planes (1 = luma)."""

    def __init__(self, spec: FsrcnnSpec, *, scale: int, channels: int = 1) -> None:
        super().__init__()
        if scale < 2:
            raise ValueError(f"FSRCNN needs a scale of at least 2, got {scale}")
        self.spec = spec
        self.scale = scale
        self.channels = channels
        lr_planes = channels * scale * scale
        self.extract = nn.Conv2d(lr_planes, spec.d, spec.k)
        self.shrink = nn.Conv2d(spec.d, spec.s, 1)
        self.mapping = nn.ModuleList(
            nn.Conv2d(spec.s, spec.s, MAPPING_KERNEL) for _ in range(spec.m)
        )
        self.expand = nn.Conv2d(spec.s, spec.d, 1)
        self.upsample = nn.Conv2d(spec.d, lr_planes, UPSAMPLE_KERNEL)
        self._init_head(self.upsample)

    def layers(self) -> list[tuple[str, nn.Conv2d, bool]]:
        """The convolutions in order, each with whether a ReLU follows (all but the last)."""
        convs: list[tuple[str, nn.Module]] = [
            ("extract", self.extract),
            ("shrink", self.shrink),
            *[(f"mapping.{i}", c) for i, c in enumerate(self.mapping)],
            ("expand", self.expand),
            ("upsample", self.upsample),
        ]
        out = []
        for name, conv in convs:
            assert isinstance(conv, nn.Conv2d)
            out.append((name, conv, name != "upsample"))
        return out


def build_fsrcnn(arch: str, *, scale: int, channels: int = 1) -> FSRCNN:
    """An untrained FSRCNN by name, for ``scale``."""
    return FSRCNN(FSRCNN_SPECS[arch], scale=scale, channels=channels)

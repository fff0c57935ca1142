"""Options of the enhance stage (which network, which weights, where it runs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from streamsr._check import check_choice, check_int, check_str
from streamsr._errors import ConfigError
from streamsr.enhance._srcnn import ARCHS

Backend = Literal["auto", "tensorrt", "cuda", "compile", "onnxruntime", "cpu"]
BACKENDS: tuple[Backend, ...] = ("auto", "tensorrt", "cuda", "compile", "onnxruntime", "cpu")


@dataclass(frozen=True, slots=True, kw_only=True)
class EnhanceOptions:
    """``scale``: 2, 3 or 4. ``arch``: the network (None: the default for the mode, see
    :func:`~streamsr.enhance.default_arch`, or the one a ``weights`` file names). ``variant``:
    which shipped weights: ``auto`` (both loaded; the choice follows how degraded the faces
    look, :mod:`streamsr.enhance._auto`), ``video`` (trained on blurred, noisy, compressed
    faces) or ``clean``. ``weights``: a weights file instead of the shipped ones. ``device`` and
    ``backend``: where and how the network runs (``auto``: the fastest available here).
    ``reuse_every``: a large face (output crop of 256 px or more) goes through the network
    every that many frames of its track and carries its last residual over, moved as the
    picture moved, in between (:class:`~streamsr.runtime._stages.ResidualReuse`; 1: every
    frame)."""

    scale: int = 2
    arch: str | None = None
    variant: Literal["auto", "clean", "video"] = "auto"
    weights: str | None = None
    device: Literal["auto", "cpu", "cuda"] = "auto"
    backend: Backend = "auto"
    quality: Literal["fast", "balanced", "best"] | None = None
    reuse_every: int = 1

    def __post_init__(self) -> None:
        check_choice("scale", self.scale, (2, 3, 4))
        check_int("reuse_every", self.reuse_every, 1, 8)
        if self.arch is not None:
            check_choice("arch", self.arch, ARCHS)
        check_choice("variant", self.variant, ("auto", "clean", "video"))
        check_str("weights", self.weights, none=True)
        check_choice("device", self.device, ("auto", "cpu", "cuda"))
        check_choice("backend", self.backend, BACKENDS)
        if self.quality is not None:
            check_choice("quality", self.quality, ("fast", "balanced", "best"))
            named = "arch" if self.arch is not None else "weights" if self.weights else None
            if named:
                raise ConfigError(
                    f"quality picks among the shipped networks and {named} names one: "
                    f"give one of them, not both"
                )

    def load(self, *, live: bool, tiers: bool = True, threads: int | None = None) -> Any:
        """The :class:`~streamsr.Enhancer` these options name; with neither ``arch`` nor
        ``weights``, the network of the quality (default: the mode's,
        :func:`~streamsr.enhance.default_arch`), and where that quality gives large faces a
        cheaper one (``best``), both (:class:`~streamsr.enhance._enhancer.TieredEnhancer`;
        ``tiers=False``: the main one alone). ``threads``: the network's intra-op threads on
        the CPU (:func:`~streamsr.enhance.load_enhancer`)."""
        from streamsr.enhance._enhancer import (
            DEFAULT_QUALITY,
            LARGE_FACE_QUALITY,
            TieredEnhancer,
            load_enhancer,
            quality_arch,
        )

        def load(arch: str | None) -> Any:
            return load_enhancer(
                self.scale,
                arch=arch,
                device=self.device,
                weights=self.weights,
                variant=self.variant,
                backend=self.backend,
                threads=threads,
            )

        if self.arch is not None or self.weights is not None:
            return load(self.arch)
        quality = self.quality or DEFAULT_QUALITY[live]
        arch = quality_arch(self.scale, quality)
        large = LARGE_FACE_QUALITY.get(quality)
        large_arch = quality_arch(self.scale, large) if large and tiers else arch
        if large_arch == arch:
            return load(arch)
        return TieredEnhancer(load(arch), load(large_arch))

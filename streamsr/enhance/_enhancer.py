"""``load_enhancer``: crops in, enhanced crops out, batched.

Pre- and post-processing are pure functions shared by every backend: a crop is upscaled by
bicubic interpolation, the network refines its luma (full-range BT.601 Y), the chroma stays
bicubic. Crops of one shape (or, with size buckets, of one bucket) go through the network as
one batch; the backend (eager PyTorch, ONNX Runtime, torch.compile, CUDA graphs, TensorRT)
is chosen by name in :func:`load_enhancer`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import torch

from streamsr._check import check_int
from streamsr._errors import ConfigError, WeightsError
from streamsr.enhance._auto import FIRST_CROPS, VariantChooser
from streamsr.enhance._resize import upscale_bicubic
from streamsr.enhance._srcnn import ARCHS, Network, build_srcnn, is_scale_bound
from streamsr.enhance._weights import load_weights_file, shipped_weights_path
from streamsr.enhance.backends import Backend
from streamsr.enhance.backends._base import MAX_BATCH, bucket_side
from streamsr.enhance.backends._select import (
    BackendName,
    check_backend_name,
    make_backend,
    resolve_backend,
)

log = logging.getLogger(__name__)

Device = Literal["auto", "cpu", "cuda"]
Variant = Literal["auto", "clean", "video"]
SCALES = (2, 3, 4)
VARIANTS = ("clean", "video")
"""The shipped weight sets of every network and scale (``auto`` chooses between them)."""
Residual = bool | Literal["input"]
"""What :meth:`Enhancer.enhance` returns: enhanced RGB crops (False), each crop's luma residual
at the output size (True), or that residual's ``scale`` x ``scale`` area average, at the crop's
own size (``"input"``: for a picture composed at the input's size)."""


def preprocess(crop_rgb24: np.ndarray, scale: int) -> np.ndarray:
    """Bicubic upscale of a crop, as full-range YCrCb uint8 (the network input lives in [..., 0])."""
    h, w = crop_rgb24.shape[:2]
    return cv2.cvtColor(upscale_bicubic(crop_rgb24, (w * scale, h * scale)), cv2.COLOR_RGB2YCrCb)


def preprocess_luma(crop_rgb24: np.ndarray, scale: int) -> np.ndarray:
    """Bicubic upscale of a crop's full-range luma, ``(H, W)`` uint8: what :func:`preprocess`
    gives in channel 0 up to one level of rounding (Y is a weighted sum of R, G and B and
    bicubic interpolation is linear), for a ninth of the pixels converted and a third of the
    pixels interpolated (close-up crop, 384 to 768 px: 0.22 against 1.86 ms). The pipeline's
    path: it wants the luma residual only."""
    h, w = crop_rgb24.shape[:2]
    return upscale_bicubic(cv2.cvtColor(crop_rgb24, cv2.COLOR_RGB2GRAY), (w * scale, h * scale))


def postprocess(ycrcb_up: np.ndarray, y_out: np.ndarray) -> np.ndarray:
    """Put the refined luma into the bicubic YCrCb and convert to RGB (``ycrcb_up`` is reused)."""
    ycrcb_up[..., 0] = y_out
    return cv2.cvtColor(ycrcb_up, cv2.COLOR_YCrCb2RGB)


def luma_residual(ycrcb_up: np.ndarray, y_out: np.ndarray) -> np.ndarray:
    """What the network added to the bicubic luma: ``(H, W)`` float32, in levels.

    In full-range YCrCb a change of Y changes R, G and B by the same amount, so this one plane
    is the whole enhancement: compose adds it to the three channels of the bicubic background
    (a third of the work of an RGB residual, and no YCrCb round trip to round).
    """
    return cv2.subtract(y_out, ycrcb_up[..., 0], dtype=cv2.CV_32F)


def _residual_over(y_up: np.ndarray, y_out: np.ndarray) -> np.ndarray:
    """:func:`luma_residual` for a luma plane (:func:`preprocess_luma`)."""
    return cv2.subtract(y_out, y_up, dtype=cv2.CV_32F)


def check_crop(i: int, crop: Any) -> None:
    if not isinstance(crop, np.ndarray):
        raise ValueError(f"crop {i}: expected a numpy array, got {type(crop).__name__}")
    if crop.dtype != np.uint8:
        raise ValueError(f"crop {i}: expected dtype uint8, got {crop.dtype}")
    if crop.ndim != 3 or crop.shape[2] != 3:
        raise ValueError(f"crop {i}: expected shape (H, W, 3) RGB, got {crop.shape}")
    if crop.shape[0] < 1 or crop.shape[1] < 1:
        raise ValueError(f"crop {i}: empty crop of shape {crop.shape}")


def resolve_device(device: str) -> torch.device:
    if device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' asked for, but torch sees no CUDA device")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


class Enhancer:
    """A network (SRCNN or FSRCNN) ready for inference. Build with :func:`load_enhancer`.

    ``buckets=True`` pads each upscaled luma plane (edge replication, bottom and right) up to
    the smallest square of :data:`~streamsr.enhance.backends.BUCKET_SIDES` that holds it, so
    that crops of different sizes share one batch and fixed-shape backends see few shapes;
    the output is cut back to the crop. Inside the crop only the last four rows and columns
    can change for srcnn-955 (the inner layers see real neighbours instead of replicated
    ones): on face crops about 65 dB PSNR against the unpadded path, at most a few levels, up
    to ten in the outermost two pixels, which the feathered paste-back hides. An FSRCNN sees
    further (its layers run on the low-resolution grid): there the band is about
    ``valid_crop`` pixels wide. Planes larger than the largest bucket keep their size.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        scale: int,
        device: torch.device,
        meta: dict[str, Any],
        buckets: bool = False,
        max_batch: int = MAX_BATCH,
    ) -> None:
        if max_batch < 1:
            raise ConfigError(f"max_batch must be at least 1, got {max_batch!r}")
        self.scale = scale
        self.device = device
        self.meta = meta
        self.arch = str(meta.get("arch"))
        self.backend = backend
        self.buckets = bool(buckets)
        self.max_batch = max_batch

    def __repr__(self) -> str:
        return (
            f"Enhancer(arch={self.arch!r}, scale={self.scale}, backend={self.backend.name!r}, "
            f"buckets={self.buckets})"
        )

    def enhance_luma(self, y_up: np.ndarray) -> np.ndarray:
        """Refine a batch ``(B, H, W)`` of bicubic-upscaled uint8 luma planes."""
        return self.backend.infer_luma(y_up)

    def _batch_shape(self, h: int, w: int) -> tuple[int, int]:
        side = bucket_side(h, w) if self.buckets else None
        return (side, side) if side is not None else (h, w)

    gives_residuals = True
    """:meth:`enhance` can return luma residuals (``residual=True``), what the pipeline pastes."""

    def _reads_low_resolution(self) -> bool:
        """Whether the backend takes the crops' own luma (``infer_residual_lr`` and
        ``infer_residual_input``, the bicubic folded in); size buckets need the upscaled plane."""
        return not self.buckets and bool(getattr(self.backend, "reads_low_resolution", False))

    def enhance(
        self, crops: Sequence[np.ndarray], *, residual: Residual = False
    ) -> list[np.ndarray]:
        """Enhance RGB uint8 crops of any sizes; returns crops ``scale`` times larger, same order.

        Crops of one batch shape (their exact size, or their bucket) go through the network
        together, ``max_batch`` at a time. ``residual=True``: each result is instead the
        ``(H, W)`` float32 luma the network added to the bicubic upscale of the crop's luma
        (:func:`preprocess_luma`); a backend that :attr:`reads_low_resolution` (ONNX Runtime
        with a low-resolution network) computes it from the crop's own luma, with the bicubic
        folded into the network (no upscaled plane is made; up to about 0.8 levels from the
        rounded path, :func:`~streamsr.enhance.backends._onnx.lowres_lr_to_onnx`).
        ``residual="input"``: that residual's ``scale`` x ``scale`` area average, ``(h, w)``
        like the crop; such a backend computes the average in its last layer, at the low
        resolution (``infer_residual_input``), the others average the residual.
        """
        if isinstance(crops, np.ndarray):
            raise ValueError("crops must be a list of (H, W, 3) arrays, not one array")
        for i, c in enumerate(crops):
            check_crop(i, c)
        lowres = bool(residual) and self._reads_low_resolution()
        if residual == "input" and not lowres:
            s = self.scale
            return [
                cv2.resize(r, (r.shape[1] // s, r.shape[0] // s), interpolation=cv2.INTER_AREA)
                for r in self.enhance(crops, residual=True)
            ]
        finish: Callable[[np.ndarray, np.ndarray], np.ndarray]
        # a backend that gives the residual itself saves the rounding and the subtraction; one
        # with the bicubic folded in (ONNX Runtime, a low-resolution network) takes the crops'
        # own luma, so no upscaled plane is made and its output is ``grow`` times the input
        direct: Callable[[np.ndarray], np.ndarray] | None = None
        grow = 1
        if lowres:
            ups = lumas = [cv2.cvtColor(c, cv2.COLOR_RGB2GRAY) for c in crops]
            if residual == "input":
                direct = self.backend.infer_residual_input  # type: ignore[attr-defined]
            else:
                direct, grow = self.backend.infer_residual_lr, self.scale  # type: ignore[attr-defined]
        elif residual:  # the luma alone
            ups = lumas = [preprocess_luma(c, self.scale) for c in crops]
            finish = _residual_over
            direct = getattr(self.backend, "infer_residual", None)
        else:
            ups = [preprocess(c, self.scale) for c in crops]
            lumas = [u[..., 0] for u in ups]
            finish = postprocess
        out: list[np.ndarray | None] = [None] * len(ups)
        groups: dict[tuple[int, int], list[int]] = {}
        for i, u in enumerate(ups):
            groups.setdefault(self._batch_shape(*u.shape[:2]), []).append(i)
        for (bh, bw), idx in groups.items():
            for k in range(0, len(idx), self.max_batch):
                chunk = idx[k : k + self.max_batch]
                batch = np.empty((len(chunk), bh, bw), np.uint8)
                for j, i in enumerate(chunk):
                    pad_luma(lumas[i], batch[j])
                if direct is not None:
                    r = direct(batch)
                    for j, i in enumerate(chunk):
                        h, w = ups[i].shape[:2]
                        out[i] = np.ascontiguousarray(r[j, : h * grow, : w * grow])
                    continue
                y = self.enhance_luma(batch)
                for j, i in enumerate(chunk):
                    h, w = ups[i].shape[:2]
                    out[i] = finish(ups[i], y[j, :h, :w])
        return [o for o in out if o is not None]

    def enhance_many(
        self, crops_per_frame: Sequence[Sequence[np.ndarray]], *, residual: Residual = False
    ) -> list[list[np.ndarray]]:
        """:meth:`enhance` for the crops of several frames at once, batched together.

        Takes one list of crops per frame and returns one list of enhanced crops per frame,
        in the same order; frames without crops get an empty list.
        """
        return enhance_per_frame(self.enhance, crops_per_frame, residual)


def split_like(flat: list[np.ndarray], lists: Sequence[Sequence[Any]]) -> list[list[np.ndarray]]:
    """Cut ``flat`` into lists of the lengths of ``lists``, in order."""
    result: list[list[np.ndarray]] = []
    k = 0
    for items in lists:
        result.append(flat[k : k + len(items)])
        k += len(items)
    return result


def enhance_per_frame(
    enhance: Callable[..., list[np.ndarray]],
    crops_per_frame: Sequence[Sequence[np.ndarray]],
    residual: Residual,
) -> list[list[np.ndarray]]:
    """``enhance_many`` of any enhancer: the crops of every frame through one ``enhance`` call
    (one batch), handed back one list per frame, in order."""
    if isinstance(crops_per_frame, np.ndarray):
        raise ValueError("crops_per_frame must be a list of lists of (H, W, 3) arrays")
    flat = enhance([c for crops in crops_per_frame for c in crops], residual=residual)
    return split_like(flat, crops_per_frame)


class AutoEnhancer(Enhancer):
    """An :class:`~streamsr.Enhancer` holding the ``clean`` and the ``video`` weights of one
    network, with a :class:`VariantChooser` that picks between them from the crops it sees.
    Build with ``load_enhancer(variant="auto")``."""

    def __init__(self, clean: Enhancer, video: Enhancer) -> None:
        if clean.scale != video.scale or clean.arch != video.arch:
            raise ValueError("the clean and video enhancers must share arch and scale")
        super().__init__(
            video.backend,
            scale=video.scale,
            device=video.device,
            meta=dict(video.meta, variant="auto"),
            buckets=video.buckets,
            max_batch=video.max_batch,
        )
        self.enhancers = {"clean": clean, "video": video}
        self.chooser = VariantChooser()
        self._lock = threading.Lock()
        self._fed = False  # observe() is called by the pipeline: enhance() measures nothing
        log.info(
            "variant auto: starting from the video weights until %d face crops are measured",
            FIRST_CROPS,
        )

    @property
    def variant(self) -> str:
        return self.chooser.variant

    def reset(self) -> None:
        """Forget the estimate: the next stream is measured afresh (starts on video)."""
        with self._lock:
            self.chooser = VariantChooser()
            self._fed = False

    def __repr__(self) -> str:
        return f"AutoEnhancer({self.enhancers['video']!r}, now {self.variant})"

    def observe(
        self,
        crops: Sequence[np.ndarray],
        origins: Sequence[tuple[int, int]] | None,
        qps: Sequence[float | None] | None = None,
    ) -> None:
        """Feed the chooser the crops about to be enhanced, their places in the frame and,
        where the decoder exports them, the codec's quantisers over the faces (the pipeline
        calls this; plain :meth:`enhance` calls take crops as whole images)."""
        with self._lock:
            self._fed = True
            self.chooser.observe(crops, origins, qps)

    def _current(self, crops: Sequence[np.ndarray]) -> Enhancer:
        with self._lock:
            if not self._fed:
                self.chooser.observe(crops)
            current = self.enhancers[self.chooser.variant]
            self.backend = current.backend
            self.meta = dict(current.meta, variant="auto")
            return current

    def enhance_luma(self, y_up: np.ndarray) -> np.ndarray:
        return self.enhancers[self.chooser.variant].enhance_luma(y_up)

    def enhance(
        self, crops: Sequence[np.ndarray], *, residual: Residual = False
    ) -> list[np.ndarray]:
        if isinstance(crops, np.ndarray):
            raise ValueError("crops must be a list of (H, W, 3) arrays, not one array")
        return self._current(crops).enhance(crops, residual=residual)

    def enhance_many(
        self, crops_per_frame: Sequence[Sequence[np.ndarray]], *, residual: Residual = False
    ) -> list[list[np.ndarray]]:
        if isinstance(crops_per_frame, np.ndarray):
            raise ValueError("crops_per_frame must be a list of lists of (H, W, 3) arrays")
        flat = [c for crops in crops_per_frame for c in crops]
        return self._current(flat).enhance_many(crops_per_frame, residual=residual)

    def stats(self) -> dict[str, Any]:
        """For :class:`~streamsr.runtime.Stats`: the variant in use and the estimate."""
        return self.chooser.stats()


LARGE_CROP_PX = 256
"""Crop side, in input pixels, from which a face is large for :class:`TieredEnhancer` (an
output crop of 512 px at x2, 1,024 at x4). In input pixels because that is what the
low-resolution networks cost: on ONNX Runtime, with the bicubic folded in, espcn took 34.3 /
34.7 / 36.3 ms for a 256 px crop at x2 / x3 / x4 (espcn-s 6.7 / 7.1 / 7.7; one thread, one
run on the quiet 2-core machine, ``bench_enhancers.py --backends onnxruntime-residual``).
Until the eleventh session it was 512 px of output at every scale, which at x4 sent faces of
128 input pixels to espcn-s."""
LARGE_HYSTERESIS = 0.85
"""A crop between this share of :data:`LARGE_CROP_PX` and it keeps the tier of the last call
that had such a crop, so that a face near the threshold does not switch network every frame."""


class TieredEnhancer:
    """Two networks of one scale: ``main`` for faces whose crop (input pixels) is smaller than
    :data:`LARGE_CROP_PX`, the cheaper ``large`` for the others.

    Every network pays per pixel of the crop (a pre-upsampling SRCNN per output pixel, a
    low-resolution one per input pixel), so a face that fills the frame costs most, while what
    enhancement adds to a face that is already large is least. ``--quality
    best`` (the file default) runs espcn for small faces and the balanced network for large
    ones (:data:`LARGE_FACE_QUALITY`). With ``variant="auto"`` both are
    :class:`AutoEnhancer` s sharing one chooser, so both tiers always use the same weight set.
    """

    gives_residuals = True

    def __init__(self, main: Enhancer, large: Enhancer) -> None:
        if main.scale != large.scale:
            raise ValueError("the two tiers must share the scale")
        self.main, self.large = main, large
        self.scale = main.scale
        self.arch = main.arch
        self.large_arch = large.arch
        self.device = main.device
        self._band_large = False
        self._share()
        log.info(
            "faces of %d px and more (output; crops of %d input px) through %s, the others "
            "through %s",
            LARGE_CROP_PX * self.scale,
            LARGE_CROP_PX,
            large.arch,
            main.arch,
        )

    def _share(self) -> None:
        if isinstance(self.main, AutoEnhancer) and isinstance(self.large, AutoEnhancer):
            self.large.chooser = self.main.chooser
            self.large._fed = True  # the main tier's observe() feeds the one chooser

    @property
    def meta(self) -> dict[str, Any]:
        return dict(self.main.meta, large_arch=self.large.arch, large_px=LARGE_CROP_PX * self.scale)

    @property
    def variant(self) -> str:
        return str(getattr(self.main, "variant", self.main.meta.get("variant")))

    def __repr__(self) -> str:
        return f"TieredEnhancer({self.main!r}, large faces {self.large!r})"

    def observe(
        self,
        crops: Sequence[np.ndarray],
        origins: Sequence[tuple[int, int]] | None,
        qps: Sequence[float | None] | None = None,
    ) -> None:
        observe = getattr(self.main, "observe", None)
        if observe is not None:
            observe(crops, origins, qps)

    def reset(self) -> None:
        reset = getattr(self.main, "reset", None)
        if reset is not None:
            reset()
            self._share()

    def stats(self) -> dict[str, Any]:
        stats = getattr(self.main, "stats", None)
        return dict(stats() if stats is not None else {}, large_arch=self.large.arch)

    def is_large(self, crops: Sequence[np.ndarray]) -> list[bool]:
        """Which crops go to the large tier (by the crop's longer side, input pixels). A crop
        in the band under the threshold keeps the tier the band had: large after a large crop,
        small after a call whose crops were all under the band."""
        sides = [max(c.shape[0], c.shape[1]) for c in crops]
        floor = LARGE_HYSTERESIS * LARGE_CROP_PX
        if any(s >= LARGE_CROP_PX for s in sides):
            self._band_large = True
        elif sides and all(s < floor for s in sides):
            self._band_large = False
        return [s >= LARGE_CROP_PX or (s >= floor and self._band_large) for s in sides]

    def enhance(
        self, crops: Sequence[np.ndarray], *, residual: Residual = False
    ) -> list[np.ndarray]:
        if isinstance(crops, np.ndarray):
            raise ValueError("crops must be a list of (H, W, 3) arrays, not one array")
        large = self.is_large(crops)
        out: list[np.ndarray] = [np.empty(0)] * len(crops)
        for tier, flag in ((self.main, False), (self.large, True)):
            idx = [i for i, lg in enumerate(large) if lg == flag]
            if idx:
                for i, o in zip(
                    idx, tier.enhance([crops[i] for i in idx], residual=residual), strict=True
                ):
                    out[i] = o
        return out

    def enhance_many(
        self, crops_per_frame: Sequence[Sequence[np.ndarray]], *, residual: Residual = False
    ) -> list[list[np.ndarray]]:
        return enhance_per_frame(self.enhance, crops_per_frame, residual)


def pad_luma(y: np.ndarray, dst: np.ndarray) -> None:
    """Copy plane ``y`` into the top left of ``dst`` and replicate its last row and column."""
    h, w = y.shape
    dst[:h, :w] = y
    if w < dst.shape[1]:
        dst[:h, w:] = dst[:h, w - 1 : w]
    if h < dst.shape[0]:
        dst[h:] = dst[h - 1 : h]


OFFLINE_ARCH = "srcnn-955"
"""The reference network, and the last resort of every quality (its weights exist at every scale)."""
QUALITIES = ("fast", "balanced", "best")
"""What ``--quality`` takes; :data:`QUALITY_ARCHS` says which network each one is."""
QUALITY_ARCHS: dict[str, tuple[str, ...]] = {
    # The cheapest shipped network: espcn-s (about 760 multiply-adds per output pixel at x2,
    # 544 at x4), then fsrcnn-s (about 1,200).
    "fast": ("espcn-s", "fsrcnn-s", "srcnn-915s"),
    # Live: a cheap network with the best quality among the cheap ones, per scale. x2 and x4:
    # espcn-s (x4: +1.78 / +0.52 dB against fsrcnn-s's +1.64 / +0.53, at half the cost); x3:
    # fsrcnn-s (+2.09 / +0.63).
    "balanced": ("espcn-s@2", "espcn-s@4", "fsrcnn-s", "srcnn-915s", OFFLINE_ARCH),
    # The best measured quality (the 23 eval faces, clean weights on clean downscales / video
    # weights on realistic ones, gain over bicubic in PSNR-Y): espcn (the paper's widths) at
    # every scale. x2 +2.79 / +0.72 dB (espcn-s +2.46 / +0.62, fsrcnn-s +2.40 / +0.55, srcnn-955
    # +2.03 / +0.58; on 373 faces training held out +1.66 / +0.61 against espcn-s's +1.51 /
    # +0.50); x3 +2.42 / +0.75 (fsrcnn-s +2.09 / +0.63, srcnn-955 +1.90 / +0.68); x4 +2.18 /
    # +0.69 (srcnn-955 +1.80 / +0.69). About a ninth of srcnn-955's cost at x2, a nineteenth at
    # x4. Files: the small-face speed goal (>= 0.75 x a plain transcode) holds (0.93 at x2).
    "best": ("espcn", OFFLINE_ARCH),
}
"""Preference order of the network of each quality; ``name@S`` only at scale S. The first whose
``clean`` and ``video`` weights are shipped for the scale is taken."""
LARGE_FACE_QUALITY: dict[str, str] = {"best": "balanced"}
"""The quality whose network takes the large faces (:class:`TieredEnhancer`) of a quality. A
close-up (a 780 px output crop at x2) through espcn costs about 47 ms on two cores against
espcn-s's 11 ms, for about 0.1 dB (bench_flicker on the close-up talking head)."""
DEFAULT_QUALITY: dict[bool, str] = {False: "best", True: "balanced"}
"""The quality of a file run (False) and of a live one (True) when none is given. Pipeline files
set their own (``pipelines/videoconf.toml``: ``fast``)."""


def check_quality(quality: str) -> None:
    if quality not in QUALITIES:
        raise ConfigError(f"unknown quality {quality!r}; choose one of {', '.join(QUALITIES)}")


def quality_arch(scale: int, quality: str) -> str:
    """The network of ``quality`` at ``scale`` (:data:`QUALITY_ARCHS`)."""
    check_quality(quality)
    for entry in QUALITY_ARCHS[quality]:
        arch, _, only = entry.partition("@")
        if only and int(only) != scale:
            continue
        if all(shipped_weights_path(arch, scale, v).is_file() for v in VARIANTS):
            return arch
    return OFFLINE_ARCH


def default_arch(scale: int, *, live: bool) -> str:
    """The default network for ``scale`` in a live or file run (:data:`DEFAULT_QUALITY`)."""
    return quality_arch(scale, DEFAULT_QUALITY[live])


def load_model(
    scale: int, *, arch: str | None, variant: str, weights: str | Path | None
) -> tuple[Network, dict[str, Any]]:
    """Build ``arch`` and load its weights (the shipped ones when ``weights`` is None).

    ``arch=None``: the one the ``weights`` file names, or the file default
    (:func:`default_arch`) for the shipped weights. Weights are for the scale their metadata names; for an FSRCNN that scale is
    also part of the network's shape.
    """
    if scale not in SCALES:
        raise ConfigError(f"scale must be one of {SCALES}, got {scale!r}")
    if arch is None and weights is None:
        arch = default_arch(scale, live=False)
    if arch is not None and arch not in ARCHS:
        raise ConfigError(f"unknown arch {arch!r}; choose one of {', '.join(ARCHS)}")
    if variant not in VARIANTS:
        raise ConfigError(f"variant must be one of {VARIANTS}, got {variant!r}")
    if weights is None:
        assert arch is not None
        path = shipped_weights_path(arch, scale, str(variant))
        if not path.is_file():
            raise WeightsError(
                f"no shipped weights for {arch} x{scale} ({variant}); train them with "
                f"'streamsr train --arch {arch} --scale {scale} ...' and pass weights=PATH"
            )
    else:
        path = Path(weights)
    state, meta = load_weights_file(path)
    if arch is None:
        arch = str(meta.get("arch"))
        if arch not in ARCHS:
            raise WeightsError(f"weights {path} are for an unknown arch {arch!r}")
    if meta.get("arch") != arch:
        raise WeightsError(f"weights {path} are for {meta.get('arch')}, not {arch}")
    if meta.get("scale") != scale:
        bound = (
            f" ({arch} computes at the low resolution: its weights serve only the scale they "
            "were trained for)"
            if is_scale_bound(arch)
            else ""
        )
        raise WeightsError(
            f"weights {path} are for scale x{meta.get('scale')}, not x{scale}{bound}"
        )
    model = build_srcnn(arch, scale=scale)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise WeightsError(f"weights {path} do not fit {arch}: {str(exc).splitlines()[0]}") from exc
    return model, dict(meta, path=str(path))


def load_enhancer(
    scale: int = 4,
    *,
    arch: str | None = None,
    device: Device | str = "auto",
    weights: str | Path | None = None,
    variant: Variant | str = "clean",
    backend: BackendName | str = "auto",
    buckets: bool | None = None,
    max_batch: int = MAX_BATCH,
    threads: int | None = None,
) -> Enhancer:
    """Load an enhancer (an SRCNN, or an FSRCNN computing at the low resolution).

    ``arch``: one of :data:`~streamsr.enhance._srcnn.ARCHS`; None: the one a ``weights`` file
    names, or the file default (:func:`default_arch`, ``--quality best``: espcn) for the shipped
    weights.
    ``weights=None`` loads the weights shipped in the package for ``arch``, ``scale`` and
    ``variant`` (``"clean"``: trained on clean downscales, best on good footage; ``"video"``:
    fine-tuned on blur, noise and compression, for webcam and surveillance video; ``"auto"``:
    both, and an :class:`AutoEnhancer` that picks from how degraded
    the faces it is given look). With ``weights``, ``"auto"`` loads that one file.

    ``backend`` runs the network: ``"cpu"`` (eager PyTorch, fp32, channels_last),
    ``"onnxruntime"`` (extra ``onnx``; CPU, or CUDA with onnxruntime-gpu), ``"compile"``
    (``torch.compile``; the first call compiles), ``"cuda"`` (fp16 CUDA graphs),
    ``"tensorrt"`` (extra ``tensorrt``; fp16 engines cached on disk), or ``"auto"``: TensorRT,
    else CUDA graphs on a GPU; ONNX Runtime, else eager on the CPU. ``buckets`` pads crops to
    fixed square sizes so that mixed sizes batch together (default: on for the backends that
    need fixed shapes). ``max_batch`` caps the crops per network call. ``threads``: ONNX
    Runtime's intra-op threads on the CPU (None: ``torch.get_num_threads()``).
    """
    check_backend_name(str(backend))
    resolve_device(str(device))  # validates
    check_int("threads", threads, 1, 1024, none=True)
    if variant == "auto":
        if weights is not None:
            log.info("variant auto: --weights names one file, which is used as is")
            variant = "video"
        else:
            kw: dict[str, Any] = dict(
                arch=arch,
                device=device,
                backend=backend,
                buckets=buckets,
                max_batch=max_batch,
                threads=threads,
            )
            return AutoEnhancer(
                load_enhancer(scale, variant="clean", **kw),
                load_enhancer(scale, variant="video", **kw),
            )
    name, dev = resolve_backend(str(backend), str(device))
    model, meta = load_model(scale, arch=arch, variant=str(variant), weights=weights)
    meta["variant"] = str(variant) if weights is None else f"file {Path(weights).name}"
    impl = make_backend(name, model, dev, arch=meta["arch"], scale=scale, threads=threads)
    fixed = bool(getattr(impl, "fixed_shapes", False))
    enhancer = Enhancer(
        impl,
        scale=scale,
        device=dev,
        meta=meta,
        buckets=fixed if buckets is None else buckets,
        max_batch=max_batch,
    )
    log.info(
        "enhancer: %s x%d (%s) on %s, backend %s%s, buckets %s",
        meta["arch"],
        scale,
        variant,
        dev,
        impl.name,
        " (auto)" if backend == "auto" else "",
        "on" if enhancer.buckets else "off",
    )
    return enhancer

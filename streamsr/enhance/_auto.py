"""``variant="auto"``: how degraded a stream's faces look, and the weights that fit (the
:class:`~streamsr.enhance._enhancer.AutoEnhancer` that uses it lives beside the Enhancer).

Four cheap no-reference measures on the luma of the low-resolution face crops (the very
pixels the network sees), each a published method written out in a few lines of OpenCV:

- **blockiness**: the mean luma step across the edges of the frame's 4-pixel block grid over
  the mean step inside the blocks (1.0: no block coding; JPEG's 8-px and H.264's 4/8-px
  transforms raise it). The crop's position in the frame places the grid.
- **flatness**: the share of the grid's 4-pixel blocks with no texture left once their
  best-fitting plane is removed (quantisation zeroes whole blocks' fine detail).
- **blur**: Crété-Roffet et al. 2007 ("The blur effect: perception and estimation with a new
  no-reference perceptual blur metric"): how much of the neighbour variation survives a 9-tap
  box blur, 0 (sharp) to 1 (flat).
- **noise**: Immerkær 1996 ("Fast noise variance estimation"): the Laplacian-difference
  operator's mean magnitude, in 0..255 units (texture inflates it a little).

:class:`VariantChooser` folds them into the probability that the ``video`` weights beat the
``clean`` ones on such a face, a logistic model fitted by ``benchmarks/calibrate_variant.py``
on held-out training faces degraded at random strengths (never on the evaluation faces).

Where the decoder says how coarsely it coded the faces (H.264: the macroblock QPs under the
face box, :attr:`streamsr.Frame.qp`; zeros for files of codecs without loss such as FFV1), that is read
too: the pixel measures guess compression from its traces and miss the smooth, deblocked look
of motion-predicted frames, the QP is the compression itself. A face coded coarser than
:data:`QP_VIDEO` gets the ``video`` weights whatever the pixels say (:func:`qp_probability`);
one coded without loss (QP at most :data:`QP_LOSSLESS`) the ``clean`` ones; in between the
pixels choose (blur and noise come from the camera, not the codec). It
starts from the ``video`` weights (the safe choice for real footage), decides once
:data:`FIRST_CROPS` crops are measured, then follows the stream slowly and switches only past
a margin (hysteresis), so that the weights do not flip back and forth.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

log = logging.getLogger(__name__)

FEATURES = ("blockiness", "flatness", "blur", "noise")
FIRST_CROPS = 8
"""Crops measured before the first decision (one per enhance call, the largest)."""
MEASURE_EVERY = 10
"""After the first decision, one crop in this many enhance calls is measured."""
SLOW_EMA = 0.05
"""Weight of each later measurement in the running estimate."""
SWITCH_MARGIN = 0.15
"""The running probability must pass :data:`DECIDE_AT` by this much to switch the weights."""
MIN_SIDE = 24
"""Crops smaller than this (either side) are not measured: too few pixels to tell."""

# Fitted by benchmarks/calibrate_variant.py (see its docstring for the data and the fit);
# logit = bias + sum(coef * feature).
COEF: dict[str, float] = {
    "blockiness": 22.1195,
    "flatness": 3.0974,
    "blur": 5.021,
    "noise": 1.0323,
}
BIAS = -26.8989
QP_VIDEO = 12.0
"""H.264 QP over the face from which the video weights are taken whatever the pixels say
(p(video) 0.5 here, 0.88 two steps above; :func:`qp_probability`). Measured with
``benchmarks/bench_flicker.py --crf C`` (four talking heads, x2, espcn, CRF 4-30): from CRF 8
(face QP 9-13) up the video weights beat the clean ones on every clip (by 0.01-0.42 dB); at
CRF 4 (face QP 7-9) on three of four (-0.01 to +0.13 dB). Set a few steps above the lowest QP
where they always won (README, Weights chosen from the input)."""
QP_SLOPE = 1.0
"""Logit per QP step around :data:`QP_VIDEO`."""
QP_LOSSLESS = 1.0
"""A face QP at most this: coded without loss (x264's lossless mode is QP 0; codecs that do not
quantise read as 0): the clean weights, which beat the video ones on all four lossless
talking heads (by 0.16-0.64 dB), where the pixel measures gave one of them the video weights
(news_3: the source's own compression, which is in the truth, read as damage)."""
DECIDE_AT = 0.5
"""The video weights are taken from this p(video) up. On held-out faces 0.5 lost the least
against the hindsight choice (0.125 dB; 0.4: 0.130, 0.3: 0.178), and it gave the clean weights
to 15 % of the faces the video weights served better by > 0.1 dB (0.4: 10 %, 0.3: 8 %)."""


def _luma(crop_rgb24: np.ndarray) -> np.ndarray:
    y = cv2.cvtColor(np.ascontiguousarray(crop_rgb24), cv2.COLOR_RGB2YCrCb)[..., 0]
    return y.astype(np.float32)


def blockiness(y: np.ndarray, origin_xy: tuple[int, int] = (0, 0), period: int = 4) -> float:
    """Mean luma step across the edges of the ``period``-pixel grid of the frame (the crop's
    ``origin_xy`` in the frame places it) over the mean step inside the cells; both
    directions averaged. About 1.0 without block coding; JPEG (8 px) and H.264 (4 px
    transforms, edges of 8 px too) raise it."""
    ratios = []
    for d, o in (
        (np.abs(np.diff(y, axis=1)).mean(axis=0), origin_xy[0]),
        (np.abs(np.diff(y, axis=0)).mean(axis=1), origin_xy[1]),
    ):
        if len(d) < 2 * period:
            continue
        edge = (o + np.arange(len(d)) + 1) % period == 0  # step between pixels j and j+1
        inside = float(d[~edge].mean())
        ratios.append(float(d[edge].mean()) / inside if inside > 1e-6 else 1.0)
    return float(np.mean(ratios)) if ratios else 1.0


def blur(y: np.ndarray) -> float:
    """Crété-Roffet blur effect: 0 sharp .. 1 flat (the larger of the two directions)."""
    out = 0.0
    for axis, ksize in ((0, (1, 9)), (1, (9, 1))):
        b = cv2.blur(y, ksize)
        d_f = np.abs(np.diff(y, axis=axis))
        d_b = np.abs(np.diff(b, axis=axis))
        s_f = float(d_f.sum())
        if s_f <= 1e-6:
            return 1.0
        s_v = float(np.maximum(0.0, d_f - d_b).sum())
        out = max(out, (s_f - s_v) / s_f)
    return out


def flatness(y: np.ndarray, origin_xy: tuple[int, int] = (0, 0), block: int = 4) -> float:
    """Share of the frame grid's ``block``-pixel blocks left without texture: after removing
    each block's best-fitting plane, an RMS under 0.75 levels. Quantisation zeroes the fine
    detail of whole blocks; a clean downscale keeps some in nearly all."""
    h, w = y.shape
    x0, y0 = (-origin_xy[0]) % block, (-origin_xy[1]) % block
    ny, nx = (h - y0) // block, (w - x0) // block
    if ny < 1 or nx < 1:
        return 0.0
    b = y[y0 : y0 + ny * block, x0 : x0 + nx * block]
    b = b.reshape(ny, block, nx, block).transpose(0, 2, 1, 3).reshape(-1, block * block)
    res = b - b @ _plane_projector(block).T
    return float(np.mean(np.sqrt((res * res).mean(axis=1)) < 0.75))


def _plane_projector(block: int) -> np.ndarray:
    u, v = np.meshgrid(np.arange(block) - (block - 1) / 2, np.arange(block) - (block - 1) / 2)
    a = np.stack([np.ones(block * block), u.ravel(), v.ravel()], axis=1)
    return (a @ np.linalg.pinv(a)).astype(np.float32)


_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def noise(y: np.ndarray) -> float:
    """Immerkær's noise standard deviation estimate (0..255 units)."""
    if min(y.shape) < 3:
        return 0.0
    r = cv2.filter2D(y, -1, _IMMERKAER, borderType=cv2.BORDER_REFLECT)[1:-1, 1:-1]
    return float(math.sqrt(math.pi / 2.0) * np.abs(r).mean() / 6.0)


def measure(crop_rgb24: np.ndarray, origin_xy: tuple[int, int] = (0, 0)) -> dict[str, float]:
    """The four measures of one low-resolution RGB crop whose top-left pixel is at
    ``origin_xy`` in the decoded frame (the codec's block grid starts at the frame's origin)."""
    y = _luma(crop_rgb24)
    return {
        "blockiness": blockiness(y, origin_xy),
        "flatness": flatness(y, origin_xy),
        "blur": blur(y),
        "noise": noise(y),
    }


def _logistic(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def video_probability(features: dict[str, float]) -> float:
    """How likely the ``video`` weights beat the ``clean`` ones on a face measured so."""
    return _logistic(BIAS + sum(COEF[k] * features[k] for k in FEATURES))


def qp_probability(qp: float) -> float:
    """How surely a face coded at H.264 ``qp`` is better served by the ``video`` weights:
    0.5 at :data:`QP_VIDEO`, rising :data:`QP_SLOPE` logits per QP step."""
    return _logistic(QP_SLOPE * (qp - QP_VIDEO))


def combined_probability(features: dict[str, float], qp: float | None) -> float:
    """p(video) from the pixels; where the codec's QP is known, raised by a coarse one and 0
    for a face coded without loss."""
    p = video_probability(features)
    if qp is None:
        return p
    if qp <= QP_LOSSLESS:
        return 0.0
    return max(p, qp_probability(qp))


@dataclass(frozen=True, slots=True)
class Estimate:
    """What the chooser believes now: the running measures, the faces' H.264 QP (None where
    the decoder gave none), ``p_video``, the crops measured."""

    features: dict[str, float]
    p_video: float
    crops: int
    variant: str
    switches: int
    qp: float | None = None

    def describe(self) -> str:
        f = self.features
        qp = "" if self.qp is None else f", face QP {self.qp:.1f}"
        return (
            f"blockiness {f.get('blockiness', 0):.2f}, flatness {f.get('flatness', 0):.2f}, "
            f"blur {f.get('blur', 0):.2f}, "
            f"noise {f.get('noise', 0):.1f}{qp}; p(video) {self.p_video:.2f} over "
            f"{self.crops} crops"
        )


class VariantChooser:
    """The running estimate of a stream's degradation and the variant it picks."""

    def __init__(self) -> None:
        self.variant = "video"
        self.decided = False
        self.switches = 0
        self._calls = 0
        self._n = 0
        self._sum = dict.fromkeys(FEATURES, 0.0)
        self._ema: dict[str, float] = {}
        self._qp_sum, self._qp_n = 0.0, 0
        self._qp: float | None = None  # running face QP once decided

    def observe(
        self,
        crops: Sequence[np.ndarray],
        origins: Sequence[tuple[int, int]] | None = None,
        qps: Sequence[float | None] | None = None,
    ) -> None:
        """Measure the largest crop of one call, when it is this call's turn. ``origins``:
        each crop's top-left pixel in its frame (None: the crops are whole images); ``qps``:
        each face's H.264 QP (None: not known)."""
        self._calls += 1
        if self.decided and self._calls % MEASURE_EVERY:
            return
        big = [i for i, c in enumerate(crops) if min(c.shape[:2]) >= MIN_SIDE]
        if not big:
            return
        i = max(big, key=lambda k: crops[k].shape[0] * crops[k].shape[1])
        qp = qps[i] if qps is not None else None
        self.update(measure(crops[i], origins[i] if origins is not None else (0, 0)), qp)

    def update(self, features: dict[str, float], qp: float | None = None) -> None:
        self._n += 1
        if not self.decided:
            for k in FEATURES:
                self._sum[k] += features[k]
            if qp is not None:
                self._qp_sum += qp
                self._qp_n += 1
            if self._n >= FIRST_CROPS:
                self._ema = {k: self._sum[k] / self._n for k in FEATURES}
                self._qp = self._qp_sum / self._qp_n if self._qp_n else None
                self.decided = True
                p = combined_probability(self._ema, self._qp)
                self._set("video" if p >= DECIDE_AT else "clean", "chose")
            return
        for k in FEATURES:
            self._ema[k] += SLOW_EMA * (features[k] - self._ema[k])
        if qp is not None:
            self._qp = qp if self._qp is None else self._qp + SLOW_EMA * (qp - self._qp)
        p = combined_probability(self._ema, self._qp)
        if self.variant == "clean" and p > DECIDE_AT + SWITCH_MARGIN:
            self._set("video", "switched to")
        elif self.variant == "video" and p < DECIDE_AT - SWITCH_MARGIN:
            self._set("clean", "switched to")

    def _set(self, variant: str, verb: str) -> None:
        if verb == "switched to":
            self.switches += 1
        self.variant = variant
        log.info("variant auto: %s the %s weights (%s)", verb, variant, self.estimate().describe())

    def stats(self) -> dict[str, Any]:
        """For :class:`~streamsr.runtime.Stats`: the variant in use and the estimate."""
        e = self.estimate()
        return {
            "variant": f"auto:{e.variant}" if self.decided else "auto:video (undecided)",
            "degradation": {**e.features, "qp": e.qp, "p_video": e.p_video, "crops": e.crops},
            "variant_switches": e.switches,
        }

    def estimate(self) -> Estimate:
        if self.decided:
            feats, qp = dict(self._ema), self._qp
        else:
            feats = {k: v / self._n for k, v in self._sum.items()} if self._n else {}
            qp = self._qp_sum / self._qp_n if self._qp_n else None
        p = combined_probability(feats, qp) if feats else 1.0
        return Estimate(
            {k: round(v, 3) for k, v in feats.items()},
            round(p, 3),
            self._n,
            self.variant,
            self.switches,
            None if qp is None else round(qp, 2),
        )

"""Validated dataclasses that travel between pipeline stages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded video frame.

    ``rgb24`` is an ``(H, W, 3)`` uint8 array in RGB order (PyAV's order; OpenCV wants BGR).
    ``pts`` is in units of ``time_base``: the source sets both (a file's own timestamps, made
    strictly increasing; a live input's 90 kHz arrival clock), and the pipeline's output clock
    (:mod:`streamsr.runtime._clock`) sets those of the frames that leave it.
    ``index`` counts decoded frames from 0 in decode-output order.
    ``discontinuity`` marks the first frame after a break in the picture: a reconnected live
    input (set by the source) or a scene cut (set by the face stage). Tracks and temporal
    smoothing start over there.
    ``qp``: where the decoder exports it (H.264, a source opened with ``qp=True``), the
    quantiser of every 16-pixel macroblock, ``(ceil(H / 16), ceil(W / 16))`` uint8 in the
    picture's orientation: how coarsely the encoder coded each part of the frame (0-51; higher
    is coarser; zeros for a file of a codec that stores the picture without loss, FFV1 and the
    like).
    ``None`` elsewhere, and until it is read where the source deferred it: ``qp_reader``
    then reads the map from the decoder's frame, and :meth:`quantisers` (which :meth:`face_qp`
    uses) calls it when first asked; :attr:`has_qp` says whether a map is there, read or not.
    :class:`~streamsr.sources.VideoSource` defers it.
    """

    rgb24: np.ndarray
    pts: int
    time_base: Fraction
    index: int
    discontinuity: bool = False
    qp: np.ndarray | None = None
    qp_reader: Callable[[], np.ndarray | None] | None = field(
        default=None, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        a = self.rgb24
        if not isinstance(a, np.ndarray) or a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
            raise ValueError(
                f"Frame.rgb24 must be an (H, W, 3) uint8 array, got "
                f"{getattr(a, 'shape', type(a))} {getattr(a, 'dtype', '')}"
            )
        if isinstance(self.pts, bool) or not isinstance(self.pts, int | np.integer):
            raise ValueError(f"Frame.pts must be an integer, got {self.pts!r}")
        if not isinstance(self.time_base, Fraction) or self.time_base <= 0:
            raise ValueError(f"Frame.time_base must be a positive Fraction, got {self.time_base!r}")
        _check_qp(self.qp)

    @property
    def has_qp(self) -> bool:
        """Whether the frame carries a quantiser map, read or deferred."""
        return self.qp is not None or self.qp_reader is not None

    def quantisers(self) -> np.ndarray | None:
        """``qp``, read first (once) where the source deferred it to ``qp_reader``.

        Deferred because reading PyAV's side data ties the decoder's frame into a reference
        cycle (frame, side-data container, frame): such a frame is freed by the cyclic garbage
        collector instead of at once, and the collector then frees the picture buffers of
        every such frame while holding the GIL. The variant chooser reads the quantisers of a
        few frames (its first crops, then one call in ten), so the others never form one.
        """
        reader = self.qp_reader
        if self.qp is None and reader is not None:
            qp = _check_qp(reader())
            object.__setattr__(self, "qp", qp)
            object.__setattr__(self, "qp_reader", None)
        return self.qp

    def face_qp(self, box_xyxy: tuple[int, int, int, int]) -> float | None:
        """The mean macroblock quantiser under ``box_xyxy`` (pixels, x1/y1 exclusive), or None
        without a ``qp`` map."""
        qp = self.quantisers()
        if qp is None:
            return None
        x0, y0, x1, y1 = (int(v) for v in box_xyxy)
        mb = qp[max(0, y0) // 16 : -(-y1 // 16), max(0, x0) // 16 : -(-x1 // 16)]
        return float(mb.mean()) if mb.size else None

    @property
    def size_wh(self) -> tuple[int, int]:
        return int(self.rgb24.shape[1]), int(self.rgb24.shape[0])

    @property
    def time_s(self) -> float:
        return float(self.pts * self.time_base)

    def __repr__(self) -> str:
        w, h = self.size_wh
        cut = ", discontinuity=True" if self.discontinuity else ""
        return (
            f"Frame(index={self.index}, size_wh=({w}, {h}), pts={self.pts}, "
            f"time_base={self.time_base}{cut})"
        )


def _check_qp(qp: object) -> np.ndarray | None:
    if qp is not None and (not isinstance(qp, np.ndarray) or qp.ndim != 2):
        raise ValueError(f"Frame.qp must be a 2-D array or None, got {type(qp).__name__}")
    return qp


def _empty_boxes() -> np.ndarray:
    return np.zeros((0, 4), np.float32)


@dataclass(frozen=True, slots=True)
class Faces:
    """The faces of one frame, as parallel arrays (index or mask it like one array).

    ``xyxy``: ``(N, 4)`` float32 face boxes in input pixels. ``scores``: detector confidences in
    [0, 1]. ``track_ids``: stable ids from the tracker (-1 before tracking). ``crop_xyxy``:
    ``(N, 4)`` int32 crop boxes in input pixels (x1/y1 exclusive), the square around each face
    that is enhanced and blended back; all zero until :func:`~streamsr.faces.square_boxes` has
    set them. ``enhance``: ``(N,)`` bool, which faces get the network (the others stay bicubic,
    e.g. when a latency budget is spent).

    ``faces[mask]``, ``faces[indices]`` and ``faces[i:j]`` give the selected faces, every array
    selected alike.
    """

    xyxy: np.ndarray = field(default_factory=_empty_boxes)
    scores: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.float32))
    track_ids: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int64))
    crop_xyxy: np.ndarray | None = None
    enhance: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.xyxy)
        _check("xyxy", self.xyxy, np.float32, (n, 4))
        _check("scores", self.scores, np.float32, (n,))
        _check("track_ids", self.track_ids, np.int64, (n,))
        if self.crop_xyxy is None:
            object.__setattr__(self, "crop_xyxy", np.zeros((n, 4), np.int32))
        _check("crop_xyxy", self.crop_xyxy, np.int32, (n, 4))
        if self.enhance is None:
            object.__setattr__(self, "enhance", np.ones((n,), bool))
        _check("enhance", self.enhance, np.bool_, (n,))

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: Any) -> Faces:
        """The faces selected by a bool mask, an index array or list, or a slice."""
        if isinstance(index, int | np.integer):
            index = [int(index)]
        assert self.crop_xyxy is not None and self.enhance is not None
        return Faces(
            self.xyxy[index],
            self.scores[index],
            self.track_ids[index],
            self.crop_xyxy[index],
            self.enhance[index],
        )

    def with_crops(self, crop_xyxy: np.ndarray) -> Faces:
        """The same faces with their crop boxes set."""
        return Faces(self.xyxy, self.scores, self.track_ids, crop_xyxy, self.enhance)

    def with_enhance(self, enhance: np.ndarray) -> Faces:
        """The same faces with a new ``enhance`` mask."""
        return Faces(self.xyxy, self.scores, self.track_ids, self.crop_xyxy, enhance)

    @property
    def enhanced(self) -> Faces:
        """The faces whose crops go through the network."""
        assert self.enhance is not None
        return self[self.enhance]

    def __repr__(self) -> str:
        n_enh = int(np.count_nonzero(np.asarray(self.enhance)))
        return f"Faces(n={len(self)}, enhance={n_enh}, track_ids={self.track_ids.tolist()})"


def _check(name: str, a: object, dtype: type, shape: tuple[int, ...]) -> None:
    if not isinstance(a, np.ndarray) or a.dtype != dtype or a.shape != shape:
        raise ValueError(
            f"Faces.{name} must be {shape} {np.dtype(dtype).name}, got "
            f"{getattr(a, 'shape', type(a))} {getattr(a, 'dtype', '')}"
        )

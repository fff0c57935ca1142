"""Face images for training and validation: discovery, hold-out split, patch batches."""

from __future__ import annotations

import logging
import math
import queue
import threading
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from streamsr._errors import DatasetError
from streamsr.enhance._resize import upscale_bicubic
from streamsr.training._degrade import Degradation, TrainMix, h264, sample_training_degradation

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
# Grayscale faces aligned with black borders (LFW-like): keep the central part only.
_GRAY_CENTER = 128


def find_images(roots: Sequence[str | Path]) -> list[Path]:
    """Every image file under ``roots`` (sorted), or ``DatasetError`` naming the problem."""
    found: list[Path] = []
    for root in roots:
        p = Path(root)
        if not p.exists():
            raise DatasetError(f"data folder not found: {p}")
        if p.is_file():
            if p.suffix.lower() in IMAGE_SUFFIXES:
                found.append(p)
            continue
        found.extend(f for f in p.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file())
    if not found:
        raise DatasetError(f"no images (jpg/png/bmp/webp) in {', '.join(str(r) for r in roots)}")
    return sorted(found)


def read_rgb(path: Path) -> np.ndarray | None:
    """Read an image as RGB uint8 (grayscale replicated); ``None`` when unreadable."""
    try:
        data = np.fromfile(str(path), np.uint8)
    except OSError:
        return None
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if img is None:
        return None
    if img.dtype != np.uint8:
        img = (img / 257).astype(np.uint8) if img.dtype == np.uint16 else img.astype(np.uint8)
    if img.ndim == 2:
        return np.repeat(img[..., None], 3, axis=2)
    if img.shape[2] == 4:
        img = img[..., :3]
    return np.ascontiguousarray(img[..., ::-1])


def is_gray(rgb24: np.ndarray) -> bool:
    return bool(
        np.array_equal(rgb24[..., 0], rgb24[..., 1])
        and np.array_equal(rgb24[..., 1], rgb24[..., 2])
    )


def holdout_key(path: Path) -> str:
    """What must not straddle train and validation: the identity folder when files are grouped
    by person (LFW-like ``Name/Name_0001.jpg``), else the file itself."""
    parent = path.parent.name
    return parent if path.stem.startswith(parent) else path.name


def is_validation(path: Path, every: int = 40) -> bool:
    return zlib.crc32(holdout_key(path).encode()) % every == 0


@dataclass
class ImageSet:
    images: list[np.ndarray]
    gray: list[bool]
    weights: np.ndarray  # sampling probability per image
    unreadable: int


def load_images(
    paths: Sequence[Path], *, min_side: int, folder_weights: Mapping[str, float] | None = None
) -> ImageSet:
    """Decode every image once; unreadable or too small ones are skipped and counted.

    Colour images get two thirds of the draws when grayscale ones exist too. Within each kind
    every image weighs the same, times ``folder_weights[name]`` for an image under a folder
    called ``name`` (e.g. ``{"hq": 3.0}`` draws sharp faces three times as often per image).
    """
    folder_weights = dict(folder_weights or {})
    images: list[np.ndarray] = []
    gray: list[bool] = []
    mult: list[float] = []
    unreadable = 0
    for p in paths:
        img = read_rgb(p)
        if img is None:
            unreadable += 1
            continue
        g = is_gray(img)
        if g and min(img.shape[:2]) > _GRAY_CENTER + 16:
            h, w = img.shape[:2]
            y0, x0 = (h - _GRAY_CENTER) // 2, (w - _GRAY_CENTER) // 2
            img = np.ascontiguousarray(img[y0 : y0 + _GRAY_CENTER, x0 : x0 + _GRAY_CENTER])
        if min(img.shape[:2]) < min_side:
            unreadable += 1
            continue
        images.append(img)
        gray.append(g)
        mult.append(math.prod(folder_weights.get(part, 1.0) for part in p.parent.parts))
    if not images:
        raise DatasetError(
            f"none of the {len(paths)} images could be read (or all are smaller than {min_side} px)"
        )
    g_arr = np.array(gray)
    n_gray, n_col = int(g_arr.sum()), int((~g_arr).sum())
    w = np.array(mult, np.float64)
    if n_gray and n_col:
        w[~g_arr] *= (2 / 3) / w[~g_arr].sum()
        w[g_arr] *= (1 / 3) / w[g_arr].sum()
    w /= w.sum()
    return ImageSet(images, gray, w, unreadable)


def sample_pair(
    img: np.ndarray,
    rng: np.random.Generator,
    *,
    scale: int,
    patch: int,
    mode: TrainMix,
    clean_fraction: float,
) -> tuple[np.ndarray, np.ndarray, Degradation]:
    """A random ``patch``-square HR crop of ``img`` (flipped half the time), its degraded LR
    (``patch / scale`` square) and the degradation drawn."""
    h, w = img.shape[:2]
    y, x = int(rng.integers(0, h - patch + 1)), int(rng.integers(0, w - patch + 1))
    hr = img[y : y + patch, x : x + patch]
    if rng.random() < 0.5:
        hr = hr[:, ::-1]
    hr = np.ascontiguousarray(hr)
    d = sample_training_degradation(rng, mode, clean_fraction=clean_fraction)
    return hr, d.apply(hr, scale, rng), d


class PatchBatches:
    """Endless batches of (bicubic-upscaled degraded Y, true Y) patches in [0, 1]."""

    def __init__(
        self,
        images: ImageSet,
        *,
        scale: int,
        patch: int,
        batch: int,
        mode: TrainMix,
        clean_fraction: float,
        seed: int,
        h264_prob: float = 0.35,
        h264_inter: float = 0.0,
    ) -> None:
        super().__init__()
        self.images, self.scale, self.patch, self.batch = images, scale, patch, batch
        self.mode, self.clean_fraction, self.seed, self.h264_prob = (
            mode,
            clean_fraction,
            seed,
            h264_prob,
        )
        self.h264_inter = h264_inter
        """Share of the batches whose H.264 samples are motion-predicted frames
        (:func:`~streamsr.training._degrade.h264` with ``frames > 1``)."""

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        rng = np.random.default_rng(self.seed)
        while True:
            yield self.make_batch(rng)

    def prefetch(self, depth: int = 4) -> Prefetcher:
        """Batches made on a background thread (OpenCV, Pillow and PyAV release the GIL), so the
        next batch is ready when the optimiser step ends. A thread, not a worker process: forking
        a process that already runs OpenCV, ONNX Runtime or MediaPipe threads can deadlock."""
        return Prefetcher(iter(self), depth)

    def make_batch(self, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        p, s = self.patch, self.scale
        idx = rng.choice(len(self.images.images), size=self.batch, p=self.images.weights)
        hrs, lrs, degraded = [], [], []
        crfs: list[int | None] = []
        for i in idx:
            hr, lr, d = sample_pair(
                self.images.images[i],
                rng,
                scale=s,
                patch=p,
                mode=self.mode,
                clean_fraction=self.clean_fraction,
            )
            lrs.append(lr)
            hrs.append(hr)
            degraded.append(d.jpeg_quality is None and (d.blur_sigma > 0 or d.noise_sigma > 0))
            crfs.append(d.h264_crf)
        # ``video``: the samples that drew H.264 share one encode (one encoder costs about as
        # much as making the rest of the batch), at the rate factor the first of them drew.
        sel = [k for k, c in enumerate(crfs) if c is not None]
        if sel:
            crf = crfs[sel[0]]
            assert crf is not None
            for k, o in zip(sel, self._h264([lrs[k] for k in sel], crf, rng), strict=True):
                lrs[k] = o
        if self.mode == "realistic" and rng.random() < self.h264_prob:
            sel = [k for k, dg in enumerate(degraded) if dg]
            if sel:
                out = self._h264([lrs[k] for k in sel], int(rng.integers(20, 39)), rng)
                for k, o in zip(sel, out, strict=True):
                    lrs[k] = o
        xs = np.stack(
            [cv2.cvtColor(upscale_bicubic(lr, (p, p)), cv2.COLOR_RGB2YCrCb)[..., 0] for lr in lrs]
        )
        ys = np.stack([cv2.cvtColor(hr, cv2.COLOR_RGB2YCrCb)[..., 0] for hr in hrs])
        to_t = lambda a: torch.from_numpy(a).float().div_(255.0).unsqueeze(1)  # noqa: E731
        return to_t(xs), to_t(ys)

    def _h264(self, lrs: list[np.ndarray], crf: int, rng: np.random.Generator) -> list[np.ndarray]:
        """``lrs`` through H.264: one intra frame, or (a share ``h264_inter`` of the batches)
        the last frame of a 4-8 frame clip drifting by up to 1.5 px per frame. With
        ``h264_inter`` 0 nothing is drawn from ``rng``: a seeded run makes the batches it made
        before the option existed."""
        if self.h264_inter <= 0 or rng.random() >= self.h264_inter:
            return h264(lrs, crf)
        motion = (float(rng.uniform(-1.5, 1.5)), float(rng.uniform(-1.5, 1.5)))
        return h264(lrs, crf, frames=int(rng.integers(4, 9)), motion_xy=motion)


class Prefetcher:
    """Run an iterator on a daemon thread, ``depth`` items ahead; ``close()`` stops it."""

    def __init__(self, it: Iterator[tuple[torch.Tensor, torch.Tensor]], depth: int) -> None:
        self._q: queue.Queue[tuple[torch.Tensor, torch.Tensor] | BaseException] = queue.Queue(depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(it,), name="streamsr-batches", daemon=True
        )
        self._thread.start()

    def _run(self, it: Iterator[tuple[torch.Tensor, torch.Tensor]]) -> None:
        try:
            for item in it:
                while not self._stop.is_set():
                    try:
                        self._q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    return
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._q.put(exc)

    def __iter__(self) -> Prefetcher:
        return self

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        while True:
            try:
                item = self._q.get(timeout=1.0)
            except queue.Empty:
                if not self._thread.is_alive():
                    raise StopIteration from None
                continue
            if isinstance(item, BaseException):
                raise item
            return item

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)

"""Identity: is an enhanced face still the same person? (``streamsr eval --identity``)

A face recognizer's embedding (dlib's 128-d ResNet, from ``face-recognition-models``: extra
``identity``, imported only here) of each output is compared with the embedding of the
original high-resolution face. Every version of a face (original, bicubic, model) is aligned
with the *same* five landmarks, found on the original, so that only the pixels differ.

Reported per method: the mean embedding distance to the original; against bicubic, the mean
paired difference with a 95 % bootstrap confidence interval (negative: closer to the person
than bicubic); and rank-1 identification: the share of outputs whose nearest original, among
all the evaluated faces, is their own.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from streamsr._errors import ConfigError

EXTRA = "pip install 'streamsr[identity]' (dlib-bin, face-recognition-models)"
BOOTSTRAP = 2000
FACE_SHARE = 1.0 / 1.5  # eval crops are the detector's box enlarged 1.5x


def _model_dir() -> Path:
    # face_recognition_models' __init__ imports pkg_resources (setuptools), absent from
    # modern venvs: find its data folder without importing it
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"--identity needs the identity extra: {EXTRA}")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


class IdentityModel:
    """dlib's face embedding with its 5-landmark aligner."""

    def __init__(self) -> None:
        try:
            import dlib
        except ImportError as exc:
            raise ConfigError(f"--identity needs the identity extra: {EXTRA}") from exc
        d = _model_dir()
        net = d / "dlib_face_recognition_resnet_model_v1.dat"
        pose = d / "shape_predictor_5_face_landmarks.dat"
        for f in (net, pose):
            if not f.is_file():
                raise ConfigError(f"--identity: model file {f} is missing; reinstall: {EXTRA}")
        self._dlib = dlib
        self._detector = dlib.get_frontal_face_detector()
        self._pose = dlib.shape_predictor(str(pose))
        self._net = dlib.face_recognition_model_v1(str(net))

    def landmarks(self, hr_rgb24: np.ndarray) -> Any:
        """Five landmarks of the largest face dlib finds, or of the crop's central face box."""
        img = np.ascontiguousarray(hr_rgb24)
        rects = list(self._detector(img, 0))
        if rects:
            rect = max(rects, key=lambda r: r.width() * r.height())
        else:
            h, w = img.shape[:2]
            side = FACE_SHARE * min(h, w)
            x0, y0 = (w - side) / 2, (h - side) / 2
            rect = self._dlib.rectangle(
                round(x0), round(y0), round(x0 + side - 1), round(y0 + side - 1)
            )
        return self._pose(img, rect)

    def embed(self, rgb24: np.ndarray, landmarks: Any) -> np.ndarray:
        desc = self._net.compute_face_descriptor(np.ascontiguousarray(rgb24), landmarks)
        return np.asarray(desc, np.float64)


def bootstrap_ci(
    x: np.ndarray, *, n: int = BOOTSTRAP, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``x``."""
    if len(x) < 2:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(n, len(x)))].mean(axis=1)
    a = (1.0 - level) / 2.0
    lo, hi = np.quantile(means, [a, 1.0 - a])
    return (float(lo), float(hi))


def rank1(probes: np.ndarray, gallery: np.ndarray) -> float:
    """Share of probes whose nearest gallery row is their own (row ``i`` for probe ``i``)."""
    d = np.linalg.norm(probes[:, None, :] - gallery[None, :, :], axis=2)
    return float(np.mean(np.argmin(d, axis=1) == np.arange(len(probes))))


def identity_report(
    originals: np.ndarray, outputs: Mapping[str, np.ndarray], *, baseline: str = "bicubic"
) -> dict[str, dict[str, Any]]:
    """Distances, paired differences against ``baseline`` and rank-1, per method.

    ``originals``: (N, 128) embeddings of the original faces; ``outputs``: per method, the
    (N, 128) embeddings of its outputs in the same order.
    """
    if baseline not in outputs:
        raise ValueError(f"the baseline {baseline!r} is not among the methods")
    dist = {m: np.linalg.norm(e - originals, axis=1) for m, e in outputs.items()}
    base = dist[baseline]
    report: dict[str, dict[str, Any]] = {}
    for m, d in dist.items():
        r: dict[str, Any] = {
            "distance": round(float(d.mean()), 4),
            "rank1": round(rank1(outputs[m], originals), 4),
        }
        if m != baseline:
            diff = d - base
            lo, hi = bootstrap_ci(diff)
            r.update(
                diff_vs_bicubic=round(float(diff.mean()), 4),
                diff_ci95=(round(lo, 4), round(hi, 4)),
                diff_percent=round(100.0 * float(diff.mean()) / max(1e-12, float(base.mean())), 2),
            )
        report[m] = r
    return report


VERIFY_THRESHOLD = 0.6
"""dlib's own same-person threshold on the embedding distance."""


def identification_report(
    gallery: np.ndarray,
    gallery_ids: Sequence[str],
    probes: Mapping[str, np.ndarray],
    probe_ids: Sequence[str],
    *,
    baseline: str = "bicubic",
) -> dict[str, dict[str, Any]]:
    """Identification against *other* photos of the people, per method.

    ``gallery``: (G, 128) embeddings of one original photo per person, ``gallery_ids`` their
    names (distinct); ``probes``: per method, (P, 128) embeddings of that method's output for
    each probe face, a different photo of person ``probe_ids[i]``, who is in the gallery.
    Reported: rank-1 (the nearest gallery photo is the probe's person), the share of probes
    within :data:`VERIFY_THRESHOLD` of their person's photo, and the mean distance to it; for
    every method but ``baseline``, the paired differences from the baseline's (distance and
    rank-1, each with a 95 % bootstrap interval over the probes).
    """
    if baseline not in probes:
        raise ValueError(f"the baseline {baseline!r} is not among the methods")
    index = {name: i for i, name in enumerate(gallery_ids)}
    if len(index) != len(gallery_ids):
        raise ValueError("gallery_ids must be distinct, one photo per person")
    try:
        own = np.array([index[name] for name in probe_ids])
    except KeyError as exc:
        raise ValueError(f"probe of {exc.args[0]!r}, who has no gallery photo") from exc
    hits: dict[str, np.ndarray] = {}
    dist: dict[str, np.ndarray] = {}
    for m, e in probes.items():
        if len(e) != len(own):
            raise ValueError(f"{m}: {len(e)} embeddings for {len(own)} probes")
        d = np.linalg.norm(e[:, None, :] - gallery[None, :, :], axis=2)
        hits[m] = (np.argmin(d, axis=1) == own).astype(np.float64)
        dist[m] = d[np.arange(len(own)), own]
    report: dict[str, dict[str, Any]] = {}
    for m in probes:
        r: dict[str, Any] = {
            "rank1": round(float(hits[m].mean()), 4),
            "verified": round(float(np.mean(dist[m] < VERIFY_THRESHOLD)), 4),
            "distance": round(float(dist[m].mean()), 4),
        }
        if m != baseline:
            dd = dist[m] - dist[baseline]
            dh = hits[m] - hits[baseline]
            r.update(
                diff_vs_bicubic=round(float(dd.mean()), 4),
                diff_ci95=tuple(round(v, 4) for v in bootstrap_ci(dd)),
                rank1_diff=round(float(dh.mean()), 4),
                rank1_diff_ci95=tuple(round(v, 4) for v in bootstrap_ci(dh)),
            )
        report[m] = r
    return report


class IdentityCollector:
    """Embeddings gathered face by face during an evaluation (see :func:`identity_report`)."""

    def __init__(self, model: IdentityModel, methods: Sequence[str]) -> None:
        self.model = model
        self.originals: list[np.ndarray] = []
        self.outputs: dict[str, list[np.ndarray]] = {m: [] for m in methods}

    def add(self, hr: np.ndarray, srs: Mapping[str, np.ndarray]) -> None:
        marks = self.model.landmarks(hr)
        self.originals.append(self.model.embed(hr, marks))
        for m, sr in srs.items():
            if m in self.outputs:
                self.outputs[m].append(self.model.embed(sr, marks))

    def report(self) -> dict[str, dict[str, Any]]:
        return identity_report(
            np.array(self.originals), {m: np.array(v) for m, v in self.outputs.items()}
        )

"""Keep one stable id and a steady box per face across frames.

Each track is a constant-velocity alpha-beta filter on the box centre and size (``cx, cy, w,
h``): the position follows a measurement by ``alpha`` of the residual and the velocity by
``beta``, so a noisy box is smoothed while a face moving at constant speed is followed without a
steady-state lag. A young track uses the gains of a least-squares fit to its few
measurements so far (alpha = beta = 1 at the second: position and velocity from two points),
falling to the steady gains after a few detections, so it locks onto a moving face at once.
Detections are matched to the tracks' predicted boxes greedily by IoU, then what is left by
centre distance (within one box size), for small faces that move far between detections.

Time runs in frames: every ``update`` (a frame where detection ran) and every ``predict`` (a
frame without detection) advances the tracks by one frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from streamsr._check import is_int, is_number
from streamsr._errors import ConfigError
from streamsr._frame import Faces


@dataclass(slots=True)
class _Track:
    track_id: int
    state: np.ndarray  # (4,) float64: cx, cy, w, h in pixels
    score: float
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4))  # pixels per frame
    missed: int = 0  # detection rounds in a row without a match
    frames_since_match: int = 0
    hits: int = 1  # measurements so far (the first made the track)


def _cxcywh(xyxy: np.ndarray) -> np.ndarray:
    xyxy = xyxy.astype(np.float64)
    wh = xyxy[:, 2:] - xyxy[:, :2]
    return np.concatenate([xyxy[:, :2] + wh / 2, wh], axis=1)


def _xyxy(cxcywh: np.ndarray) -> np.ndarray:
    half = cxcywh[:, 2:] / 2
    return np.concatenate([cxcywh[:, :2] - half, cxcywh[:, :2] + half], axis=1)


def iou_matrix(a_xyxy: np.ndarray, b_xyxy: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` with every box in ``b``, as a ``(len(a), len(b))`` array."""
    a = a_xyxy.astype(np.float64)[:, None, :]
    b = b_xyxy.astype(np.float64)[None, :, :]
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area_a + area_b - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def _greedy_match(
    score: np.ndarray,
    min_score: float,
    rows_used: set[int] | None = None,
    cols_used: set[int] | None = None,
) -> list[tuple[int, int]]:
    """Pairs (row, col) taken in order of decreasing ``score`` while it is ≥ ``min_score``,
    each row and column at most once (and none already in ``rows_used``/``cols_used``)."""
    pairs: list[tuple[int, int]] = []
    if score.size == 0:
        return pairs
    rows_used = set() if rows_used is None else set(rows_used)
    cols_used = set() if cols_used is None else set(cols_used)
    order = np.argsort(-score, axis=None, kind="stable")
    for flat in order:
        r, c = divmod(int(flat), score.shape[1])
        if score[r, c] < min_score:
            break
        if r in rows_used or c in cols_used:
            continue
        pairs.append((r, c))
        rows_used.add(r)
        cols_used.add(c)
    return pairs


def _closeness(tracks_cxcywh: np.ndarray, dets_cxcywh: np.ndarray) -> np.ndarray:
    """Minus the centre distance in units of the track's box size; -inf where sizes differ >2×."""
    size_t = np.sqrt(np.prod(tracks_cxcywh[:, 2:], axis=1))[:, None]
    size_d = np.sqrt(np.prod(dets_cxcywh[:, 2:], axis=1))[None, :]
    dist = np.linalg.norm(tracks_cxcywh[:, None, :2] - dets_cxcywh[None, :, :2], axis=2)
    closeness = -dist / np.maximum(size_t, 1e-6)
    ratio = size_d / np.maximum(size_t, 1e-6)
    return np.where((ratio > 0.5) & (ratio < 2.0), closeness, -np.inf)


# Second matching pass: a track and a detection left over by IoU are paired when their centres
# are within this many box sizes (a small face that moved half its width between detections).
_MAX_CENTRE_JUMP = 1.0


class FaceTracker:
    """Assign stable ``track_ids`` (1, 2, 3, … never reused) and smooth the boxes.

    Options (keyword-only, checked here):
    ``max_missed``: detection rounds a track survives without a matching detection.
    ``min_iou``: the least IoU between a track's predicted box and a detection to match them;
    what IoU leaves unmatched is then paired by centre distance (within one box size).
    ``smoothing``: in [0, 1); 0 passes detections through, higher is steadier but slower to
    follow a change of speed. The filter gains are ``alpha = 1 - smoothing`` and
    ``beta = alpha² / (2 - alpha)`` (the Benedict–Bordner choice).
    ``extrapolate``: move boxes with their estimated velocity, also on frames without
    detection. ``False`` holds them still between detections and smooths with a plain
    exponential average, which lags behind a moving face.

    Boxes are not clipped: an extrapolated box may reach past the frame edge;
    :func:`~streamsr.faces.square_boxes` clips.
    """

    def __init__(
        self,
        *,
        max_missed: int = 5,
        min_iou: float = 0.3,
        smoothing: float = 0.6,
        extrapolate: bool = True,
    ) -> None:
        if not is_int(max_missed) or max_missed < 0:
            raise ConfigError(f"max_missed must be an int ≥ 0, got {max_missed!r}")
        if not is_number(min_iou) or not 0.0 < min_iou <= 1.0:
            raise ConfigError(f"min_iou must be a number in (0, 1], got {min_iou!r}")
        if not is_number(smoothing) or not 0.0 <= smoothing < 1.0:
            raise ConfigError(f"smoothing must be a number in [0, 1), got {smoothing!r}")
        if not isinstance(extrapolate, bool):
            raise ConfigError(f"extrapolate must be True or False, got {extrapolate!r}")
        self.max_missed = max_missed
        self.min_iou = float(min_iou)
        self.smoothing = float(smoothing)
        self.extrapolate = extrapolate
        self._alpha = 1.0 - self.smoothing
        self._beta = self._alpha**2 / (2.0 - self._alpha) if extrapolate else 0.0
        self._tracks: list[_Track] = []
        self._next_id = 1

    @property
    def ids_assigned(self) -> int:
        """How many track ids were handed out so far (tracks ever started)."""
        return self._next_id - 1

    @property
    def num_tracks(self) -> int:
        return len(self._tracks)

    def update(self, faces: Faces) -> Faces:
        """Advance one frame and correct the tracks with this frame's detections."""
        self._advance()
        det = _cxcywh(faces.xyxy)
        matched_tracks: set[int] = set()
        matched_dets: set[int] = set()
        if self._tracks and len(faces):
            predicted = np.stack([t.state for t in self._tracks])
            pairs = _greedy_match(iou_matrix(_xyxy(predicted), faces.xyxy), self.min_iou)
            pairs += _greedy_match(
                _closeness(predicted, det),
                -_MAX_CENTRE_JUMP,
                {ti for ti, _ in pairs},
                {di for _, di in pairs},
            )
            for ti, di in pairs:
                self._correct(self._tracks[ti], det[di], float(faces.scores[di]))
                matched_tracks.add(ti)
                matched_dets.add(di)

        survivors: list[_Track] = []
        for ti, track in enumerate(self._tracks):
            if ti not in matched_tracks:
                track.missed += 1
                track.velocity *= 0.5  # a lost face is more likely still than flying away
                if track.missed > self.max_missed:
                    continue
            survivors.append(track)
        for di in range(len(faces)):
            if di not in matched_dets:
                survivors.append(_Track(self._next_id, det[di].copy(), float(faces.scores[di])))
                self._next_id += 1
        self._tracks = survivors
        return self._faces()

    def predict(self) -> Faces:
        """Advance one frame without detection: the tracks' boxes, moved by their velocity."""
        self._advance()
        return self._faces()

    def reset(self) -> None:
        """Forget every track (for a scene cut). Ids keep counting up, so none is reused."""
        self._tracks = []

    def _advance(self) -> None:
        for t in self._tracks:
            t.frames_since_match += 1
            if self.extrapolate:
                t.state += t.velocity
                t.state[2:] = np.maximum(t.state[2:], 1.0)

    def _gains(self, hits: int) -> tuple[float, float]:
        """Filter gains for a track's measurement number ``hits + 1``.

        The expanding-memory (least-squares) gains for ``n = hits`` earlier measurements, until
        they fall below the steady-state ones.
        """
        n = hits
        if not self.extrapolate:  # a running mean, then the exponential average
            return max(self._alpha, 1.0 / (n + 1)), 0.0
        alpha_ls = 2.0 * (2 * n + 1) / ((n + 2) * (n + 1))  # 1, 0.83, 0.7, 0.6, …
        beta_ls = 6.0 / ((n + 2) * (n + 1))  # 1, 0.5, 0.3, 0.2, …
        return max(self._alpha, alpha_ls), max(self._beta, beta_ls)

    def _correct(self, track: _Track, measured: np.ndarray, score: float) -> None:
        alpha, beta = self._gains(track.hits)
        residual = measured - track.state
        track.state += alpha * residual
        track.velocity += beta * residual / max(track.frames_since_match, 1)
        track.hits += 1
        track.frames_since_match = 0
        track.missed = 0
        track.score = score

    def _faces(self) -> Faces:
        tracks = sorted(self._tracks, key=lambda t: t.track_id)
        n = len(tracks)
        if n == 0:
            return Faces()
        return Faces(
            xyxy=_xyxy(np.stack([t.state for t in tracks])).astype(np.float32),
            scores=np.array([t.score for t in tracks], np.float32),
            track_ids=np.array([t.track_id for t in tracks], np.int64),
        )

    def __repr__(self) -> str:
        return (
            f"FaceTracker(max_missed={self.max_missed}, min_iou={self.min_iou}, "
            f"smoothing={self.smoothing}, extrapolate={self.extrapolate}, "
            f"tracks={[t.track_id for t in self._tracks]})"
        )

"""Options of the face stage (detect and track), checked at construction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from streamsr._check import check_choice, check_int, check_number
from streamsr.faces._boxes import CROP_ENLARGE

FaceModel = Literal["auto", "short", "full"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FaceOptions:
    """``detect_every``: run the detector on every N-th frame and after a discontinuity, track
    in between. ``min_face``: ignore faces narrower than this many pixels. ``face_model``:
    BlazeFace ``short`` range (close faces), ``full`` range (small faces in wide shots), or
    ``auto`` (by frame size). ``crop_enlarge``: side of the enhanced crop over the face box's
    longer side (the forehead, chin and the feathered blend's margin; the network's cost grows
    with its square)."""

    detect_every: int = 3
    min_face: int = 0
    face_model: FaceModel = "auto"
    crop_enlarge: float = CROP_ENLARGE

    def __post_init__(self) -> None:
        check_int("detect_every", self.detect_every, 1, 1000)
        check_int("min_face", self.min_face, 0, 100_000)
        check_choice("face_model", self.face_model, ("auto", "short", "full"))
        check_number("crop_enlarge", self.crop_enlarge, 1.0, 3.0)

    def detector(self) -> Any:
        """A :class:`~streamsr.faces.FaceDetector` with these options (close it when done)."""
        from streamsr.faces._detector import FaceDetector

        return FaceDetector(model=self.face_model, min_face_px=self.min_face)

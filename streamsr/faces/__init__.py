"""Faces: detect them (MediaPipe BlazeFace, bundled), track them, and box them for enhancement."""

from streamsr.faces._boxes import CROP_ENLARGE, MIN_CROP_PX, square_boxes
from streamsr.faces._detector import FaceDetector, ModelName
from streamsr.faces._options import FaceOptions
from streamsr.faces._scenecut import SceneCutDetector
from streamsr.faces._tracker import FaceTracker

__all__ = [
    "CROP_ENLARGE",
    "MIN_CROP_PX",
    "FaceDetector",
    "FaceOptions",
    "FaceTracker",
    "ModelName",
    "SceneCutDetector",
    "square_boxes",
]

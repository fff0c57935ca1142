"""Faces: detect them (MediaPipe BlazeFace, bundled), track them, and box them for enhancement."""

from streamsr.faces._boxes import square_boxes
from streamsr.faces._detector import FaceDetector, ModelName
from streamsr.faces._scenecut import SceneCutDetector
from streamsr.faces._tracker import FaceTracker

__all__ = ["FaceDetector", "FaceTracker", "ModelName", "SceneCutDetector", "square_boxes"]

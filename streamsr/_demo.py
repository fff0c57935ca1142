"""The bundled demo clip and the side-by-side picture the demo writes."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from streamsr.enhance import Enhancer

log = logging.getLogger(__name__)

DEMO_CLIP = Path(__file__).parent / "demo" / "webcam_sister.mkv"


def demo_input() -> Path:
    return DEMO_CLIP


def write_side_by_side(
    video: str | Path, out_png: Path, enhancer: Enhancer, *, frame_index: int = 30
) -> bool:
    """Save ``bicubic | enhanced`` of the largest face in one frame of ``video`` (RGB order
    converted to OpenCV's BGR for writing). Returns False when that frame has no face."""
    from streamsr.compose import upscale_frame
    from streamsr.faces import CROP_ENLARGE, FaceDetector, square_boxes
    from streamsr.sources import VideoSource

    with VideoSource(video, audio=False) as src:
        frame = None
        for item in src.read():
            frame = item
            if getattr(item, "index", -1) >= frame_index:
                break
    if frame is None:
        return False
    rgb = frame.rgb24  # type: ignore[union-attr]
    with FaceDetector() as det:
        faces = det.detect(rgb, 0)
    if not len(faces):
        return False
    box = square_boxes(faces.xyxy, enlarge=CROP_ENLARGE, size_wh=(rgb.shape[1], rgb.shape[0]))
    areas = (box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1])
    x0, y0, x1, y1 = box[int(np.argmax(areas))].tolist()
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    bic = upscale_frame(crop, enhancer.scale)
    sr = enhancer.enhance([crop])[0]
    # Show at 4x the crop so the difference is visible on screen (nearest: no extra smoothing).
    view = max(1, 256 // bic.shape[0])
    pair = [
        cv2.resize(x, None, fx=view, fy=view, interpolation=cv2.INTER_NEAREST) for x in (bic, sr)
    ]
    gap = np.full((pair[0].shape[0], 8, 3), 255, np.uint8)
    img = np.concatenate([pair[0], gap, pair[1]], axis=1)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out_png), img[..., ::-1])
    return True

"""Box geometry for the enhancement crop."""

from __future__ import annotations

import numpy as np

from streamsr._check import is_number
from streamsr._errors import ConfigError

CROP_ENLARGE = 1.6  # crop side / face box side: forehead, chin and a margin for the feathered blend
MIN_CROP_PX = 8  # crops with a smaller side are left bicubic (too little for the network)


def square_boxes(xyxy: np.ndarray, *, enlarge: float, size_wh: tuple[int, int]) -> np.ndarray:
    """Square crop boxes around faces, as ``(N, 4)`` int32 ``xyxy`` pixels inside the frame.

    Each box is centred on its face with a side of ``enlarge`` × the face's longer side
    (rounded, at least 1 px). A box that reaches past an edge is moved back inside the frame so
    it stays square; only a box larger than the frame's shorter side is cut to that side.
    ``x1``/``y1`` are exclusive, so ``rgb24[y0:y1, x0:x1]`` is the crop.
    """
    if not is_number(enlarge) or enlarge <= 0:
        raise ConfigError(f"enlarge must be a finite number > 0, got {enlarge!r}")
    if (
        len(size_wh) != 2
        or not all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in size_wh)
        or min(size_wh) < 1
    ):
        raise ConfigError(f"size_wh must be two ints ≥ 1 (width, height), got {size_wh!r}")
    boxes = np.asarray(xyxy, dtype=np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ConfigError(f"xyxy must be an (N, 4) array, got shape {boxes.shape}")
    if not np.isfinite(boxes).all():
        raise ConfigError("xyxy holds a non-finite coordinate")

    w, h = int(size_wh[0]), int(size_wh[1])
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    longer = np.max(boxes[:, 2:] - boxes[:, :2], axis=1)
    side = np.clip(np.rint(longer * enlarge), 1, min(w, h))
    x0 = np.clip(np.rint(centre[:, 0] - side / 2), 0, w - side)
    y0 = np.clip(np.rint(centre[:, 1] - side / 2), 0, h - side)
    return np.stack([x0, y0, x0 + side, y0 + side], axis=1).astype(np.int32).reshape(-1, 4)

"""Plain PyTorch eager inference: fp32, channels_last on the CPU (about 2x faster there for SRCNN)."""

from __future__ import annotations

import numpy as np
import torch

from streamsr.enhance._srcnn import Network
from streamsr.enhance.backends._base import check_luma, luma_to_tensor, tensor_to_luma


class EagerBackend:
    """fp32 eager PyTorch on ``device`` ("cpu" or "cuda"); the ``cpu`` backend."""

    fixed_shapes = False

    def __init__(self, model: Network, *, device: torch.device) -> None:
        self.device = device
        self.name = "cpu" if device.type == "cpu" else "cuda-eager"
        self._channels_last = device.type == "cpu"
        model = model.to(device).eval()
        if self._channels_last:
            model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self._model = model

    @torch.inference_mode()
    def infer_luma(self, y_up: np.ndarray) -> np.ndarray:
        check_luma(y_up)
        x = luma_to_tensor(
            torch.from_numpy(y_up).to(self.device, non_blocking=True),
            torch.float32,
            channels_last=self._channels_last,
        )
        return tensor_to_luma(self._model(x)).cpu().numpy()

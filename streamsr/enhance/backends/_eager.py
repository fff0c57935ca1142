"""Plain PyTorch eager inference: fp32, channels_last on the CPU (about 2x faster there for SRCNN)."""

from __future__ import annotations

import numpy as np
import torch

from streamsr.enhance._srcnn import SRCNN


class EagerBackend:
    """fp32 eager PyTorch on ``device`` ("cpu" or "cuda")."""

    def __init__(self, model: SRCNN, *, device: torch.device) -> None:
        self.device = device
        self.name = "cpu" if device.type == "cpu" else "cuda-eager"
        model = model.to(device).eval()
        if device.type == "cpu":
            model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self._model = model

    @torch.inference_mode()
    def infer_luma(self, y_up: np.ndarray) -> np.ndarray:
        x = (
            torch.from_numpy(y_up)
            .to(self.device, non_blocking=True)
            .float()
            .div_(255.0)
            .unsqueeze(1)
        )
        if self.device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        y = self._model(x)
        return y.squeeze(1).mul_(255.0).round_().clamp_(0, 255).to(torch.uint8).cpu().numpy()

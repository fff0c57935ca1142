"""Weights files: a state dict plus a metadata record, and the shipped set inside the package."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from streamsr._errors import WeightsError

WEIGHTS_DIR = Path(__file__).parent / "weights"


def shipped_weights_path(arch: str, scale: int, variant: str) -> Path:
    return WEIGHTS_DIR / f"{arch}_x{scale}_{variant}.pt"


def save_weights(path: Path, state_dict: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Write ``path`` (fp32 state dict and metadata) and a human-readable ``.json`` beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sd = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in state_dict.items()}
    torch.save({"state_dict": sd, "meta": meta}, path)
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")


def _load(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several unrelated types for a bad file
        raise WeightsError(f"not a streamsr weights file: {path} ({type(exc).__name__})") from exc
    if not isinstance(obj, dict):
        raise WeightsError(f"not a streamsr weights file: {path}")
    return obj


def load_weights_file(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    obj = _load(path)
    if "state_dict" not in obj or "meta" not in obj:
        raise WeightsError(f"not a streamsr weights file (no state_dict/meta): {path}")
    return obj["state_dict"], obj["meta"]


def load_checkpoint_file(path: Path) -> dict[str, Any]:
    obj = _load(path)
    if "model" not in obj or "optimizer" not in obj:
        raise WeightsError(f"not a streamsr training checkpoint: {path}")
    return obj

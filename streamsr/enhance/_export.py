"""``export_model``: the SRCNN for ONNX Runtime (an ``.onnx`` file) or TensorRT (engines).

``onnx`` writes one file with dynamic batch, height and width: input ``y``, output ``y_out``,
both ``(batch, 1, height, width)`` float32, the full-range BT.601 luma of the bicubic upscale
divided by 255 (see :mod:`streamsr.enhance.backends._onnx`). The arch, scale, variant and
weights are in the model's metadata.

``tensorrt`` builds the fp16 engine of every size bucket into the folder ``out``, in the
layout of the TensorRT backend's cache, plus a ``manifest.json``. Engines only run on the
GPU model and the torch, Torch-TensorRT and TensorRT versions that built them.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Literal, get_args

import torch

from streamsr._errors import ConfigError, SinkError
from streamsr.enhance._enhancer import load_model
from streamsr.enhance._srcnn import Network

log = logging.getLogger(__name__)

ExportBackend = Literal["tensorrt", "onnx"]
EXPORT_BACKENDS: tuple[str, ...] = get_args(ExportBackend)


def export_model(
    backend: ExportBackend | str,
    scale: int,
    out: str | Path,
    *,
    arch: str | None = None,
    variant: str = "clean",
    weights: str | Path | None = None,
) -> Path:
    """Export the enhancer's network for ``backend``; returns the file or folder written."""
    if backend not in EXPORT_BACKENDS:
        raise ConfigError(
            f"export backend must be one of {', '.join(EXPORT_BACKENDS)}; got {backend!r}"
        )
    if backend == "tensorrt":
        from streamsr.enhance.backends._tensorrt import import_torch_tensorrt

        import_torch_tensorrt()
        if not torch.cuda.is_available():
            raise ConfigError("exporting for TensorRT needs CUDA, but torch sees no CUDA device")
    model, meta = load_model(scale, arch=arch, variant=variant, weights=weights)
    out = Path(out)
    try:
        if backend == "onnx":
            return _export_onnx(model, meta, out, variant=variant)
        return _export_tensorrt(model, out, arch=str(meta["arch"]), scale=scale)
    except OSError as exc:
        raise SinkError(f"cannot write {out}: {exc}") from exc


def _export_onnx(model: Network, meta: dict[str, Any], out: Path, *, variant: str) -> Path:
    from streamsr.enhance.backends._onnx import import_onnx, srcnn_to_onnx

    onnx = import_onnx()
    metadata = {
        "arch": str(meta.get("arch")),
        "scale": str(meta.get("scale")),
        "variant": variant,
        "weights": Path(str(meta.get("path"))).name,
        "input": "y: (batch, 1, H, W) float32, full-range BT.601 luma / 255 of the bicubic "
        "upscale; output y_out: the refined luma, same layout",
    }
    proto = srcnn_to_onnx(model, metadata=metadata)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(out))
    log.info("export: wrote %s (ONNX opset %d)", out, proto.opset_import[0].version)
    return out


def _export_tensorrt(model: Network, out: Path, *, arch: str, scale: int) -> Path:
    from streamsr.enhance.backends._base import BUCKET_SIDES, MAX_BATCH
    from streamsr.enhance.backends._cuda import fp16_model
    from streamsr.enhance.backends._tensorrt import (
        build_engine,
        engine_key,
        engine_path,
        save_engine,
        weights_digest,
    )

    device = torch.device("cuda")
    digest = weights_digest(model)
    model_fp16 = fp16_model(model, device)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for side in BUCKET_SIDES:
        key = engine_key(
            device, arch=arch, scale=scale, digest=digest, side=side, max_batch=MAX_BATCH
        )
        path = engine_path(out, key)
        module, example, dynamic = build_engine(model_fp16, side, device, MAX_BATCH)
        save_engine(module, path, example, dynamic, key)
        log.info("export: wrote %s", path)
        files.append(path.name)
    manifest = {"arch": arch, "scale": scale, "sides": list(BUCKET_SIDES), "files": files}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return out

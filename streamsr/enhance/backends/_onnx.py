"""ONNX Runtime inference, and the SRCNN and FSRCNN written as ONNX graphs.

The graphs are built directly with ``onnx.helper`` rather than traced: the networks are a few
convolutions, and writing them out keeps the export free of torch's deprecated TorchScript
exporter and of ``onnxscript``. The input is padded once with ``Pad(mode="edge")`` (replicate),
then the unpadded convolutions run, as :meth:`SRCNN.forward` does. The FSRCNN's padding
depends on the input's size (up to a multiple of the scale), computed in the graph from its
``Shape``; its ``pixel_unshuffle`` is ``SpaceToDepth`` (whose channel order differs from
torch's for more than one input plane: the first convolution's input planes are permuted to
match) and its ``PixelShuffle`` is ``DepthToSpace`` in ``CRD`` mode, which is torch's order.

Input ``y`` and output ``y_out`` are ``(batch, 1, height, width)`` float32 luma in [0, 1]
(full-range BT.601 Y / 255, bicubic-upscaled); batch, height and width are dynamic.

``residual=True`` writes the graph the pipeline runs: ``y`` in levels (0..255, the uint8
plane as float32, no division) and the output ``residual``, what the network adds to it, in
levels (no final ``Add``, no scaling, rounding or subtraction afterwards). The same weights
serve: every layer's bias times 255 scales the whole network by 255 (convolutions are linear,
ReLU is positively homogeneous, edge padding and the depth/space shuffles move values only).
At a 768 px close-up crop (espcn-s, one thread, 60 calls, two runs) the residual took 9.9 / 9.7
ms against 11.0 / 10.5 for the rounded plane minus the input.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from streamsr.enhance._fsrcnn import LowResNet
from streamsr.enhance._srcnn import Network
from streamsr.enhance.backends._base import check_luma, missing_extra

# Idle ORT worker threads spin before sleeping. Spinning made a lone 128 px crop about 15 %
# faster here, but in the pipeline it takes cores from the decoder, detector and encoder.
ALLOW_SPINNING = False
OPSET = 17
IR_VERSION = 8  # opset 17's IR version: loadable by every onnxruntime the extra admits
INPUT_NAME, OUTPUT_NAME, RESIDUAL_NAME = "y", "y_out", "residual"


def import_onnx() -> Any:
    try:
        import onnx
    except ImportError as exc:
        raise missing_extra("ONNX", "onnx", exc) from exc
    return onnx


def import_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise missing_extra("onnxruntime", "onnx", exc) from exc
    return onnxruntime


def srcnn_to_onnx(
    model: Network, *, metadata: dict[str, str] | None = None, residual: bool = False
) -> Any:
    """The network as an ``onnx.ModelProto`` with dynamic batch, height and width
    (``residual``: levels in, the residual in levels out; see the module's docstring)."""
    if isinstance(model, LowResNet):
        return fsrcnn_to_onnx(model, metadata=metadata, residual=residual)
    onnx = import_onnx()
    from onnx import helper, numpy_helper

    nodes: list[Any] = []
    inits: list[Any] = []
    bias_scale = np.float32(255.0 if residual else 1.0)
    c = model.valid_crop
    pads = np.array([0, 0, c, c, 0, 0, c, c], np.int64)
    inits.append(numpy_helper.from_array(pads, "input.pads"))
    nodes.append(helper.make_node("Pad", [INPUT_NAME, "input.pads"], ["input.padded"], mode="edge"))
    x = "input.padded"
    layers = [("extract", model.extract, True), ("mapping", model.mapping, True)]
    layers.append(("reconstruct", model.reconstruct, False))
    for name, conv, relu in layers:
        k = int(conv.kernel_size[0])
        w = conv.weight.detach().to("cpu", torch.float32).numpy()
        assert conv.bias is not None
        b = conv.bias.detach().to("cpu", torch.float32).numpy() * bias_scale
        inits += [numpy_helper.from_array(w, f"{name}.weight")]
        inits += [numpy_helper.from_array(b, f"{name}.bias")]
        out = RESIDUAL_NAME if name == "reconstruct" else f"{name}.conv"
        nodes.append(
            helper.make_node(
                "Conv", [x, f"{name}.weight", f"{name}.bias"], [out], kernel_shape=[k, k]
            )
        )
        x = out
        if relu:
            nodes.append(helper.make_node("Relu", [x], [f"{name}.relu"]))
            x = f"{name}.relu"
    return _finish(onnx, "srcnn", nodes, inits, model.channels, metadata, residual)


def fsrcnn_to_onnx(
    model: LowResNet, *, metadata: dict[str, str] | None = None, residual: bool = False
) -> Any:
    """A low-resolution network (FSRCNN, ESPCN) as an ``onnx.ModelProto`` with dynamic batch,
    height and width (``residual``: as :func:`srcnn_to_onnx`)."""
    onnx = import_onnx()
    from onnx import helper, numpy_helper

    s, c, ch = model.scale, model.valid_crop, model.channels
    bias_scale = np.float32(255.0 if residual else 1.0)

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(value, name))
        return name

    nodes: list[Any] = []
    inits: list[Any] = []
    # pads = [0, 0, c, c, 0, 0, c + (-H) % s, c + (-W) % s], from the input's shape.
    nodes.append(helper.make_node("Shape", [INPUT_NAME], ["shape"], start=2, end=4))
    scale_t = const("scale", np.array([s, s], np.int64))
    nodes.append(helper.make_node("Mod", ["shape", scale_t], ["hw.mod"]))
    nodes.append(helper.make_node("Sub", [scale_t, "hw.mod"], ["hw.short"]))
    nodes.append(helper.make_node("Mod", ["hw.short", scale_t], ["hw.pad"]))
    nodes.append(
        helper.make_node("Add", ["hw.pad", const("crop", np.array([c, c], np.int64))], ["ends"])
    )
    begins = const("begins", np.array([0, 0, c, c, 0, 0], np.int64))
    nodes.append(helper.make_node("Concat", [begins, "ends"], ["input.pads"], axis=0))
    nodes.append(helper.make_node("Pad", [INPUT_NAME, "input.pads"], ["input.padded"], mode="edge"))
    nodes.append(helper.make_node("SpaceToDepth", ["input.padded"], ["lr"], blocksize=s))
    # SpaceToDepth's plane (i * s + j) * C + k is torch's pixel_unshuffle plane k * s * s + i * s + j.
    perm = np.array([k * s * s + b for b in range(s * s) for k in range(ch)], np.int64)
    x = "lr"
    for name, conv, relu in model.layers():
        w = conv.weight.detach().to("cpu", torch.float32).numpy()
        if name == "extract":
            w = w[:, perm]
        assert conv.bias is not None
        b = conv.bias.detach().to("cpu", torch.float32).numpy() * bias_scale
        out = f"{name}.conv" if relu else "residual.lr"
        k = int(conv.kernel_size[0])
        nodes.append(
            helper.make_node(
                "Conv",
                [x, const(f"{name}.weight", w), const(f"{name}.bias", b)],
                [out],
                kernel_shape=[k, k],
            )
        )
        x = out
        if relu:
            nodes.append(helper.make_node("Relu", [x], [f"{name}.relu"]))
            x = f"{name}.relu"
    nodes.append(
        helper.make_node("DepthToSpace", [x], ["residual.padded"], blocksize=s, mode="CRD")
    )
    # The residual covers the input padded up to a multiple of the scale: cut it back.
    nodes.append(
        helper.make_node(
            "Slice",
            [
                "residual.padded",
                const("zeros", np.array([0, 0], np.int64)),
                "shape",
                const("axes", np.array([2, 3], np.int64)),
            ],
            [RESIDUAL_NAME],
        )
    )
    return _finish(onnx, "fsrcnn", nodes, inits, ch, metadata, residual)


def _finish(
    onnx: Any,
    name: str,
    nodes: list[Any],
    inits: list[Any],
    channels: int,
    metadata: dict[str, str] | None,
    residual: bool,
) -> Any:
    from onnx import TensorProto, helper

    out = RESIDUAL_NAME
    if not residual:
        nodes.append(helper.make_node("Add", [INPUT_NAME, RESIDUAL_NAME], [OUTPUT_NAME]))
        out = OUTPUT_NAME
    dims: list[str | int | None] = ["batch", channels, "height", "width"]
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, dims)],
        inits,
    )
    proto = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="streamsr"
    )
    proto.ir_version = IR_VERSION
    for key, value in (metadata or {}).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(proto)
    return proto


class OnnxRuntimeBackend:
    """ONNX Runtime, fp32: the CPU execution provider, or CUDA's on a CUDA ``device``.

    Intra-op threads: ``threads``, or ``torch.get_num_threads()`` so that both runtimes share
    one setting (a pipeline asks for fewer: :func:`streamsr.runtime.network_threads`); spinning
    is off (:data:`ALLOW_SPINNING`).
    """

    name = "onnxruntime"
    fixed_shapes = False

    def __init__(self, model: Network, *, device: torch.device, threads: int | None = None) -> None:
        ort = import_onnxruntime()
        self.device = device
        if device.type == "cuda":
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise missing_extra(
                    "onnxruntime CUDA",
                    "onnx",
                    ImportError(
                        "this onnxruntime has no CUDAExecutionProvider; "
                        "install onnxruntime-gpu instead of onnxruntime"
                    ),
                )
            providers: list[Any] = [
                ("CUDAExecutionProvider", {"device_id": device.index or 0}),
                "CPUExecutionProvider",
            ]
        else:
            providers = ["CPUExecutionProvider"]
        so = ort.SessionOptions()
        so.intra_op_num_threads = torch.get_num_threads() if threads is None else int(threads)
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.add_session_config_entry(
            "session.intra_op.allow_spinning", "1" if ALLOW_SPINNING else "0"
        )
        proto = srcnn_to_onnx(model)
        self._session = ort.InferenceSession(proto.SerializeToString(), so, providers=providers)
        levels = srcnn_to_onnx(model, residual=True)
        self._residual = ort.InferenceSession(levels.SerializeToString(), so, providers=providers)

    def infer_luma(self, y_up: np.ndarray) -> np.ndarray:
        check_luma(y_up)
        x = np.divide(y_up[:, None], np.float32(255.0), dtype=np.float32)
        y = self._session.run([OUTPUT_NAME], {INPUT_NAME: x})[0][:, 0]
        y *= np.float32(255.0)
        np.rint(y, out=y)
        np.clip(y, 0, 255, out=y)
        return y.astype(np.uint8)

    def infer_residual(self, y_up: np.ndarray) -> np.ndarray:
        """What the network adds to a batch ``(B, H, W)`` of uint8 luma planes: ``(B, H, W)``
        float32, in levels, neither rounded nor clipped (the pipeline adds it to the bicubic
        picture, which saturates)."""
        check_luma(y_up)
        x = y_up[:, None].astype(np.float32)
        return self._residual.run([RESIDUAL_NAME], {INPUT_NAME: x})[0][:, 0]

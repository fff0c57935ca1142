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

A low-resolution network has a third graph, :func:`lowres_lr_to_onnx`, the one the pipeline
runs: the crop's own luma in (``x``, levels, not upscaled), the residual over its bicubic
upscale out. A bicubic upscale by an integer factor is one fixed filter per output phase, so
bicubic, ``pixel_unshuffle`` and the first convolution fold into one convolution of the
low-resolution plane (:func:`fold_bicubic`); the graph then neither builds nor pads nor shuffles
the upscaled plane. See :func:`lowres_lr_to_onnx` for what it costs and where it differs.
"""

from __future__ import annotations

from collections.abc import Callable
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
LR_INPUT_NAME = "x"


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
    x = _convolutions(model, "lr", nodes, const, bias_scale, lambda w: w[:, perm])
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


def _convolutions(
    model: LowResNet,
    x: str,
    nodes: list[Any],
    const: Callable[[str, np.ndarray], str],
    bias_scale: np.float32,
    first: Callable[[np.ndarray], np.ndarray],
    phase_mean: bool = False,
) -> str:
    """Append a low-resolution network's convolutions (each but the last with its ReLU) to
    ``nodes``, reading tensor ``x``; ``first`` rewrites the first layer's weights for the
    graph's input (a plane permutation, or the folded bicubic), ``bias_scale`` the biases (255
    for levels). ``phase_mean``: the last layer gives, per channel, the mean of its ``scale**2``
    sub-pixel planes (:func:`phase_mean_layer`) instead of the planes. Returns the last
    output's name, ``residual.lr``."""
    from onnx import helper

    layers = model.layers()
    for name, conv, relu in layers:
        w = conv.weight.detach().to("cpu", torch.float32).numpy()
        if name == "extract":
            w = first(w)
        assert conv.bias is not None
        b = conv.bias.detach().to("cpu", torch.float32).numpy() * bias_scale
        if phase_mean and name == layers[-1][0]:
            w, b = phase_mean_layer(w, b, model.scale)
        out = f"{name}.conv" if relu else "residual.lr"
        k = int(w.shape[2])
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
    return x


def phase_mean_layer(
    weight: np.ndarray, bias: np.ndarray, scale: int
) -> tuple[np.ndarray, np.ndarray]:
    """The last convolution of a low-resolution network, ``(C * scale**2, F, k, k)`` (torch's
    ``PixelShuffle`` order: plane ``c * scale**2 + i * scale + j`` is output pixel ``(scale *
    q + i, scale * r + j)`` of channel ``c``), as the ``(C, F, k, k)`` convolution that gives the
    mean of each channel's sub-pixel planes: the output's ``scale`` x ``scale`` area average
    (what ``cv2.INTER_AREA`` makes of it), computed at the low resolution. Exact: the mean of
    convolutions of one input is the convolution with the mean weights."""
    planes = weight.shape[0]
    s2 = scale * scale
    if planes % s2:
        raise ValueError(f"{planes} output planes are not a multiple of {s2}")
    c = planes // s2
    w = weight.astype(np.float64).reshape(c, s2, *weight.shape[1:]).mean(axis=1)
    b = bias.astype(np.float64).reshape(c, s2).mean(axis=1)
    return w.astype(np.float32), b.astype(np.float32)


def fold_bicubic(weight: np.ndarray, scale: int, channels: int) -> np.ndarray:
    """The first convolution of a low-resolution network, ``(F, channels * scale**2, k, k)``
    over the pixel-unshuffled bicubic upscale (torch's plane order ``c * scale**2 + i * scale +
    j``), as one ``(F, channels, k + 4, k + 4)`` convolution of the low-resolution planes.

    Pixel ``(q, r)`` of unshuffled plane ``(i, j)`` is bicubic output pixel ``(scale * q + i,
    scale * r + j)``, the separable filter ``bicubic_phase_weights(scale)[i] x [j]`` of the
    input around ``(q, r)`` (5 x 5); a ``k`` x ``k`` convolution of those is a ``k + 4`` square
    one of the input. Exact in float up to the borders, before OpenCV rounds the upscale to uint8.
    """
    from streamsr.enhance._resize import bicubic_phase_weights

    f, planes, k, _k = weight.shape
    s2 = scale * scale
    if planes != channels * s2:
        raise ValueError(f"expected {channels * s2} input planes, got {planes}")
    phases = bicubic_phase_weights(scale)
    w = weight.astype(np.float64).reshape(f, channels, scale, scale, k, k)
    out = np.zeros((f, channels, k + 4, k + 4), np.float64)
    for i in range(scale):
        for j in range(scale):
            taps = np.outer(phases[i], phases[j])  # (5, 5)
            for dy in range(k):
                for dx in range(k):
                    out[:, :, dy : dy + 5, dx : dx + 5] += (
                        w[:, :, i, j, dy, dx][:, :, None, None] * taps
                    )
    return out.astype(np.float32)


def lowres_lr_to_onnx(
    model: LowResNet, *, metadata: dict[str, str] | None = None, at_input_size: bool = False
) -> Any:
    """A low-resolution network as a graph of the crop's own planes: ``x`` ``(B, C, h, w)`` in
    levels (0..255 as float32, not upscaled) to ``residual`` ``(B, C, scale * h, scale * w)``,
    what the network adds to the bicubic upscale of ``x``, in levels.

    The input is padded once (edge, ``lr_crop + 2`` pixels, the bicubic's own reach included),
    then the folded first convolution (:func:`fold_bicubic`) and the others run unpadded, and
    ``DepthToSpace`` gives the residual at the output size: no upscale, no ``Pad`` or
    ``SpaceToDepth`` of the upscaled plane, no ``Slice``. ``at_input_size``: the residual's
    ``scale`` x ``scale`` area average instead, ``(B, C, h, w)``: the last layer gives the mean
    of its sub-pixel planes (:func:`phase_mean_layer`), for a picture composed at the input's
    size (``output_size="input"``), where the residual at the output size was made only to be
    averaged back.

    Where it differs from :func:`fsrcnn_to_onnx` on the upscaled plane: that graph reads the
    upscale rounded to uint8 (this one, in effect, the unrounded one: the residuals differ by
    up to about 0.8 levels, 0.05-0.12 on average, on face crops with the shipped weights); and
    within ``valid_crop`` output pixels of the crop's border, where that graph replicates the
    upscaled plane's edge and this one the input's (up to about 2.4 levels at x4, where the
    feathered paste-back weighs them near zero). Elsewhere the same to float precision.

    Cost, one thread, ONNX Runtime 1.32, the shipped weights (one run on the 2-core machine;
    upscaled-plane graph plus its bicubic against this one): espcn-s x2 at an 820 px output
    21.2 against 21.1 ms, espcn x2 114 / 94, espcn-s x4 at 512 px 5.7 / 2.7, espcn x4 20.9 /
    12.5, espcn-s x3 at 600 px 7.3 / 4.6, fsrcnn-s x3 13.1 / 9.1.
    """
    onnx = import_onnx()
    from onnx import TensorProto, helper, numpy_helper

    s, ch, p = model.scale, model.channels, model.lr_crop + 2
    nodes: list[Any] = []
    inits: list[Any] = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(value, name))
        return name

    pads = const("input.pads", np.array([0, 0, p, p, 0, 0, p, p], np.int64))
    nodes.append(helper.make_node("Pad", [LR_INPUT_NAME, pads], ["input.padded"], mode="edge"))
    x = _convolutions(
        model,
        "input.padded",
        nodes,
        const,
        np.float32(255.0),
        lambda w: fold_bicubic(w, s, ch),
        phase_mean=at_input_size,
    )
    out_hw = ["h", "w"]
    if at_input_size:
        nodes.append(helper.make_node("Identity", [x], [RESIDUAL_NAME]))
    else:
        out_hw = ["H", "W"]
        nodes.append(
            helper.make_node("DepthToSpace", [x], [RESIDUAL_NAME], blocksize=s, mode="CRD")
        )
    graph = helper.make_graph(
        nodes,
        "fsrcnn_lr_in" if at_input_size else "fsrcnn_lr",
        [helper.make_tensor_value_info(LR_INPUT_NAME, TensorProto.FLOAT, ["batch", ch, "h", "w"])],
        [helper.make_tensor_value_info(RESIDUAL_NAME, TensorProto.FLOAT, ["batch", ch, *out_hw])],
        inits,
    )
    return _model(onnx, graph, metadata)


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
    return _model(onnx, graph, metadata)


def _model(onnx: Any, graph: Any, metadata: dict[str, str] | None) -> Any:
    """The checked ``ModelProto`` of ``graph``, with the opset, IR version and ``metadata``."""
    from onnx import helper

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
        self._model, self._options, self._providers = model, so, providers
        self._session = self._open(srcnn_to_onnx(model))
        self._residual_up: Any = None  # the upscaled plane's residual graph, built when first asked
        self._residual_lr = None
        self._residual_in: Any = None  # the input-size residual's graph, built when first asked
        if isinstance(model, LowResNet):
            self._residual_lr = self._open(lowres_lr_to_onnx(model))

    def _open(self, proto: Any) -> Any:
        """An inference session of ``proto`` with this backend's options and providers."""
        ort = import_onnxruntime()
        return ort.InferenceSession(
            proto.SerializeToString(), self._options, providers=self._providers
        )

    @property
    def reads_low_resolution(self) -> bool:
        """Whether :meth:`infer_residual_lr` takes the crop's own luma (a low-resolution
        network: its bicubic folded into the first convolution, :func:`lowres_lr_to_onnx`)."""
        return self._residual_lr is not None

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
        if self._residual_up is None:
            self._residual_up = self._open(srcnn_to_onnx(self._model, residual=True))
        return self._residual_up.run([RESIDUAL_NAME], {INPUT_NAME: x})[0][:, 0]

    def infer_residual_lr(self, y: np.ndarray) -> np.ndarray:
        """:meth:`infer_residual` from the crops' own luma, ``(B, h, w)`` uint8, not upscaled:
        ``(B, scale * h, scale * w)`` float32, what the network adds to the bicubic upscale of
        each plane (:func:`~streamsr.enhance._enhancer.preprocess_luma`). Only where
        :attr:`reads_low_resolution`."""
        check_luma(y)
        if self._residual_lr is None:
            raise ValueError("infer_residual_lr needs a low-resolution network (FSRCNN, ESPCN)")
        x = y[:, None].astype(np.float32)
        return self._residual_lr.run([RESIDUAL_NAME], {LR_INPUT_NAME: x})[0][:, 0]

    def infer_residual_input(self, y: np.ndarray) -> np.ndarray:
        """:meth:`infer_residual_lr` averaged over each ``scale`` x ``scale`` block of the
        output, at the crops' own size: ``(B, h, w)`` float32 from ``(B, h, w)`` uint8 luma,
        what an area downscale of the enhanced upscale adds to the crop (``output_size="input"``).
        The last layer computes the mean itself (:func:`phase_mean_layer`). Only where
        :attr:`reads_low_resolution`."""
        check_luma(y)
        if self._residual_lr is None:
            raise ValueError("infer_residual_input needs a low-resolution network (FSRCNN, ESPCN)")
        if self._residual_in is None:
            assert isinstance(self._model, LowResNet)
            self._residual_in = self._open(lowres_lr_to_onnx(self._model, at_input_size=True))
        x = y[:, None].astype(np.float32)
        return self._residual_in.run([RESIDUAL_NAME], {LR_INPUT_NAME: x})[0][:, 0]

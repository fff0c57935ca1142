"""FSRCNN and ESPCN: the low-resolution networks behind the enhancer's contract (same-size luma
in and out).

Built by name like the SRCNNs, for one scale; same-size output for any plane; the untrained
network is the bicubic baseline; eager, ONNX Runtime and an exported file agree with float64;
the scale is checked on load; the shipped weights beat bicubic on real faces (shared data).
"""

from __future__ import annotations

import copy
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from streamsr import ConfigError, WeightsError
from streamsr.enhance import export_model, load_enhancer
from streamsr.enhance._espcn import ESPCN, ESPCN_ARCHS, ESPCN_SPECS
from streamsr.enhance._fsrcnn import FSRCNN, FSRCNN_ARCHS, FSRCNN_SPECS, LowResNet
from streamsr.enhance._srcnn import ARCHS, LOWRES_ARCHS, build_srcnn
from streamsr.enhance._weights import save_weights, shipped_weights_path
from streamsr.enhance.backends._select import importable, make_backend

SCALES = (2, 3, 4)
# Plane sizes: odd, not divisible by the scale, a single pixel, wider than tall.
SHAPES_HW = [(37, 50), (1, 1), (5, 7), (24, 24), (41, 12)]


def visible(arch: str, scale: int, channels: int = 1) -> LowResNet:
    """An untrained network with a residual large enough to see (the default init is ~0)."""
    torch.manual_seed(scale)
    m = build_srcnn(arch, channels, scale=scale)
    assert isinstance(m, LowResNet)
    torch.nn.init.normal_(m.upsample.weight, std=0.05)
    torch.nn.init.normal_(m.upsample.bias, std=0.01)
    return m.eval()


def face_like_luma(rng: np.random.Generator, n: int, h: int, w: int, scale: int) -> np.ndarray:
    small = rng.integers(0, 256, (n, max(h // scale, 2), max(w // scale, 2)), dtype=np.uint8)
    return np.stack([cv2.resize(s, (w, h), interpolation=cv2.INTER_CUBIC) for s in small])


def reference_luma(model: torch.nn.Module, y_up: np.ndarray) -> np.ndarray:
    """The network in float64, in 0..255 luma levels (not rounded)."""
    m = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        x = torch.from_numpy(y_up).double().div(255.0).unsqueeze(1)
        return m(x).squeeze(1).numpy() * 255.0


def residual_error(out: np.ndarray, ref: np.ndarray, y: np.ndarray) -> float:
    """‖out − ref‖ / ‖ref − input‖: the error relative to what the network adds."""
    d = np.asarray(out, np.float64) - ref
    return float(np.linalg.norm(d) / np.linalg.norm(ref - y.astype(np.float64)))


def save_fsrcnn(path: Path, arch: str, scale: int, *, meta_scale: int | None = None) -> Path:
    m = visible(arch, scale)
    save_weights(path, m.state_dict(), {"arch": arch, "scale": meta_scale or scale})
    return path


# -- the network -------------------------------------------------------------------------------


@pytest.mark.parametrize("arch", FSRCNN_ARCHS)
@pytest.mark.parametrize("scale", SCALES)
def test_builds_by_name_for_each_scale(arch: str, scale: int) -> None:
    assert arch in ARCHS
    m = build_srcnn(arch, scale=scale)
    assert isinstance(m, FSRCNN) and m.scale == scale
    spec = FSRCNN_SPECS[arch]
    # scale**2 planes in (the pixel-unshuffled input) and out (before the pixel shuffle).
    assert m.extract.in_channels == scale * scale and m.extract.out_channels == spec.d
    assert m.upsample.out_channels == scale * scale
    assert len(m.mapping) == spec.m
    assert m.valid_crop == scale * m.lr_crop


@pytest.mark.parametrize("arch", ESPCN_ARCHS)
@pytest.mark.parametrize("scale", SCALES)
def test_espcn_builds_by_name_with_three_layers(arch: str, scale: int) -> None:
    assert arch in ARCHS and arch in LOWRES_ARCHS
    m = build_srcnn(arch, scale=scale)
    assert isinstance(m, ESPCN) and m.scale == scale
    spec = ESPCN_SPECS[arch]
    assert [n for n, _, _ in m.layers()] == ["extract", "mapping", "upsample"]
    assert m.extract.in_channels == scale * scale and m.extract.out_channels == spec.f1
    assert m.mapping.out_channels == spec.f2 and m.upsample.out_channels == scale * scale
    # Each unpadded k x k layer loses (k - 1) / 2 low-resolution pixels per side.
    assert m.lr_crop == (spec.k1 - 1) // 2 + (spec.k2 - 1) // 2 + (spec.k3 - 1) // 2
    assert m.valid_crop == scale * m.lr_crop


def test_scale_is_required_and_unknown_names_list_the_archs() -> None:
    with pytest.raises(ConfigError, match="scale"):
        build_srcnn("fsrcnn-s")
    with pytest.raises(ConfigError, match="fsrcnn-s") as err:
        build_srcnn("fsrcnn-xl", scale=2)
    for arch in ARCHS:
        assert arch in str(err.value)
    with pytest.raises(ConfigError, match="fsrcnn-s"):
        load_enhancer(2, arch="fsrcnn-xl")


@pytest.mark.parametrize("arch", LOWRES_ARCHS)
@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("hw", SHAPES_HW)
def test_output_keeps_the_size_of_any_plane(arch: str, scale: int, hw: tuple[int, int]) -> None:
    m = visible(arch, scale)
    x = torch.rand(2, 1, *hw)
    with torch.no_grad():
        assert m(x).shape == x.shape


@pytest.mark.parametrize("arch", ["fsrcnn-s", "espcn-s"])
@pytest.mark.parametrize("scale", SCALES)
def test_untrained_network_is_the_bicubic_baseline(arch: str, scale: int) -> None:
    torch.manual_seed(0)
    m = build_srcnn(arch, scale=scale).eval()
    x = torch.rand(1, 1, 45, 62)
    with torch.no_grad():
        assert (m(x) - x).abs().max() < 2e-3  # under half a luma level


@pytest.mark.parametrize("arch", ["fsrcnn-s", "espcn-s"])
@pytest.mark.parametrize("scale", SCALES)
def test_valid_and_padded_agree_in_the_interior(arch: str, scale: int) -> None:
    m = visible(arch, scale)
    x = torch.rand(1, 1, 12 * scale, 10 * scale)
    c = m.valid_crop
    with torch.no_grad():
        torch.testing.assert_close(m(x)[..., c:-c, c:-c], m.forward_valid(x), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="divisible"):
        m.forward_valid(torch.rand(1, 1, 12 * scale + 1, 10 * scale))


@pytest.mark.parametrize("arch", ["fsrcnn-s", "espcn-s"])
def test_relu_after_every_layer_but_the_last(arch: str) -> None:
    m = visible(arch, 2)
    with torch.no_grad():
        m.upsample.bias.fill_(-5.0)
        # No activation after the up-sampling: the residual can be negative.
        assert (m(torch.rand(1, 1, 16, 16)) < 0).all()
    relus = [relu for _, _, relu in m.layers()]
    assert relus == [True] * (len(relus) - 1) + [False]


# -- backends and export -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "backend", ["cpu", "onnxruntime", pytest.param("compile", marks=pytest.mark.slow)]
)
@pytest.mark.parametrize("scale", [2, 3])
@pytest.mark.parametrize("arch", ["fsrcnn-s", "espcn-s"])
def test_backends_match_float64(backend: str, scale: int, arch: str) -> None:
    if backend == "onnxruntime" and not importable("onnxruntime"):
        pytest.skip("onnx / onnxruntime not installed")
    model = visible(arch, scale)
    impl = make_backend(backend, model, torch.device("cpu"), arch=arch, scale=scale)
    rng = np.random.default_rng(scale)
    for n, h, w in [(3, 64, 64), (2, 41, 55), (1, 2, 2)]:
        y = face_like_luma(rng, n, h, w, scale)
        ref = reference_luma(model, y)
        out = impl.infer_luma(y)
        assert out.shape == y.shape and out.dtype == np.uint8
        d = np.abs(out.astype(np.float64) - np.clip(np.rint(ref), 0, 255))
        assert d.max() <= 1 and (d > 0).mean() <= 1e-3, (backend, d.max(), (d > 0).mean())


@pytest.mark.parametrize("arch", ["fsrcnn-s", "espcn-s"])
@pytest.mark.parametrize(("scale", "channels"), [(2, 1), (3, 1), (4, 1), (2, 3)])
def test_onnx_graph_matches_float64_before_rounding(scale: int, channels: int, arch: str) -> None:
    if not importable("onnxruntime"):
        pytest.skip("onnx / onnxruntime not installed")
    import onnxruntime

    from streamsr.enhance.backends._onnx import srcnn_to_onnx

    model = visible(arch, scale, channels)
    session = onnxruntime.InferenceSession(
        srcnn_to_onnx(model).SerializeToString(), providers=["CPUExecutionProvider"]
    )
    rng = np.random.default_rng(7)
    for h, w in [(48, 72), (37, 50), (3, 5)]:
        x = rng.random((2, channels, h, w), dtype=np.float32)
        out = session.run(None, {"y": x})[0].astype(np.float64)
        with torch.no_grad():
            ref = copy.deepcopy(model).double()(torch.from_numpy(x).double()).numpy()
        assert out.shape == x.shape
        d = out - ref
        assert np.linalg.norm(d) / np.linalg.norm(ref - x) < 1e-5


def test_export_onnx_writes_the_arch_and_scale(tmp_path: Path) -> None:
    if not importable("onnxruntime"):
        pytest.skip("onnx / onnxruntime not installed")
    import onnx
    import onnxruntime

    w = save_fsrcnn(tmp_path / "fsrcnn-s_x3.pt", "fsrcnn-s", 3)
    out = export_model("onnx", 3, tmp_path / "fsrcnn.onnx", weights=w)
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert meta["arch"] == "fsrcnn-s" and meta["scale"] == "3"
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    model = visible("fsrcnn-s", 3)
    y = face_like_luma(np.random.default_rng(8), 2, 50, 70, 3)
    got = session.run(None, {"y": (y[:, None] / np.float32(255.0)).astype(np.float32)})[0]
    assert residual_error(got[:, 0] * 255.0, reference_luma(model, y), y) < 1e-5


# -- weights -----------------------------------------------------------------------------------


def test_weights_of_another_scale_are_refused_saying_which(tmp_path: Path) -> None:
    w = save_fsrcnn(tmp_path / "w.pt", "fsrcnn-s", 2)
    assert load_enhancer(2, weights=w, device="cpu").arch == "fsrcnn-s"
    with pytest.raises(WeightsError, match=r"for scale x2, not x4 \(fsrcnn-s computes"):
        load_enhancer(4, weights=w)
    with pytest.raises(WeightsError, match="fsrcnn-s, not fsrcnn"):
        load_enhancer(2, arch="fsrcnn", weights=w)
    # Metadata that lies about the scale: the tensors of a x2 network do not fit x4.
    lying = save_fsrcnn(tmp_path / "lying.pt", "fsrcnn-s", 2, meta_scale=4)
    with pytest.raises(WeightsError, match="do not fit fsrcnn-s"):
        load_enhancer(4, weights=lying)


SHIPPED = [
    (a, s, v)
    for a in LOWRES_ARCHS
    for s in SCALES
    for v in ("clean", "video")
    if shipped_weights_path(a, s, v).is_file()
]


def test_fsrcnn_weights_are_shipped() -> None:
    assert ("fsrcnn-s", 2, "clean") in SHIPPED and ("fsrcnn-s", 2, "video") in SHIPPED


@pytest.mark.parametrize(("arch", "scale", "variant"), SHIPPED)
def test_shipped_weights_are_small_and_carry_their_scale(
    arch: str, scale: int, variant: str
) -> None:
    p = shipped_weights_path(arch, scale, variant)
    assert p.stat().st_size < 1_000_000
    e = load_enhancer(scale, arch=arch, variant=variant, device="cpu")
    assert e.meta["arch"] == arch and e.meta["scale"] == scale
    for key in ("channels", "data", "steps", "val_psnr_y", "date"):
        assert key in e.meta


@pytest.mark.parametrize(
    ("variant", "degrade", "min_gain"), [("clean", "clean", 0.8), ("video", "realistic", 0.2)]
)
def test_shipped_weights_beat_bicubic_on_a_real_face(
    variant: str, degrade: str, min_gain: float
) -> None:
    from _media import shared

    from streamsr.training import classic_methods, enhancer_method, evaluate_crops, face_crops

    root = shared("faces", "eval", "face_recognition")
    crops = face_crops([root / "obama.jpg", root / "biden.jpg"]).crops
    assert crops
    methods = {
        **classic_methods(2),
        "model": enhancer_method(load_enhancer(2, arch="fsrcnn-s", variant=variant, device="cpu")),
    }
    r = evaluate_crops(crops, scale=2, degrade=degrade, methods=methods)
    assert r["model"]["psnr_y"] - r["bicubic"]["psnr_y"] > min_gain, r
    assert r["model"]["ssim_y"] > r["bicubic"]["ssim_y"], r

"""Inference backends: selection, missing extras, batching and size buckets, and numerics.

Every CPU backend is checked against a float64 run of the same network (``model.double()``).
The GPU backends are in ``test_gpu.py`` (torch and numpy only, for a bare GPU image).
"""

from __future__ import annotations

import copy
import logging
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from streamsr import ConfigError, MissingExtraError
from streamsr.enhance import export_model
from streamsr.enhance._enhancer import load_enhancer, pad_luma
from streamsr.enhance._srcnn import SRCNN, build_srcnn
from streamsr.enhance._weights import save_weights
from streamsr.enhance.backends import BACKENDS, BUCKET_SIDES
from streamsr.enhance.backends._base import bucket_side
from streamsr.enhance.backends._select import CPU_PREFERENCE, importable, make_backend

SCALE = 4
EDGE_PX = 4  # bucket padding may change the last rows and columns (layers 2 and 3: 2 + 2 px)


def need(backend: str) -> None:
    """Skip when ``backend`` cannot run here (the GPU backends are tested in test_gpu.py)."""
    if backend.startswith("onnxruntime") and not importable("onnxruntime"):
        pytest.skip("onnx / onnxruntime not installed")


@pytest.fixture(scope="module")
def model() -> SRCNN:
    """An untrained SRCNN with a residual large enough to see (the default init is ~0)."""
    torch.manual_seed(0)
    m = build_srcnn("srcnn-955")
    torch.nn.init.normal_(m.reconstruct.weight, std=0.02)
    return m.eval()


@pytest.fixture(scope="module")
def weights(model: SRCNN, tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("w") / "srcnn-955_x4_test.pt"
    save_weights(p, model.state_dict(), {"arch": "srcnn-955", "scale": SCALE})
    return p


def face_like_luma(rng: np.random.Generator, n: int, h: int, w: int) -> np.ndarray:
    """Bicubic upscales of random small images: smooth, with edges, like an upscaled crop."""
    small = rng.integers(0, 256, (n, max(h // SCALE, 2), max(w // SCALE, 2)), dtype=np.uint8)
    return np.stack([cv2.resize(s, (w, h), interpolation=cv2.INTER_CUBIC) for s in small])


def crops_of(rng: np.random.Generator, sizes_hw: list[tuple[int, int]]) -> list[np.ndarray]:
    return [
        cv2.resize(
            rng.integers(0, 256, (max(h // 2, 1), max(w // 2, 1), 3), dtype=np.uint8),
            (w, h),
            interpolation=cv2.INTER_LINEAR,
        )
        for h, w in sizes_hw
    ]


def reference_luma(model: SRCNN, y_up: np.ndarray) -> np.ndarray:
    """The network in float64, in 0..255 luma levels (not rounded)."""
    m = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        x = torch.from_numpy(y_up).double().div(255.0).unsqueeze(1)
        return m(x).squeeze(1).numpy() * 255.0


def rel_error(out: np.ndarray, ref: np.ndarray, base: np.ndarray | None = None) -> float:
    """‖out − ref‖ / ‖ref − base‖ (``base`` = the input for the residual's error, else 0)."""
    d = np.asarray(out, np.float64) - ref
    return float(np.linalg.norm(d) / np.linalg.norm(ref if base is None else ref - base))


# -- selection and options ---------------------------------------------------------------------


def test_auto_picks_an_available_backend_and_logs_it(
    weights: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="streamsr.enhance._enhancer"):
        e = load_enhancer(SCALE, weights=weights)
    name = e.backend.name
    assert name in BACKENDS
    if torch.cuda.is_available():
        assert name == ("tensorrt" if importable("tensorrt") else "cuda")
    else:
        assert name == next(b for b in CPU_PREFERENCE if importable(b))
    assert f"backend {name} (auto)" in caplog.text
    assert repr(e).startswith("Enhancer(") and name in repr(e)


@pytest.mark.parametrize("threads", [1, 3])
def test_onnxruntime_runs_the_threads_it_is_given(weights: Path, threads: int) -> None:
    need("onnxruntime")
    e = load_enhancer(SCALE, weights=weights, backend="onnxruntime", threads=threads)
    e.backend.infer_residual(np.zeros((1, 16, 16), np.uint8))  # type: ignore[attr-defined]
    low = load_enhancer(
        SCALE, arch="espcn-s", variant="clean", backend="onnxruntime", threads=threads
    )
    sessions = (
        e.backend._session,  # type: ignore[attr-defined]
        e.backend._residual_up,  # type: ignore[attr-defined]  # built by the call above
        low.backend._residual_lr,  # type: ignore[attr-defined]
    )
    for session in sessions:
        assert session.get_session_options().intra_op_num_threads == threads
    default = load_enhancer(SCALE, weights=weights, backend="onnxruntime")
    opts = default.backend._session.get_session_options()  # type: ignore[attr-defined]
    assert opts.intra_op_num_threads == torch.get_num_threads()


@pytest.mark.parametrize("threads", [0, -1, 1.5, True])
def test_threads_must_be_a_positive_int(weights: Path, threads: object) -> None:
    with pytest.raises(ConfigError, match="threads must be an integer"):
        load_enhancer(SCALE, weights=weights, threads=threads)  # type: ignore[arg-type]


def test_unknown_backend_is_a_config_error_listing_the_choices(weights: Path) -> None:
    with pytest.raises(ConfigError, match="auto, tensorrt, cuda, compile, onnxruntime, cpu"):
        load_enhancer(SCALE, weights=weights, backend="openvino")


def test_missing_tensorrt_names_the_extra(
    weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torch_tensorrt", None)  # import now fails, as if absent
    with pytest.raises(MissingExtraError, match=r"pip install 'streamsr\[tensorrt\]'"):
        load_enhancer(SCALE, weights=weights, backend="tensorrt")
    with pytest.raises(MissingExtraError, match=r"streamsr\[tensorrt\]"):
        export_model("tensorrt", SCALE, tmp_path / "trt", weights=weights)
    assert isinstance(MissingExtraError("x"), ImportError)


def test_missing_onnxruntime_names_the_extra_and_auto_falls_back(
    weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(MissingExtraError, match=r"streamsr\[onnx\]"):
        load_enhancer(SCALE, weights=weights, backend="onnxruntime", device="cpu")
    assert load_enhancer(SCALE, weights=weights, device="cpu").backend.name == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal without CUDA")
@pytest.mark.parametrize("backend", ["cuda", "tensorrt"])
def test_gpu_backends_without_cuda_are_refused(weights: Path, backend: str) -> None:
    error = (
        MissingExtraError if backend == "tensorrt" and not importable("tensorrt") else ConfigError
    )
    with pytest.raises(error):
        load_enhancer(SCALE, weights=weights, backend=backend)


@pytest.mark.parametrize(
    ("backend", "device"), [("cpu", "cuda"), ("cuda", "cpu"), ("compile", "tpu")]
)
def test_contradicting_device_and_backend(weights: Path, backend: str, device: str) -> None:
    with pytest.raises(ConfigError, match="device"):
        load_enhancer(SCALE, weights=weights, backend=backend, device=device)


def test_buckets_default_follows_the_backend(weights: Path) -> None:
    assert load_enhancer(SCALE, weights=weights, backend="cpu").buckets is False
    assert load_enhancer(SCALE, weights=weights, backend="cpu", buckets=True).buckets is True
    with pytest.raises(ConfigError, match="max_batch"):
        load_enhancer(SCALE, weights=weights, backend="cpu", max_batch=0)


# -- batching and size buckets -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("hw", "side"),
    [((1, 1), 32), ((32, 32), 32), ((33, 10), 48), ((100, 130), 160), ((512, 512), 512)],
)
def test_bucket_side(hw: tuple[int, int], side: int) -> None:
    assert bucket_side(*hw) == side
    assert bucket_side(513, 4) is None
    assert list(BUCKET_SIDES) == sorted(BUCKET_SIDES)


def test_pad_luma_replicates_the_last_row_and_column() -> None:
    y = np.arange(6, dtype=np.uint8).reshape(2, 3)
    dst = np.zeros((4, 5), np.uint8)
    pad_luma(y, dst)
    np.testing.assert_array_equal(dst[:2, :3], y)
    np.testing.assert_array_equal(dst[:2, 3:], [[2, 2], [5, 5]])
    np.testing.assert_array_equal(dst[2:], np.repeat(dst[1:2], 2, axis=0))


# Output sizes (x4): 4x4, 60x52, 128x128 (exact bucket), 148x148, 60x52 again, 520x560 (larger
# than every bucket: keeps its size).
MIXED_HW = [(1, 1), (15, 13), (32, 32), (37, 37), (15, 13), (130, 140)]


@pytest.mark.parametrize("backend", ["cpu", "onnxruntime"])
def test_buckets_keep_sizes_and_match_the_exact_path(weights: Path, backend: str) -> None:
    need(backend)
    crops = crops_of(np.random.default_rng(2), MIXED_HW)
    exact = load_enhancer(SCALE, weights=weights, backend=backend, buckets=False).enhance(crops)
    bucketed = load_enhancer(SCALE, weights=weights, backend=backend, buckets=True).enhance(crops)
    assert [b.shape for b in bucketed] == [(h * SCALE, w * SCALE, 3) for h, w in MIXED_HW]
    assert all(b.dtype == np.uint8 for b in bucketed)
    for e, b in zip(exact, bucketed, strict=True):
        d = np.abs(e.astype(np.int16) - b)
        # Only the band next to the padded bottom and right edges may differ.
        assert d[:-EDGE_PX, :-EDGE_PX].max(initial=0) <= 1
        mse = float((d.astype(np.float64) ** 2).mean())
        assert mse == 0 or 10 * np.log10(255**2 / mse) > 40


@pytest.mark.parametrize("buckets", [False, True])
def test_one_batch_equals_one_by_one(weights: Path, buckets: bool) -> None:
    e = load_enhancer(SCALE, weights=weights, backend="cpu", buckets=buckets, max_batch=4)
    crops = crops_of(np.random.default_rng(3), [(20, 20)] * 5 + [(24, 24), (23, 17)])
    together = e.enhance(crops)
    for c, t in zip(crops, together, strict=True):
        one = e.enhance([c])[0]
        assert one.shape == t.shape
        assert np.abs(one.astype(np.int16) - t).max() <= 1  # batch size may change the kernels


def test_enhance_many_keeps_frames_apart(weights: Path) -> None:
    e = load_enhancer(SCALE, weights=weights, backend="cpu", buckets=True)
    rng = np.random.default_rng(4)
    frames = [crops_of(rng, [(16, 16), (20, 18)]), [], crops_of(rng, [(30, 30)])]
    out = e.enhance_many(frames)
    assert [len(o) for o in out] == [2, 0, 1]
    flat = e.enhance([c for f in frames for c in f])
    for a, b in zip([o for f in out for o in f], flat, strict=True):
        np.testing.assert_array_equal(a, b)
    assert e.enhance_many([]) == []
    with pytest.raises(ValueError, match="list of lists"):
        e.enhance_many(np.zeros((1, 2, 8, 8, 3), np.uint8))  # type: ignore[arg-type]


# -- numerics against float64 ------------------------------------------------------------------

# Per backend: the most a uint8 output may differ from the rounded float64 reference, the
# share of pixels that may differ at all, and the bound on ‖out − ref‖ / ‖ref‖ for the planes.
# fp32 backends differ only where rounding flips; fp16 ones by a level or two.
TOLERANCE = {
    "cpu": (1, 1e-3, 5e-3),
    "onnxruntime": (1, 1e-3, 5e-3),
    "compile": (1, 1e-3, 5e-3),
}
NUMERIC_CASES = [
    pytest.param("cpu"),
    pytest.param("onnxruntime"),
    pytest.param("compile", marks=pytest.mark.slow),  # the first call compiles: ~15-25 s here
]
# The GPU cases are in test_gpu.py, which needs only torch and numpy (a bare GPU image).


@pytest.mark.parametrize("case", NUMERIC_CASES)
def test_backend_matches_float64(model: SRCNN, case: str) -> None:
    need(case)
    name, _, dev = case.partition("-")
    device = torch.device(dev or ("cuda" if name in ("cuda", "tensorrt") else "cpu"))
    backend = make_backend(name, copy.deepcopy(model), device, arch="srcnn-955", scale=SCALE)
    max_levels, max_share, max_rel = TOLERANCE[case]
    rng = np.random.default_rng(5)
    # A bucket shape (what the GPU backends compile for) and one that is not.
    for n, h, w in [(3, 64, 64), (2, 40, 56)]:
        y = face_like_luma(rng, n, h, w)
        ref = reference_luma(model, y)
        out = backend.infer_luma(y)
        assert out.shape == y.shape and out.dtype == np.uint8
        d = np.abs(out.astype(np.float64) - np.clip(np.rint(ref), 0, 255))
        assert d.max() <= max_levels, (case, d.max())
        assert (d > 0).mean() <= max_share, (case, (d > 0).mean())
        assert rel_error(out, ref) < max_rel


def test_onnx_graph_matches_float64_before_rounding(model: SRCNN) -> None:
    need("onnxruntime")
    import onnxruntime

    from streamsr.enhance.backends._onnx import INPUT_NAME, OUTPUT_NAME, srcnn_to_onnx

    session = onnxruntime.InferenceSession(
        srcnn_to_onnx(model).SerializeToString(), providers=["CPUExecutionProvider"]
    )
    y = face_like_luma(np.random.default_rng(6), 2, 48, 72)
    ref = reference_luma(model, y)
    x = (y[:, None] / np.float32(255.0)).astype(np.float32)
    out = session.run([OUTPUT_NAME], {INPUT_NAME: x})[0][:, 0].astype(np.float64) * 255.0
    # Relative error of the residual (what the network adds to the bicubic input): fp32.
    assert rel_error(out, ref, base=y.astype(np.float64)) < 1e-5


@pytest.mark.parametrize("arch", ["srcnn-955", "espcn-s", "fsrcnn-s"])
def test_onnx_residual_graph_is_the_network_in_levels(arch: str) -> None:
    """The pipeline's graph (levels in, the residual in levels out, biases x 255) computes
    the float64 network's residual, for an SRCNN and both low-resolution networks."""
    need("onnxruntime")
    from streamsr.enhance.backends._onnx import OnnxRuntimeBackend

    torch.manual_seed(1)
    net = build_srcnn(arch, scale=2) if arch != "srcnn-955" else build_srcnn(arch)
    for p in net.parameters():  # biases and weights of a visible size (the init is ~0)
        torch.nn.init.normal_(p, std=0.05)
    net.eval()
    y = face_like_luma(np.random.default_rng(8), 2, 50, 66)
    ref = reference_luma(net, y) - y  # type: ignore[arg-type]
    backend = OnnxRuntimeBackend(net, device=torch.device("cpu"))
    r = backend.infer_residual(y)
    assert r.dtype == np.float32 and r.shape == y.shape
    assert rel_error(r, ref) < 1e-5
    # and the rounded, clipped path is the same picture where nothing was clipped
    out = backend.infer_luma(y).astype(np.float64)
    inside = (y + ref > 1) & (y + ref < 254)
    assert np.abs(out - y - r)[inside].max() <= 0.5 + 1e-3


@pytest.mark.parametrize(("arch", "scale"), [("espcn-s", 2), ("espcn", 3), ("fsrcnn-s", 4)])
def test_low_resolution_graph_is_the_network_on_the_unrounded_upscale(
    arch: str, scale: int
) -> None:
    """The graph of the crop's own luma (bicubic folded into the first convolution) computes the
    float64 network on the float bicubic upscale, at every pixel at least ``valid_crop`` from
    the border; nearer the border it stays within a few levels."""
    need("onnxruntime")
    from streamsr.enhance.backends._onnx import OnnxRuntimeBackend

    torch.manual_seed(2)
    net = build_srcnn(arch, scale=scale)
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.05)
    net.eval()
    small = cv2.GaussianBlur(
        np.random.default_rng(4).integers(0, 256, (2, 37, 29), dtype=np.uint8), (0, 0), 1.0
    )
    up = np.stack(
        [
            cv2.resize(
                y.astype(np.float32), (29 * scale, 37 * scale), interpolation=cv2.INTER_CUBIC
            )
            for y in small
        ]
    ).astype(np.float64)
    ref = reference_luma(net, up) - up  # type: ignore[arg-type]
    backend = OnnxRuntimeBackend(net, device=torch.device("cpu"))
    assert backend.reads_low_resolution
    r = backend.infer_residual_lr(small)
    assert r.dtype == np.float32 and r.shape == up.shape
    c = net.valid_crop
    inner = (slice(None), slice(c, -c), slice(c, -c))
    assert rel_error(r[inner], ref[inner]) < 1e-5
    assert np.abs(r - ref).max() < 0.2 * np.abs(ref).max()


def test_an_srcnn_has_no_low_resolution_graph(model: SRCNN) -> None:
    need("onnxruntime")
    from streamsr.enhance.backends._onnx import OnnxRuntimeBackend

    backend = OnnxRuntimeBackend(model, device=torch.device("cpu"))
    assert not backend.reads_low_resolution
    with pytest.raises(ValueError, match="low-resolution network"):
        backend.infer_residual_lr(np.zeros((1, 8, 8), np.uint8))


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bicubic_phase_weights_are_opencvs_upscale(scale: int) -> None:
    """The per-phase filters the fold uses give OpenCV's float bicubic upscale, borders
    included when the input is edge-padded (OpenCV clamps to the edge)."""
    from streamsr.enhance._resize import bicubic_phase_weights

    x = np.random.default_rng(5).random((23, 19)).astype(np.float32)
    up = cv2.resize(x, (19 * scale, 23 * scale), interpolation=cv2.INTER_CUBIC)
    w = bicubic_phase_weights(scale)
    xp = np.pad(x.astype(np.float64), 2, mode="edge")
    for i in range(scale):
        for j in range(scale):
            taps = np.outer(w[i], w[j])
            phase = sum(taps[a, b] * xp[a : a + 23, b : b + 19] for a in range(5) for b in range(5))
            np.testing.assert_allclose(up[i::scale, j::scale], phase, atol=1e-5)


# -- export ------------------------------------------------------------------------------------


def test_export_onnx_runs_at_any_shape(model: SRCNN, weights: Path, tmp_path: Path) -> None:
    need("onnxruntime")
    import onnx
    import onnxruntime

    out = export_model("onnx", SCALE, tmp_path / "sub" / "srcnn.onnx", weights=weights)
    assert out.is_file()
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert meta["arch"] == "srcnn-955" and meta["scale"] == str(SCALE)
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    for n, h, w in [(1, 32, 32), (3, 50, 70)]:
        y = face_like_luma(np.random.default_rng(n), n, h, w)
        x = (y[:, None] / np.float32(255.0)).astype(np.float32)
        got = session.run(None, {"y": x})[0][:, 0].astype(np.float64) * 255.0
        ref = reference_luma(model, y)
        assert got.shape == y.shape
        assert rel_error(got, ref, base=y.astype(np.float64)) < 1e-5


def test_export_refuses_unknown_backends(weights: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="tensorrt, onnx"):
        export_model("openvino", SCALE, tmp_path / "x", weights=weights)


def test_the_input_size_graph_averages_each_output_block_in_its_last_layer() -> None:
    """``infer_residual_input`` against the output-size graph averaged by OpenCV, random
    weights at x3 (nine sub-pixel planes), every pixel; an SRCNN has no such graph."""
    need("onnxruntime")
    from streamsr.enhance.backends._onnx import OnnxRuntimeBackend, phase_mean_layer

    torch.manual_seed(3)
    net = build_srcnn("espcn-s", scale=3)
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.05)
    net.eval()
    y = np.random.default_rng(5).integers(0, 256, (2, 23, 31), dtype=np.uint8)
    backend = OnnxRuntimeBackend(net, device=torch.device("cpu"))
    full = backend.infer_residual_lr(y)
    avg = backend.infer_residual_input(y)
    assert avg.shape == y.shape and avg.dtype == np.float32
    ref = np.stack([cv2.resize(f, (31, 23), interpolation=cv2.INTER_AREA) for f in full])
    assert rel_error(avg, ref) < 1e-5
    with pytest.raises(ValueError, match="multiple of 4"):
        phase_mean_layer(np.zeros((6, 8, 3, 3), np.float32), np.zeros(6, np.float32), 2)
    srcnn = OnnxRuntimeBackend(build_srcnn("srcnn-915s", scale=2), device=torch.device("cpu"))
    with pytest.raises(ValueError, match="low-resolution network"):
        srcnn.infer_residual_input(y)

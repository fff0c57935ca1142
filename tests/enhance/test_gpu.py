"""The GPU backends (CUDA graphs, torch.compile on CUDA, TensorRT, ONNX Runtime's CUDA provider)
against a float64 run of the same network, for every family of network.

This file needs only torch, numpy and pytest (no OpenCV, PyAV or MediaPipe), so that it runs on
a bare GPU image (``benchmarks/gpu_check.py`` runs it there). GPU tests are marked ``gpu``: they
skip without CUDA and fail instead when the run sets ``STREAMSR_EXPECT_GPU=1``; TensorRT tests
likewise with ``STREAMSR_EXPECT_TENSORRT=1``. The first tests run on the CPU: they check the
pieces of the GPU path that do not need one.
"""

from __future__ import annotations

import copy
import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from streamsr.enhance._srcnn import Network, build_srcnn
from streamsr.enhance.backends._base import indexed_device, tensor_to_luma
from streamsr.enhance.backends._select import make_backend

EXPECT_GPU = os.environ.get("STREAMSR_EXPECT_GPU") == "1"
EXPECT_TENSORRT = os.environ.get("STREAMSR_EXPECT_TENSORRT") == "1"
# (arch, scale): the reference SRCNN and one network of each low-resolution family.
NETWORKS = [("srcnn-955", 4), ("fsrcnn-s", 2), ("espcn-s", 4)]
# Per backend: the most a uint8 output may differ from the rounded float64 reference, and the
# share of pixels that may differ at all (fp16 backends: a level or two, where rounding flips).
TOLERANCE = {
    "onnxruntime-cuda": (1, 1e-3),
    "compile-cuda": (2, 0.05),
    "cuda": (2, 0.05),
    "tensorrt": (2, 0.05),
}


def need_cuda() -> None:
    if torch.cuda.is_available():
        return
    if EXPECT_GPU:
        pytest.fail("STREAMSR_EXPECT_GPU=1, but torch sees no CUDA device")
    pytest.skip("no CUDA device")


def need(case: str) -> None:
    need_cuda()
    if case == "tensorrt" and importlib.util.find_spec("torch_tensorrt") is None:
        if EXPECT_TENSORRT:
            pytest.fail("STREAMSR_EXPECT_TENSORRT=1, but torch_tensorrt is not installed")
        pytest.skip("torch_tensorrt not installed")
    if case == "onnxruntime-cuda":
        if importlib.util.find_spec("onnxruntime") is None:
            pytest.skip("onnxruntime not installed")
        import onnxruntime

        if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
            pytest.skip("onnxruntime has no CUDA execution provider")


def visible(arch: str, scale: int) -> Network:
    """An untrained network with a residual large enough to see (the default init is ~0)."""
    torch.manual_seed(0)
    m = build_srcnn(arch, scale=scale)
    head = m.reconstruct if arch.startswith("srcnn") else m.layers()[-1][1]  # type: ignore[union-attr]
    torch.nn.init.normal_(head.weight, std=0.02)
    return m.eval()


def face_like_luma(rng: np.random.Generator, n: int, h: int, w: int, scale: int) -> np.ndarray:
    """Bicubic upscales of random small images (smooth, with edges, like an upscaled crop)."""
    small = rng.integers(0, 256, (n, 1, max(h // scale, 2), max(w // scale, 2))).astype(np.float32)
    up = F.interpolate(torch.from_numpy(small), size=(h, w), mode="bicubic", align_corners=False)
    return up.clamp(0, 255).round().to(torch.uint8).squeeze(1).numpy()


def reference_luma(model: Network, y_up: np.ndarray) -> np.ndarray:
    """The network in float64, in 0..255 luma levels (not rounded)."""
    m = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        x = torch.from_numpy(y_up).double().div(255.0).unsqueeze(1)
        return m(x).squeeze(1).numpy() * 255.0


def backend_for(case: str, model: Network, arch: str, scale: int) -> object:
    name = case.removesuffix("-cuda")
    return make_backend(name, copy.deepcopy(model), torch.device("cuda"), arch=arch, scale=scale)


# -- on the CPU --------------------------------------------------------------------------------


def test_fp16_output_is_rounded_in_float32() -> None:
    """Every fp16 value in [0, 1] becomes the level float64 rounding gives (rounded in fp16
    itself, ``y * 255`` put 0.8 % of these values, and about 4 % of real pixels, one off)."""
    bits = torch.arange(0, 0x3C01, dtype=torch.int32).to(torch.int16)  # fp16 0.0 .. 1.0
    y = bits.view(torch.float16).reshape(1, 1, 1, -1)
    want = np.clip(np.rint(y.double().numpy() * 255.0), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(tensor_to_luma(y).numpy(), want[:, 0])
    # Out-of-range network outputs are clamped, not wrapped.
    got = tensor_to_luma(torch.tensor([[[[-0.5, 1.5]]]], dtype=torch.float16)).numpy()
    np.testing.assert_array_equal(got, [[[0, 255]]])


def test_devices_keep_or_get_an_index() -> None:
    assert indexed_device(torch.device("cpu")) == torch.device("cpu")
    assert indexed_device(torch.device("cuda", 1)) == torch.device("cuda", 1)


def test_this_file_needs_neither_opencv_pyav_nor_mediapipe() -> None:
    """What a bare GPU image lacks is not imported by the code these tests load."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "for m in ('av', 'cv2', 'mediapipe', 'onnx', 'onnxruntime'): sys.modules[m] = None\n"
        "import streamsr.enhance.backends._cuda, streamsr.enhance.backends._compile\n"
        "import streamsr.enhance.backends._tensorrt, streamsr.enhance.backends._select\n"
        "import streamsr.enhance._srcnn, streamsr.enhance._weights\n"
    )
    root = Path(__file__).resolve().parents[2]
    r = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


# -- on a GPU ----------------------------------------------------------------------------------


@pytest.mark.gpu
def test_the_cuda_device_gets_the_current_index() -> None:
    need_cuda()
    assert indexed_device(torch.device("cuda")).index == torch.cuda.current_device()


@pytest.mark.gpu
@pytest.mark.parametrize(("arch", "scale"), NETWORKS)
@pytest.mark.parametrize(
    "case",
    [
        "cuda",
        "onnxruntime-cuda",
        pytest.param("compile-cuda", marks=pytest.mark.slow),
        pytest.param("tensorrt", marks=pytest.mark.slow),
    ],
)
def test_gpu_backend_matches_float64(case: str, arch: str, scale: int) -> None:
    need(case)
    model = visible(arch, scale)
    backend = backend_for(case, model, arch, scale)
    max_levels, max_share = TOLERANCE[case]
    rng = np.random.default_rng(5)
    # A bucket shape (what the GPU backends compile or capture for) and one that is not.
    for n, h, w in [(3, 64, 64), (2, 40, 56)]:
        y = face_like_luma(rng, n, h, w, scale)
        ref = reference_luma(model, y)
        out = backend.infer_luma(y)  # type: ignore[attr-defined]
        assert out.shape == y.shape and out.dtype == np.uint8
        d = np.abs(out.astype(np.float64) - np.clip(np.rint(ref), 0, 255))
        assert d.max() <= max_levels, (case, arch, d.max())
        assert (d > 0).mean() <= max_share, (case, arch, (d > 0).mean())


@pytest.mark.gpu
@pytest.mark.parametrize(("arch", "scale"), NETWORKS)
def test_cuda_graphs_replay_any_batch_within_a_bucket(arch: str, scale: int) -> None:
    need("cuda")
    backend = backend_for("cuda", visible(arch, scale), arch, scale)
    y = face_like_luma(np.random.default_rng(7), 5, 96, 96, scale)  # batch 5 -> graph for 8
    together = backend.infer_luma(y)  # type: ignore[attr-defined]
    again = backend.infer_luma(y)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(together, again)  # replays of one graph are deterministic
    for i in range(5):
        one = backend.infer_luma(y[i : i + 1])  # type: ignore[attr-defined]
        assert np.abs(one[0].astype(np.int16) - together[i]).max() <= 1


@pytest.mark.gpu
@pytest.mark.slow
def test_compile_on_cuda_pads_batches_to_buckets() -> None:
    """Batches 1..9 of one size bucket compile at most one graph per batch bucket (1, 2, 4, 8,
    16) and give each crop what it gets in the largest batch."""
    need("compile-cuda")
    from torch._dynamo.utils import counters

    backend = backend_for("compile-cuda", visible("srcnn-955", 4), "srcnn-955", 4)
    y = face_like_luma(np.random.default_rng(9), 9, 64, 64, 4)
    before = counters["stats"]["unique_graphs"]
    outs = {n: backend.infer_luma(y[:n]) for n in range(1, 10)}  # type: ignore[attr-defined]
    assert counters["stats"]["unique_graphs"] - before <= 5
    for n, out in outs.items():
        assert out.shape == (n, 64, 64)
        assert np.abs(out.astype(np.int16) - outs[9][:n]).max() <= 1


@pytest.mark.gpu
@pytest.mark.slow
def test_tensorrt_engines_are_cached_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need("tensorrt")
    monkeypatch.setenv("STREAMSR_TRT_CACHE", str(tmp_path))
    model = visible("srcnn-955", 4)
    y = face_like_luma(np.random.default_rng(8), 2, 64, 64, 4)
    a = backend_for("tensorrt", model, "srcnn-955", 4).infer_luma(y)  # type: ignore[attr-defined]
    assert len(list(tmp_path.glob("srcnn-955_x4_64px_*.ep"))) == 1
    b = backend_for("tensorrt", model, "srcnn-955", 4).infer_luma(y)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(b, a)

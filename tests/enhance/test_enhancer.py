import numpy as np
import pytest

from streamsr import ConfigError, WeightsError
from streamsr.enhance._enhancer import default_arch, load_enhancer
from streamsr.enhance._srcnn import build_srcnn
from streamsr.enhance._weights import save_weights, shipped_weights_path

VARIANTS = ("clean", "video")


@pytest.fixture(scope="module")
def enhancer():  # type: ignore[no-untyped-def]
    return load_enhancer(2, device="cpu")


def test_contract_sizes_dtype_order(enhancer) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    crops = [
        rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        for h, w in [(10, 13), (32, 32), (10, 13), (1, 1)]
    ]
    out = enhancer.enhance(crops)
    assert [o.shape for o in out] == [(20, 26, 3), (64, 64, 3), (20, 26, 3), (2, 2, 3)]
    assert all(o.dtype == np.uint8 for o in out)
    assert enhancer.enhance([]) == []


def test_colour_order_is_rgb(enhancer) -> None:  # type: ignore[no-untyped-def]
    red = np.zeros((16, 16, 3), np.uint8)
    red[..., 0] = 200
    out = enhancer.enhance([red])[0]
    # A flat red patch stays red: R high, G and B low (an RGB/BGR mix-up would swap R and B).
    assert out[..., 0].mean() > 150 and out[..., 2].mean() < 50


def test_batched_equals_one_by_one(enhancer) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(1)
    crops = [rng.integers(0, 256, (24, 24, 3), dtype=np.uint8) for _ in range(3)]
    together = enhancer.enhance(crops)
    for c, t in zip(crops, together, strict=True):
        np.testing.assert_array_equal(enhancer.enhance([c])[0], t)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.zeros((8, 8, 3), np.float32), "dtype uint8"),
        (np.zeros((8, 8), np.uint8), r"shape \(H, W, 3\)"),
        (np.zeros((8, 8, 4), np.uint8), r"shape \(H, W, 3\)"),
        (np.zeros((0, 8, 3), np.uint8), "empty"),
        ([[1, 2, 3]], "numpy array"),
    ],
)
def test_bad_crop_raises_value_error_naming_the_problem(enhancer, bad, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        enhancer.enhance([np.zeros((4, 4, 3), np.uint8), bad])


def test_a_single_array_instead_of_a_list_is_refused(enhancer) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="list"):
        enhancer.enhance(np.zeros((4, 8, 8, 3), np.uint8))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"scale": 5}, ConfigError, "scale"),
        ({"scale": 2, "arch": "srcnn-999"}, ConfigError, "srcnn-955"),
        ({"scale": 2, "device": "tpu"}, ConfigError, "device"),
        ({"scale": 2, "variant": "gan"}, ConfigError, "variant"),
    ],
)
def test_bad_options(kwargs, error, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=match):
        load_enhancer(**kwargs)


@pytest.mark.parametrize(
    ("scale", "file_arch", "live_arch"),
    [(2, "espcn", "espcn-s"), (3, "espcn", "fsrcnn-s"), (4, "espcn", "espcn-s")],
)
def test_default_arch_live_and_offline(scale: int, file_arch: str, live_arch: str) -> None:
    """The measured best per scale and mode (README, Quality and Speed)."""
    assert default_arch(scale, live=False) == file_arch
    assert default_arch(scale, live=True) == live_arch
    assert load_enhancer(scale, device="cpu").arch == file_arch


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_each_quality_is_a_shipped_network_and_fast_costs_least(scale: int) -> None:
    from streamsr.enhance._enhancer import QUALITIES, quality_arch
    from streamsr.enhance._srcnn import multiply_adds

    archs = {q: quality_arch(scale, q) for q in QUALITIES}
    for arch in archs.values():
        for variant in ("clean", "video"):
            assert shipped_weights_path(arch, scale, variant).is_file(), (arch, scale, variant)
    cost = {q: multiply_adds(build_srcnn(a, scale=scale)) for q, a in archs.items()}
    assert cost["fast"] <= cost["balanced"] <= cost["best"], (archs, cost)
    assert archs["best"] == default_arch(scale, live=False)
    assert archs["balanced"] == default_arch(scale, live=True)


def test_multiply_adds_per_output_pixel() -> None:
    from streamsr.enhance._srcnn import multiply_adds

    # srcnn-955: 9x9x1x64 + 5x5x64x32 + 5x5x32x1 at every output pixel.
    assert multiply_adds(build_srcnn("srcnn-955")) == 81 * 64 + 25 * 64 * 32 + 25 * 32
    # espcn-s x2: 5x5x4x16 + 3x3x16x8 + 3x3x8x4 on a quarter of the pixels.
    assert multiply_adds(build_srcnn("espcn-s", scale=2)) == (1600 + 1152 + 288) / 4


def test_quality_is_checked_and_excludes_a_named_network() -> None:
    from streamsr.enhance._enhancer import quality_arch
    from streamsr.enhance._options import EnhanceOptions

    with pytest.raises(ConfigError, match="fast, balanced, best"):
        EnhanceOptions(quality="turbo")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="fast, balanced, best"):
        quality_arch(2, "turbo")
    with pytest.raises(ConfigError, match="arch names one"):
        EnhanceOptions(quality="fast", arch="srcnn-955")
    with pytest.raises(ConfigError, match="weights names one"):
        EnhanceOptions(quality="best", weights="w.pt")
    e = EnhanceOptions(quality="fast").load(live=False)
    assert e.arch == quality_arch(2, "fast")


def test_arch_is_read_from_a_weights_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "w.pt"
    save_weights(p, build_srcnn("srcnn-915s").state_dict(), {"arch": "srcnn-915s", "scale": 3})
    e = load_enhancer(3, weights=p, device="cpu")
    assert e.arch == "srcnn-915s" and e.meta["path"] == str(p)


def test_weights_for_another_scale_or_arch_are_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "w.pt"
    save_weights(p, build_srcnn("srcnn-915").state_dict(), {"arch": "srcnn-915", "scale": 3})
    with pytest.raises(WeightsError, match="x3"):
        load_enhancer(2, arch="srcnn-915", weights=p)
    with pytest.raises(WeightsError, match="srcnn-915"):
        load_enhancer(3, arch="srcnn-955", weights=p)
    # Metadata that lies about the arch: the tensors do not fit.
    save_weights(p, build_srcnn("srcnn-915").state_dict(), {"arch": "srcnn-955", "scale": 3})
    with pytest.raises(WeightsError, match="do not fit"):
        load_enhancer(3, arch="srcnn-955", weights=p)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(WeightsError, match="not a streamsr weights file"):
        load_enhancer(3, weights=bad)
    with pytest.raises(WeightsError, match="not found"):
        load_enhancer(3, weights=tmp_path / "missing.pt")


SHIPPED = [(a, s, v) for a in ("srcnn-955", "srcnn-915s") for s in (2, 3, 4) for v in VARIANTS] + [
    ("srcnn-915", 2, v) for v in VARIANTS
]


@pytest.mark.parametrize(("arch", "scale", "variant"), SHIPPED)
def test_shipped_weights_are_small_and_carry_metadata(arch: str, scale: int, variant: str) -> None:
    p = shipped_weights_path(arch, scale, variant)
    assert p.is_file(), f"missing shipped weights {p}"
    assert p.stat().st_size < 1_000_000
    e = load_enhancer(scale, arch=arch, variant=variant, device="cpu")
    for key in ("arch", "scale", "channels", "data", "steps", "val_psnr_y", "date"):
        assert key in e.meta
    assert e.meta["scale"] == scale and e.meta["arch"] == arch


@pytest.mark.parametrize(("arch", "scale"), [("espcn-s", 2), ("espcn", 4), ("fsrcnn-s", 3)])
def test_onnxruntime_residuals_match_the_rounded_path_of_the_same_network(
    arch: str, scale: int
) -> None:
    """The pipeline's residuals from ONNX Runtime (the graph of the crop's own luma, bicubic
    folded in, no rounding) against eager PyTorch's rounded planes minus the bicubic, shipped
    weights, real-looking crops of three sizes: away from the crop's border within a level and
    a half (eager reads the upscale rounded to uint8 and rounds its output), near it within a
    few levels."""
    pytest.importorskip("onnxruntime")
    import cv2

    from streamsr.enhance._enhancer import preprocess_luma

    rng = np.random.default_rng(3)
    crops = [
        cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (0, 0), 1.5)
        for h, w in ((40, 40), (61, 47), (120, 120))
    ]
    onnx = load_enhancer(scale, arch=arch, variant="video", backend="onnxruntime")
    eager = load_enhancer(scale, arch=arch, variant="video", backend="cpu")
    assert onnx.backend.reads_low_resolution  # type: ignore[attr-defined]
    c = build_srcnn(arch, scale=scale).valid_crop
    for crop, r, y in zip(
        crops, onnx.enhance(crops, residual=True), eager.enhance(crops, residual=True), strict=True
    ):
        up = preprocess_luma(crop, scale).astype(np.float32)
        assert r.dtype == np.float32 and r.shape == up.shape
        inside = (up + r > 1) & (up + r < 254)
        assert inside.mean() > 0.9
        d = np.abs(r - y)
        inner = (slice(c, -c), slice(c, -c))
        assert d[inner][inside[inner]].max() <= 1.5
        assert d[inner][inside[inner]].mean() <= 0.35  # eager's output rounding alone is 0.25
        assert d[inside].max() <= 3.0
        assert np.abs(r).max() > 1  # the network does add something


@pytest.mark.parametrize(
    ("arch", "scale", "backend"),
    [
        ("espcn-s", 2, "onnxruntime"),
        ("espcn", 4, "onnxruntime"),
        ("fsrcnn-s", 3, "onnxruntime"),
        ("srcnn-915s", 2, "onnxruntime"),
        ("espcn-s", 2, "cpu"),
    ],
)
def test_input_size_residuals_are_the_area_average_of_the_output_size_ones(
    arch: str, scale: int, backend: str
) -> None:
    """``residual="input"`` (what the pipeline asks for when it composes at the input's size)
    is, crop by crop, the ``scale`` x ``scale`` area average of ``residual=True``: computed in
    the network's last layer where ONNX Runtime runs a low-resolution network, by averaging
    elsewhere; crops of several sizes in one call, in order."""
    if backend == "onnxruntime":
        pytest.importorskip("onnxruntime")
    import cv2

    rng = np.random.default_rng(9)
    crops = [
        cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (0, 0), 1.5)
        for h, w in ((40, 40), (61, 47), (90, 90))
    ]
    e = load_enhancer(scale, arch=arch, variant="video", backend=backend)  # type: ignore[arg-type]
    full = e.enhance(crops, residual=True)
    avg = e.enhance(crops, residual="input")
    for crop, f, a in zip(crops, full, avg, strict=True):
        assert a.dtype == np.float32 and a.shape == crop.shape[:2]
        ref = cv2.resize(f, (crop.shape[1], crop.shape[0]), interpolation=cv2.INTER_AREA)
        assert np.abs(a - ref).max() < 1e-3 * max(1.0, float(np.abs(ref).max()))
        assert np.abs(a).max() > 0.1  # the network adds something that survives the average

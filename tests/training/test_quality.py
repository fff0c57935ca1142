"""Every shipped weight improves on bicubic for a few real faces (shared data; skips without it)."""

import pytest
from _media import shared

from streamsr.enhance import load_enhancer
from streamsr.training import classic_methods, enhancer_method, evaluate_crops, face_crops
from streamsr.training._dataset import find_images

IMAGES = ["obama.jpg", "biden.jpg", "alex-lacamoire.png", "lin-manuel-miranda.png", "obama2.jpg"]


@pytest.fixture(scope="module")
def crops():  # type: ignore[no-untyped-def]
    root = shared("faces", "eval", "face_recognition")
    fc = face_crops(find_images([root / n for n in IMAGES]))
    assert len(fc.crops) >= 4
    return fc.crops


@pytest.mark.parametrize(
    ("arch", "scale"),
    [(a, s) for a in ("srcnn-955", "srcnn-915s") for s in (2, 3, 4)]
    + [("srcnn-915", 2), ("fsrcnn-s", 2), ("fsrcnn-s", 3), ("fsrcnn-s", 4)]
    + [("espcn-s", 2), ("espcn-s", 3), ("espcn-s", 4), ("espcn", 2), ("espcn", 3), ("espcn", 4)],
)
@pytest.mark.parametrize(
    ("variant", "degrade", "min_gain"), [("clean", "clean", 0.8), ("video", "realistic", 0.2)]
)
def test_shipped_weights_beat_bicubic_on_real_faces(
    crops, arch: str, scale: int, variant: str, degrade: str, min_gain: float
) -> None:  # type: ignore[no-untyped-def]
    methods = {
        **classic_methods(scale),
        "model": enhancer_method(load_enhancer(scale, arch=arch, variant=variant, device="cpu")),
    }
    r = evaluate_crops(crops, scale=scale, degrade=degrade, methods=methods)
    assert r["model"]["psnr_y"] - r["bicubic"]["psnr_y"] > min_gain, r
    assert r["model"]["ssim_y"] > r["bicubic"]["ssim_y"], r
    assert r["model"]["psnr_y"] > r["lanczos"]["psnr_y"], r

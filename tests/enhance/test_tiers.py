"""--quality best: espcn for small faces, the balanced network for large ones."""

from __future__ import annotations

import numpy as np

from streamsr.enhance._enhancer import (
    LARGE_CROP_PX,
    AutoEnhancer,
    TieredEnhancer,
    load_enhancer,
    quality_arch,
)
from streamsr.enhance._options import EnhanceOptions


def _crop(side: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (side, side, 3), dtype=np.uint8)


def test_the_file_default_is_tiered_and_the_others_are_one_network() -> None:
    tiered = EnhanceOptions(scale=2).load(live=False)
    assert isinstance(tiered, TieredEnhancer)
    assert (tiered.arch, tiered.large_arch) == (
        quality_arch(2, "best"),
        quality_arch(2, "balanced"),
    )
    assert tiered.gives_residuals and tiered.meta["large_arch"] == tiered.large_arch
    for one in (
        EnhanceOptions(scale=2).load(live=True),  # live: balanced
        EnhanceOptions(scale=2, quality="fast").load(live=False),
        EnhanceOptions(scale=2, arch="espcn").load(live=False),
        EnhanceOptions(scale=2).load(live=False, tiers=False),  # serve's shared network
    ):
        assert not isinstance(one, TieredEnhancer)


def test_each_crop_goes_through_the_network_of_its_size_in_order() -> None:
    main = load_enhancer(2, arch="espcn", variant="video", device="cpu")
    large = load_enhancer(2, arch="espcn-s", variant="video", device="cpu")
    tiered = TieredEnhancer(main, large)
    side_large = LARGE_CROP_PX  # input pixels
    crops = [_crop(40, 1), _crop(side_large, 2), _crop(60, 3)]
    out = tiered.enhance(crops, residual=True)
    np.testing.assert_array_equal(out[0], main.enhance([crops[0]], residual=True)[0])
    np.testing.assert_array_equal(out[1], large.enhance([crops[1]], residual=True)[0])
    np.testing.assert_array_equal(out[2], main.enhance([crops[2]], residual=True)[0])
    per_frame = tiered.enhance_many([[crops[0]], [], [crops[1], crops[2]]])
    assert [len(f) for f in per_frame] == [1, 0, 2]
    assert per_frame[2][0].shape == (2 * LARGE_CROP_PX, 2 * LARGE_CROP_PX, 3)


def test_the_threshold_is_in_input_pixels_at_every_scale() -> None:
    """What a low-resolution network costs follows the crop's input pixels, not the output's:
    at x4 a crop just under the threshold (an output of nearly four times it) stays with the
    main network, one at the threshold goes to the large tier."""
    tiered = TieredEnhancer(
        load_enhancer(4, arch="espcn", variant="video", device="cpu"),
        load_enhancer(4, arch="espcn-s", variant="video", device="cpu"),
    )
    assert tiered.meta["large_px"] == 4 * LARGE_CROP_PX
    under = _crop(int(0.8 * LARGE_CROP_PX))
    assert tiered.is_large([under, _crop(LARGE_CROP_PX)]) == [False, True]


def test_a_face_near_the_threshold_keeps_its_tier() -> None:
    tiered = TieredEnhancer(
        load_enhancer(2, arch="espcn", variant="video", device="cpu"),
        load_enhancer(2, arch="espcn-s", variant="video", device="cpu"),
    )
    below = _crop(int(0.9 * LARGE_CROP_PX))  # in the band under the threshold
    small = _crop(int(0.8 * LARGE_CROP_PX))  # under the band
    assert tiered.is_large([below]) == [False]  # came from small: stays small
    assert tiered.is_large([_crop(LARGE_CROP_PX)]) == [True]
    assert tiered.is_large([below]) == [True]  # came from large: stays large
    assert tiered.is_large([below, small]) == [True, False]
    assert tiered.is_large([small]) == [False]
    assert tiered.is_large([below]) == [False]  # small again: the band follows


def test_auto_tiers_share_one_chooser() -> None:
    tiered = EnhanceOptions(scale=2, variant="auto").load(live=False)
    assert isinstance(tiered, TieredEnhancer)
    assert isinstance(tiered.main, AutoEnhancer) and isinstance(tiered.large, AutoEnhancer)
    assert tiered.large.chooser is tiered.main.chooser
    tiered.observe([_crop(64)], [(0, 0)])
    tiered.reset()
    assert tiered.large.chooser is tiered.main.chooser
    assert tiered.variant == tiered.main.variant

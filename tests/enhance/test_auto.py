"""``variant="auto"``: the no-reference measures, the chooser, and whole runs on a clean and a
degraded encode of the same real face."""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from _media import shared

from streamsr import Pipeline, load_enhancer
from streamsr.enhance._auto import (
    FIRST_CROPS,
    QP_VIDEO,
    VariantChooser,
    blockiness,
    blur,
    measure,
    noise,
    video_probability,
)
from streamsr.enhance._enhancer import AutoEnhancer
from streamsr.training._degrade import gaussian_blur, jpeg


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    """A real sharp face (CelebA-HQ, 256 px), RGB."""
    folder = shared("faces", "train", "hq")
    path = sorted(folder.glob("*.jpg"))[0]
    bgr = cv2.imread(str(path))
    assert bgr is not None
    return np.ascontiguousarray(bgr[..., ::-1])


def _y(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)[..., 0].astype(np.float32)


def test_blockiness_sees_the_jpeg_grid_where_the_crop_puts_it(face: np.ndarray) -> None:
    small = cv2.resize(face, (128, 128), interpolation=cv2.INTER_AREA)
    blocky = jpeg(small, 25)
    assert abs(blockiness(_y(small)) - 1.0) < 0.1
    assert blockiness(_y(blocky)) > 1.2
    # a crop starting 3 px right and 5 px down of the grid: told its origin, the grid is found
    crop = np.ascontiguousarray(blocky[5:, 3:])
    assert blockiness(_y(crop), (3, 5)) > 1.2
    assert blockiness(_y(crop), (3, 5)) > blockiness(_y(crop), (0, 0))


def test_blur_and_noise_follow_what_was_done(face: np.ndarray) -> None:
    small = cv2.resize(face, (128, 128), interpolation=cv2.INTER_AREA)
    assert blur(_y(gaussian_blur(small, 1.5))) > blur(_y(small)) + 0.05
    smooth = gaussian_blur(small, 2.0)
    rng = np.random.default_rng(0)
    noisy = np.clip(smooth + rng.normal(0, 6.0, smooth.shape[:2])[..., None], 0, 255)
    est = noise(_y(noisy.astype(np.uint8)))
    assert 4.0 < est < 8.0, est
    assert noise(_y(smooth)) < 1.5


def _clean_features() -> dict[str, float]:
    return {"blockiness": 1.0, "flatness": 0.1, "blur": 0.4, "noise": 1.5}


def _degraded_features() -> dict[str, float]:
    return {"blockiness": 1.35, "flatness": 0.3, "blur": 0.5, "noise": 1.0}


def test_the_fitted_model_orders_clean_below_degraded() -> None:
    assert video_probability(_clean_features()) < 0.5 < video_probability(_degraded_features())


def test_chooser_starts_from_video_decides_then_switches_only_when_sure() -> None:
    ch = VariantChooser()
    assert ch.variant == "video" and not ch.decided
    for _ in range(FIRST_CROPS - 1):
        ch.update(_clean_features())
    assert ch.variant == "video" and not ch.decided
    ch.update(_clean_features())
    assert ch.decided and ch.variant == "clean" and ch.switches == 0
    ch.update(_degraded_features())  # one degraded face does not flip the weights
    assert ch.variant == "clean"
    for _ in range(200):
        ch.update(_degraded_features())
    assert ch.variant == "video" and ch.switches == 1
    est = ch.estimate()
    assert est.crops == FIRST_CROPS + 201 and est.p_video > 0.5


def test_auto_enhancer_picks_and_returns_that_weights_output(face: np.ndarray) -> None:
    e = load_enhancer(2, arch="fsrcnn-s", variant="auto", device="cpu", backend="cpu")
    assert isinstance(e, AutoEnhancer)
    small = cv2.resize(face, (96, 96), interpolation=cv2.INTER_AREA)
    for _ in range(FIRST_CROPS):
        out = e.enhance([small])
    assert e.variant == "clean"
    np.testing.assert_array_equal(out[0], e.enhancers["clean"].enhance([small])[0])
    st = e.stats()
    assert st["variant"] == "auto:clean" and st["degradation"]["crops"] == FIRST_CROPS

    e2 = load_enhancer(2, arch="fsrcnn-s", variant="auto", device="cpu", backend="cpu")
    bad = jpeg(gaussian_blur(small, 1.0), 30)
    for _ in range(FIRST_CROPS):
        e2.enhance([bad])
    assert e2.variant == "video"  # type: ignore[attr-defined]


def test_a_coarse_qp_over_the_faces_means_video_whatever_the_pixels_say() -> None:
    for qp, features, expected in [
        (QP_VIDEO + 8, _clean_features(), "video"),  # what the pixel measures missed
        (QP_VIDEO - 8, _clean_features(), "clean"),  # a fine QP leaves it to the pixels...
        (QP_VIDEO - 8, _degraded_features(), "video"),  # ...which may still see blur or blocks
        (0.0, _degraded_features(), "clean"),  # coded without loss: the truth is this picture
        (None, _clean_features(), "clean"),
    ]:
        ch = VariantChooser()
        for _ in range(FIRST_CROPS):
            ch.update(features, qp)
        assert ch.variant == expected, (qp, features)
        assert ch.estimate().qp == (None if qp is None else pytest.approx(qp))
        assert ch.stats()["degradation"]["qp"] == ch.estimate().qp
    ch = VariantChooser()  # decided clean on fine QPs; a stream coded coarsely from then on
    for _ in range(FIRST_CROPS):
        ch.update(_clean_features(), QP_VIDEO - 8)
    assert ch.variant == "clean"
    for _ in range(200):
        ch.update(_clean_features(), QP_VIDEO + 12)
    assert ch.variant == "video" and ch.switches == 1


def _face_clip(
    path: Path, face: np.ndarray, *, degraded: bool, frames: int = 24, inter: bool = False
) -> Path:
    """A 320x240 clip of a real face drifting a few pixels per frame: encoded losslessly
    (``degraded=False``), blurred and intra-coded at crf 36 (every frame a key frame, as
    all-intra and MJPEG cameras send), or (``inter``) not blurred and inter-coded at crf 36,
    as IP cameras and call apps stream: deblocked, motion-predicted frames whose pixels alone
    read as clean to the measures (p(video) 0.29-0.40 at crf 30-38 before the QP was read)."""
    f = cv2.resize(face, (150, 150), interpolation=cv2.INTER_AREA)
    if degraded and not inter:
        f = gaussian_blur(f, 1.0)
    opts = {"preset": "ultrafast", "qp": "0"} if not degraded else {"crf": "36", "g": "1"}
    if inter:
        opts = {"crf": "36"}
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=24, options=opts)
        vs.width, vs.height, vs.pix_fmt = 320, 240, "yuv420p"
        vs.codec_context.time_base = Fraction(1, 24)
        for i in range(frames):
            img = np.full((240, 320, 3), 90, np.uint8)
            x, y = 60 + i, 40 + i // 2
            img[y : y + 150, x : x + 150] = f
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            vf.pts, vf.time_base = i, Fraction(1, 24)
            out.mux(vs.encode(vf))
        out.mux(vs.encode(None))
    return path


@pytest.mark.parametrize(
    "degraded, inter, expected",
    [(False, False, "auto:clean"), (True, False, "auto:video"), (True, True, "auto:video")],
)
def test_a_run_chooses_from_the_stream(
    tmp_path: Path, face: np.ndarray, degraded: bool, inter: bool, expected: str
) -> None:
    src = _face_clip(tmp_path / "in.mp4", face, degraded=degraded, inter=inter)
    out = tmp_path / "out.mp4"
    with Pipeline(src, out, scale=2, device="cpu") as p:  # variant auto is the default
        st = p.run()
    assert st.frames_in == st.frames_out == 24
    assert st.faces_enhanced >= FIRST_CROPS
    assert st.variant == expected, st.degradation
    assert st.degradation["crops"] >= FIRST_CROPS
    qp = st.degradation["qp"]  # the decoder's quantisers over the face were read
    assert qp is not None
    assert qp < 1 if not degraded else qp > QP_VIDEO


def test_a_lossless_codec_reads_as_quantiser_zero_and_gets_the_clean_weights(
    tmp_path: Path, face: np.ndarray
) -> None:
    """FFV1 stores the picture without loss: its frames carry a QP map of zeros, and the faces
    get the clean weights even blurred (a blurred lossless picture is the truth itself)."""
    f = gaussian_blur(cv2.resize(face, (150, 150), interpolation=cv2.INTER_AREA), 1.0)
    src = tmp_path / "in.mkv"
    with av.open(str(src), "w") as out:
        vs = out.add_stream("ffv1", rate=24)
        vs.width, vs.height, vs.pix_fmt = 320, 240, "yuv420p"
        for i in range(16):
            img = np.full((240, 320, 3), 90, np.uint8)
            img[40 : 40 + 150, 60 + i : 210 + i] = f
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            vf.pts = i
            out.mux(vs.encode(vf))
        out.mux(vs.encode(None))
    with Pipeline(src, tmp_path / "out.mp4", scale=2, device="cpu") as p:
        st = p.run()
    assert st.frames_out == 16
    assert st.degradation["qp"] == 0.0
    assert st.variant == "auto:clean", st.degradation


def test_a_run_without_faces_stays_on_video_and_says_so(
    tmp_path: Path, clip: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.INFO, logger="streamsr"),
        Pipeline(clip, tmp_path / "out.mp4", scale=2, device="cpu") as p,
    ):
        st = p.run()
    assert st.frames_out == 30 and st.faces_enhanced == 0
    assert st.variant == "auto:video (undecided)"
    assert "starting from the video weights" in caplog.text


def test_measure_takes_any_crop_size() -> None:
    for shape in ((1, 1, 3), (5, 40, 3), (24, 24, 3)):
        m = measure(np.zeros(shape, np.uint8))
        assert set(m) == {"blockiness", "flatness", "blur", "noise"}
        assert all(np.isfinite(v) for v in m.values())

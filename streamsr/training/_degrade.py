"""Low-resolution inputs from high-resolution images (pure functions).

Training and evaluation share these. ``clean`` is a plain downscale; ``realistic`` adds what
cameras and codecs do to footage: optical blur before sampling, sensor noise after it, and
JPEG or H.264 compression, at random strengths. ``video`` (training only) is the mix the
``video`` weights learn from: blur, noise and compression on nearly every sample, as in
surveillance and call streams.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import av
import cv2
import numpy as np
from PIL import Image

Resampler = Literal["pil-bicubic", "cv2-area", "cv2-cubic", "cv2-linear"]
Protocol = Literal["clean", "realistic"]
PROTOCOLS: tuple[str, ...] = ("clean", "realistic")
# Training mixes: the eval protocols' names (``realistic`` is the 2026-11 mix, in which blur and
# compression are only sometimes present) and ``video``, compression nearly always.
TrainMix = Literal["clean", "realistic", "video"]
TRAIN_MIXES: tuple[str, ...] = ("clean", "realistic", "video")


def downscale(rgb24: np.ndarray, scale: int, resampler: Resampler = "pil-bicubic") -> np.ndarray:
    """Shrink by an integer factor. ``pil-bicubic`` is antialiased, as MATLAB's imresize."""
    h, w = rgb24.shape[:2]
    size_wh = (w // scale, h // scale)
    if resampler == "pil-bicubic":
        return np.asarray(Image.fromarray(rgb24).resize(size_wh, Image.Resampling.BICUBIC))
    interp = {
        "cv2-area": cv2.INTER_AREA,
        "cv2-cubic": cv2.INTER_CUBIC,
        "cv2-linear": cv2.INTER_LINEAR,
    }
    return cv2.resize(rgb24, size_wh, interpolation=interp[resampler])


def gaussian_blur(rgb24: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0:
        return rgb24
    return cv2.GaussianBlur(rgb24, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)


def motion_kernel(length: float, angle_deg: float) -> np.ndarray:
    """A normalised line kernel (camera shake or a moving head over the exposure), float32."""
    k = int(np.ceil(length)) | 1
    kernel = np.zeros((k, k), np.float32)
    c = k // 2
    dx, dy = np.cos(np.deg2rad(angle_deg)), np.sin(np.deg2rad(angle_deg))
    half = (length - 1) / 2
    for t in np.linspace(-half, half, max(2, 4 * k)):
        kernel[round(float(c + t * dy)), round(float(c + t * dx))] = 1.0
    return kernel / kernel.sum()


def motion_blur(rgb24: np.ndarray, length: float, angle_deg: float) -> np.ndarray:
    if length <= 1:
        return rgb24
    return cv2.filter2D(rgb24, -1, motion_kernel(length, angle_deg), borderType=cv2.BORDER_REFLECT)


def add_noise(
    rgb24: np.ndarray, sigma: float, rng: np.random.Generator, *, gray: bool
) -> np.ndarray:
    """Gaussian sensor noise with standard deviation ``sigma`` in 0..255 units."""
    shape = (*rgb24.shape[:2], 1) if gray else rgb24.shape
    noise = rng.normal(0.0, sigma, shape).astype(np.float32)
    return np.clip(rgb24.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def jpeg(rgb24: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", rgb24[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    dec = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if dec is None:
        raise RuntimeError("JPEG decoding failed")
    return np.ascontiguousarray(dec[..., ::-1])


def h264(
    images: list[np.ndarray],
    crf: int,
    *,
    frames: int = 1,
    motion_xy: tuple[float, float] = (0.0, 0.0),
) -> list[np.ndarray]:
    """Round-trip images through libx264 (yuv420p, ``crf``).

    The images are tiled into one mosaic so that a whole batch costs one encode. ``frames=1``:
    one intra frame. ``frames > 1``: as cameras and call apps stream, the mosaic is the last
    frame of a ``frames``-long clip in which the picture drifts by ``motion_xy`` pixels per
    frame (sub-pixel steps too), so it comes out motion-predicted from the frames before (P or
    B frame, deblocked), the way nearly every frame of a real stream does.
    """
    if not images:
        return []
    if frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")
    h, w = images[0].shape[:2]
    n = len(images)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    mh, mw = rows * h, cols * w
    mh16, mw16 = -(-mh // 16) * 16, -(-mw // 16) * 16
    mosaic = np.zeros((mh16, mw16, 3), np.uint8)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        mosaic[r * h : (r + 1) * h, c * w : (c + 1) * w] = im
    if frames > 1:  # no black band for the motion search to lock onto (intra: as it always was)
        mosaic = cv2.copyMakeBorder(
            mosaic[:mh, :mw], 0, mh16 - mh, 0, mw16 - mw, cv2.BORDER_REPLICATE
        )
    enc = av.CodecContext.create("libx264", "w")
    enc.width, enc.height, enc.pix_fmt = mw16, mh16, "yuv420p"
    enc.time_base = Fraction(1, 25)
    options = {"crf": str(int(crf)), "preset": "veryfast"}
    if frames == 1:
        options["tune"] = "zerolatency"
    enc.options = options
    dec = av.CodecContext.create("h264", "r")
    packets = []
    for i in range(frames):
        back = i - frames + 1  # 0 for the last frame: the mosaic itself
        img = mosaic
        if back:
            shift = np.array([[1, 0, motion_xy[0] * back], [0, 1, motion_xy[1] * back]], np.float32)
            img = cv2.warpAffine(mosaic, shift, (mw16, mh16), borderMode=cv2.BORDER_REPLICATE)
        # RGB <-> YUV by OpenCV (BT.601, rounded): PyAV's swscale conversion truncates and would
        # darken every sample by about 1.2 levels, a bias cameras (which encode YUV) do not add.
        i420 = np.ascontiguousarray(cv2.cvtColor(img, cv2.COLOR_RGB2YUV_I420), dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(i420, format="yuv420p")
        frame.pts = i
        packets += list(enc.encode(frame))
    packets += list(enc.encode(None))
    decoded = [f for p in packets for f in dec.decode(p)] + list(dec.decode(None))
    last = max(decoded, key=lambda f: -1 if f.pts is None else f.pts)
    out = cv2.cvtColor(last.to_ndarray(format="yuv420p"), cv2.COLOR_YUV2RGB_I420)
    return [
        np.ascontiguousarray(
            out[(i // cols) * h : (i // cols + 1) * h, (i % cols) * w : (i % cols + 1) * w]
        )
        for i in range(n)
    ]


@dataclass(frozen=True, slots=True)
class Degradation:
    """One draw of the degradation model; ``h264_crf`` is applied per batch by the caller.
    ``stream_crf``: :meth:`apply` ends with H.264 as a stream codes it (the last frame of a
    :data:`STREAM_FRAMES`-frame clip drifting by :data:`STREAM_MOTION_XY` px per frame), one
    image at a time, deterministically (the ``h264`` evaluation protocol)."""

    resampler: Resampler = "pil-bicubic"
    blur_sigma: float = 0.0
    motion_px: float = 0.0
    motion_deg: float = 0.0
    noise_sigma: float = 0.0
    noise_gray: bool = False
    jpeg_quality: int | None = None
    h264_crf: int | None = None
    stream_crf: int | None = None

    def apply(self, hr_rgb24: np.ndarray, scale: int, rng: np.random.Generator) -> np.ndarray:
        """HR -> LR, all but the batch-level ``h264_crf`` step (``stream_crf`` included)."""
        x = gaussian_blur(hr_rgb24, self.blur_sigma)
        x = motion_blur(x, self.motion_px, self.motion_deg)
        x = downscale(x, scale, self.resampler)
        if self.noise_sigma > 0:
            x = add_noise(x, self.noise_sigma, rng, gray=self.noise_gray)
        if self.jpeg_quality is not None:
            x = jpeg(x, self.jpeg_quality)
        if self.stream_crf is not None:
            x = h264([x], self.stream_crf, frames=STREAM_FRAMES, motion_xy=STREAM_MOTION_XY)[0]
        return x


STREAM_FRAMES, STREAM_MOTION_XY = 6, (0.5, 0.25)
"""The ``h264`` protocol's clip: its last frame is predicted over five frames of slow drift."""


# The fixed protocols of ``streamsr eval``: clean as the SR literature, realistic as webcam
# footage, h264 as a camera or call stream (an antialiased downscale, then a motion-predicted
# H.264 frame at CRF 28).
EVAL_DEGRADATIONS: dict[str, Degradation] = {
    "clean": Degradation(),
    "realistic": Degradation(blur_sigma=1.0, jpeg_quality=60),
    "h264": Degradation(stream_crf=28),
}


def sample_resampler(rng: np.random.Generator, *, aliased: bool) -> Resampler:
    """Mostly antialiased bicubic (MATLAB-like), some area; ``aliased`` adds OpenCV's plain
    bicubic and bilinear, which skip antialiasing as many camera and codec scalers do."""
    u = rng.random()
    if u < (0.6 if aliased else 0.85):
        return "pil-bicubic"
    if u < (0.8 if aliased else 1.0):
        return "cv2-area"
    return "cv2-cubic" if u < 0.9 else "cv2-linear"


def sample_degradation(
    rng: np.random.Generator, mode: Protocol, *, clean_fraction: float
) -> Degradation:
    """Draw a random degradation; in ``realistic`` mode ``clean_fraction`` of draws stay clean."""
    if mode == "clean" or rng.random() < clean_fraction:
        return Degradation(resampler=sample_resampler(rng, aliased=False))
    resampler = sample_resampler(rng, aliased=True)
    blur = float(rng.uniform(0.3, 1.6)) if rng.random() < 0.6 else 0.0
    noise = float(rng.uniform(0.5, 6.0)) if rng.random() < 0.5 else 0.0
    u = rng.random()
    jpeg_q = int(rng.integers(35, 91)) if u < 0.4 else None
    return Degradation(
        resampler=resampler,
        blur_sigma=blur,
        noise_sigma=noise,
        noise_gray=bool(rng.random() < 0.3),
        jpeg_quality=jpeg_q,
    )


# Strength ranges of the ``video`` mix (HR pixels for blur, 0..255 for noise). Faces in footage
# are soft (focus, small sensors, the ISP's own smoothing), often noisy in indoor light, and
# nearly always compressed: surveillance and call streams run H.264 at CRF-like rates of about
# 22-36 (an intra-coded patch at CRF 36 already looks like a starved P-frame), snapshots and
# MJPEG cameras JPEG at about 30-90. Blur stays moderate: pilots of fsrcnn-s x2 with sigma up
# to 2.0 on 80 % of draws lost up to 2.6 dB on clean input (it learns to over-sharpen).
VIDEO_BLUR_P, VIDEO_BLUR_SIGMA = 0.6, (0.3, 1.2)
VIDEO_MOTION_P, VIDEO_MOTION_PX = 0.1, (3.0, 6.0)
VIDEO_NOISE_P, VIDEO_NOISE_SIGMA = 0.5, (1.0, 6.0)
VIDEO_COMPRESS_P, VIDEO_H264_SHARE = 0.95, 0.5
VIDEO_JPEG_Q, VIDEO_H264_CRF = (30, 90), (22, 36)


def sample_video_degradation(rng: np.random.Generator, *, clean_fraction: float) -> Degradation:
    """A draw of the ``video`` mix: ``clean_fraction`` stay clean; the rest are blurred (mostly
    Gaussian optics, some short motion lines), often noisy, and nearly always compressed, half by
    JPEG (applied here) and half by H.264 (``h264_crf`` set: the caller encodes a batch's
    H.264 samples together, at the rate factor of the first)."""
    if rng.random() < clean_fraction:
        return Degradation(resampler=sample_resampler(rng, aliased=False))
    resampler = sample_resampler(rng, aliased=True)
    blur = float(rng.uniform(*VIDEO_BLUR_SIGMA)) if rng.random() < VIDEO_BLUR_P else 0.0
    motion_px, motion_deg = 0.0, 0.0
    if rng.random() < VIDEO_MOTION_P:
        motion_px, motion_deg = float(rng.uniform(*VIDEO_MOTION_PX)), float(rng.uniform(0, 180))
    noise = float(rng.uniform(*VIDEO_NOISE_SIGMA)) if rng.random() < VIDEO_NOISE_P else 0.0
    noise_gray = bool(rng.random() < 0.5)
    jpeg_q: int | None = None
    crf: int | None = None
    if rng.random() < VIDEO_COMPRESS_P:
        if rng.random() < VIDEO_H264_SHARE:
            crf = int(rng.integers(VIDEO_H264_CRF[0], VIDEO_H264_CRF[1] + 1))
        else:
            jpeg_q = int(rng.integers(VIDEO_JPEG_Q[0], VIDEO_JPEG_Q[1] + 1))
    return Degradation(
        resampler=resampler,
        blur_sigma=blur,
        motion_px=motion_px,
        motion_deg=motion_deg,
        noise_sigma=noise,
        noise_gray=noise_gray,
        jpeg_quality=jpeg_q,
        h264_crf=crf,
    )


def sample_training_degradation(
    rng: np.random.Generator, mode: TrainMix, *, clean_fraction: float
) -> Degradation:
    """A draw of the training mix ``mode`` (see :data:`TRAIN_MIXES`)."""
    if mode == "video":
        return sample_video_degradation(rng, clean_fraction=clean_fraction)
    return sample_degradation(rng, mode, clean_fraction=clean_fraction)

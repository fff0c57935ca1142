"""Low-resolution inputs from high-resolution images (pure functions).

Training and evaluation share these. ``clean`` is a plain downscale; ``realistic`` adds what
cameras and codecs do to footage: optical blur before sampling, sensor noise after it, and
JPEG or H.264 compression, at random strengths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import av
import cv2
import numpy as np
from PIL import Image

Resampler = Literal["pil-bicubic", "cv2-area", "cv2-cubic", "cv2-linear"]
Protocol = Literal["clean", "realistic"]
PROTOCOLS: tuple[str, ...] = ("clean", "realistic")


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


def h264(images: list[np.ndarray], crf: int) -> list[np.ndarray]:
    """Round-trip images through libx264 (yuv420p, one intra frame, ``crf``).

    The images are tiled into one mosaic so that a whole batch costs one encode.
    """
    if not images:
        return []
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
    enc = av.CodecContext.create("libx264", "w")
    enc.width, enc.height, enc.pix_fmt = mw16, mh16, "yuv420p"
    enc.options = {"crf": str(int(crf)), "preset": "veryfast", "tune": "zerolatency"}
    dec = av.CodecContext.create("h264", "r")
    frame = av.VideoFrame.from_ndarray(mosaic, format="rgb24")
    packets = list(enc.encode(frame)) + list(enc.encode(None))
    decoded = []
    for p in packets:
        decoded.extend(dec.decode(p))
    decoded.extend(dec.decode(None))
    out = decoded[0].to_ndarray(format="rgb24")
    return [
        np.ascontiguousarray(
            out[(i // cols) * h : (i // cols + 1) * h, (i % cols) * w : (i % cols + 1) * w]
        )
        for i in range(n)
    ]


@dataclass(frozen=True, slots=True)
class Degradation:
    """One draw of the degradation model; ``h264_crf`` is applied per batch by the caller."""

    resampler: Resampler = "pil-bicubic"
    blur_sigma: float = 0.0
    noise_sigma: float = 0.0
    noise_gray: bool = False
    jpeg_quality: int | None = None
    h264_crf: int | None = None

    def apply(self, hr_rgb24: np.ndarray, scale: int, rng: np.random.Generator) -> np.ndarray:
        """HR -> LR, all but the batch-level H.264 step."""
        x = gaussian_blur(hr_rgb24, self.blur_sigma)
        x = downscale(x, scale, self.resampler)
        if self.noise_sigma > 0:
            x = add_noise(x, self.noise_sigma, rng, gray=self.noise_gray)
        if self.jpeg_quality is not None:
            x = jpeg(x, self.jpeg_quality)
        return x


# The fixed protocols of ``streamsr eval``: clean as the SR literature, realistic as webcam footage.
EVAL_DEGRADATIONS: dict[str, Degradation] = {
    "clean": Degradation(),
    "realistic": Degradation(blur_sigma=1.0, jpeg_quality=60),
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

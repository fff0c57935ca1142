"""End-to-end speed: plain transcode vs `streamsr enhance` vs SRCNN on the full frame.

All three run in one process, one after the other, with the same decoder and encoder settings,
so that their ratios are comparable on a shared, noisy machine:

  (1) plain     decode -> bicubic upscale -> encode (no faces)
  (2) enhance   the streamsr pipeline (detect, track, enhance faces, compose)
  (3) fullframe decode -> SRCNN on the whole frame -> encode

    python benchmarks/bench_pipeline.py --input clip.mp4 --scale 2 [--frames 150] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from streamsr import Frame, Pipeline, load_enhancer
from streamsr.compose import upscale_frame
from streamsr.enhance._srcnn import ARCHS
from streamsr.sinks import FileSink
from streamsr.sources import VideoSource


def _transcode(src_path: Path, out: Path, scale: int, frames: int, fn) -> float:  # type: ignore[no-untyped-def]
    with VideoSource(src_path, audio=False) as src:
        w, h = src.size_wh
        with FileSink(
            out,
            size_wh=(w * scale, h * scale),
            time_base=src.time_base,
            rate=src.average_rate,
            overwrite=True,
        ) as sink:
            n, t = 0, time.perf_counter()
            for item in src.read():
                if not isinstance(item, Frame):
                    continue
                sink.write(Frame(fn(item.rgb24), item.pts, item.time_base, item.index))
                n += 1
                if n >= frames:
                    break
    return n / (time.perf_counter() - t)


def _pipeline(src_path: Path, out: Path, scale: int, frames: int, variant: str, arch: str) -> float:
    with Pipeline(src_path, out, scale=scale, overwrite=True, variant=variant, arch=arch) as p:
        t = time.perf_counter()
        for _ in p:
            if p.stats.frames_out >= frames:
                break
        n = p.stats.frames_out
    return n / (time.perf_counter() - t)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--input",
        type=Path,
        default=Path(__file__).resolve().parents[1] / "streamsr/demo/webcam_sister.mkv",
    )
    ap.add_argument("--scale", type=int, default=2, choices=(2, 3, 4))
    ap.add_argument("--frames", type=int, default=90)
    ap.add_argument("--variant", default="video", choices=("clean", "video"))
    ap.add_argument("--arch", default="srcnn-955", choices=ARCHS)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    enh = load_enhancer(a.scale, arch=a.arch, variant=a.variant)
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "out.mp4"
        plain = _transcode(a.input, out, a.scale, a.frames, lambda x: upscale_frame(x, a.scale))
        enhance = _pipeline(a.input, out, a.scale, a.frames, a.variant, a.arch)
        full = _transcode(
            a.input, out, a.scale, max(10, a.frames // 6), lambda x: enh.enhance([x])[0]
        )
    res = {
        "input": str(a.input),
        "arch": a.arch,
        "scale": a.scale,
        "frames": a.frames,
        "plain_fps": round(plain, 2),
        "enhance_fps": round(enhance, 2),
        "fullframe_fps": round(full, 2),
        "ratio_vs_plain": round(enhance / plain, 3),
        "ratio_vs_fullframe": round(enhance / full, 2),
    }
    if a.json:
        print(json.dumps(res))
    else:
        print(f"{'path':<34}{'fps':>8}")
        print(f"{'(1) plain transcode + bicubic':<34}{plain:>8.1f}")
        print(f"{'(2) streamsr enhance':<34}{enhance:>8.1f}")
        print(f"{'(3) SRCNN on the full frame':<34}{full:>8.1f}")
        print(f"(2)/(1) = {enhance / plain:.2f}    (2)/(3) = {enhance / full:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

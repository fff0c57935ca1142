"""End-to-end speed: plain transcode vs `streamsr enhance` vs SRCNN on the full frame.

All three run in one process, one after the other, with the same decoder and encoder settings,
so that their ratios are comparable on a shared, noisy machine:

  (1) plain     decode -> bicubic upscale -> encode (no faces)
  (2) enhance   the streamsr pipeline (detect, track, enhance faces, compose)
  (3) fullframe decode -> the network on the whole frame -> encode

for every clip of ``--input`` and every network of ``--arch`` (default: the file default of the
scale, ``default``: espcn, with espcn-s for crops of 256 input px and more, as ``--quality best``). The default clips are the two cases of issue 10: the bundled 640x480 webcam clip (one
face about 70 px wide) and, where the shared data is, a close-up talking head (410x412, the
face fills the frame). (1) is timed once per clip; per network, (2) and (3) follow it.

    python benchmarks/bench_pipeline.py [--input A.mp4 B.mp4] [--arch espcn-s,fsrcnn-s]
        [--frames 150] [--repeat 3] [--json]

(1) and (2) run ``--repeat`` times, interleaved (plain, every network, plain, ...), and each
row gives the median of its runs and the ratio of the medians: a short plain transcode of the
close-up (about 1.3 s at 150 frames) varied from 91 to 125 fps between single runs on the
2-core machine, which alone moved the ratio from 0.38 to 0.54. ``spread`` is the largest
run over the smallest, of (1) and (2).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from streamsr import Frame, Pipeline, load_enhancer
from streamsr.compose import upscale_frame
from streamsr.enhance import default_arch
from streamsr.enhance._srcnn import ARCHS
from streamsr.sinks import FileSink
from streamsr.sources import VideoSource

ROOT = Path(__file__).resolve().parents[1]
CLIPS = [
    ROOT / "streamsr/demo/webcam_sister.mkv",
    ROOT.parent / "shared/data/video/talking_heads/closeup.mp4",
]


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
    named = {} if arch == "default" else {"arch": arch}
    with Pipeline(src_path, out, scale=scale, overwrite=True, variant=variant, **named) as p:
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
    ap.add_argument("--input", type=Path, nargs="+", default=[c for c in CLIPS if c.is_file()])
    ap.add_argument("--scale", type=int, default=2, choices=(2, 3, 4))
    ap.add_argument("--frames", type=int, default=90)
    ap.add_argument("--variant", default="video", choices=("clean", "video"))
    ap.add_argument(
        "--arch", help=f"comma-separated, from default, {', '.join(ARCHS)} (default: default)"
    )
    ap.add_argument("--repeat", type=int, default=3, help="runs of (1) and (2), interleaved")
    ap.add_argument("--json", action="store_true", help="one JSON object per row")
    a = ap.parse_args()
    archs = a.arch.split(",") if a.arch else ["default"]
    for arch in archs:
        if arch not in ARCHS and arch != "default":
            ap.error(f"unknown arch {arch!r}; choose from {', '.join(ARCHS)}")
    rows = []
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "out.mp4"
        for clip in a.input:
            plains: list[float] = []
            enhanced: dict[str, list[float]] = {arch: [] for arch in archs}
            for _ in range(max(1, a.repeat)):
                plains.append(
                    _transcode(clip, out, a.scale, a.frames, lambda x: upscale_frame(x, a.scale))
                )
                for arch in archs:
                    enhanced[arch].append(_pipeline(clip, out, a.scale, a.frames, a.variant, arch))
            plain = statistics.median(plains)
            for arch in archs:
                main = default_arch(a.scale, live=False) if arch == "default" else arch
                enh = load_enhancer(a.scale, arch=main, variant=a.variant)
                enhance = statistics.median(enhanced[arch])
                full = _transcode(
                    clip, out, a.scale, max(10, a.frames // 6), lambda x, e=enh: e.enhance([x])[0]
                )
                row = {
                    "input": clip.name,
                    "arch": arch,
                    "scale": a.scale,
                    "frames": a.frames,
                    "runs": len(plains),
                    "plain_fps": round(plain, 2),
                    "enhance_fps": round(enhance, 2),
                    "plain_runs": [round(v, 1) for v in plains],
                    "enhance_runs": [round(v, 1) for v in enhanced[arch]],
                    "fullframe_fps": round(full, 2),
                    "ratio_vs_plain": round(enhance / plain, 3),
                    "ratio_vs_fullframe": round(enhance / full, 2),
                    "spread": round(
                        max(max(plains) / min(plains), max(enhanced[arch]) / min(enhanced[arch])),
                        2,
                    ),
                }
                rows.append(row)
                if a.json:
                    print(json.dumps(row), flush=True)
    if not a.json:
        head = f"{'clip':<22}{'arch':<12}{'(1) plain':>11}{'(2) enhance':>13}{'(3) full':>10}"
        print(head + f"{'(2)/(1)':>9}{'(2)/(3)':>9}{'spread':>8}")
        for r in rows:
            print(
                f"{r['input']:<22}{r['arch']:<12}{r['plain_fps']:>11.1f}{r['enhance_fps']:>13.1f}"
                f"{r['fullframe_fps']:>10.1f}{r['ratio_vs_plain']:>9.2f}{r['ratio_vs_fullframe']:>9.1f}"
                f"{r['spread']:>8.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

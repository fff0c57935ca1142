"""The shared enhancer's scheduler alone: N synthetic camera feeds, one network.

Each feed is a thread that, ``--fps`` times a second, hands its camera's door
(:class:`~streamsr.runtime._shared.CameraEnhancer`) the face crops of one frame (``--faces``
crops of ``--crop`` px at the input, different per feed) and waits for them, as a camera's
enhance stage does; a feed that falls behind its frame clock skips the frames it missed, as a
live pipeline does (counted). No decoding, detection or encoding: this measures what the
scheduler and the network deliver, crops per second, crops per tick (the batch the network
sees) and each feed's wait from submit to answer, for N = ``--cameras``. On a GPU it is the
run issue 13 asks for (CUDA fp16, graphs where they apply: ``--backend cuda``); on the CPU it
shows where one network saturates.

    python benchmarks/bench_shared.py --cameras 1 4 8 16 32 --backend cuda --seconds 10 --json
    python benchmarks/bench_shared.py --cameras 1 2 4 --backend auto --seconds 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from typing import Any

import numpy as np


def feed(
    door: Any,
    crops: list[np.ndarray],
    fps: float,
    until: float,
    waits: list[float],
    counts: dict[str, int],
) -> None:
    period = 1.0 / fps
    t_next = time.monotonic()
    while True:
        now = time.monotonic()
        if now >= until:
            return
        if now < t_next:
            time.sleep(t_next - now)
        t0 = time.monotonic()
        door.enhance(crops)
        waits.append(time.monotonic() - t0)
        counts["frames"] += 1
        t_next += period
        behind = int((time.monotonic() - t_next) // period)
        if behind > 0:  # a live pipeline drops the frames it could not take in time
            counts["skipped"] += behind
            t_next += behind * period


def run(n: int, enhancer: Any, a: argparse.Namespace) -> dict[str, Any]:
    from streamsr.runtime._shared import SharedEnhancer

    shared = SharedEnhancer({"video": enhancer}, auto=False)
    rng = np.random.default_rng(n)
    side = a.crop
    threads = []
    waits: list[list[float]] = [[] for _ in range(n)]
    counts = [{"frames": 0, "skipped": 0} for _ in range(n)]
    # Warm-up: every batch size a tick can see, so that captures or compiles are not timed.
    warm = [rng.integers(0, 256, (side, side, 3), dtype=np.uint8) for _ in range(a.faces * n)]
    for k in range(1, len(warm) + 1):
        enhancer.enhance(warm[:k])
    t_start = time.monotonic()
    ticks0, crops0 = shared.ticks, shared.crops
    until = t_start + a.seconds
    for i in range(n):
        crops = [rng.integers(0, 256, (side, side, 3), dtype=np.uint8) for _ in range(a.faces)]
        t = threading.Thread(
            target=feed,
            args=(shared.camera(f"cam{i}"), crops, a.fps, until, waits[i], counts[i]),
            daemon=True,
        )
        threads.append(t)
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t_start
    stats = shared.stats()
    ticks, crops_done = shared.ticks - ticks0, shared.crops - crops0
    shared.close()
    all_waits = sorted(w for ws in waits for w in ws)
    frames = sum(c["frames"] for c in counts)
    skipped = sum(c["skipped"] for c in counts)

    def pct(p: float) -> float:
        return round(1000 * all_waits[min(len(all_waits) - 1, int(p * len(all_waits)))], 2)

    return {
        "cameras": n,
        "backend": enhancer.backend.name,
        "device": str(enhancer.device),
        "arch": enhancer.arch,
        "scale": enhancer.scale,
        "faces_per_frame": a.faces,
        "crop_px": side,
        "fps_asked": a.fps,
        "seconds": round(wall, 2),
        "fps_per_camera": round(frames / n / wall, 2),
        "frames_skipped_share": round(skipped / max(1, frames + skipped), 4),
        "crops_per_s": round(crops_done / wall, 1),
        "ticks": ticks,
        "crops_per_tick": round(crops_done / ticks, 2) if ticks else 0.0,
        "wait_ms_p50": pct(0.5) if all_waits else None,
        "wait_ms_p95": pct(0.95) if all_waits else None,
        "wait_ms_mean": round(1000 * statistics.fmean(all_waits), 2) if all_waits else None,
        "utilisation": stats["utilisation"],
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cameras", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--faces", type=int, default=1, help="crops per frame and camera")
    ap.add_argument("--crop", type=int, default=64, help="crop side at the input, px")
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--scale", type=int, default=2, choices=(2, 3, 4))
    ap.add_argument("--arch", default=None, help="default: the live default for the scale")
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--json", action="store_true", help="one JSON object per row")
    a = ap.parse_args()
    from streamsr.enhance._enhancer import default_arch, load_enhancer

    arch = a.arch or default_arch(a.scale, live=True)
    enhancer = load_enhancer(a.scale, arch=arch, variant="video", backend=a.backend)
    rows = [run(n, enhancer, a) for n in a.cameras]
    if a.json:
        for r in rows:
            print(json.dumps(r))
        return 0
    cols = [
        "cameras",
        "fps_per_camera",
        "frames_skipped_share",
        "crops_per_s",
        "crops_per_tick",
        "wait_ms_p50",
        "wait_ms_p95",
        "utilisation",
    ]
    print(f"# {arch} x{a.scale}, {enhancer.backend.name} on {enhancer.device}, {a.crop} px crops")
    print("".join(f"{c:>22}" for c in cols))
    for r in rows:
        print("".join(f"{r[c]!s:>22}" for c in cols))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Soak: a live run against a real RTSP server on 127.0.0.1 that is restarted every N seconds.

Samples the process's resident memory, open file descriptors and threads every few seconds and
prints their slope per hour (a least-squares fit over the samples after the first minute, when
caches and the encoder have settled), with the run's counters and its accounting
(frames in = out - stale + dropped, give or take the frames in flight).

    python benchmarks/soak.py --minutes 20 --restart-every 120 [--json]

Needs GStreamer's RTSP server under Debian's python3 (as the live tests do) and the shared
face clip (``../shared/data/video/webcam_small_faces/sister.mkv``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "live"))
CLIP = Path(
    os.environ.get("STREAMSR_SHARED_DATA", ROOT.parent / "shared" / "data"),
    "video",
    "webcam_small_faces",
    "sister.mkv",
)


def sample() -> dict[str, float]:
    status = Path("/proc/self/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {
        "t": time.monotonic(),
        "rss_mib": int(fields["VmRSS"].split()[0]) / 1024,
        "fds": len(os.listdir("/proc/self/fd")),
        "threads": int(fields["Threads"]),
    }


def slope_per_hour(samples: list[dict[str, float]], key: str, skip_s: float = 60.0) -> float:
    t0 = samples[0]["t"]
    pts = [(s["t"] - t0, s[key]) for s in samples if s["t"] - t0 >= skip_s]
    if len(pts) < 3:
        return float("nan")
    t, v = np.array(pts).T
    return float(np.polyfit(t / 3600.0, v, 1)[0])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--restart-every", type=float, default=120.0, help="seconds")
    ap.add_argument("--down-for", type=float, default=2.0, help="seconds the server stays down")
    ap.add_argument("--sample-every", type=float, default=5.0, help="seconds")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)

    from _live_servers import RtspServer, gst_unavailable

    from streamsr import Pipeline
    from streamsr.enhance._options import EnhanceOptions

    if (why := gst_unavailable()) is not None or not CLIP.exists():
        print(f"cannot soak: {why or f'{CLIP} not found'}", file=sys.stderr)
        return 2
    enhancer = EnhanceOptions(scale=2).load(live=True)
    server = RtspServer("--loop", f"in={CLIP}@320x240").start()
    samples: list[dict[str, float]] = []
    restarts = 0
    errors: list[BaseException] = []
    with tempfile.TemporaryDirectory() as tmp:
        p = Pipeline(
            server.url("in"),
            [str(Path(tmp) / "rec.mkv")],
            enhancer=enhancer,
            reconnect_attempts=-1,
            reconnect_delay_s=0.5,
            open_timeout_s=2.0,
            read_timeout_s=2.0,
            status_every_s=0,
        )

        def run() -> None:
            try:
                p.run(duration_s=args.minutes * 60)
            except BaseException as exc:
                errors.append(exc)

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        next_restart = time.monotonic() + args.restart_every
        while worker.is_alive():
            samples.append(sample())
            if time.monotonic() >= next_restart:
                server.stop()
                time.sleep(args.down_for)
                server.start()
                restarts += 1
                next_restart = time.monotonic() + args.restart_every
            worker.join(args.sample_every)
        server.stop()
    st = p.stats
    result: dict[str, Any] = {
        "minutes": args.minutes,
        "restarts": restarts,
        "reconnects": st.reconnects,
        "frames_in": st.frames_in,
        "frames_out": st.frames_out,
        "frames_stale": st.frames_stale,
        "frames_dropped": st.frames_dropped,
        "accounting_gap": st.frames_in - (st.frames_out - st.frames_stale + st.frames_dropped),
        "outputs": st.outputs,
        "error": repr(errors[0]) if errors else None,
        "samples": len(samples),
    }
    for key in ("rss_mib", "fds", "threads"):
        values = [s[key] for s in samples]
        result[key] = {
            "first": values[0],
            "last": values[-1],
            "max": max(values),
            "slope_per_hour": round(slope_per_hour(samples, key), 2),
            # the value at each fifth of the run: does it level off?
            "by_fifth": [
                values[min(len(values) - 1, round(k * (len(values) - 1) / 5))] for k in range(6)
            ],
            # the slope over the second half only (after warm-up)
            "slope_per_hour_2nd_half": round(
                slope_per_hour(samples, key, skip_s=30.0 * args.minutes), 2
            ),
        }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{args.minutes:g} min, {restarts} server restarts, {st.reconnects} reconnects")
        print(f"{'':10} {'first':>8} {'last':>8} {'max':>8} {'slope/h':>9}")
        for key in ("rss_mib", "fds", "threads"):
            r = result[key]
            fifths = " ".join(f"{v:.0f}" for v in r["by_fifth"])
            print(
                f"{key:10} {r['first']:8.1f} {r['last']:8.1f} {r['max']:8.1f} "
                f"{r['slope_per_hour']:9.2f}  second half {r['slope_per_hour_2nd_half']:.2f}/h;"
                f" at each fifth: {fifths}"
            )
        print(
            f"frames in {st.frames_in}, out {st.frames_out} ({st.frames_stale} stale), "
            f"dropped {st.frames_dropped}; accounting gap {result['accounting_gap']} "
            "(frames in flight at the end)"
        )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

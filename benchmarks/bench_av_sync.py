"""Live audio against the picture over a long run: does the sound drift?

A live camera with sound (the RTSP test server's ``--av`` mount: test pattern and AAC, or G.711
with ``--codec pcma``) is read for ``--minutes`` by a :class:`~streamsr.sources.LiveSource`.
streamsr places video frames by their arrival and audio packets on the audio's own clock from
the connection's least arrival-minus-timestamp (``OutputLoop._live_audio``): the picture and the
sound part, over a run, by exactly how much the audio's lag ``arrival - media time`` grows.
This script samples that lag for every packet, takes its minimum per ``--window`` seconds (the
packets that came soonest: network and scheduling jitter only ever add), and prints the drift
(last window's minimum minus the first's, and the fitted slope per ten minutes) and the spread.

    python benchmarks/bench_av_sync.py [--minutes 10] [--window 10] [--codec aac|pcma] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "live"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--window", type=float, default=10.0, help="seconds per minimum")
    ap.add_argument("--codec", choices=("aac", "pcma"), default="aac")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from _live_servers import RtspServer, gst_unavailable

    from streamsr.sources import LiveSource
    from streamsr.sources._live import LiveAudio

    if why := gst_unavailable():
        print(f"cannot run: {why}", file=sys.stderr)
        return 2
    lags: list[tuple[float, float]] = []
    with RtspServer("--av", f"cam:{args.codec}") as server:
        src = LiveSource(server.url("cam"), reconnect_attempts=0)
        t_end = time.monotonic() + 60 * args.minutes
        frames = 0
        for item in src.frames():
            if isinstance(item, LiveAudio):
                lags.append((item.arrival_mono, item.arrival_mono - item.media_s))
            else:
                frames += 1
            if time.monotonic() >= t_end:
                break
        src.close()
    a = np.array(lags)
    t = a[:, 0] - a[0, 0]
    bins = (t // args.window).astype(int)
    mins = np.array([a[bins == b, 1].min() for b in np.unique(bins)])
    centres = (np.unique(bins) + 0.5) * args.window
    slope = float(np.polyfit(centres, mins, 1)[0]) if len(mins) > 1 else 0.0
    row = {
        "codec": args.codec,
        "minutes": round(float(t[-1]) / 60, 2),
        "audio_packets": len(a),
        "video_frames": frames,
        "drift_ms": round(1000 * float(mins[-1] - mins[0]), 1),
        "slope_ms_per_10min": round(1000 * slope * 600, 1),
        "window_min_spread_ms": round(1000 * float(mins.max() - mins.min()), 1),
        "jitter_p95_ms": round(
            1000 * float(np.percentile(a[:, 1] - mins[bins - bins.min()], 95)), 1
        ),
    }
    if args.json:
        print(json.dumps(row))
    else:
        print("| " + " | ".join(row) + " |")
        print("| " + " | ".join("---" for _ in row) + " |")
        print("| " + " | ".join(str(v) for v in row.values()) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``streamsr batch`` against a shell loop of ``streamsr enhance``, side by side in one run.

N copies of the bundled demo clip (640x480, 2.9 s, one face) are enhanced four ways: one
``streamsr enhance`` process per file in a loop (what a user would write), ``batch --workers 1``,
``batch --workers 2`` and ``batch --ray auto`` (a local Ray started by the run, its start-up
included). Each row gives the wall time, the speed as a multiple of real time, and the cost per
file; from the per-file cost and the per-run fixed cost, what K machines would give is
arithmetic, not measured.

    python benchmarks/bench_batch.py [--copies 12] [--modes loop w1 w2 ray] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av

DEMO = Path(__file__).resolve().parents[1] / "streamsr" / "demo" / "webcam_sister.mkv"


def run(cmd: list[str]) -> float:
    t = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stderr[-2000:]}")
    return time.monotonic() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--copies", type=int, default=12)
    ap.add_argument("--modes", nargs="+", default=["loop", "w1", "w2", "ray"])
    ap.add_argument(
        "--clip",
        type=Path,
        default=DEMO,
        help="the file copied (default the demo clip, small face; a close-up talking head is "
        "the expensive case)",
    )
    ap.add_argument("--json", metavar="PATH")
    a = ap.parse_args(argv)
    exe = [sys.executable, "-m", "streamsr"]
    rows = []
    with av.open(str(a.clip)) as c:
        v = c.streams.video[0]
        clip_s = float(v.frames / v.average_rate) if v.frames and v.average_rate else 0.0
    if clip_s <= 0:
        raise SystemExit(f"{a.clip}: cannot tell its duration")
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "in"
        src.mkdir()
        for i in range(a.copies):
            shutil.copy(a.clip, src / f"clip{i:02d}{a.clip.suffix}")
        for mode in a.modes:
            out = Path(d) / f"out-{mode}"
            out.mkdir()
            if mode == "loop":
                wall = sum(
                    run([*exe, "-q", "enhance", str(f), "-o", str(out / f.name), "--no-progress"])
                    for f in sorted(src.iterdir())
                )
            else:
                extra = {
                    "w1": ["--workers", "1"],
                    "w2": ["--workers", "2"],
                    "ray": ["--ray", "auto"],
                }
                wall = run(
                    [*exe, "-q", "batch", str(src), "-o", str(out), "--no-progress", *extra[mode]]
                )
            video = a.copies * clip_s
            rows.append(
                {
                    "mode": mode,
                    "files": a.copies,
                    "wall_s": round(wall, 2),
                    "x_realtime": round(video / wall, 3),
                    "s_per_file": round(wall / a.copies, 2),
                }
            )
    names = {
        "loop": "shell loop of enhance",
        "w1": "batch --workers 1",
        "w2": "batch --workers 2",
        "ray": "batch --ray auto (local)",
    }
    print(f"{a.copies} copies of {a.clip.name} ({clip_s:.1f} s each), x2, defaults")
    print(f"{'mode':<28}{'wall s':>9}{'x real time':>13}{'s per file':>12}")
    for r in rows:
        print(
            f"{names[r['mode']]:<28}{r['wall_s']:>9.1f}{r['x_realtime']:>13.2f}{r['s_per_file']:>12.2f}"
        )
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

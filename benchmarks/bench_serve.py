"""``streamsr serve`` with N cameras against N separate ``streamsr enhance`` processes.

Every camera is the 640x480, 30 fps webcam clip with one face (as in ``bench_latency.py``),
played in real time (``realtime = true``: frames arrive at the clip's own rate, as from a
camera) for ``--seconds``; each is enhanced x2 and recorded to a file. For N = 1, 2, 4, 8 (on
one machine, in one run): per camera, fps out, streamsr's own end-to-end latency p50/p95 (from
the frame's decode to its write), frames dropped and faces left bicubic (skips); for the site,
the shared network's crops per tick and the process CPU time per wall second (200 % = both
cores of this machine). The separate processes get the same inputs, each its own network.
``--floor`` adds the site with every face left bicubic: what the cameras cost without a
network, the bound no enhancer can beat.

``wake p50/p90``: how late a thread of this benchmark's own process wakes from a 2 ms sleep
while the row runs (:class:`WakeProbe`). In a ``serve`` row that process is the server, so the
figure is what a stage thread waits for the CPU *and* for the interpreter's lock (GIL); in a
``separate`` row this process only sleeps, so it is the CPU's share alone under the same load.

    python benchmarks/bench_serve.py [--cameras 1 2 4 8] [--seconds 10] [--floor] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from bench_latency import make_clip


class WakeProbe:
    """A thread that sleeps :data:`SLEEP_S` again and again and records how late it wakes
    (milliseconds): the OS's scheduling delay plus, in a busy interpreter, the wait for the GIL
    to run again."""

    SLEEP_S = 0.002

    def __init__(self) -> None:
        self.late_ms: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wake-probe", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            t = time.perf_counter()
            time.sleep(self.SLEEP_S)
            self.late_ms.append(1000.0 * (time.perf_counter() - t - self.SLEEP_S))

    def __enter__(self) -> WakeProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def percentiles(self) -> tuple[float, float] | None:
        if len(self.late_ms) < 2:  # quantiles need two samples
            return None
        q = statistics.quantiles(self.late_ms, n=10)
        return round(statistics.median(self.late_ms), 2), round(q[-1], 2)


def _cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_site(
    clip: Path, n: int, seconds: float, tmp: Path, *, bicubic: bool = False
) -> dict[str, Any]:
    """N cameras in one ``serve``; ``bicubic``: the same with a 1 ms budget, so every face goes
    out bicubic (the floor: decode, detect, upscale, encode, with no network)."""
    from streamsr.runtime._serve import Site, load_site

    body = "[server]\nport = 0\n[enhance]\nscale = 2\n[live]\nstatus_every_s = 0\n"
    if bicubic:
        body += "max_latency_ms = 1\n"
    for i in range(n):
        body += (
            f'[[camera]]\nname = "cam{i}"\n[camera.input]\nlocation = "{clip}"\nrealtime = true\n'
            f'[[camera.output]]\nlocation = "{tmp / f"site{n}_{i}.mkv"}"\noverwrite = true\n'
        )
    site_file = tmp / f"site{n}.toml"
    site_file.write_text(body)
    site = Site(load_site(site_file))
    c0, t0 = _cpu_self(), time.monotonic()
    with WakeProbe() as probe:
        time.sleep(seconds)
    stats = [r.pipeline.stats for r in site.cameras.values() if r.pipeline is not None]
    wall, cpu = time.monotonic() - t0, _cpu_self() - c0
    shared = site.enhancer_stats()
    site.close()
    return _row(
        "serve-bicubic" if bicubic else "serve",
        n,
        stats_dicts=[s.to_dict() for s in stats],
        cpu=cpu,
        wall=wall,
        extra={
            "crops_per_tick": shared[0]["crops_per_tick"] if shared else 0.0,
            "wake_late_ms": probe.percentiles(),
        },
    )


def run_separate(clip: Path, n: int, seconds: float, tmp: Path) -> dict[str, Any]:
    procs = []
    t0 = time.monotonic()
    for i in range(n):
        js = tmp / f"sep{n}_{i}.json"
        cmd = [
            sys.executable,
            "-m",
            "streamsr",
            "-q",
            "enhance",
            str(clip),
            "-o",
            str(tmp / f"sep{n}_{i}.mkv"),
            "--realtime",
            "--overwrite",
            "--scale",
            "2",
            "--duration",
            str(seconds),
            "--stats-json",
            str(js),
            "--status-every",
            "0",
        ]
        procs.append((subprocess.Popen(cmd, stderr=subprocess.DEVNULL), js))
    cpu = 0.0
    with WakeProbe() as probe:  # over the processes' whole run, their start included
        for p, _ in procs:
            _, _, usage = os.wait4(p.pid, 0)
            cpu += usage.ru_utime + usage.ru_stime
    wall = time.monotonic() - t0
    stats = [json.loads(js.read_text()) for _, js in procs if js.exists()]
    return _row(
        "separate",
        n,
        stats_dicts=stats,
        cpu=cpu,
        wall=wall,
        extra={"wake_late_ms": probe.percentiles()},
    )


def _row(
    mode: str,
    n: int,
    *,
    stats_dicts: list[dict[str, Any]],
    cpu: float,
    wall: float,
    extra: dict[str, Any],
) -> dict[str, Any]:
    def mean(key: str) -> float:
        return statistics.fmean(float(s.get(key, 0.0)) for s in stats_dicts) if stats_dicts else 0.0

    e2e = [s.get("latency_ms", {}).get("end_to_end") for s in stats_dicts]
    e2e = [x for x in e2e if x]
    drops = [s["frames_dropped"] / max(1, s["frames_in"]) for s in stats_dicts]
    fps = [s["frames_out"] / max(1e-9, s["seconds"]) for s in stats_dicts]
    return {
        "mode": mode,
        "cameras": n,
        "fps_out_per_camera": round(statistics.fmean(fps), 2) if fps else 0.0,
        "e2e_p50_ms": round(statistics.fmean(x[0] for x in e2e), 1) if e2e else None,
        "e2e_p95_ms": round(max(x[1] for x in e2e), 1) if e2e else None,
        "dropped_percent": round(100 * statistics.fmean(drops), 1) if drops else None,
        "skips_per_camera": round(mean("enhance_skips"), 1),
        "cpu_percent": round(100 * cpu / wall, 1),
        **extra,
    }


def _pair(p: tuple[float, float] | None) -> str:
    return "-" if p is None else f"{p[0]:.1f} / {p[1]:.1f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cameras", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument(
        "--close-face",
        action="store_true",
        help="close-up talking heads (faces of 250-400 px, the expensive case) instead",
    )
    ap.add_argument(
        "--floor",
        action="store_true",
        help="also serve every face bicubic (a 1 ms budget): what the cameras cost with no network",
    )
    ap.add_argument("--json", action="store_true", help="one JSON object per row")
    a = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        clip = tmp / "webcam.mp4"
        make_clip(clip, (640, 480), 1, min_seconds=a.seconds + 5, close=a.close_face)
        for n in a.cameras:
            for mode in ("serve", "separate", *(("serve-bicubic",) if a.floor else ())):
                if mode == "separate":
                    r = run_separate(clip, n, a.seconds, tmp)
                else:
                    r = run_site(clip, n, a.seconds, tmp, bicubic=mode == "serve-bicubic")
                rows.append(r)
                if a.json:
                    print(json.dumps(r), flush=True)
    if not a.json:
        print(
            f"{'mode':<14}{'N':>3}{'fps/cam':>9}{'e2e p50':>9}{'p95 max':>9}{'drop %':>8}"
            f"{'skips':>7}{'CPU %':>7}{'crops/tick':>11}{'wake p50/p90':>14}"
        )
        for r in rows:
            print(
                f"{r['mode']:<14}{r['cameras']:>3}{r['fps_out_per_camera']:>9.1f}"
                f"{r['e2e_p50_ms'] or 0:>9.0f}{r['e2e_p95_ms'] or 0:>9.0f}"
                f"{r['dropped_percent'] or 0:>8.1f}{r['skips_per_camera']:>7.0f}"
                f"{r['cpu_percent']:>7.0f}{r.get('crops_per_tick', 0):>11.2f}"
                f"{_pair(r.get('wake_late_ms')):>14}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

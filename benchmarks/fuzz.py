"""The long fuzzing run: thousands of damaged files through source → detect → enhance → sink.

The same seeded mutations as ``tests/runtime/test_fuzz.py`` (byte flips, truncations, zeroed
and duplicated ranges) of small real MP4, MKV and MPEG-TS files with audio, ``--cases`` per
container, in worker processes of ``--batch`` cases each (a native crash kills only its
worker; the case it was on is reported and the run goes on with the next). Each case must end
within ``--limit`` seconds, succeed or raise a ``StreamSRError`` (the command line's one-line
error), and leave a valid video (at least one decodable frame) or no file at all.

    python benchmarks/fuzz.py [--cases 1000] [--batch 50] [--limit 60] [--seed 0] [--json]

Prints a report: inputs, clean successes, clean errors, and every crash, hang, unclean error
(not a StreamSRError) and invalid output, with the case's seed so it can be replayed.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONTAINERS = (".mp4", ".mkv", ".ts")


def _worker(ext: str, first: int, count: int, seed: int, limit_s: float, out_q: Any) -> None:
    sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "runtime")]
    import av
    from _media import make_clip
    from test_fuzz import mutate

    from streamsr import Pipeline, StreamSRError, load_enhancer

    enhancer = load_enhancer(2)
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        clip = make_clip(tmp / f"clip{ext}", frames=20, audio=True)
        data = clip.read_bytes()
        for case in range(first, first + count):
            rng = random.Random(f"streamsr-fuzz-long{ext}-{seed}-{case}")
            src = tmp / f"m{case}{ext}"
            src.write_bytes(mutate(data, rng))
            out = tmp / f"out{case}.mp4"
            out_q.put(("start", ext, case))
            result: list[BaseException | None] = []

            def run(s: Path = src, o: Path = out, r: list[BaseException | None] = result) -> None:
                try:
                    with Pipeline(s, o, enhancer=enhancer, overwrite=True) as p:
                        p.run()
                    r.append(None)
                except BaseException as failure:  # judged below
                    r.append(failure)

            t = threading.Thread(target=run, daemon=True)
            t.start()
            t.join(limit_s)
            if t.is_alive():
                out_q.put(("hang", ext, case))
                return  # the worker is stuck: a new one takes the next cases
            exc = result[0]
            if exc is not None and not isinstance(exc, StreamSRError):
                out_q.put(("unclean", ext, case, f"{type(exc).__name__}: {exc}"[:300]))
                continue
            if out.exists():
                try:
                    with av.open(str(out)) as c:
                        n = sum(1 for _ in c.decode(video=0))
                except Exception as e:  # an unreadable output is what this counts
                    n, exc = 0, e
                if n < 1:
                    out_q.put(("invalid", ext, case))
                    continue
                out.unlink()
            elif exc is None:
                out_q.put(("invalid", ext, case))  # success claimed, no output
                continue
            out_q.put(("ok" if exc is None else "error", ext, case))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--cases", type=int, default=1000, help="per container")
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--limit", type=float, default=60.0, help="seconds per case (a hang)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    ctx = mp.get_context("spawn")
    counts = {k: 0 for k in ("ok", "error", "crash", "hang", "unclean", "invalid")}
    problems: list[dict[str, Any]] = []
    t0 = time.monotonic()
    for ext in CONTAINERS:
        case = 0
        while case < args.cases:
            q: Any = ctx.Queue()
            n = min(args.batch, args.cases - case)
            proc = ctx.Process(target=_worker, args=(ext, case, n, args.seed, args.limit, q))
            proc.start()
            current, done = case, set()
            while True:
                try:
                    msg = q.get(timeout=1.0)
                except Exception:  # queue.Empty
                    if not proc.is_alive():
                        break
                    continue
                kind = msg[0]
                if kind == "start":
                    current = msg[2]
                    continue
                done.add(msg[2])
                counts[kind] += 1
                if kind not in ("ok", "error"):
                    problems.append({"kind": kind, "ext": ext, "case": msg[2], "detail": msg[3:]})
                if kind == "hang" or len(done) == n:
                    break
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()
            if len(done) < n and current not in done:  # the worker died on this case
                counts["crash"] += 1
                problems.append(
                    {"kind": "crash", "ext": ext, "case": current, "detail": [proc.exitcode]}
                )
                done.add(current)
            case = max(done) + 1 if done else case + 1
    report = {
        "inputs": sum(counts.values()),
        **counts,
        "seconds": round(time.monotonic() - t0, 1),
        "seed": args.seed,
        "problems": problems,
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(
            "| inputs | clean success | clean error | crash | hang | unclean error | invalid output | s |"
        )
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        print(
            f"| {report['inputs']} | {counts['ok']} | {counts['error']} | {counts['crash']} | "
            f"{counts['hang']} | {counts['unclean']} | {counts['invalid']} | {report['seconds']} |"
        )
        for p in problems:
            print(f"- {p['kind']}: {p['ext']} case {p['case']} (seed {args.seed}) {p['detail']}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

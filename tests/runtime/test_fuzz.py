"""Fuzzing: damaged copies of small real files through source → detect → enhance → sink.

Seeded mutations (byte flips, truncations, zeroed and duplicated ranges) of an MP4, an MKV and
an MPEG-TS file with audio. Each run either succeeds or raises a ``StreamSRError`` (the
command line's one-line error), within a time limit, and leaves a valid video or no file.
The long run, thousands of inputs with a report: ``benchmarks/fuzz.py``.
"""

from __future__ import annotations

import random
import threading
from pathlib import Path
from typing import Any

import av
import pytest
from _media import make_clip

from streamsr import Pipeline, StreamSRError

CASES_PER_CONTAINER = 100  # 300 inputs in all; benchmarks/fuzz.py runs thousands
LIMIT_S = 120.0  # a hang, not a slow machine


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One seeded damage: flipped bytes, a truncation, a zeroed or a duplicated range."""
    b = bytearray(data)
    kind = rng.choice(("flip", "truncate", "zero", "duplicate"))
    if kind == "flip":
        for _ in range(rng.randint(1, 40)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif kind == "truncate":
        del b[rng.randrange(16, len(b)) :]
    else:
        start = rng.randrange(len(b))
        n = rng.randint(1, max(1, len(b) // 8))
        if kind == "zero":
            b[start : start + n] = bytes(len(b[start : start + n]))
        else:
            b[start:start] = b[start : start + n]
    return bytes(b)


def _run(src: Path, out: Path, enhancer: Any) -> BaseException | None:
    try:
        with Pipeline(src, out, enhancer=enhancer, overwrite=True) as p:
            p.run()
    except BaseException as exc:
        return exc
    return None


@pytest.mark.slow
@pytest.mark.parametrize("ext", [".mp4", ".mkv", ".ts"])
def test_damaged_files_end_cleanly(tmp_path: Path, ext: str, enhancer: Any) -> None:
    clip = make_clip(tmp_path / f"clip{ext}", frames=20, audio=True)
    data = clip.read_bytes()
    rng = random.Random(f"streamsr-fuzz{ext}")
    outcomes = {"ok": 0, "error": 0}
    for i in range(CASES_PER_CONTAINER):
        src = tmp_path / f"m{i}{ext}"
        src.write_bytes(mutate(data, rng))
        out = tmp_path / f"out{i}.mp4"
        result: list[BaseException | None] = []
        t = threading.Thread(
            target=lambda r=result, s=src, o=out: r.append(_run(s, o, enhancer)), daemon=True
        )
        t.start()
        t.join(LIMIT_S)
        assert not t.is_alive(), f"case {i}: still running after {LIMIT_S:.0f} s (a hang)"
        exc = result[0]
        if exc is not None and not isinstance(exc, StreamSRError):
            raise AssertionError(f"case {i}: not a clean error") from exc
        outcomes["ok" if exc is None else "error"] += 1
        if out.exists():
            with av.open(str(out)) as c:
                n = sum(1 for _ in c.decode(video=0))
            assert n >= 1, f"case {i}: an output with no frame was left behind"
        else:
            assert exc is not None, f"case {i}: success claimed, but no output"
    assert sum(outcomes.values()) == CASES_PER_CONTAINER
    print(f"{ext}: {outcomes}")

"""The output loop: STALE repeats only while the input is gone, never for a slow pipeline."""

from __future__ import annotations

import collections
import queue
import threading
import time
from fractions import Fraction

import numpy as np

from streamsr._frame import Frame
from streamsr.runtime._clock import OutputClock
from streamsr.runtime._metrics import Metrics
from streamsr.runtime._outputs import Fanout, OutputLoop
from streamsr.runtime._stages import Work
from streamsr.runtime._threads import END
from streamsr.sources import LIVE_TIME_BASE


def _loop(input_age: list[float]) -> tuple[OutputLoop, queue.Queue, Metrics, threading.Event]:  # type: ignore[type-arg]
    inbox: queue.Queue = queue.Queue()  # type: ignore[type-arg]
    metrics, stop = Metrics(live=True), threading.Event()
    loop = OutputLoop(
        inbox,
        fanout=Fanout(),
        clock=OutputClock(live=True, time_base=LIVE_TIME_BASE),
        metrics=metrics,
        stop=stop,
        rate=30.0,
        stale_after_s=0.1,
        audio=collections.deque(),
    )
    loop.input_age_s = lambda: input_age[0]
    return loop, inbox, metrics, stop


def _work(i: int) -> Work:
    frame = Frame(np.zeros((8, 8, 3), np.uint8), i, Fraction(1, 30), i)
    return Work(frame, time.perf_counter())


def test_a_slow_pipeline_with_a_live_input_is_not_stale() -> None:
    age = [0.0]  # the input keeps delivering; only the pipeline is late
    loop, inbox, metrics, stop = _loop(age)
    loop.start()
    inbox.put(_work(0))
    time.sleep(0.6)  # six stale delays without a composed frame
    assert metrics.frames_stale == 0
    age[0] = 10.0  # now the input is gone too
    deadline = time.monotonic() + 30
    while metrics.frames_stale == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert metrics.frames_stale > 0
    inbox.put(END)
    loop.join(timeout=10)
    stop.set()
    assert not loop.is_alive() and loop.error is None
    assert metrics.frames_out == 1 + metrics.frames_stale

"""Threads joined by bounded queues: a stop event, timeouts on every blocking call, errors kept.

A stage never blocks forever: every ``put`` and ``get`` waits at most ``POLL_S`` and then looks
at the stop event, so a failing stage (which sets it) releases all the others.

Two queue policies (:data:`QueuePolicy`): ``"block"`` (a full queue makes the producer wait:
nothing is lost, for files) and ``"drop_oldest"`` (:class:`LatestQueue`: a put into a full
queue drops the oldest item, counted; for live streams, where the newest frame wins).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Literal

QueuePolicy = Literal["block", "drop_oldest"]

log = logging.getLogger(__name__)

POLL_S = 0.1


def network_threads() -> int:
    """Intra-op threads for the network of a pipeline: half the CPUs this process may run on,
    at least one.

    The decoder, detector, compose and encoder run on their own threads beside the network, so
    a network that also spreads each call over every core only makes them wait for each other.
    On the 2-core machine (one thread instead of two, the close-up clip as a file, three runs
    each): 35.6-36.5 fps against 32.6-33.7; the videoconf close face at 640x480 live: p95 95
    against 115 ms, at 1280x720 126 against 157 ms with 1 against 7 frames dropped (one run).
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, cpus // 2)


class _End:
    def __repr__(self) -> str:
        return "END"


END: Any = _End()
"""Sentinel that travels down the queues after the last item."""


class LatestQueue(queue.Queue):
    """A bounded queue whose ``put`` never blocks: when full, the oldest item is dropped.

    ``on_drop(item)`` is called for each dropped item (under the queue's lock: keep it short).
    ``END`` is never dropped for a newer item: it is the last one.
    """

    def __init__(self, maxsize: int, on_drop: Callable[[Any], None]) -> None:
        if maxsize < 1:
            raise ValueError("a LatestQueue needs maxsize >= 1")
        super().__init__(maxsize)
        self._on_drop = on_drop

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        with self.not_full:
            while self._qsize() >= self.maxsize:
                self._on_drop(self._get())
            self._put(item)
            self.unfinished_tasks += 1
            self.not_empty.notify()


def make_queue(
    policy: QueuePolicy, size: int, on_drop: Callable[[Any], None] | None = None
) -> queue.Queue[Any]:
    """A queue of ``size`` items with ``policy``; ``on_drop`` counts what drop_oldest drops."""
    if policy == "block":
        return queue.Queue(maxsize=size)
    return LatestQueue(size, on_drop or (lambda _item: None))


class StageTimer:
    """Accumulated busy time and item count of one stage."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.items = 0

    def add(self, seconds: float) -> None:
        self.seconds += seconds
        self.items += 1

    @property
    def mean_ms(self) -> float:
        return 1000.0 * self.seconds / self.items if self.items else 0.0


def put(q: queue.Queue[Any], item: Any, stop: threading.Event) -> bool:
    """Blocking put that gives up (returns False) once ``stop`` is set."""
    while not stop.is_set():
        try:
            q.put(item, timeout=POLL_S)
            return True
        except queue.Full:
            continue
    return False


def get(q: queue.Queue[Any], stop: threading.Event) -> Any:
    """Blocking get; returns ``END`` once ``stop`` is set."""
    while not stop.is_set():
        try:
            return q.get(timeout=POLL_S)
        except queue.Empty:
            continue
    return END


class Stage(threading.Thread):
    """One worker: a producer (``source`` given) or a ``fn`` from ``inbox`` to ``outbox``.

    An exception is stored in ``error``, the stop event is set, and the caller re-raises it.
    """

    def __init__(
        self,
        name: str,
        *,
        stop: threading.Event,
        outbox: queue.Queue[Any],
        fn: Callable[[Any], Any] | None = None,
        inbox: queue.Queue[Any] | None = None,
        source: Callable[[], Iterable[Any]] | None = None,
        timer: StageTimer | None = None,
        fn_many: Callable[[list[Any]], list[Any]] | None = None,
        max_batch: int = 1,
    ) -> None:
        super().__init__(name=f"streamsr-{name}", daemon=True)
        if (fn is None) == (source is None):
            raise ValueError("a stage takes either fn and inbox, or source")
        self.stage = name
        self.stop, self.inbox, self.outbox = stop, inbox, outbox
        self.fn, self.source = fn, source
        self.fn_many, self.max_batch = fn_many, max_batch
        self.timer = timer or StageTimer()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            if self.source is not None:
                self._produce(self.source)
            else:
                self._transform()
        except BaseException as exc:  # kept for the caller, which re-raises it with its cause
            self.error = exc
            self.stop.set()

    def _produce(self, source: Callable[[], Iterable[Any]]) -> None:
        it = iter(source())
        while not self.stop.is_set():
            t = time.perf_counter()
            try:
                item = next(it)
            except StopIteration:
                break
            self.timer.add(time.perf_counter() - t)
            if item is None:  # a producer may yield None for "nothing for the queue"
                continue
            if not put(self.outbox, item, self.stop):
                return
        put(self.outbox, END, self.stop)

    def _transform(self) -> None:
        """Take one item (waiting), plus what else is already queued up to ``max_batch`` (not
        waiting) when ``fn_many`` is given; results leave in the order the items came."""
        assert self.inbox is not None and self.fn is not None
        while True:
            item = get(self.inbox, self.stop)
            if item is END:
                put(self.outbox, END, self.stop)
                return
            batch, ended = [item], False
            while self.fn_many is not None and len(batch) < self.max_batch:
                try:
                    nxt = self.inbox.get_nowait()
                except queue.Empty:
                    break
                if nxt is END:
                    ended = True
                    break
                batch.append(nxt)
            t = time.perf_counter()
            outs = (
                self.fn_many(batch)
                if len(batch) > 1 and self.fn_many is not None
                else [self.fn(item)]
            )
            dt = (time.perf_counter() - t) / len(batch)
            for out in outs:
                self.timer.add(dt)
                if not put(self.outbox, out, self.stop):
                    return
            if ended:
                put(self.outbox, END, self.stop)
                return

"""Queues and stage threads: the two policies, order, and a failing stage that blocks nobody."""

from __future__ import annotations

import queue
import threading

import pytest

from streamsr.runtime import _threads
from streamsr.runtime._threads import END, LatestQueue, Stage, make_queue, network_threads, put


def test_latest_queue_drops_the_oldest() -> None:
    dropped: list[int] = []
    q = LatestQueue(2, dropped.append)
    for i in range(5):
        q.put(i)  # never blocks
    assert dropped == [0, 1, 2]
    assert [q.get_nowait(), q.get_nowait()] == [3, 4]
    with pytest.raises(queue.Empty):
        q.get_nowait()


def test_block_policy_loses_nothing_and_put_gives_up_on_stop() -> None:
    q = make_queue("block", 2)
    stop = threading.Event()
    assert put(q, 1, stop) and put(q, 2, stop)
    stop.set()
    assert not put(q, 3, stop)  # full: waits only until stop, then says so
    assert [q.get_nowait(), q.get_nowait()] == [1, 2]


def test_stages_keep_order_batch_and_end() -> None:
    stop = threading.Event()
    inbox, outbox = make_queue("block", 4), make_queue("block", 64)
    batches: list[int] = []

    def many(items: list[int]) -> list[int]:
        batches.append(len(items))
        return [i * 10 for i in items]

    stage = Stage(
        "x", fn=lambda i: i * 10, fn_many=many, max_batch=3, inbox=inbox, outbox=outbox, stop=stop
    )
    stage.start()
    for i in range(20):
        assert put(inbox, i, stop)
    assert put(inbox, END, stop)
    stage.join(timeout=30)
    out = []
    while (item := outbox.get_nowait()) is not END:
        out.append(item)
    assert out == [i * 10 for i in range(20)]
    assert all(1 <= n <= 3 for n in batches)


def test_a_failing_stage_keeps_its_error_and_sets_stop() -> None:
    stop = threading.Event()
    inbox, outbox = make_queue("block", 1), make_queue("block", 1)

    def boom(_item: int) -> int:
        raise RuntimeError("boom")

    stage = Stage("x", fn=boom, inbox=inbox, outbox=outbox, stop=stop)
    stage.start()
    put(inbox, 1, stop)
    stage.join(timeout=30)
    assert stop.is_set() and isinstance(stage.error, RuntimeError)


@pytest.mark.parametrize(("cpus", "threads"), [(1, 1), (2, 1), (3, 1), (4, 2), (16, 8)])
def test_the_network_gets_half_the_cpus_the_process_may_use(
    monkeypatch: pytest.MonkeyPatch, cpus: int, threads: int
) -> None:
    monkeypatch.setattr(
        _threads.os, "sched_getaffinity", lambda _pid: set(range(cpus)), raising=False
    )
    assert network_threads() == threads

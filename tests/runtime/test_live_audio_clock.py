"""Where live audio goes on the output timeline: by arrival, on the audio's own clock, through
a server's first burst, a camera clock off the wall clock, and a timestamp jump."""

from __future__ import annotations

import numpy as np
import pytest

from streamsr.runtime._audio import RESYNC_S, SETTLE_S, LiveAudioClock
from streamsr.sources._live import LiveAudio

PACKET_S = 1024 / 16000  # AAC at 16 kHz


def _run(rate: float, minutes: float, *, burst_s: float = 1.0, seed: int = 0) -> np.ndarray:
    """Place a simulated connection's packets; return placed minus true moment (s) per packet.

    The camera's audio clock runs at ``rate`` times the wall clock's; the server first sends
    ``burst_s`` of buffered sound at once; the network adds 0-30 ms at random."""
    rng = np.random.default_rng(seed)
    clock = LiveAudioClock()
    errors = []
    held: list[tuple[LiveAudio, float]] = []
    n = int(60 * minutes / PACKET_S)
    for k in range(n):
        media = k * PACKET_S
        true = 100.0 + media / rate - burst_s  # when its samples were taken (wall clock)
        arrival = max(true, 100.0) + rng.uniform(0, 0.03)  # the burst arrives at 100 s
        a = LiveAudio(None, arrival, media, 0)
        clock.observe(a)
        held.append((a, true))
        while held and clock.ready(held[0][0], arrival):
            p, t = held.pop(0)
            errors.append(clock.moment(p) - t)
    return np.array(errors)


@pytest.mark.parametrize("rate", [1.0, 0.999, 1.001])
def test_sound_stays_with_the_wall_clock_for_an_hour(rate: float) -> None:
    err = _run(rate, 60)
    steady = err[int(2 * 60 / PACKET_S) :]  # after two minutes
    # within 40 ms of when the sound was taken, all hour (a 0.1 % clock parts 3.6 s an hour)
    assert np.abs(steady).max() < 0.04, (steady.min(), steady.max())


def test_the_first_burst_is_placed_in_the_past_not_squeezed() -> None:
    err = _run(1.0, 0.5, burst_s=1.0)
    # the burst's packets keep their spacing: placed at their true moments (before 100 s)
    assert np.abs(err).max() < 0.04
    assert SETTLE_S < 1.0


def test_a_timestamp_jump_back_is_placed_afresh() -> None:
    clock = LiveAudioClock()
    for k in range(100):
        clock.observe(LiveAudio(None, 10.0 + k * PACKET_S, k * PACKET_S, 0))
    jump = LiveAudio(None, 10.0 + 100 * PACKET_S, 0.0, 0)  # media time back to 0
    clock.observe(jump)
    assert clock.resyncs == 1
    assert clock.moment(jump) == pytest.approx(jump.arrival_mono)
    assert RESYNC_S >= 0.5

"""Live audio onto the output timeline: where each packet of a live input's sound belongs.

Video frames of a live input are placed by their arrival. An audio packet is placed the same
way, but on the audio's own clock so that packets keep their spacing (no jitter):

- its input moment is ``origin + media_s``, where ``origin`` is, per connection, the least
  ``arrival - media_s`` seen so far: the packet that came soonest after its samples were
  taken (network and scheduling only ever add delay). A server that sends a new client a
  second of buffered sound makes the first packets arrive early for their time, so a
  connection's packets are held :data:`SETTLE_S` until that burst has passed
  (:meth:`LiveAudioClock.ready`);
- the least lag of each :data:`WINDOW_S` is compared with ``origin``: a camera whose audio
  clock runs slow against the wall clock makes it grow, and ``origin`` follows by at most
  :data:`SLEW_S` per window (a clock fast against the wall lowers the minimum, which
  ``origin`` takes at once), so sound and picture do not part over hours;
- an arrival more than :data:`RESYNC_S` later than ``origin`` says (the input's timestamps
  jumped back) sets ``origin`` afresh.
"""

from __future__ import annotations

from dataclasses import dataclass

from streamsr.sources._live import LiveAudio

SETTLE_S = 0.5
"""Live audio of a new connection waits this long for its first burst to pass."""
WINDOW_S = 10.0
"""The window whose least lag the origin follows."""
SLEW_S = 0.02
"""The most the origin moves later per window (0.2 % of a clock's rate)."""
DEADBAND_S = 0.005
"""A window's least lag this close to the origin leaves it alone."""
RESYNC_S = 1.0
"""An arrival this much later than the origin says is placed afresh."""


@dataclass
class _Connection:
    origin: float
    since: float
    window_start: float
    window_min: float


class LiveAudioClock:
    """Per connection, the origin of its audio on the monotonic clock (see the module doc)."""

    def __init__(self) -> None:
        self._conns: dict[int, _Connection] = {}
        self.resyncs = 0
        self.slews = 0

    def observe(self, a: LiveAudio) -> None:
        """Take a packet's lag into account (call for every packet, in arrival order)."""
        lag = a.arrival_mono - a.media_s
        c = self._conns.get(a.connection)
        if c is None:
            self._conns[a.connection] = _Connection(lag, a.arrival_mono, a.arrival_mono, lag)
            return
        if lag < c.origin:
            c.origin = lag
        elif lag - c.origin > RESYNC_S:
            c.origin = lag
            self.resyncs += 1
        if a.arrival_mono - c.window_start >= WINDOW_S:
            if c.window_min - c.origin > DEADBAND_S:
                c.origin += min(c.window_min - c.origin, SLEW_S)
                self.slews += 1
            c.window_start, c.window_min = a.arrival_mono, lag
        else:
            c.window_min = min(c.window_min, lag)

    def ready(self, a: LiveAudio, now: float) -> bool:
        """Whether the packet's connection is past its first burst."""
        c = self._conns.get(a.connection)
        return c is not None and now - c.since >= SETTLE_S

    def moment(self, a: LiveAudio) -> float:
        """The packet's input moment (``time.monotonic()`` scale)."""
        return self._conns[a.connection].origin + a.media_s

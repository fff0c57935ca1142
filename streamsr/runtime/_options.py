"""The pipeline's options: one dataclass per stage, composed, and the runtime's own.

Every keyword of :class:`~streamsr.Pipeline` belongs to exactly one stage's options (the names
are unique across stages, which a test checks), so ``Pipeline(input, output, scale=3,
max_latency_ms=200)`` routes each keyword to its stage; the TOML tables and the command-line
flags map onto the same fields.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from streamsr._check import check_int, check_number, check_str
from streamsr._errors import ConfigError
from streamsr.compose._options import ComposeOptions
from streamsr.enhance._options import EnhanceOptions
from streamsr.faces._options import FaceOptions
from streamsr.sinks._options import LIVE_ONLY_KINDS, OutputSpec
from streamsr.sources._options import SourceOptions

OUTPUT_DEFAULTS = ("segment_seconds", "codec", "crf", "preset", "overwrite")
"""Keywords of :class:`~streamsr.sinks.OutputSpec` that :class:`~streamsr.Pipeline` applies to
every output given as a plain location."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RuntimeOptions:
    """Live runs only. ``max_latency_ms``: a latency budget; faces whose enhancement would make
    the frame later than this go out bicubic, counted (None: enhance every face), and so do
    faces the enhance stage cannot fit into the input's frame interval on average (it would fall
    behind and drop frames); a large face left out carries its last residual over, moved, for up
    to two frames (:class:`~streamsr.runtime._budget.LatencyBudget`).
    ``queue_frames``: frames each stage queue holds before the oldest is dropped.
    ``stale_after_s``: after this long without a new frame (input lost, reconnecting), the last
    frame is repeated with a STALE label. ``status_every_s``: a status line this often (0:
    never). ``metrics_port`` and ``metrics_host``: a Prometheus endpoint (None: none; 0: any
    free port)."""

    max_latency_ms: float | None = None
    queue_frames: int = 1
    stale_after_s: float = 1.0
    status_every_s: float = 5.0
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        check_number("max_latency_ms", self.max_latency_ms, 1, 60_000, none=True)
        check_int("queue_frames", self.queue_frames, 1, 64)
        check_number("stale_after_s", self.stale_after_s, 0.05, 60)
        check_number("status_every_s", self.status_every_s, 0, 3600)
        check_int("metrics_port", self.metrics_port, 0, 65535, none=True)
        check_str("metrics_host", self.metrics_host)

    def live_only_set(self) -> list[str]:
        default = RuntimeOptions()
        names = ("max_latency_ms", "queue_frames", "stale_after_s")
        return [n for n in names if getattr(self, n) != getattr(default, n)]


STAGE_OPTIONS: dict[str, type] = {
    "source": SourceOptions,
    "faces": FaceOptions,
    "enhance": EnhanceOptions,
    "compose": ComposeOptions,
    "runtime": RuntimeOptions,
}
"""The stage option classes, by the name of their field in :class:`PipelineOptions`."""


def keyword_owner() -> dict[str, str]:
    """``{keyword: stage}`` for every keyword of :class:`~streamsr.Pipeline`."""
    owner: dict[str, str] = {}
    for stage, cls in STAGE_OPTIONS.items():
        for f in dataclasses.fields(cls):
            if f.name in owner:  # pragma: no cover - a schema mistake, caught by a test
                raise AssertionError(f"{f.name} is an option of {owner[f.name]} and {stage}")
            owner[f.name] = stage
    for name in OUTPUT_DEFAULTS:
        owner.setdefault(name, "output")
    return owner


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineOptions:
    """All of a pipeline's options, one dataclass per stage (see :func:`from_keywords`)."""

    source: SourceOptions = field(default_factory=SourceOptions)
    faces: FaceOptions = field(default_factory=FaceOptions)
    enhance: EnhanceOptions = field(default_factory=EnhanceOptions)
    compose: ComposeOptions = field(default_factory=ComposeOptions)
    runtime: RuntimeOptions = field(default_factory=RuntimeOptions)

    @classmethod
    def from_keywords(cls, **kw: Any) -> tuple[PipelineOptions, dict[str, Any]]:
        """Route flat keywords (``scale=3, max_latency_ms=200``) to their stage; returns the
        options and the output defaults (``codec``, ``crf``...). An unknown keyword is a
        :class:`~streamsr.ConfigError` listing the known ones."""
        owner = keyword_owner()
        per: dict[str, dict[str, Any]] = {k: {} for k in (*STAGE_OPTIONS, "output")}
        for name, value in kw.items():
            stage = owner.get(name)
            if stage is None:
                raise ConfigError(
                    f"unknown pipeline option {name!r} (options: {', '.join(sorted(owner))})"
                )
            per[stage][name] = value
        opts = cls(**{k: STAGE_OPTIONS[k](**per[k]) for k in STAGE_OPTIONS})
        return opts, per["output"]


def check_file_run(
    options: PipelineOptions,
    specs: Sequence[OutputSpec],
    input: object,
    *,
    names: Mapping[str, str] | None = None,
    live_hint: str = "live/realtime",
) -> None:
    """A file run (offline) with an option or output that only a live run has is an error that
    names them (by ``names[keyword]`` when given: the command line's flags), never a reason to
    switch modes (a file would lose frames and audio)."""
    given = options.source.live_only_set() + options.runtime.live_only_set()
    given = [names.get(g, g) if names else g for g in given]
    given += [f"{s.kind} output" for s in specs if s.kind in LIVE_ONLY_KINDS]
    seg = "segment_seconds" if names is None else names.get("segment_seconds", "segment_seconds")
    given += [seg for s in specs if s.segment_seconds is not None]
    if given:
        raise ConfigError(
            f"{', '.join(dict.fromkeys(given))}: for live runs only (a stream URL or camera "
            f"input, or {live_hint}); {input} is a file, processed frame by frame"
        )

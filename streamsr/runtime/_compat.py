"""Names from before files and live streams shared one pipeline (0.1), kept for one release."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from streamsr._errors import ConfigError
from streamsr.runtime._metrics import Metrics, Stats
from streamsr.runtime._pipeline import Output, Pipeline

PipelineStats = Stats
"""The name of :class:`~streamsr.runtime.Stats` for file runs in 0.1."""
LiveStats = Stats
"""The name of :class:`~streamsr.runtime.Stats` for live runs in 0.1."""
LiveMetrics = Metrics
"""The name of :class:`~streamsr.runtime.Metrics` in 0.1."""


class LivePipeline(Pipeline):
    """Deprecated: ``Pipeline(input, outputs, live=True, ...)``, its replacement since 0.2."""

    def __init__(self, input: Any, outputs: Sequence[Output], **options: Any) -> None:
        warnings.warn(
            "LivePipeline is deprecated: use Pipeline(input, outputs, live=True, ...)",
            DeprecationWarning,
            stacklevel=2,
        )
        if not outputs:
            raise ConfigError("a live pipeline needs at least one output")
        if "options" not in options:
            options.setdefault("live", True)
        super().__init__(input, list(outputs), **options)

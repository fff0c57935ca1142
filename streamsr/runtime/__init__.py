"""Runtime: the one pipeline, its threads and queues, its options, stats and pipeline files."""

from streamsr.runtime._config import PipelineConfig, load_pipeline
from streamsr.runtime._metrics import LiveMetrics, Metrics, MetricsServer, Stats
from streamsr.runtime._options import PipelineOptions, RuntimeOptions
from streamsr.runtime._pipeline import LivePipeline, Pipeline

PipelineStats = Stats
"""The name of :class:`Stats` for file runs before 0.2."""
LiveStats = Stats
"""The name of :class:`Stats` for live runs before 0.2."""

__all__ = [
    "LiveMetrics",
    "LivePipeline",
    "LiveStats",
    "Metrics",
    "MetricsServer",
    "Pipeline",
    "PipelineConfig",
    "PipelineOptions",
    "PipelineStats",
    "RuntimeOptions",
    "Stats",
    "load_pipeline",
]

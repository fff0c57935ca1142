"""Runtime: the one pipeline, its threads and queues, its options, stats and pipeline files."""

from streamsr.runtime._compat import LiveMetrics, LivePipeline, LiveStats, PipelineStats
from streamsr.runtime._config import PipelineConfig, load_pipeline
from streamsr.runtime._metrics import Metrics, MetricsServer, Stats
from streamsr.runtime._options import PipelineOptions, RuntimeOptions
from streamsr.runtime._pipeline import Pipeline

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

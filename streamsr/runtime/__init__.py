"""Runtime: the threads and queues that drive sources → faces → enhance → compose → sinks."""

from streamsr.runtime._config import PipelineConfig, load_pipeline
from streamsr.runtime._live import LiveOptions, LivePipeline, LiveStats, OutputSpec
from streamsr.runtime._metrics import LiveMetrics, MetricsServer
from streamsr.runtime._pipeline import Pipeline, PipelineOptions, PipelineStats

__all__ = [
    "LiveMetrics",
    "LiveOptions",
    "LivePipeline",
    "LiveStats",
    "MetricsServer",
    "OutputSpec",
    "Pipeline",
    "PipelineConfig",
    "PipelineOptions",
    "PipelineStats",
    "load_pipeline",
]

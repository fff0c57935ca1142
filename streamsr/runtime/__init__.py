"""Runtime: the one pipeline, its threads and queues, its options, stats and pipeline files.

The names below are imported on first use (PyAV comes with the pipeline), so that the shared
enhancer's scheduler (``streamsr.runtime._shared``) loads where PyAV is absent.
"""

from typing import TYPE_CHECKING

from streamsr._lazy import lazy_getattr

if TYPE_CHECKING:
    from streamsr.runtime._compat import LiveMetrics, LivePipeline, LiveStats, PipelineStats
    from streamsr.runtime._config import PipelineConfig, load_pipeline
    from streamsr.runtime._metrics import Metrics, MetricsServer, Stats
    from streamsr.runtime._options import PipelineOptions, RuntimeOptions
    from streamsr.runtime._pipeline import Pipeline

_LAZY = {
    "LiveMetrics": "streamsr.runtime._compat",
    "LivePipeline": "streamsr.runtime._compat",
    "LiveStats": "streamsr.runtime._compat",
    "PipelineStats": "streamsr.runtime._compat",
    "PipelineConfig": "streamsr.runtime._config",
    "load_pipeline": "streamsr.runtime._config",
    "Metrics": "streamsr.runtime._metrics",
    "MetricsServer": "streamsr.runtime._metrics",
    "Stats": "streamsr.runtime._metrics",
    "PipelineOptions": "streamsr.runtime._options",
    "RuntimeOptions": "streamsr.runtime._options",
    "Pipeline": "streamsr.runtime._pipeline",
}


__getattr__ = lazy_getattr("streamsr.runtime", _LAZY, globals())


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

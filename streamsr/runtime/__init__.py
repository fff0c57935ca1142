"""Runtime: the one pipeline, its threads and queues, its options, stats and pipeline files.

The names below are imported on first use (PyAV comes with the pipeline), so that the shared
enhancer's scheduler (``streamsr.runtime._shared``) loads where PyAV is absent.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streamsr.runtime._compat import LiveMetrics, LivePipeline, LiveStats, PipelineStats
    from streamsr.runtime._config import PipelineConfig, load_pipeline
    from streamsr.runtime._metrics import Metrics, MetricsServer, Stats
    from streamsr.runtime._options import PipelineOptions, RuntimeOptions
    from streamsr.runtime._pipeline import Pipeline

_LAZY = {
    "LiveMetrics": "_compat",
    "LivePipeline": "_compat",
    "LiveStats": "_compat",
    "PipelineStats": "_compat",
    "PipelineConfig": "_config",
    "load_pipeline": "_config",
    "Metrics": "_metrics",
    "MetricsServer": "_metrics",
    "Stats": "_metrics",
    "PipelineOptions": "_options",
    "RuntimeOptions": "_options",
    "Pipeline": "_pipeline",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f"streamsr.runtime.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'streamsr.runtime' has no attribute {name!r}")


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

"""Runtime: the threads and queues that drive sources → faces → enhance → compose → sinks."""

from streamsr.runtime._pipeline import Pipeline, PipelineOptions, PipelineStats

__all__ = ["Pipeline", "PipelineOptions", "PipelineStats"]

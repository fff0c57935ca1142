"""streamsr: enhance the faces in live and recorded video with a face-trained SRCNN."""

from streamsr._errors import (
    ConfigError,
    DatasetError,
    MissingExtraError,
    PipelineError,
    SinkError,
    SourceError,
    StreamSRError,
    StreamTimeoutError,
    WeightsError,
)
from streamsr._frame import Faces, Frame
from streamsr.enhance import Enhancer, load_enhancer
from streamsr.runtime import Pipeline, PipelineOptions, PipelineStats, Stats

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DatasetError",
    "Enhancer",
    "Faces",
    "Frame",
    "MissingExtraError",
    "Pipeline",
    "PipelineError",
    "PipelineOptions",
    "PipelineStats",
    "SinkError",
    "SourceError",
    "Stats",
    "StreamSRError",
    "StreamTimeoutError",
    "WeightsError",
    "__version__",
    "load_enhancer",
]

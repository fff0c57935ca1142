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

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DatasetError",
    "Faces",
    "Frame",
    "MissingExtraError",
    "PipelineError",
    "SinkError",
    "SourceError",
    "StreamSRError",
    "StreamTimeoutError",
    "WeightsError",
    "__version__",
]

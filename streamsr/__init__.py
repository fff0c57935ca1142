"""streamsr: enhance the faces in live and recorded video with a face-trained SRCNN."""

from streamsr._syslibs import check_opencv

check_opencv()  # first: a missing system library is one clear line, not a loader traceback


from streamsr._errors import (  # noqa: E402
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
from streamsr._frame import Faces, Frame  # noqa: E402
from streamsr.enhance import Enhancer, load_enhancer  # noqa: E402
from streamsr.runtime import Pipeline, PipelineOptions, PipelineStats, Stats  # noqa: E402

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

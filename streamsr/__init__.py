"""streamsr: enhance the faces in live and recorded video with a face-trained SRCNN.

``Pipeline`` and its options (PyAV, MediaPipe) and ``load_enhancer`` (OpenCV) are imported on
first use, so that the network and its backends (``streamsr.enhance.backends``: torch and numpy
only) load on a machine that has neither, such as a bare GPU image.
"""

from streamsr._lazy import lazy_getattr
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

_LAZY = {
    "Enhancer": "streamsr.enhance",
    "load_enhancer": "streamsr.enhance",
    "Pipeline": "streamsr.runtime",
    "PipelineOptions": "streamsr.runtime",
    "PipelineStats": "streamsr.runtime",
    "Stats": "streamsr.runtime",
}


__getattr__ = lazy_getattr("streamsr", _LAZY, globals())


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

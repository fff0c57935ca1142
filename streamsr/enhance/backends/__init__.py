"""Inference backends behind one protocol; optional ones are imported only when asked for.

``cpu`` (eager PyTorch) is always there; ``onnxruntime`` needs the ``onnx`` extra,
``tensorrt`` the ``tensorrt`` extra and a GPU, ``cuda`` a GPU; ``compile`` uses
``torch.compile``. :func:`streamsr.enhance.export_model` writes a model for ONNX Runtime or
TensorRT (it sits above this package: it loads the enhancer's weights).
"""

from streamsr.enhance.backends._base import BATCH_BUCKETS, BUCKET_SIDES, MAX_BATCH, Backend
from streamsr.enhance.backends._eager import EagerBackend
from streamsr.enhance.backends._select import BACKENDS, BackendName

__all__ = [
    "BACKENDS",
    "BATCH_BUCKETS",
    "BUCKET_SIDES",
    "MAX_BATCH",
    "Backend",
    "BackendName",
    "EagerBackend",
]

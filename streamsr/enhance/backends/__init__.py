"""Inference backends behind one protocol; optional ones are imported only when asked for.

``cpu`` (eager PyTorch) is always there; ``onnxruntime`` needs the ``onnx`` extra,
``tensorrt`` the ``tensorrt`` extra and a GPU, ``cuda`` a GPU; ``compile`` uses
``torch.compile``. :func:`export_model` writes a model for ONNX Runtime or TensorRT.
"""

from streamsr.enhance.backends._base import BATCH_BUCKETS, BUCKET_SIDES, MAX_BATCH, Backend
from streamsr.enhance.backends._eager import EagerBackend
from streamsr.enhance.backends._export import EXPORT_BACKENDS, ExportBackend, export_model
from streamsr.enhance.backends._select import BACKENDS, BackendName

__all__ = [
    "BACKENDS",
    "BATCH_BUCKETS",
    "BUCKET_SIDES",
    "EXPORT_BACKENDS",
    "MAX_BATCH",
    "Backend",
    "BackendName",
    "EagerBackend",
    "ExportBackend",
    "export_model",
]

"""What every sub-command shares: exit codes and choices."""

from __future__ import annotations

BACKENDS = ("auto", "tensorrt", "cuda", "compile", "onnxruntime", "cpu")

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

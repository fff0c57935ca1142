"""One exception hierarchy for streamsr.

Every class also inherits the matching built-in, so callers that catch ``OSError`` or
``ValueError`` keep working. The command line turns any ``StreamSRError`` into one line on
stderr and a non-zero exit.
"""

from __future__ import annotations


class StreamSRError(Exception):
    """Root of every error streamsr raises on purpose."""


class ConfigError(StreamSRError, ValueError):
    """An option, argument or configuration value is not allowed."""


class WeightsError(StreamSRError, ValueError):
    """Model weights are missing, unreadable or do not match the requested model."""


class DatasetError(StreamSRError, OSError):
    """A training or evaluation folder is missing, empty or holds no readable image."""


class SourceError(StreamSRError, OSError):
    """An input cannot be opened, holds no video, or cannot be decoded."""


class SinkError(StreamSRError, OSError):
    """An output cannot be created or written."""


class StreamTimeoutError(StreamSRError, TimeoutError):
    """A source or sink stayed silent longer than its timeout."""


class MissingExtraError(StreamSRError, ImportError):
    """An optional backend was asked for but its extra is not installed."""


class PipelineError(StreamSRError, RuntimeError):
    """A pipeline stage failed; the original exception is the ``__cause__``."""

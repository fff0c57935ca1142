"""Sinks: where frames go (video files)."""

from streamsr.sinks._file import CODECS, DEFAULT_CRF, DEFAULT_PRESET, Codec, FileSink, same_file

__all__ = ["CODECS", "DEFAULT_CRF", "DEFAULT_PRESET", "Codec", "FileSink", "same_file"]
